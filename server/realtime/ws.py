"""The ``/ws`` endpoint: handshake, replay, live events, presence and chat.

Every frame a client sends is validated against ``protocol.messages``; a bad
one earns an ``error`` frame and the connection stays up. Only size (1009) and
rate (1008) abuse close it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import re
import time
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from protocol import MIN_PROTOCOL_VERSION, PRESENCE_PROTOCOL_VERSION, PROTOCOL_VERSION
from protocol.guided import GuidedChoose, GuidedStart
from protocol.messages import (
    CALL_TYPES,
    MAX_FRAME_BYTES,
    ChatSay,
    Hello,
    Ping,
    Pong,
    PresenceJoin,
    PresenceLeave,
    PresenceMove,
    PresenceSnapshot,
    client_adapter,
)
from protocol.nik import mask_nik
from server.domain import events, sessions
from server.errors import ApiError
from server.persistence import models as m
from server.realtime.calls import CallRefused
from server.realtime.fastws import CHARGED, FAST_HOOKS, OVER_LIMIT
from server.realtime.hub import Conn, Hub
from server.realtime.presence import BacklogExceeded, SendQueue, WireSnapshot, WireTick, encode_snapshot

log = logging.getLogger(__name__)
router = APIRouter()
HELLO_TIMEOUT = 10.0


class TokenBucket:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.capacity = rate, float(burst)
        self.tokens, self.stamp = float(burst), time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def error_frame(code: str, message: str, ref: str | None = None) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message, "ref": ref}


def _describe(exc: ValidationError) -> tuple[str, str]:
    errs = exc.errors()
    first: dict[str, Any] = dict(errs[0]) if errs else {}
    kind = first.get("type", "")
    loc = ".".join(str(p) for p in first.get("loc", ()))
    if kind == "extra_forbidden":
        return "forbidden_field", f"Field '{loc.split('.')[-1]}' is not allowed in this frame."
    if kind == "union_tag_invalid":
        return "unknown_type", "Unknown frame type."
    if kind == "string_too_long" and loc.endswith("sdp"):
        return "sdp_too_large", "The session description is too large."
    if kind == "union_tag_not_found":
        return "missing_type", "Frame has no 'type'."
    if kind == "json_invalid":
        return "malformed", "Frame is not valid JSON."
    return "invalid_frame", f"Invalid frame at '{loc}': {first.get('msg', 'invalid')}"[:300]


def _origin_allowed(ws: WebSocket, allowed: list[str]) -> bool:
    origin = ws.headers.get("origin")
    if origin is None:
        return True  # non-browser clients (the world, bots) send no Origin
    host = ws.headers.get("host", "")
    return origin in allowed or origin in (f"http://{host}", f"https://{host}")


@router.websocket("/ws")
async def websocket_endpoint(ws: WebSocket) -> None:
    app = ws.app
    settings = app.state.settings
    hub: Hub = app.state.hub
    if not _origin_allowed(ws, settings.allowed_origins):
        await ws.close(code=1008, reason="origin not allowed")
        return
    await ws.accept()
    closing: dict[str, Any] = {}

    def overflow(code: int, reason: str) -> None:
        closing.setdefault("code", code)
        closing.setdefault("reason", reason)

    # Bounded: snapshots merge into one slot, events are never dropped, a sustained backlog closes 4008.
    outbox = SendQueue(on_overflow=overflow)
    hooks = (ws.scope.get("extensions") or {}).get(FAST_HOOKS)
    direct = hooks.get("send") if hooks is not None else None
    writing = [False]  # the writer task holds a frame it has not finished sending

    def send(frame: Any) -> None:
        # A snapshot for an idle, writable socket goes out now; anything else keeps its place in the queue.
        if direct is not None and type(frame) is WireSnapshot and not closing and not writing[0] and not outbox:
            if direct(frame.text):
                return
        outbox.put_nowait(frame)

    def push(text: str, frames: WireTick, i: int) -> None:
        # The tick's 1,000 snapshots a round: ``send`` without its wrappers (guided steps watch dict frames only);
        # the WireSnapshot object is made only to be queued
        if direct is None or closing or writing[0] or outbox or not direct(text):
            outbox.put_nowait(frames.snapshot(i))

    async def writer() -> None:
        while True:
            try:
                frame = await outbox.get()
            except BacklogExceeded as exc:
                closing.setdefault("code", exc.code)
                closing.setdefault("reason", exc.reason)
                with contextlib.suppress(Exception):
                    await ws.close(code=exc.code, reason=exc.reason)
                return
            if frame is None:
                return
            writing[0] = True
            try:
                if isinstance(frame, WireSnapshot):
                    await ws.send_text(frame.text)
                elif isinstance(frame, PresenceSnapshot):
                    await ws.send_text(encode_snapshot(frame))
                else:
                    await ws.send_text(json.dumps(frame, ensure_ascii=False, default=str))
            finally:
                writing[0] = False

    writer_task = asyncio.create_task(writer())
    conn: Conn | None = None
    tasks: list[asyncio.Task[Any]] = []
    try:
        conn = await _handshake(ws, app, send)
        if conn is None:
            return

        def close(code: int, reason: str) -> None:
            closing["code"], closing["reason"] = code, reason
            outbox.close()

        conn.close = close
        conn.send = app.state.guided.watch(conn, send)  # officer lines of a guided visit become its steps
        conn.push = push
        hub.add(conn)
        conn.wake.set()  # replay everything after last_seq
        tasks.append(asyncio.create_task(_pump(app, conn)))
        tasks.append(asyncio.create_task(_pinger(send, settings.ws_ping_interval)))
        bucket = TokenBucket(settings.ws_rate_per_sec, settings.ws_burst)
        if hooks is not None:
            # every frame is charged to the bucket as the transport parses it, before it is queued or
            # handled, so a flood of tiny frames is refused while it arrives (issue 15 D2)
            hooks["charge"] = bucket.take
            hooks["on_text"] = _move_hook(app.state.presence, conn, send, closing)
        try:
            await _receive_loop(ws, app, conn, send, close, closing, bucket)
        finally:
            if hooks is not None:
                hooks.pop("on_text", None)
                hooks.pop("charge", None)
    except WebSocketDisconnect:
        pass
    finally:
        for t in tasks:
            t.cancel()
        if conn is not None:
            hub.remove(conn)
            presence = app.state.presence
            presence.leave(conn.public_id)
            app.state.calls.citizen_gone(conn.session_id)
        outbox.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer_task, 2.0)
        writer_task.cancel()
        if closing:
            with contextlib.suppress(Exception):
                await ws.close(code=closing["code"], reason=closing["reason"])


async def _read_text(ws: WebSocket) -> str | None:
    message = await ws.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    return _text_of(message)


def _text_of(message: Any) -> str | None:
    raw: str | None = message.get("text")
    if raw is None and message.get("bytes") is not None:
        raw = message["bytes"].decode("utf-8", errors="replace")
    return raw


async def _handshake(ws: WebSocket, app: Any, send: Any) -> Conn | None:
    try:
        raw = await asyncio.wait_for(_read_text(ws), HELLO_TIMEOUT)
    except TimeoutError:
        await ws.close(code=1008, reason="hello expected")
        return None
    if raw is None or len(raw.encode("utf-8")) > MAX_FRAME_BYTES:
        await ws.close(code=1009, reason="frame too large")
        return None
    try:
        msg = client_adapter.validate_json(raw)
    except ValidationError as exc:
        code, text = _describe(exc)
        send(error_frame(code, text))
        send(error_frame("hello_required", "The first frame must be a valid hello."))
        await asyncio.sleep(0.05)
        await ws.close(code=1008, reason="hello required")
        return None
    if not isinstance(msg, Hello):
        send(error_frame("hello_required", "The first frame must be hello."))
        await asyncio.sleep(0.05)
        await ws.close(code=1008, reason="hello required")
        return None
    if not MIN_PROTOCOL_VERSION <= msg.protocol_version <= PROTOCOL_VERSION:
        send(error_frame("protocol_version", f"Server speaks protocol {MIN_PROTOCOL_VERSION} to {PROTOCOL_VERSION}."))
        await asyncio.sleep(0.05)
        await ws.close(code=1002, reason="protocol version")
        return None

    def lookup() -> tuple[m.VisitorSession, m.Citizen | None, int]:
        with app.state.sessions() as db:
            vs = sessions.session_for_token(db, msg.token)
            citizen = db.get(m.Citizen, vs.citizen_id) if vs.citizen_id else None
            return vs, citizen, events.last_seq(db, vs.citizen_id, vs.id)

    try:
        vs, citizen, server_seq = await run_in_threadpool(lookup)
    except ApiError as exc:
        send(error_frame(exc.code, exc.message_en))
        await asyncio.sleep(0.05)
        await ws.close(code=4401, reason=exc.code)
        return None
    name = msg.name or vs.display_name or (citizen.name.split()[0] if citizen else "Tamu")
    conn = Conn(
        session_id=vs.id,
        public_id=vs.public_id,
        citizen_id=vs.citizen_id,
        name=name[:30],
        send=send,
        sent_seq=msg.last_seq,
        protocol_version=msg.protocol_version,
        demo=bool(vs.demo),
    )
    send(
        {
            "type": "welcome",
            "protocol_version": PROTOCOL_VERSION,
            "session_id": vs.public_id,
            "citizen": mask_nik(citizen.nik) if citizen else None,
            "last_seq": server_seq,
            "hall": app.state.presence.hall_for(vs.public_id),
        }
    )
    return conn


async def _pump(app: Any, conn: Conn) -> None:
    """Wait for a wake-up, then send every outbox row after the last one sent."""
    while True:
        await conn.wake.wait()
        conn.wake.clear()
        while True:
            after = conn.sent_seq

            def fetch(after: int = after) -> list[dict[str, Any]]:
                with app.state.sessions() as db:
                    vs = db.get(m.VisitorSession, conn.session_id)
                    if vs is not None and vs.citizen_id != conn.citizen_id:
                        conn.citizen_id = vs.citizen_id  # identified since the hello
                    return [
                        events.event_frame(e) for e in events.events_after(db, conn.citizen_id, conn.session_id, after)
                    ]

            frames = await run_in_threadpool(fetch)
            for f in frames:
                conn.send(f)
                conn.sent_seq = max(conn.sent_seq, int(f["seq"]))
            if len(frames) < 500:
                break


async def _pinger(send: Any, interval: float) -> None:
    nonce = 0
    while True:
        await asyncio.sleep(interval)
        nonce += 1
        send({"type": "ping", "nonce": nonce})


def _move_hook(presence: Any, conn: Conn, send: Any, closing: dict[str, Any]) -> Any:
    """Moves taken straight from the socket (see server/realtime/fastws.py); anything else goes to the receive loop.

    The transport has charged the frame to the rate limit (the "charge" hook) before it calls this.
    """

    # the engine's own move with the service's clock (PresenceService.move without its frame)
    engine_move, clock, public_id = presence.engine.move, time.monotonic, conn.public_id

    def on_text(raw: str) -> bool:
        if closing:
            return False
        move = _plain_move(raw)
        if move is None:
            return False  # the receive loop explains it
        x, y, heading, ts = move
        moved = engine_move(public_id, x, y, heading, ts, clock())
        if moved is not None and moved.clamped:
            _correct(send, moved)
        return True

    return on_text


async def _receive_loop(
    ws: WebSocket, app: Any, conn: Conn, send: Any, close: Any, closing: dict[str, Any], bucket: TokenBucket
) -> None:
    presence = app.state.presence
    call_order = asyncio.Lock()
    while not closing:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        if message.get(OVER_LIMIT):  # the transport refused a frame (server/realtime/fastws.py "charge")
            close(1008, "rate limit exceeded")
            return
        raw = _text_of(message)
        if raw is None:
            continue
        if len(raw) > _CHARS_SAFE and len(raw.encode("utf-8")) > MAX_FRAME_BYTES:
            close(1009, "frame too large")
            return
        if not message.get(CHARGED) and not bucket.take():
            close(1008, "rate limit exceeded")
            return
        move = _plain_move(raw)
        if move is not None:  # 10 of every visitor's frames a second: no pydantic for these
            _apply_move(presence, conn, send, *move)
            continue
        try:
            msg = client_adapter.validate_json(raw)
        except ValidationError as exc:
            code, text = _describe(exc)
            send(error_frame(code, text, _ref_of(raw)))
            continue
        if isinstance(msg, Ping):
            send({"type": "pong", "nonce": msg.nonce})
        elif isinstance(msg, Pong):
            pass
        elif isinstance(msg, Hello):
            send(error_frame("already_welcomed", "hello was already accepted on this connection.", _ref_of(raw)))
        elif isinstance(msg, PresenceJoin):
            if conn.protocol_version < PRESENCE_PROTOCOL_VERSION:
                send(
                    error_frame(
                        "protocol_version",
                        f"Presence needs protocol {PRESENCE_PROTOCOL_VERSION} (compact snapshot rows); "
                        f"this connection said {conn.protocol_version}.",
                        _ref_of(raw),
                    )
                )
                continue
            presence.join(conn.public_id, conn.name, msg.x, msg.y, msg.heading)
        elif isinstance(msg, PresenceMove):
            _apply_move(presence, conn, send, msg.x, msg.y, msg.heading, msg.ts)
        elif isinstance(msg, PresenceLeave):
            presence.leave(conn.public_id)
        elif isinstance(msg, ChatSay):
            asyncio.create_task(_chat(app, conn, msg, send))
        elif isinstance(msg, GuidedStart | GuidedChoose):
            asyncio.create_task(app.state.guided.handle(conn, msg, send, error_frame))
        elif msg.type in CALL_TYPES:
            asyncio.create_task(_call(app, conn, msg, send, call_order))


_CHARS_SAFE = MAX_FRAME_BYTES // 4  # a str this long cannot exceed the byte limit in UTF-8
_MOVE_KEYS = frozenset(PresenceMove.model_fields)
_MOVE_DEFAULTS = {"heading": 0.0, "ts": 0.0}
# json.loads without its Python wrappers: one value at an index (an instance attribute typeshed does not list)
_scan_json: Any = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
# The move every client sends, byte for byte (the world's and the bots' frame): four JSON numbers with a
# fraction or an exponent, which json reads as float(text), ASCII digits only, as json's scanner
_JSON_FLOAT = r"(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+(?:[eE][-+]?[0-9]+)?|[eE][-+]?[0-9]+))"
_canonical_move = re.compile(
    r'\{"type":"presence\.move","x":'
    + _JSON_FLOAT
    + r',"y":'
    + _JSON_FLOAT
    + r',"heading":'
    + _JSON_FLOAT
    + r',"ts":'
    + _JSON_FLOAT
    + r"\}"
).fullmatch


def _ref_of(raw: str) -> str | None:
    """The frame's ``ref`` (if it has one) for its error frame; only parsed when the frame is bad."""
    try:
        peek = json.loads(raw)
    except (ValueError, RecursionError):  # deeply nested JSON must get its error frame, not kill the socket
        return None
    if isinstance(peek, dict) and isinstance(peek.get("ref"), str):
        return peek["ref"][:64]
    return None


