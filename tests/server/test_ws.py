"""The websocket protocol: handshake, live events, replay, bad frames, limits."""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from starlette.websockets import WebSocketDisconnect

from protocol.messages import PresenceMove, client_adapter, parse_server
from server.realtime.fastws import FAST_HOOKS
from server.realtime.ws import _plain_move
from tests.server.conftest import create_app_json, fold_presence, identified, make_officer, new_session


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].split()[1]


def recv_until(ws: Any, kind: str, limit: int = 50) -> dict[str, Any]:
    for _ in range(limit):
        frame = ws.receive_json()
        if frame["type"] == kind:
            return dict(frame)
    raise AssertionError(f"no {kind} frame")


def hello(ws: Any, token: str, last_seq: int = 0) -> dict[str, Any]:
    ws.send_json({"type": "hello", "token": token, "protocol_version": 2, "last_seq": last_seq})
    welcome = ws.receive_json()
    assert welcome["type"] == "welcome", welcome
    parse_server(json.dumps(welcome))
    return dict(welcome)


def test_hello_welcome_and_live_application_events(client: TestClient, migrated: Any) -> None:
    h = identified(client)
    with client.websocket_connect("/ws") as ws:
        welcome = hello(ws, token_of(h))
        assert welcome["citizen"] == "3510********0001" and welcome["last_seq"] == 0
        t = create_app_json(client, h)["tracking_number"]
        first = recv_until(ws, "application.event")
        second = recv_until(ws, "application.event")
        assert (first["to_state"], second["to_state"]) == ("draft", "submitted")
        assert first["tracking_number"] == t and second["seq"] > first["seq"]
        officer = make_officer(client, migrated, "dukcapil1", "dukcapil")
        client.post(f"/api/v1/officer/applications/{t}/transition", json={"to": "verified"}, headers=officer)
        ev = recv_until(ws, "application.event")
        assert ev["to_state"] == "verified" and ev["actor"] == "officer:dukcapil1"


def test_replay_after_reconnect_from_last_seq(client: TestClient, migrated: Any) -> None:
    h = identified(client)
    officer = make_officer(client, migrated, "dukcapil1", "dukcapil")
    with client.websocket_connect("/ws") as ws:
        hello(ws, token_of(h))
        t = create_app_json(client, h)["tracking_number"]
        recv_until(ws, "application.event")
        last = recv_until(ws, "application.event")["seq"]
    # while disconnected, an officer acts twice
    for target in ("verified", "in_process"):
        client.post(f"/api/v1/officer/applications/{t}/transition", json={"to": target}, headers=officer)
    with client.websocket_connect("/ws") as ws:
        welcome = hello(ws, token_of(h), last_seq=last)
        assert welcome["last_seq"] > last
        replayed = [recv_until(ws, "application.event"), recv_until(ws, "application.event")]
        assert [f["to_state"] for f in replayed] == ["verified", "in_process"]
        assert all(f["seq"] > last for f in replayed)


def test_queue_events_reach_ticket_holder(client: TestClient, migrated: Any) -> None:
    h = new_session(client)
    officer = make_officer(client, migrated, "dukcapil1", "dukcapil")
    with client.websocket_connect("/ws") as ws:
        hello(ws, token_of(h))
        client.post("/api/v1/queue/tickets", json={"counter": 1}, headers=h)
        assert recv_until(ws, "queue.event")["state"] == "waiting"
        client.post("/api/v1/officer/queue/1/call-next", headers=officer)
        called = recv_until(ws, "queue.event")
        assert called["state"] == "called" and called["ticket_code"] == "A-001"


BAD_FRAMES = [
    ("{not json", "malformed"),
    ('{"type": "teleport"}', "unknown_type"),
    ('{"x": 1}', "missing_type"),
    ('{"type": "presence.move", "x": "far"}', "invalid_frame"),
    ('{"type": "chat.say", "text": "hi", "status": "completed"}', "forbidden_field"),
    ('{"type": "presence.join", "role": "officer"}', "forbidden_field"),
    ("[1, 2, 3]", "invalid_frame"),
    ('{"type": "presence.move", "x": NaN, "y": 1}', "malformed"),
]


