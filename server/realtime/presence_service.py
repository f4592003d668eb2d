"""Drives the presence engine at the tick rate and hands each viewer its one snapshot.

Positions are server-authoritative: moves go through the engine's clamping, and
with a Redis bridge every node publishes its own visitors each tick and mirrors
the others', dropping them when their node stops refreshing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from typing import Any

from server.realtime.hub import Hub
from server.realtime.presence import MoveResult, PresenceEngine
from server.settings import Settings

log = logging.getLogger(__name__)
REMOTE_TTL = 2.0  # seconds without a refresh before a remote visitor is dropped (node death)
PUBLISH_LEAD = 0.02  # seconds between publishing to the other nodes + interest query, and the (aligned) tick


def engine_for(settings: Settings) -> PresenceEngine:
    """The engine as the settings configure it (the server and ``mpp bench presence --in-process`` share it)."""
    near_m, near_n = settings.presence_near_m, settings.presence_rank_near
    mid_m = max(settings.presence_mid_m, near_m + 0.01)
    return PresenceEngine(
        rate_bands=((near_m, 1), (mid_m, 2)) if near_m > 0 else (),
        rank_bands=((near_n, 1), (2 * near_n, 2)) if near_n > 0 else (),
        interest_every=settings.presence_interest_every,
    )


class PresenceService:
    def __init__(
        self, hub: Hub, hz: float = 10.0, engine: PresenceEngine | None = None, publish_lead: float = PUBLISH_LEAD
    ) -> None:
        self.hub = hub
        self.period = 1.0 / hz
        self.publish_lead = publish_lead
        # not ``engine or ...``: an engine with nobody in it has len() 0, so it is falsy, and the
        # configured one (rate and rank bands) was swapped for a default that sends every row every tick
        self.engine = engine if engine is not None else PresenceEngine()
        self.bridge: Any = None
        self._task: asyncio.Task[None] | None = None
        self.tick_seconds: list[float] = []

    def stats(self) -> dict[str, Any]:
        """Visitors per hall and the recent tick cost (readiness endpoint; the 10 Hz budget is 100 ms)."""
        recent = sorted(self.tick_seconds[-300:])

        def pct(q: float) -> float | None:
            return round(1000 * recent[min(len(recent) - 1, int(q * len(recent)))], 2) if recent else None

        return {"halls": self.engine.occupancy(), "tick_ms_p50": pct(0.5), "tick_ms_p99": pct(0.99)}

    def hall_for(self, entity_id: str) -> str:
        return self.engine.hall_for(entity_id)

    def join(self, entity_id: str, name: str, x: float, y: float, heading: float) -> str:
        return self.engine.join(entity_id, name, x, y, heading, now=time.monotonic())

    def move(self, entity_id: str, x: float, y: float, heading: float, ts: float) -> MoveResult | None:
        return self.engine.move(entity_id, x, y, heading, ts, time.monotonic())

    def leave(self, entity_id: str) -> None:
        self.engine.leave(entity_id)

    def upsert_remote(self, node: str, states: list[dict[str, Any]]) -> None:
        now = time.monotonic()
        for s in states:
            self.engine.upsert_remote(
                node, s["id"], s["name"], s["x"], s["y"], s["heading"], s["ts"], now, hall=s.get("hall")
            )

    def upsert_remote_rows(self, node: str, hall: str | None, rows: list[Any]) -> None:
        """Another node's visitors as its bridge publishes them: ``[id, name, x, y, heading, ts]``; bad rows skipped."""
        now = time.monotonic()
        upsert = self.engine.upsert_remote  # it refuses non-finite or non-numeric positions
        for row in rows:
            if type(row) is list and len(row) == 6 and type(row[0]) is str and type(row[1]) is str:
                entity_id, name, x, y, heading, ts = row
                upsert(node, entity_id, name, x, y, heading, ts, now, hall=hall)

    def tick(self) -> None:
        started = time.perf_counter()
        now = time.monotonic()
        if self.bridge is not None:
            self.engine.expire_remote(now, REMOTE_TTL)
        frames = self.engine.tick_frames(now)
        if frames.ids:
            # the frame's text to the socket's own push, which asks ``frames`` for the viewer's
            # WireSnapshot only when it must queue it; no push: the snapshot through ``send``
            index = dict(zip(frames.ids, range(len(frames.ids)), strict=True))
            texts = frames.texts
            for conn in list(self.hub.conns):
                i = index.get(conn.public_id)
                if i is not None:
                    if conn.push is not None:
                        conn.push(texts[i], frames, i)
                    else:
                        conn.send(frames.snapshot(i))
        self.tick_seconds.append(time.perf_counter() - started)
        if len(self.tick_seconds) > 600:
            del self.tick_seconds[:300]

    def publish(self) -> None:
        """Hand this node's own visitors to the other nodes (Redis), once per tick."""
        if self.bridge is not None:
            self.bridge.publish_presence(self.engine.local_states())

    async def run(self) -> None:
        """Tick on the wall-clock grid (every node at the same instants); prepare and publish just before.

        A visitor on node A reaches a viewer on node B through A's publish and B's
        tick. With free-running clocks that adds up to a whole period (100 ms) on
        top of the local path; with aligned ticks and the publish ``PUBLISH_LEAD``
        ahead of them, B's tick already holds what A knew a moment earlier. The
        interest query runs in the same lead, so the tick itself is short.
        """
        period = self.period
        while True:
            now = time.time()
            tick_at = (math.floor(now / period) + 1) * period
            lead_at = tick_at - min(self.publish_lead, period / 2)
            if lead_at > now:
                await asyncio.sleep(lead_at - now)
            try:
                self.publish()
            except (ValueError, KeyError, TypeError):
                log.exception("presence publish failed")
            if self.bridge is not None:
                # let the bridge's flush write it before the query (~4-8 ms): the other nodes need it before their tick
                for _ in range(3):
                    await asyncio.sleep(0)
            try:
                self.engine.prepare()  # the interest query, off the latency path (see PresenceEngine.prepare)
            except (ValueError, KeyError, TypeError):
                log.exception("presence prepare failed")
            now = time.time()
            await asyncio.sleep(max(0.0, tick_at - now))
            try:
                self.tick()
            except (ValueError, KeyError, TypeError):
                log.exception("presence tick failed")

    def start(self) -> None:
        self._task = asyncio.create_task(self.run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