def _number(value: object) -> float | None:
    if type(value) is float:
        return value if math.isfinite(value) else None
    if type(value) is int and -(2**53) <= value <= 2**53:
        return float(value)
    return None


def _plain_move(raw: str) -> tuple[float, float, float, float] | None:
    """A well-formed ``presence.move`` as (x, y, heading, ts), else None (then pydantic decides and explains).

    Accepts only what ``PresenceMove`` accepts (known keys, finite JSON numbers, no booleans);
    anything unusual, even if pydantic would coerce it, takes the validated path.
    The shape every client sends (all four fields, as floats) costs one C-level scan and
    four type checks: 10,000 of these a second at 1,000 visitors (~1.8 us, was ~5 us).
    """
    canonical = _canonical_move(raw)
    if canonical is not None:  # one regex match instead of the JSON scan and a dict: ~1.8 vs ~2.6 us
        fx, fy, fheading, fts = map(float, canonical.groups())
        if math.isfinite(fx + fy + fheading + fts):
            return fx, fy, fheading, fts
    if '"presence.move"' not in raw:
        return None
    data: Any = None
    if raw[:1] == "{":
        try:
            data, end = _scan_json(raw, 0)
        except (ValueError, RecursionError, StopIteration):
            data = None
        else:
            if end != len(raw):
                data = None  # trailing whitespace or bytes: json.loads below decides
    if data is None:
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            return None
    if type(data) is not dict or data.get("type") != "presence.move":
        return None
    if len(data) == 5:  # type, x, y, heading, ts: the world's and the bots' frame
        x, y, heading, ts = data.get("x"), data.get("y"), data.get("heading"), data.get("ts")
        if type(x) is float and type(y) is float and type(heading) is float and type(ts) is float:
            # a sum of finite floats is finite unless it overflows; an overflow only sends it the long way
            if math.isfinite(x + y + heading + ts):
                return x, y, heading, ts
    if not data.keys() <= _MOVE_KEYS:
        return None
    values = [_number(data.get(key, _MOVE_DEFAULTS.get(key))) for key in ("x", "y", "heading", "ts")]
    x, y, heading, ts = values
    if x is None or y is None or heading is None or ts is None:
        return None
    return x, y, heading, ts