move_values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**60), max_value=2**60),
    st.booleans(),
    st.none(),
    st.text(max_size=4),
    st.just("1.5"),
)


@settings(max_examples=400, deadline=None)
@given(
    fields=st.dictionaries(st.sampled_from(["x", "y", "heading", "ts", "ref", "type", "role"]), move_values),
    kind=st.sampled_from(["presence.move", "presence.join", "chat.say"]),
)
def test_plain_move_parser_agrees_with_the_protocol_model(fields: dict[str, Any], kind: str) -> None:
    """The no-pydantic path for moves takes a frame only if the model would take it, with equal values."""
    raw = json.dumps({"type": kind, **{k: v for k, v in fields.items() if k != "type"}})
    _fast_agrees_with_the_model(raw)


def _fast_agrees_with_the_model(raw: str) -> tuple[float, ...] | None:
    """The fast parse of ``raw``, asserted to take it only where the model does, with equal values."""
    fast = _plain_move(raw)
    try:
        msg = client_adapter.validate_json(raw)
    except ValidationError:
        assert fast is None
        return None
    if fast is not None:
        assert isinstance(msg, PresenceMove)
        assert fast == (msg.x, msg.y, msg.heading, msg.ts)
    return fast


number_texts = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.floats(-1e4, 1e4).map(lambda v: f"{v:.2f}"),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda v: f"{v:e}"),
    st.integers(-(2**60), 2**60).map(str),
    st.sampled_from(["-0.0", "0.5E+3", "1e308", "1e309", "-1E-400", "01.5", ".5", "1.", "+1.0", "1_0.0", "١.٥", "NaN"]),
)


@settings(max_examples=400, deadline=None)
@given(x=number_texts, y=number_texts, heading=number_texts, ts=number_texts)
def test_the_canonical_move_parses_as_json_and_the_protocol_model_do(x: str, y: str, heading: str, ts: str) -> None:
    """The compact frame every client sends is matched by a regex, not scanned as JSON: same answer, same values."""
    raw = f'{{"type":"presence.move","x":{x},"y":{y},"heading":{heading},"ts":{ts}}}'
    try:
        client_adapter.validate_json(raw)
    except ValidationError:
        assert _plain_move(raw) is None
        return
    fast = _fast_agrees_with_the_model(raw)
    if fast is not None:
        values = json.loads(raw)
        assert fast == tuple(float(values[key]) for key in ("x", "y", "heading", "ts"))
        assert [math.copysign(1, v) for v in fast] == [math.copysign(1, values[k]) for k in ("x", "y", "heading", "ts")]
    elif all(math.isfinite(v) and type(v) is float for v in json.loads(raw).values() if type(v) is not str):
        raise AssertionError(f"a plain move was declined: {raw}")


def test_plain_move_parser_declines_what_it_does_not_need_to_explain() -> None:
    assert _plain_move('{"type":"presence.move","x":1,"y":2}') == (1.0, 2.0, 0.0, 0.0)
    assert _plain_move('{"type":"presence.move","x":1.5,"y":-2.25,"heading":90,"ts":1.5}') == (1.5, -2.25, 90.0, 1.5)
    for raw in (
        '{"type":"presence.move","x":"1.5","y":2}',  # pydantic may coerce it; the fast path leaves it
        '{"type":"presence.move","x":true,"y":2}',
        '{"type":"presence.move","x":1,"y":2,"z":3}',
        '{"type":"presence.move","x":Infinity,"y":2}',
        '{"type":"presence.move","x":1}',
        '[{"type":"presence.move"}]',
        '{"type":"presence.move"',
    ):
        assert _plain_move(raw) is None, raw


