"""The in-process websocket hub: who is connected, and waking them when events land.

Events are durable rows first; the hub only *wakes* connections, which then read
the outbox after their last seq. So a missed wake-up costs latency, never data,
and a Redis bridge (multi-node) only has to carry wake-ups and presence.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Conn:
    """One live websocket; ``outbox`` is drained by a single writer task."""

    session_id: int
    public_id: str
    citizen_id: int | None
    name: str
    send: Callable[[Any], None]
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    sent_seq: int = 0
    kind: str = "citizen"
    officer_id: int | None = None
    close: Callable[[int, str], None] | None = None
    protocol_version: int = 2
    guided: str | None = None  # the conversation of this socket's guided visit (server/realtime/guided.py)
    guided_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    demo: bool = False  # a demo tour's session or demo-<agency> officer: gets the tour's board, not the office's
    # presence snapshots' own sender (server/realtime/ws.py): ``push(text, frames, i)`` writes the tick's
    # frame text straight to an idle socket, else queues ``frames.snapshot(i)`` (merged with an unsent one);
    # None sends the snapshot through ``send`` like any frame
    push: Callable[[str, Any, int], None] | None = None


class Hub:
    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.conns: set[Conn] = set()
        self._kinds: dict[str, int] = {}  # live connections per kind (a conn's kind is fixed when added)
        self._listeners: list[Callable[[str, dict[str, Any]], None]] = []
        self.bridge: Any = None  # set by the Redis bridge when MPP_REDIS_URL is configured

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def add(self, conn: Conn) -> None:
        self.conns.add(conn)
        self._kinds[conn.kind] = self._kinds.get(conn.kind, 0) + 1

    def remove(self, conn: Conn) -> None:
        if conn in self.conns:
            self.conns.discard(conn)
            self._kinds[conn.kind] -= 1

    def heard(self, kind: str) -> bool:
        """Whether a broadcast to ``kind`` reaches anyone: a connection of it here, or other nodes.

        Lets a caller skip building a frame nobody receives (every submission notifies
        officers' inboxes, usually with no officer online on the node that took it).
        """
        return self.bridge is not None or self._kinds.get(kind, 0) > 0

    # ---- thread-safe entry points (called from request threads after commit)

    def _call(self, fn: Callable[..., None], *args: Any) -> None:
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            fn(*args)
        else:
            loop.call_soon_threadsafe(fn, *args)

    def wake(self, citizen_ids: set[int | None], session_ids: set[int | None]) -> None:
        """Tell the owners' connections that their outbox has new rows."""
        cids = {c for c in citizen_ids if c is not None}
        sids = {s for s in session_ids if s is not None}
        if self.bridge is not None:
            self.bridge.publish_wake(cids, sids)
        self._call(self.wake_local, cids, sids)

    def wake_local(self, cids: set[int], sids: set[int]) -> None:
        for c in self.conns:
            if c.session_id in sids or (c.citizen_id is not None and c.citizen_id in cids):
                c.wake.set()

    def broadcast(self, frame: dict[str, Any], kind: str | None = None, *, demo: bool | None = None) -> None:
        """Send a non-replayed frame (board updates) to every connection, or one kind; ``demo``
        True/False: only to demo tours' connections / only to the others."""
        if self.bridge is not None:
            self.bridge.publish_broadcast(frame, kind, demo)
        self._call(self.broadcast_local, frame, kind, demo)

    def broadcast_local(self, frame: dict[str, Any], kind: str | None, demo: bool | None = None) -> None:
        for c in list(self.conns):
            if (kind is None or c.kind == kind) and (demo is None or c.demo == demo):
                c.send(frame)

    def to_session(self, session_public_id: str, frame: dict[str, Any]) -> None:
        """A live frame for one visitor (officer chat in a handoff)."""
        if self.bridge is not None:
            self.bridge.publish_session(session_public_id, frame)
        self._call(self.to_session_local, session_public_id, frame)

    def to_session_local(self, session_public_id: str, frame: dict[str, Any]) -> None:
        for c in list(self.conns):
            if c.public_id == session_public_id:
                c.send(frame)

    def close_officer(self, officer_id: int, code: int = 4001, reason: str = "logged out") -> None:
        self._call(self._close_officer_local, officer_id, code, reason)

    def _close_officer_local(self, officer_id: int, code: int, reason: str) -> None:
        for c in list(self.conns):
            if c.officer_id == officer_id and c.close is not None:
                c.close(code, reason)
