"""A correct, simple presence room: all-to-all snapshots per tick, changed entries only.

Used until the scalable engine (interest management, instances) replaces it; the
hub-facing surface (join/move/leave/hall_for/tick) is the same.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from server.hub import Hub


class SimplePresence:
    def __init__(self, hub: Hub, hz: float = 10.0) -> None:
        self.hub = hub
        self.period = 1.0 / hz
        self.state: dict[str, dict[str, Any]] = {}
        self.seen: dict[str, dict[str, tuple[float, float, float]]] = {}
        self.tick_no = 0
        self._task: asyncio.Task[None] | None = None

    def hall_for(self, entity_id: str) -> str:
        return "Aula 1"

    def join(self, entity_id: str, name: str, x: float, y: float, heading: float) -> None:
        self.state[entity_id] = {"id": entity_id, "name": name, "x": x, "y": y, "heading": heading, "ts": 0.0}

    def move(self, entity_id: str, x: float, y: float, heading: float, ts: float) -> None:
        ent = self.state.get(entity_id)
        if ent is not None:
            ent.update(x=x, y=y, heading=heading, ts=ts)

    def leave(self, entity_id: str) -> None:
        self.state.pop(entity_id, None)
        self.seen.pop(entity_id, None)

    def tick(self) -> None:
        self.tick_no += 1
        for conn in list(self.hub.conns):
            viewer = conn.public_id
            if viewer not in self.state:
                continue
            before = self.seen.get(viewer)
            full = before is None
            before = before or {}
            now = {k: (v["x"], v["y"], v["heading"]) for k, v in self.state.items() if k != viewer}
            entered = [self.state[k] for k in now if k not in before]
            changed = [self.state[k] for k in now if k in before and before[k] != now[k]]
            left = [k for k in before if k not in now]
            self.seen[viewer] = now
            if full or entered or changed or left:
                conn.send(
                    {
                        "type": "presence.snapshot",
                        "tick": self.tick_no,
                        "hall": "Aula 1",
                        "full": full,
                        "entered": entered,
                        "changed": changed,
                        "left": left,
                    }
                )

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.period)
            self.tick()

    def start(self) -> None:
        self._task = asyncio.create_task(self.run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