def test_plain_move_parser_short_shape_keeps_the_rules() -> None:
    """The five-float shape (every client's move) is scanned without json.loads; its edge cases match the long way."""
    spaced = '{"type": "presence.move", "x": 1.5, "y": 2.0, "heading": 3.0, "ts": 4.5}'
    assert _plain_move(spaced) == (1.5, 2.0, 3.0, 4.5)
    assert _plain_move(' {"type":"presence.move","x":1.5,"y":2.0,"heading":3.0,"ts":4.5} ') == (1.5, 2.0, 3.0, 4.5)
    # finite values whose sum overflows still count (the long way checks each one)
    assert _plain_move('{"type":"presence.move","x":1e308,"y":1e308,"heading":0.0,"ts":0.0}') == (1e308, 1e308, 0, 0)
    for raw in (
        '{"type":"presence.move","x":NaN,"y":2.0,"heading":3.0,"ts":4.5}',
        '{"type":"presence.move","x":1.0,"y":-Infinity,"heading":3.0,"ts":4.5}',
        '{"type":"presence.move","x":1.0,"y":2.0,"heading":3.0,"ref":4.5}',
        '{"type":"presence.move","x":1.0,"y":2.0,"heading":3.0,"ts":4.5}}',
        '{"type":"presence.move","x":1.0,"y":2.0,"heading":3.0,"ts":4.5} x',
        '{"type":"presence.move","x":1.0,"y":2.0,"heading":3.0,"ts":4.5,"ts":true}',
    ):
        assert _plain_move(raw) is None, raw


@pytest.mark.parametrize(("raw", "code"), BAD_FRAMES, ids=[c + str(i) for i, (_, c) in enumerate(BAD_FRAMES)])
def test_bad_frames_get_error_and_connection_stays(client: TestClient, raw: str, code: str) -> None:
    h = new_session(client)
    with client.websocket_connect("/ws") as ws:
        hello(ws, token_of(h))
        ws.send_text(raw)
        err = recv_until(ws, "error")
        assert err["code"] in (code, "invalid_frame", "malformed"), err
        assert err["message"] and "Traceback" not in err["message"]
        ws.send_json({"type": "ping", "nonce": 7})
        assert recv_until(ws, "pong")["nonce"] == 7


def test_error_frame_echoes_ref(client: TestClient) -> None:
    h = new_session(client)
    with client.websocket_connect("/ws") as ws:
        hello(ws, token_of(h))
        ws.send_text('{"type": "chat.say", "text": "", "ref": "r-1"}')
        assert recv_until(ws, "error")["ref"] == "r-1"


def test_oversized_frame_closes_1009(client: TestClient) -> None:
    h = new_session(client)
    with client.websocket_connect("/ws") as ws:
        hello(ws, token_of(h))
        ws.send_text(json.dumps({"type": "chat.say", "text": "a" * (70 * 1024)}))
        with pytest.raises(WebSocketDisconnect) as info:
            for _ in range(10):
                ws.receive_json()
        assert info.value.code == 1009


def test_rate_limit_closes_1008(client: TestClient) -> None:
    h = new_session(client)
    with client.websocket_connect("/ws") as ws:
        hello(ws, token_of(h))
        with pytest.raises(WebSocketDisconnect) as info:
            for i in range(500):
                ws.send_json({"type": "ping", "nonce": i})
            for _ in range(1000):
                ws.receive_json()
        assert info.value.code == 1008


def test_first_frame_must_be_hello_with_valid_token(client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "ping"})
        assert ws.receive_json()["code"] == "hello_required"
        with pytest.raises(WebSocketDisconnect):
            ws.receive_json()
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "hello", "token": "x" * 40, "protocol_version": 1, "last_seq": 0})
        assert ws.receive_json()["code"] == "unauthorized"


def test_foreign_origin_is_refused(client: TestClient) -> None:
    with (
        pytest.raises(WebSocketDisconnect) as info,
        client.websocket_connect("/ws", headers={"Origin": "https://evil.example"}),
    ):
        pass
    assert info.value.code == 1008


