"""Drive a :class:`PresenceEngine` from the hub's event loop at a fixed tick rate.

A drop-in for ``server.presence_simple.SimplePresence`` (same ``join / move /
leave / hall_for / tick / start / stop`` surface), so switching the app to
interest-managed presence is a one-line change. The hub is duck-typed (any
object with ``conns``, each having ``public_id`` and ``send(dict)``), which
keeps this package free of FastAPI and database imports.

Connections that also expose ``send_presence(snapshot)`` get the snapshot
object itself (for a :class:`~server.presence.sendqueue.SendQueue` that merges
stale snapshots and encodes with :func:`~server.presence.engine.encode_snapshot`);
the rest get ``snapshot.model_dump(mode="json")`` through ``send``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from server.presence.engine import MoveResult, PresenceEngine

log = logging.getLogger(__name__)


class _Conn(Protocol):
    public_id: str

    def send(self, frame: dict[str, Any]) -> None: ...


class _Hub(Protocol):
    @property
    def conns(self) -> Iterable[Any]: ...


class PresenceRunner:
    """Owns the engine and the 10 Hz tick task; the clock is injectable for tests."""

    def __init__(
        self,
        hub: _Hub,
        hz: float = 10.0,
        *,
        engine: PresenceEngine | None = None,
        clock: Callable[[], float] = time.monotonic,
        remote_ttl: float = 3.0,
    ) -> None:
        if hz <= 0:
            raise ValueError("hz must be positive")
        self.hub = hub
        self.period = 1.0 / hz
        self.engine = engine or PresenceEngine()
        self.clock = clock
        self.remote_ttl = remote_ttl
        self.last_tick_seconds = 0.0
        self._task: asyncio.Task[None] | None = None

    # ---- the SimplePresence surface used by server/ws.py

    def hall_for(self, entity_id: str) -> str:
        return self.engine.hall_for(entity_id)

    def join(self, entity_id: str, name: str, x: float, y: float, heading: float = 0.0) -> str:
        return self.engine.join(entity_id, name, x, y, heading, now=self.clock())

    def move(self, entity_id: str, x: float, y: float, heading: float, ts: float) -> MoveResult | None:
        return self.engine.move(entity_id, x, y, heading, ts, self.clock())

    def leave(self, entity_id: str) -> None:
        self.engine.leave(entity_id)

    def tick(self) -> int:
        """One engine tick, snapshots handed to their connections; returns how many were sent."""
        started = time.perf_counter()
        now = self.clock()
        self.engine.expire_remote(now, self.remote_ttl)
        snapshots = self.engine.tick(now)
        sent = 0
        if snapshots:
            for conn in list(self.hub.conns):
                snap = snapshots.get(getattr(conn, "public_id", ""))
                if snap is None:
                    continue
                direct = getattr(conn, "send_presence", None)
                if direct is not None:
                    direct(snap)
                else:
                    conn.send(snap.model_dump(mode="json"))
                sent += 1
        self.last_tick_seconds = time.perf_counter() - started
        return sent

    async def run(self) -> None:
        next_at = time.monotonic()
        while True:
            next_at += self.period
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            try:
                self.tick()
            except Exception:  # one bad tick must not stop presence for the whole hall (logged)
                log.exception("presence tick failed")
            if time.monotonic() - next_at > 5 * self.period:
                next_at = time.monotonic()  # fell far behind (suspended loop): skip, do not burst

    def start(self) -> None:
        self._task = asyncio.create_task(self.run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


__all__ = ["PresenceRunner"]
