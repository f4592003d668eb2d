"""Presence bandwidth: compact rows, distance rates, and a far walker that still looks smooth."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from protocol.messages import PresenceEntity, parse_server
from protocol.presence import apply_snapshot, heading_of, quantize
from server.realtime.presence import PresenceEngine
from world.interp import Interpolator

BANDS = ((4.0, 1), (8.0, 2))  # the server's default: near every tick, then every 2nd, beyond every 4th


def _engine(**kw: object) -> PresenceEngine:
    return PresenceEngine(k=40, radius=30.0, max_speed=100.0, eps_pos=0.0, eps_heading=0.0, **kw)  # type: ignore[arg-type]


def test_a_moved_entity_is_a_row_without_name_or_timestamp() -> None:
    eng = _engine()
    eng.join("viewer", "Vi", 0.0, 0.0, now=0.0)
    eng.join("walker", "Walker With A Long Name", 1.0, 0.0, now=0.0)
    eng.tick_wire(0.0)
    eng.move("walker", 1.234, -0.5, 90.0, 0.1, 0.1)
    wire = eng.tick_wire(0.1)["viewer"]
    frame = json.loads(wire.text)
    assert frame["changed"] == [["walker", 123, -50, 64]]
    assert "name" not in wire.text and "ts" not in wire.text
    assert parse_server(wire.text) == wire.to_model()


def test_rows_need_the_entity_first_and_keep_its_name() -> None:
    view = {"w": PresenceEntity(id="w", name="Wati", x=0.0, y=0.0)}
    snap = parse_server(
        json.dumps(
            {
                "type": "presence.snapshot",
                "tick": 2,
                "hall": "Aula 1",
                "changed": [["w", 150, -20, 128], ["ghost", 1, 1, 1]],
            }
        )
    )
    after = apply_snapshot(view, snap)  # type: ignore[arg-type]
    assert after == {"w": PresenceEntity(id="w", name="Wati", x=1.5, y=-0.2, heading=180.0)}


@pytest.mark.parametrize(
    "row",
    [["w", 1.5, 0, 0], ["w", 1, 2], ["w", 1, 2, 3, 4], [1, 2, 3, 4], "w"],
)
def test_a_malformed_row_is_refused_by_the_schema(row: object) -> None:
    with pytest.raises(ValueError):
        parse_server(json.dumps({"type": "presence.snapshot", "tick": 1, "hall": "A", "changed": [row]}))


def _walkers(eng: PresenceEngine, distances: list[float]) -> None:
    eng.join("viewer", "V", 0.0, 0.0, now=0.0)
    for i, d in enumerate(distances):
        eng.join(f"w{i}", f"W{i}", d, 0.0, now=0.0)


def test_far_walkers_are_sent_less_often_but_never_lost() -> None:
    distances = [2.0, 3.0, 6.0, 7.0, 12.0, 20.0]
    eng = _engine(rate_bands=BANDS)
    _walkers(eng, distances)
    view = apply_snapshot({}, eng.tick(0.0)["viewer"])
    sent = {f"w{i}": 0 for i in range(len(distances))}
    for step in range(1, 41):  # everyone moves every tick, along y (the distance barely changes)
        now = step * 0.1
        for i, d in enumerate(distances):
            eng.move(f"w{i}", d, 0.01 * step, 0.0, now, now)
        snap = eng.tick(now).get("viewer")
        if snap is not None:
            for row in snap.changed:
                sent[row[0]] += 1
            view = apply_snapshot(view, snap)
    assert sent == {"w0": 40, "w1": 40, "w2": 20, "w3": 20, "w4": 10, "w5": 10}
    # nobody moves any more: within one slowest period every view reaches the published state
    for step in range(41, 45):
        snap = eng.tick(step * 0.1).get("viewer")
        if snap is not None:
            view = apply_snapshot(view, snap)
    published = {s.id: s for s in eng.local_states()}
    for ent_id, ent in view.items():
        xcm, ycm, h = quantize(published[ent_id].x, published[ent_id].y, published[ent_id].heading)
        assert (ent.x, ent.y, ent.heading) == (xcm / 100, ycm / 100, heading_of(h))


def test_without_bands_every_change_goes_at_once() -> None:
    eng = PresenceEngine(k=40, radius=30.0, max_speed=100.0)  # default epsilons: w0 stands still
    _walkers(eng, [2.0, 20.0])
    eng.tick(0.0)
    eng.move("w1", 20.0, 0.5, 0.0, 0.1, 0.1)
    assert [r[0] for r in eng.tick(0.1)["viewer"].changed] == ["w1"]


def test_bytes_per_visitor_with_forty_walkers_in_view() -> None:
    """The figure the issue sets (<= 8 KB/s) for one viewer in a walking crowd of 40, at 10 Hz."""
    eng = _engine(rate_bands=BANDS)
    eng.join("viewer", "Visitor", 0.0, 0.0, now=0.0)
    walkers = []
    for i in range(40):
        ring, ang = 1.5 + (i % 8) * 1.6, i * 2.4
        walkers.append((f"{i:016x}", ring, ang))  # 16-hex public ids, as sessions have
        eng.join(walkers[-1][0], f"Pengunjung {i}", ring * math.cos(ang), ring * math.sin(ang), now=0.0)
    eng.tick_wire(0.0)
    total = 0
    seconds = 10
    for step in range(1, 10 * seconds + 1):
        now = step * 0.1
        for wid, ring, ang in walkers:
            a = ang + 1.4 / ring * now
            eng.move(wid, ring * math.cos(a), ring * math.sin(a), math.degrees(a) + 90, now, now)
        wire = eng.tick_wire(now).get("viewer")
        total += len(wire.text.encode()) if wire else 0
    per_second = total / seconds
    assert per_second <= 8000, per_second
    v1_row = len('{"id":"0123456789abcdef","name":"Pengunjung 12","x":-3.21,"y":4.56,"heading":123.4,"ts":1234.567}')
    assert per_second < 40 * 10 * v1_row / 3  # a third of what v1 objects at 10 Hz would cost


def test_a_far_walker_is_drawn_on_its_path_and_never_stalls() -> None:
    """Rendered at 60 fps from snapshots every 4th tick, it stays within 10 cm of the true path."""
    eng = _engine(rate_bands=BANDS)
    eng.join("viewer", "V", 0.0, 0.0, now=0.0)
    radius, cx = 3.0, 14.0  # a circle 11-17 m away: the slowest band

    def true_at(t: float) -> tuple[float, float]:
        a = 1.4 / radius * t
        return cx + radius * math.cos(a), radius * math.sin(a)

    eng.join("far", "Far", *true_at(0.0), now=0.0)
    interp = Interpolator(delay=0.1, self_id="viewer")
    interp.apply(eng.tick(0.0)["viewer"], 0.0)
    path = [true_at(i * 0.01) for i in range(0, 1201)]
    drawn: list[tuple[float, float]] = []
    for frame in range(1, 60 * 10):
        now = frame / 60
        if frame % 6 == 0:  # 10 Hz: the walker moves and the server ticks
            eng.move("far", *true_at(now), 0.0, now, now)
            snap = eng.tick(now).get("viewer")
            if snap is not None:
                interp.apply(snap, now)
        if now > 1.0:
            x, y, _ = interp.positions(now)["far"]
            drawn.append((x, y))
    worst = max(min(math.hypot(x - px, y - py) for px, py in path) for x, y in drawn)
    assert worst <= 0.10, worst
    # smooth: after the first sample gap is learnt, no two consecutive frames draw the same spot
    stalls = sum(1 for a, b in zip(drawn[30:], drawn[31:], strict=False) if math.hypot(a[0] - b[0], a[1] - b[1]) < 1e-4)
    assert stalls == 0


def test_a_protocol_1_client_is_welcomed_but_may_not_join_presence(client: Any) -> None:
    """The 2D page and the console (no presence) keep working; a v1 hall would misread rows, so it is told."""
    from tests.server.conftest import new_session

    token = new_session(client)["Authorization"].split()[1]
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "hello", "token": token, "protocol_version": 1, "last_seq": 0})
        assert ws.receive_json()["type"] == "welcome"
        ws.send_json({"type": "presence.join", "x": 0.0, "y": 0.0})
        err = ws.receive_json()
        assert err["type"] == "error" and err["code"] == "protocol_version"
        ws.send_json({"type": "ping", "nonce": 7})
        assert ws.receive_json() == {"type": "pong", "nonce": 7}
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "hello", "token": token, "protocol_version": 3, "last_seq": 0})
        err = ws.receive_json()
        assert err["type"] == "error" and err["code"] == "protocol_version"