@contextlib.contextmanager
def two_visitors(client: TestClient, at_a: tuple[float, float], at_b: tuple[float, float]) -> Iterator[tuple[Any, Any]]:
    """Two welcomed sockets that have joined the hall at the given spots."""
    a, b = new_session(client), new_session(client)
    with client.websocket_connect("/ws") as wa, client.websocket_connect("/ws") as wb:
        hello(wa, token_of(a))
        hello(wb, token_of(b))
        wa.send_json({"type": "presence.join", "x": at_a[0], "y": at_a[1]})
        wb.send_json({"type": "presence.join", "x": at_b[0], "y": at_b[1]})
        yield wa, wb


def test_presence_snapshot_shows_other_visitor(client: TestClient) -> None:
    with two_visitors(client, (1.0, 2.0), (3.0, 4.0)) as (wa, wb):
        wb.send_json({"type": "presence.move", "x": 3.5, "y": 4.0, "ts": 12.5})
        seen: dict[str, Any] = {}
        for _ in range(40):
            snap = recv_until(wa, "presence.snapshot")
            seen = fold_presence(seen, snap)
            if any(abs(e["x"] - 3.5) < 1e-6 for e in seen.values()):
                break
        assert any(abs(e["x"] - 3.5) < 1e-6 for e in seen.values())


def test_a_clamped_move_is_corrected_to_the_mover_only(client: TestClient) -> None:
    with two_visitors(client, (0.0, 0.0), (1.0, 0.0)) as (wa, wb):
        wa.send_json({"type": "presence.move", "x": 0.5, "y": 0.0, "ts": 1.0})  # a normal step: no correction
        wa.send_json({"type": "presence.move", "x": 500.0, "y": 0.0, "heading": 90.0, "ts": 2.0})  # a teleport
        fix = recv_until(wa, "presence.correct")
        assert 0.5 < fix["x"] < 20.0 and fix["y"] == pytest.approx(0.0)  # as far as the speed budget allows
        assert fix["heading"] == pytest.approx(90.0)
        # the other visitor sees the same, clamped position and never gets a correction
        view: dict[str, Any] = {}
        for _ in range(80):
            frame = wb.receive_json()
            assert frame["type"] != "presence.correct"
            if frame["type"] != "presence.snapshot":
                continue
            view = fold_presence(view, frame)
            if any(abs(e["x"] - fix["x"]) < 0.011 for e in view.values()):
                break
        else:
            raise AssertionError("the clamped position never reached the other visitor")


class _Hooked:
    """The app behind a fake ``mpp.fastws`` extension whose socket is writable or not on demand."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.state = app.state
        self.writable = True
        self.sent: list[dict[str, Any]] = []
        self.hooks: list[dict[str, Any]] = []

    def send_now(self, text: str) -> bool:
        if self.writable:
            self.sent.append(json.loads(text))
        return self.writable

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            hooks: dict[str, Any] = {"send": self.send_now}
            self.hooks.append(hooks)
            scope = {**scope, "extensions": {**(scope.get("extensions") or {}), FAST_HOOKS: hooks}}
        await self.app(scope, receive, send)


def test_snapshots_go_straight_out_only_while_the_socket_takes_them(app: Any) -> None:
    hooked = _Hooked(app)
    with TestClient(hooked) as client, two_visitors(client, (0.0, 0.0), (1.0, 0.0)) as (wa, wb):
        deadline = time.monotonic() + 5
        while not any(f["type"] == "presence.snapshot" and f.get("full") for f in hooked.sent):
            assert time.monotonic() < deadline, "no snapshot through the direct path"
            time.sleep(0.02)
        assert all("on_text" in h for h in hooked.hooks)  # the app took the move hook on both sockets
        wa.send_json({"type": "ping", "nonce": 1})
        for _ in range(50):  # events still come through the queue; snapshots did not
            frame = wa.receive_json()
            assert frame["type"] != "presence.snapshot"
            if frame["type"] == "pong":
                break
        hooked.writable = False  # the socket is full: snapshots queue (and merge) instead
        wb.send_json({"type": "presence.move", "x": 1.5, "y": 0.0, "ts": 5.0})
        snap = recv_until(wa, "presence.snapshot")
        assert [r[1] for r in snap.get("changed", [])] == [150]  # 1.5 m, as a compact row
