"""Several ``mpp serve`` nodes share live traffic over Redis pub/sub.

What crosses nodes is small: outbox wake-ups (the events themselves are rows in
the shared PostgreSQL), hall-wide broadcasts, frames for one visitor (officer
chat), and each node's own visitors per tick, per hall instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from typing import Any

import redis.asyncio as aioredis

from server.realtime.hub import Hub
from server.settings import Settings

log = logging.getLogger(__name__)


class RedisBridge:
    def __init__(self, settings: Settings, hub: Hub, presence: Any) -> None:
        assert settings.redis_url
        self.url = settings.redis_url
        self.prefix = settings.redis_prefix
        self.node = settings.node_id or secrets.token_hex(4)
        self.hub = hub
        self.presence = presence
        self.redis: aioredis.Redis | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._pending: list[tuple[str, str]] = []
        self._flushing: set[asyncio.Future[None]] = set()
        self.received = 0
        self.dropped = 0  # well-formed JSON whose fields are not what its channel carries

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.redis = aioredis.from_url(self.url, decode_responses=True)
        await self.redis.ping()
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(self.prefix + "wake", self.prefix + "broadcast", self.prefix + "session")
        await pubsub.psubscribe(self.prefix + "presence:*")
        self._task = asyncio.create_task(self._listen(pubsub))
        self.hub.bridge = self
        self.presence.bridge = self
        log.info("redis bridge up", extra={"ctx_node": self.node})

    async def stop(self) -> None:
        self.hub.bridge = None
        self.presence.bridge = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.redis is not None:
            await self.redis.aclose()

    # ---- publishing (thread-safe: request threads call wake/broadcast)

    def _publish(self, channel: str, payload: dict[str, Any]) -> None:
        if self.redis is None or self.loop is None or self.loop.is_closed():
            return
        # "<node>|<json>": receivers drop their own messages without parsing them.
        data = self.node + "|" + json.dumps(payload, separators=(",", ":"), default=str)
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self._enqueue(self.prefix + channel, data)
        else:
            self.loop.call_soon_threadsafe(self._enqueue, self.prefix + channel, data)

    def _enqueue(self, channel: str, data: str) -> None:
        # Everything published in one loop iteration goes out in one pipelined round trip:
        # under load a submission's wake-up and inbox broadcast cost one write, not two tasks.
        self._pending.append((channel, data))
        if len(self._pending) == 1:
            self._spawn(self._flush())

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def _flush(self) -> None:
        await asyncio.sleep(0)
        batch, self._pending = self._pending, []
        if not batch or self.redis is None:
            return
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for channel, data in batch:
                    pipe.publish(channel, data)
                await pipe.execute()
        except (aioredis.RedisError, OSError) as exc:
            log.warning("redis publish failed (%d messages): %s", len(batch), exc)

    def publish_wake(self, cids: set[int], sids: set[int]) -> None:
        self._publish("wake", {"cids": sorted(cids), "sids": sorted(sids)})

    def publish_broadcast(self, frame: dict[str, Any], kind: str | None, demo: bool | None = None) -> None:
        self._publish("broadcast", {"frame": frame, "kind": kind, "demo": demo})

    def publish_session(self, session_public_id: str, frame: dict[str, Any]) -> None:
        self._publish("session", {"sid": session_public_id, "frame": frame})

    def publish_presence(self, states: list[Any]) -> None:
        """This node's visitors, one message per hall a tick: ``{"hall", "rows": [[id, name, x, y, heading, ts]]}``.

        Rows, not objects: at 500 visitors a node, every tick, the keys were most of the bytes
        and of the encode/decode time. Receivers still read the older ``"states"`` objects.
        """
        by_hall: dict[str, list[list[Any]]] = {}
        for s in states:
            by_hall.setdefault(s.hall, []).append(
                [s.id, s.name, round(s.x, 2), round(s.y, 2), round(s.heading, 1), s.ts]
            )
        for hall, rows in by_hall.items():
            self._publish("presence:" + hall.replace(" ", "_"), {"hall": hall, "rows": rows})

    # ---- receiving

    async def _listen(self, pubsub: Any) -> None:
        while True:
            try:
                async for message in pubsub.listen():
                    self._dispatch(message)
            except asyncio.CancelledError:
                raise
            except (aioredis.RedisError, OSError) as exc:
                log.warning("redis listen failed, retrying: %s", exc)
                await asyncio.sleep(1.0)

    def _dispatch(self, message: dict[str, Any]) -> None:
        raw = message.get("data")
        if not isinstance(raw, str):
            return
        node, sep, body = raw.partition("|")
        if not sep or node == self.node:
            return
        try:
            data = json.loads(body)
        except ValueError:
            return
        if not isinstance(data, dict):
            return
        self.received += 1
        channel = str(message.get("channel", ""))
        try:
            self._handle(channel, node, data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # Another node's (or an older release's) malformed message must not end the listener:
            # every later message of every channel would be lost on this node.
            self.dropped += 1
            log.warning("redis: dropped a malformed message on %s from node %s: %r", channel, node, exc)

    def _handle(self, channel: str, node: str, data: dict[str, Any]) -> None:
        if channel == self.prefix + "wake":
            self.hub.wake_local(set(data.get("cids", [])), set(data.get("sids", [])))
        elif channel == self.prefix + "broadcast":
            self.hub.broadcast_local(data["frame"], data.get("kind"), data.get("demo"))
        elif channel == self.prefix + "session":
            self.hub.to_session_local(data["sid"], data["frame"])
        elif channel.startswith(self.prefix + "presence:"):
            rows = data.get("rows")
            if isinstance(rows, list):
                hall = data.get("hall")
                self.presence.upsert_remote_rows(node, hall if isinstance(hall, str) else None, rows)
            else:  # a node of the previous release
                self.presence.upsert_remote(node, data.get("states", []))
