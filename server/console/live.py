"""Live updates for officers: the cookie-authenticated ``/officer/ws`` and the frames it carries.

Frames are broadcast to every officer connection (``kind="officer"``), which
also works across nodes through the Redis bridge; each connection then drops
what is outside its officer's scope, so routers never need to know who is online.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from protocol.feed import FeedPing, OfficerWelcome
from protocol.messages import MAX_FRAME_BYTES, Ping, Pong, ServerPong, officer_adapter
from server.console.web import COOKIE
from server.domain import officers
from server.errors import ApiError
from server.realtime.calls import CallRefused
from server.realtime.hub import Conn, Hub
from server.realtime.ws import TokenBucket, _describe, _origin_allowed, _ref_of, error_frame

log = logging.getLogger(__name__)
router = APIRouter()
PING_SECONDS = 20.0
CLOSE_LOGGED_OUT = 4001
CLOSE_RESCOPED = 4002


def in_scope(scope: dict[str, Any], frame: dict[str, Any]) -> bool:
    target = frame.get("to_officer")
    if target is not None:
        return bool(target == scope["id"])
    if frame.get("type") == "board.update" or "agency_id" not in frame:
        return True
    role = scope["role"]
    if role in ("admin", "supervisor"):
        return True
    agency = frame.get("agency_id")
    if role == "faskes":
        return False  # a health facility reads its births from its own pages, not the agencies' live feed
    if frame.get("type", "").startswith("handoff.") and agency is None:
        return role != "village"  # a general request goes to every agency desk
    if role == "village":
        return agency == "smart-kampung" and frame.get("village_code") == scope.get("village_code")
    return bool(agency == scope.get("agency_id"))


@router.websocket("/officer/ws")
async def officer_ws(ws: WebSocket) -> None:
    app = ws.app
    hub: Hub = app.state.hub
    if not _origin_allowed(ws, app.state.settings.allowed_origins):
        await ws.close(code=1008, reason="origin not allowed")
        return
    token = ws.cookies.get(COOKIE)

    def lookup() -> dict[str, Any]:
        with app.state.sessions() as db:
            officer, _ = officers.officer_for_token(db, token)
            return {
                "id": officer.id,
                "role": officer.role,
                "agency_id": officer.agency_id,
                "village_code": officer.village_code,
                "username": officer.username,
                "demo": bool(officer.demo),
            }

    try:
        scope = await run_in_threadpool(lookup)
    except ApiError:
        await ws.close(code=4401, reason="officer login required")
        return
    await ws.accept()
    outbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
    closing: dict[str, Any] = {}

    def send(frame: Any) -> None:
        if isinstance(frame, dict) and in_scope(scope, frame):  # presence snapshots are not for officers
            outbox.put_nowait(frame)

    def close(code: int, reason: str) -> None:
        closing["code"], closing["reason"] = code, reason
        outbox.put_nowait(None)

    conn = Conn(
        session_id=0,
        public_id=f"officer:{scope['id']}:{id(ws)}",
        citizen_id=None,
        name=scope["username"],
        send=send,
        kind="officer",
        officer_id=scope["id"],
        demo=scope["demo"],
        close=close,
    )

    async def writer() -> None:
        while True:
            frame = await outbox.get()
            if frame is None:
                return
            await ws.send_text(json.dumps(frame, ensure_ascii=False, default=str))

    calls = app.state.calls
    settings = app.state.settings
    bucket = TokenBucket(settings.ws_rate_per_sec, settings.ws_burst)

    order = asyncio.Lock()

    async def signal(msg: Any) -> None:
        async with order:  # FIFO: an offer is relayed before the candidates that follow it
            try:
                await calls.from_officer(scope["id"], msg)
            except CallRefused as exc:
                outbox.put_nowait(error_frame(exc.code, exc.message))

    async def reader() -> None:
        """Call signalling from the officer; anything else is answered with an ``error`` frame."""
        with contextlib.suppress(WebSocketDisconnect):
            while not closing:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    return
                raw = message.get("text")
                if raw is None and message.get("bytes") is not None:
                    raw = message["bytes"].decode("utf-8", errors="replace")
                if raw is None:
                    continue
                if len(raw.encode("utf-8")) > MAX_FRAME_BYTES:
                    close(1009, "frame too large")
                    return
                if not bucket.take():
                    close(1008, "rate limit exceeded")
                    return
                try:
                    msg = officer_adapter.validate_json(raw)
                except ValidationError as exc:
                    code, text = _describe(exc)
                    outbox.put_nowait(error_frame(code, text, _ref_of(raw)))
                    continue
                if isinstance(msg, Ping):
                    outbox.put_nowait(ServerPong(nonce=msg.nonce).model_dump())
                elif not isinstance(msg, Pong):
                    spawn(signal(msg))

    pending: set[asyncio.Task[None]] = set()

    def spawn(coro: Any) -> None:
        task = asyncio.create_task(coro)
        pending.add(task)
        task.add_done_callback(pending.discard)

    async def pinger() -> None:
        """Keep-alive, and re-check the session: catches logouts and role changes made on another node."""
        while True:
            await asyncio.sleep(PING_SECONDS)
            try:
                fresh = await run_in_threadpool(lookup)
            except ApiError:
                close(CLOSE_LOGGED_OUT, "session ended")
                return
            if fresh != scope:
                close(CLOSE_RESCOPED, "account changed")
                return
            outbox.put_nowait(FeedPing().wire())

    hub.add(conn)
    outbox.put_nowait(OfficerWelcome(officer=scope["username"], role=scope["role"]).wire())
    for frame in calls.waiting_for(scope["id"]):
        outbox.put_nowait(frame)
    tasks = [asyncio.create_task(writer()), asyncio.create_task(reader()), asyncio.create_task(pinger())]
    try:
        await asyncio.wait(tasks[:2], return_when=asyncio.FIRST_COMPLETED)
    finally:
        hub.remove(conn)
        calls.officer_gone(scope["id"])
        for t in tasks:
            t.cancel()
        with contextlib.suppress(Exception):
            await ws.close(code=closing.get("code", 1000), reason=closing.get("reason", ""))