def _apply_move(presence: Any, conn: Conn, send: Any, x: float, y: float, heading: float, ts: float) -> None:
    moved = presence.move(conn.public_id, x, y, heading, ts)
    if moved is not None and moved.clamped:
        _correct(send, moved)


def _correct(send: Any, moved: Any) -> None:
    """The mover's own view is wrong now: tell it where it really stands."""
    cx, cy, ch = round(moved.x, 2), round(moved.y, 2), round(moved.heading, 1)  # as on the wire
    send({"type": "presence.correct", "x": cx, "y": cy, "heading": ch})


async def _call(app: Any, conn: Conn, msg: Any, send: Any, order: asyncio.Lock) -> None:
    async with order:  # FIFO: an offer is relayed before the candidates that follow it
        try:
            await app.state.calls.from_citizen(conn.session_id, msg)
        except CallRefused as exc:
            send(error_frame(exc.code, exc.message))


async def _chat(app: Any, conn: Conn, msg: ChatSay, send: Any) -> None:
    chat = app.state.chat
    try:
        frame = await chat.answer_frame(conn.session_id, msg.text, msg.conversation_id, msg.lang, msg.ref)
    except ApiError as exc:
        send(error_frame(exc.code, exc.message_en, msg.ref))
        return
    send(frame)
