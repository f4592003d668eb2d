"""Presence engine: interest choice, deltas, movement rules, instances, remote expiry, send queue."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.messages import PresenceEntity, PresenceSnapshot, parse_server
from protocol.presence import apply_snapshot, heading_of, merge_snapshots, quantize
from server.realtime.presence import (
    BACKLOG_CLOSE_CODE,
    BACKLOG_CLOSE_REASON,
    BacklogExceeded,
    PresenceEngine,
    SendQueue,
    WalkableArea,
    WireSnapshot,
    WireTick,
    encode_snapshot,
)
from server.realtime.presence.engine import _entity_json, _row_json, merge_wire
from server.realtime.presence.grid import SpatialGrid, auto_cell_size, brute_force_knn, tree_knn_d2

coord = st.floats(min_value=-40, max_value=40, allow_nan=False, allow_infinity=False)


def _d2(xy: np.ndarray, a: int, b: int) -> float:
    return float(((xy[a] - xy[b]) ** 2).sum())


# ---------------------------------------------------------------- grid


@settings(max_examples=60, deadline=None)
@given(
    pts=st.lists(st.tuples(coord, coord), min_size=1, max_size=120),
    k=st.integers(min_value=1, max_value=15),
    radius=st.floats(min_value=0.1, max_value=60),
    cell=st.floats(min_value=0.3, max_value=30),
)
def test_grid_knn_matches_brute_force(pts: list[tuple[float, float]], k: int, radius: float, cell: float) -> None:
    xy = np.array(pts, dtype=np.float64)
    grid = SpatialGrid(xy, cell, dense_limit=0)  # force the per-cell ring search
    batch = grid.knn(np.arange(len(xy)), k, radius)
    dense = SpatialGrid(xy, cell).knn(np.arange(len(xy)), k, radius)
    tree, tree_d2 = tree_knn_d2(xy, np.arange(len(xy)), k, radius)  # what the engine asks
    for v in range(len(xy)):
        expected = brute_force_knn(xy, v, k, radius)
        want = sorted(_d2(xy, v, i) for i in expected)
        assert sorted(d for d in tree_d2[v].tolist() if d < math.inf) == want
        for answer in (batch[v], dense[v], tree[v]):
            got = [int(i) for i in answer if i >= 0]
            assert v not in got
            assert len(got) == len(set(got)) == len(expected)
            # Ties at the K-th distance may pick different points, but the distances must agree.
            assert sorted(_d2(xy, v, i) for i in got) == want
        assert grid.query(float(xy[v, 0]), float(xy[v, 1]), k, radius, exclude=v) == expected


def test_grid_auto_cell_on_dense_hall_matches_brute_force() -> None:
    rng = np.random.default_rng(7)
    xy = np.concatenate([rng.normal(0, 1.5, (300, 2)), rng.uniform(-30, 30, (300, 2))])
    grid = SpatialGrid(xy, auto_cell_size(xy, 40, 15.0), dense_limit=0)
    batch = grid.knn(np.arange(len(xy)), 40, 15.0)
    for v in range(0, len(xy), 7):
        expected = brute_force_knn(xy, v, 40, 15.0)
        got = [int(i) for i in batch[v] if i >= 0]
        assert sorted(_d2(xy, v, i) for i in got) == sorted(_d2(xy, v, i) for i in expected)


def test_tree_knn_drops_the_viewer_even_when_others_stand_on_its_spot() -> None:
    xy = np.array([[0.0, 0.0]] * 5 + [[1.0, 0.0], [20.0, 0.0]])
    core, d2 = tree_knn_d2(xy, np.arange(7), 3, 15.0)
    for v in range(7):
        got = [int(i) for i in core[v] if i >= 0]
        assert v not in got and len(got) == len(set(got))
        assert sorted(_d2(xy, v, i) for i in got) == sorted(_d2(xy, v, i) for i in brute_force_knn(xy, v, 3, 15.0))
    assert core[6].tolist() == [-1, -1, -1] and d2[6].tolist() == [math.inf] * 3  # nobody within 15 m


def test_grid_query_from_outside_the_occupied_area() -> None:
    xy = np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0]])
    grid = SpatialGrid(xy, 1.0)
    assert grid.query(-3.0, 0.0, 2, 10.0) == [0, 1]
    assert grid.query(-30.0, 0.0, 2, 10.0) == []


# ---------------------------------------------------------------- interest edge, deltas


def _engine(**kw: object) -> PresenceEngine:
    params: dict[str, object] = {"k": 40, "radius": 15.0, "eps_pos": 0.0, "eps_heading": 0.0}
    params.update(kw)
    return PresenceEngine(**params)  # type: ignore[arg-type]


def test_enter_and_leave_exactly_at_the_radius() -> None:
    eng = _engine(max_speed=100.0)
    eng.join("a", "A", 0.0, 0.0, now=0.0)
    eng.join("b", "B", 15.0, 0.0, now=0.0)
    first = eng.tick(0.0)
    assert first["a"].full and [e.id for e in first["a"].entered] == ["b"]
    assert eng.move("b", 15.01, 0.0, 0.0, 1.0, 1.0) is not None
    snap = eng.tick(1.0)["a"]
    assert snap.left == ["b"] and not snap.entered
    eng.move("b", 15.0, 0.0, 0.0, 2.0, 2.0)
    snap = eng.tick(2.0)["a"]
    assert [e.id for e in snap.entered] == ["b"] and snap.entered[0].x == 15.0
    # Diagonal exactly on the circle: 9-12-15 triangle.
    eng.move("b", 9.0, 12.0, 0.0, 3.0, 3.0)
    assert "b" in eng.interest("a") and "b" in {r[0] for r in (eng.tick(3.0)["a"].changed)}


def test_nearest_k_chosen_and_self_excluded() -> None:
    eng = _engine(k=3)
    for i, x in enumerate([0.0, 1.0, 2.0, 3.0, 4.0, 20.0]):
        eng.join(f"e{i}", f"E{i}", x, 0.0, now=0.0)
    snaps = eng.tick(0.0)
    assert {e.id for e in snaps["e0"].entered} == {"e1", "e2", "e3"}
    assert {e.id for e in snaps["e5"].entered} == set()  # nobody within 15 m
    assert all(vid not in {e.id for e in s.entered} for vid, s in snaps.items())


def test_unchanged_view_sends_nothing_and_small_jitter_is_not_a_change() -> None:
    eng = PresenceEngine(eps_pos=0.05, eps_heading=1.0)
    eng.join("a", "A", 0.0, 0.0, now=0.0)
    eng.join("b", "B", 1.0, 0.0, now=0.0)
    eng.tick(0.0)
    eng.move("b", 1.01, 0.0, 0.4, 1.0, 1.0)
    assert eng.tick(1.0) == {}
    eng.move("b", 1.2, 0.0, 0.4, 2.0, 2.0)
    snap = eng.tick(2.0)["a"]
    assert [(r[0], r[1]) for r in snap.changed] == [("b", 120)]


def test_leaving_visitor_is_reported_left_to_viewers() -> None:
    eng = _engine()
    eng.join("a", "A", 0.0, 0.0)
    eng.join("b", "B", 1.0, 1.0)
    eng.tick(0.0)
    assert eng.leave("b") and not eng.leave("b")
    snaps = eng.tick(0.1)
    assert snaps["a"].left == ["b"] and "b" not in snaps
    assert eng.hall_of("b") is None


def _brute_interest(eng: PresenceEngine, viewer: str) -> set[str]:
    """Expected area of interest straight from the published positions (distances only)."""
    states = {s.id: s for s in eng.local_states()}
    me = states[viewer]
    others = [
        (math.hypot(s.x - me.x, s.y - me.y), s.id) for s in states.values() if s.id != viewer and s.hall == me.hall
    ]
    return {i for d, i in sorted(others)[: eng.k] if d <= eng.radius}


near = st.floats(min_value=-16, max_value=16, allow_nan=False, allow_infinity=False)
ops = st.lists(
    st.one_of(
        st.tuples(st.just("join"), st.integers(0, 8), near, near),
        st.tuples(st.just("move"), st.integers(0, 8), near, near),
        st.tuples(st.just("move"), st.integers(0, 8), near, near),
        st.tuples(st.just("leave"), st.integers(0, 8), st.just(0.0), st.just(0.0)),
        st.tuples(st.just("tick"), st.just(0), st.just(0.0), st.just(0.0)),
        st.tuples(st.just("prepare"), st.just(0), st.just(0.0), st.just(0.0)),
    ),
    min_size=10,
    max_size=80,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequence=ops)
def test_deltas_rebuild_the_area_of_interest(sequence: list[tuple[str, int, float, float]]) -> None:
    eng = PresenceEngine(k=3, radius=12.0, capacity=7, max_speed=40.0, eps_pos=0.0, eps_heading=0.0)
    views: dict[str, dict[str, PresenceEntity]] = {}
    now = 0.0
    stale = False
    sequence = [*sequence, ("tick", 0, 0.0, 0.0)]
    for op, who, x, y in sequence:
        vid = f"v{who}"
        now += 0.1
        if op == "join":
            eng.join(vid, f"Name {who}", x, y, now=now)
            views.pop(vid, None)
        elif op == "move":
            eng.move(vid, x, y, (x * 7) % 360, now, now)
        elif op == "leave":
            eng.leave(vid)
            views.pop(vid, None)
        elif op == "prepare":
            eng.prepare()
            stale = True  # moves after this may not change who is chosen until the next tick
        else:
            for viewer, wire in eng.tick_wire(now).items():
                snap = wire.to_model()
                assert parse_server(wire.text) == snap  # what is sent is what the model says
                assert snap.full == (viewer not in views)
                views[viewer] = apply_snapshot(views.get(viewer, {}), snap)
            published = {s.id: s for s in eng.local_states()}
            for viewer in published:
                view = views[viewer]
                assert set(view) == eng.interest(viewer)
                for ent in view.values():
                    src = published[ent.id]
                    xcm, ycm, h = quantize(src.x, src.y, src.heading)
                    assert (ent.x, ent.y, ent.heading, ent.name) == (xcm / 100, ycm / 100, heading_of(h), src.name)
                if stale:
                    continue
                # Distances are checked on the (unrounded) server positions, ties make the set ambiguous,
                # so compare the distance multiset with brute force instead of the ids.
                me = published[viewer]
                got = sorted(math.hypot(published[i].x - me.x, published[i].y - me.y) for i in view)
                exp = sorted(
                    math.hypot(published[i].x - me.x, published[i].y - me.y) for i in _brute_interest(eng, viewer)
                )
                assert got == pytest.approx(exp)
            stale = False


def test_kept_entity_that_moved_is_changed_while_another_enters() -> None:
    eng = _engine()
    eng.join("a", "A", 0.0, 0.0, now=0.0)
    eng.join("b", "B", 1.0, 0.0, now=0.0)
    eng.tick(0.0)
    eng.join("c", "C", 2.0, 0.0, now=0.1)
    eng.move("b", 1.5, 0.0, 0.0, 0.1, 0.1)
    snap = eng.tick(0.1)["a"]
    assert [e.id for e in snap.entered] == ["c"]
    assert [(r[0], r[1]) for r in snap.changed] == [("b", 150)]


def test_encoded_snapshot_parses_back_to_the_same_content() -> None:
    eng = _engine()
    eng.join("a", "Ani", 0.0, 0.0)
    eng.join("b", 'Budi "B" Ñandú', 1.234567, -2.0, 91.25)
    snap = eng.tick(0.0)["a"]
    wire = encode_snapshot(snap)
    parsed = parse_server(wire)
    assert isinstance(parsed, PresenceSnapshot)
    assert parsed.model_dump() == snap.model_dump()
    assert parsed.entered[0].x == 1.23  # published rounded to centimetres
    assert "wire" not in snap.model_dump_json()
    plain = PresenceSnapshot(tick=3, hall="Aula 1", left=["x"], changed=[("c", 100, 200, 64)])
    assert parse_server(encode_snapshot(plain)).model_dump() == plain.model_dump()


# ---------------------------------------------------------------- movement rules


def test_speed_is_clamped_along_the_direction() -> None:
    eng = PresenceEngine(max_speed=6.0, burst_seconds=0.5)
    eng.join("a", "A", 0.0, 0.0, now=0.0)
    res = eng.move("a", 50.0, 0.0, 0.0, 0.0, 1.0)  # 1 s: 6 m budget, capped at the 3 m allowance
    assert res is not None and res.clamped
    assert (res.x, res.y) == pytest.approx((3.0, 0.0))
    res = eng.move("a", 3.0, 40.0, 0.0, 0.0, 1.1)  # 0.1 s later: 0.6 m, straight towards the target
    assert res is not None and res.clamped
    assert (res.x, res.y) == pytest.approx((3.0, 0.6))
    res = eng.move("a", 3.3, 0.6, 0.0, 0.0, 1.2)  # a legal walk is accepted untouched
    assert res is not None and not res.clamped and (res.x, res.y) == (3.3, 0.6)


def test_move_spam_cannot_beat_the_speed_limit() -> None:
    eng = PresenceEngine(max_speed=6.0, burst_seconds=0.5)
    eng.join("a", "A", -25.0, 0.0, now=0.0)
    t = 0.0
    for _ in range(1000):  # 1000 moves in 1 s, each asking for +1 m
        t += 0.001
        res = eng.move("a", eng.local_states()[0].x + 1.0, 0.0, 0.0, t, t)
        assert res is not None
    assert eng.local_states()[0].x <= -25.0 + 3.0 + 6.0 * 1.0 + 1e-9


def test_positions_are_clamped_into_the_walkable_area() -> None:
    eng = PresenceEngine(max_speed=1000.0)
    eng.join("a", "A", 100.0, 100.0, now=0.0)
    state = eng.local_states()[0]
    assert (state.x, state.y) == (30.0, 25.0)
    res = eng.move("a", 30.0, -90.0, 0.0, 0.0, 10.0)
    assert res is not None and res.clamped and (res.x, res.y) == (30.0, -20.0)
    assert eng.move("a", float("nan"), 0.0, 0.0, 0.0, 11.0) is None
    assert eng.move("a", 0.0, 0.0, float("inf"), 0.0, 11.0) is None
    assert eng.move("a", "1", 0.0, 0.0, 0.0, 11.0) is None  # type: ignore[arg-type]
    assert eng.move("a", 1j, 0.0, 0.0, 0.0, 11.0) is None  # type: ignore[arg-type]
    assert eng.local_states()[0][2:4] == (30.0, -20.0)  # rejected moves change nothing
    assert eng.move("ghost", 0.0, 0.0, 0.0, 0.0, 11.0) is None


def test_l_shaped_area_clamps_to_nearest_inside_point() -> None:
    area = WalkableArea.rects([(0, 0, 10, 2), (0, 0, 2, 10)])
    assert area.clamp(5.0, 1.0) == (5.0, 1.0)
    assert area.clamp(5.0, 5.0) == (5.0, 2.0)
    assert area.clamp(-3.0, 8.0) == (0.0, 8.0)
    tri = WalkableArea((((0.0, 0.0), (10.0, 0.0), (0.0, 10.0)),))
    assert tri.contains(1.0, 1.0) and not tri.contains(8.0, 8.0)
    assert tri.clamp(8.0, 8.0) == pytest.approx((5.0, 5.0))
    with pytest.raises(ValueError):
        WalkableArea.rect(1, 1, 1, 5)


@settings(max_examples=60, deadline=None)
@given(x=st.floats(-1e6, 1e6), y=st.floats(-1e6, 1e6))
def test_clamped_point_is_walkable_and_fixed(x: float, y: float) -> None:
    area = WalkableArea.rects([(0, 0, 10, 2), (0, 0, 2, 10)])
    cx, cy = area.clamp(x, y)
    assert area.contains(cx, cy)
    assert area.clamp(cx, cy) == (cx, cy)


# ---------------------------------------------------------------- hall instances, remote nodes


def test_instance_overflow_opens_the_next_hall_and_leaving_frees_a_slot() -> None:
    eng = PresenceEngine(capacity=3)
    halls = [eng.join(f"v{i}", f"V{i}", 0.0, float(i)) for i in range(4)]
    assert halls == ["Aula 1", "Aula 1", "Aula 1", "Aula 2"]
    assert eng.hall_of("v3") == "Aula 2"
    snaps = eng.tick(0.0)
    assert snaps["v3"].hall == "Aula 2" and snaps["v3"].entered == []  # other halls are invisible
    assert {e.id for e in snaps["v0"].entered} == {"v1", "v2"}
    eng.leave("v1")
    assert eng.join("v4", "V4", 0.0, 0.0) == "Aula 1"
    assert eng.join("v0", "V0 again", 0.0, 0.0) == "Aula 1"  # re-join keeps the hall
    assert eng.occupancy() == {"Aula 1": 3, "Aula 2": 1}


def test_remote_entities_are_seen_and_expire_after_ttl() -> None:
    eng = _engine()
    eng.join("a", "A", 0.0, 0.0)
    assert eng.upsert_remote("node-2", "r1", "R1", 2.0, 0.0, 0.0, 5.0, now=10.0)
    assert eng.upsert_remote("node-2", "r2", "R2", 3.0, 0.0, 0.0, 5.0, now=10.0)
    snap = eng.tick(10.0)["a"]
    assert {e.id for e in snap.entered} == {"r1", "r2"}
    assert "r1" not in eng.tick(10.1)  # remote entities are viewed, they get no snapshots
    assert [s.id for s in eng.local_states()] == ["a"]
    eng.upsert_remote("node-2", "r1", "R1", 2.5, 0.0, 0.0, 6.0, now=12.0)
    assert eng.expire_remote(12.9, ttl=3.0) == []
    assert eng.expire_remote(13.01, ttl=3.0) == ["r2"]  # r2 last seen at 10.0
    assert eng.expire_remote(15.01, ttl=3.0) == ["r1"]
    assert eng.tick(15.1)["a"].left and not eng.interest("a")
    # A remote copy never overrides a visitor connected here.
    assert not eng.upsert_remote("node-2", "a", "A", 9.0, 9.0, 0.0, 0.0, now=16.0)
    assert not eng.leave("r1")


def test_remote_visitor_reconnecting_here_becomes_local() -> None:
    eng = _engine()
    eng.upsert_remote("node-2", "v", "V", 1.0, 1.0, 0.0, 0.0, now=0.0)
    eng.join("v", "V", 1.0, 1.0)
    assert [s.id for s in eng.local_states()] == ["v"]
    assert eng.expire_remote(100.0) == [] and "v" in eng


# ---------------------------------------------------------------- merge + send queue


ent_ids = st.sampled_from([f"e{i}" for i in range(6)])
entities = st.builds(
    PresenceEntity, id=ent_ids, name=st.sampled_from(["A", "B"]), x=st.integers(0, 5).map(float), y=st.just(0.0)
)
rows = st.tuples(ent_ids, st.integers(-300, 300), st.integers(-300, 300), st.integers(0, 255))
snapshots = st.builds(
    PresenceSnapshot,
    tick=st.integers(0, 9),
    hall=st.just("Aula 1"),
    full=st.booleans(),
    entered=st.lists(entities, max_size=4),
    changed=st.lists(rows, max_size=4),
    left=st.lists(ent_ids, max_size=4),
)
views = st.dictionaries(ent_ids, entities).map(lambda d: {k: v.model_copy(update={"id": k}) for k, v in d.items()})


@settings(max_examples=300, deadline=None)
@given(state=views, a=snapshots, b=snapshots)
def test_merge_law(state: dict[str, PresenceEntity], a: PresenceSnapshot, b: PresenceSnapshot) -> None:
    merged = merge_snapshots(a, b)
    assert apply_snapshot(state, merged) == apply_snapshot(apply_snapshot(state, a), b)
    assert merged.tick == b.tick


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sequence=st.lists(
        st.tuples(st.integers(0, 7), coord, coord, st.booleans(), st.integers(0, 3)), min_size=1, max_size=40
    )
)
def test_slow_client_loses_snapshots_never_events(sequence: list[tuple[int, float, float, bool, int]]) -> None:
    """Viewer 'me' drains its queue only now and then; its rebuilt view still equals the fast path."""
    eng = PresenceEngine(k=3, radius=10.0, max_speed=50.0, eps_pos=0.0, eps_heading=0.0)
    eng.join("me", "Me", 0.0, 0.0, now=0.0)
    queue = SendQueue(max_events=10_000, max_age=1e9, clock=lambda: 0.0)
    slow_view: dict[str, PresenceEntity] = {}
    fast_view: dict[str, PresenceEntity] = {}
    events_in: list[dict[str, int]] = []
    events_out: list[dict[str, int]] = []
    now = 0.0

    def drain() -> None:
        nonlocal slow_view
        while (item := queue.get_nowait()) is not None:
            if isinstance(item, WireSnapshot):
                assert parse_server(item.text) == item.to_model()
                slow_view = apply_snapshot(slow_view, item.to_model())
            else:
                events_out.append(item)

    for step, (who, x, y, present, event_burst) in enumerate(sequence):
        now += 0.1
        vid = f"o{who}"
        if present:
            if vid in eng:
                eng.move(vid, x, y, 0.0, now, now)
            else:
                eng.join(vid, vid.upper(), x, y, now=now)
        else:
            eng.leave(vid)
        for _ in range(event_burst):
            event = {"type": 1, "seq": len(events_in)}
            events_in.append(event)
            queue.put_nowait(dict(event))
        snap = eng.tick_wire(now).get("me")
        if snap is not None:
            fast_view = apply_snapshot(fast_view, snap.to_model())
            queue.put_nowait(snap)  # merged in the wire form while the client is slow
        if step % 5 == 4:
            drain()
    drain()
    assert slow_view == fast_view
    assert set(slow_view) == eng.interest("me")
    assert events_out == events_in


def test_queue_keeps_order_and_merges_only_snapshots() -> None:
    q = SendQueue(clock=lambda: 0.0)
    s1 = PresenceSnapshot(tick=1, hall="Aula 1", full=True, entered=[PresenceEntity(id="x", name="X", x=0, y=0)])
    s2 = PresenceSnapshot(tick=2, hall="Aula 1", changed=[("x", 100, 0, 0)])
    q.put_nowait({"seq": 1})
    q.put_nowait(s1)
    q.put_nowait({"seq": 2})
    q.put_nowait(s2)
    assert len(q) == 3 and q.snapshots_merged == 1
    assert q.get_nowait() == {"seq": 1}
    merged = q.get_nowait()
    assert isinstance(merged, PresenceSnapshot) and merged.full and merged.tick == 2
    assert merged.entered[0].x == 1
    assert q.get_nowait() == {"seq": 2}
    assert q.get_nowait() is None


def test_backlog_of_events_signals_disconnect() -> None:
    closed: list[tuple[int, str]] = []
    q = SendQueue(max_events=5, max_age=60.0, clock=lambda: 0.0, on_overflow=lambda c, r: closed.append((c, r)))
    for i in range(5):
        q.put_nowait({"seq": i})
    assert not closed and not q.check()
    q.put_nowait({"seq": 5})
    assert closed == [(BACKLOG_CLOSE_CODE, BACKLOG_CLOSE_REASON)] == [(4008, "backlog")]
    q.put_nowait({"seq": 6})
    assert len(closed) == 1  # signalled once
    with pytest.raises(BacklogExceeded) as err:
        q.get_nowait()
    assert err.value.code == 4008 and err.value.reason == "backlog"


def test_old_backlog_signals_disconnect_even_when_short() -> None:
    clock = [0.0]
    q = SendQueue(max_events=1000, max_age=5.0, clock=lambda: clock[0])
    q.put_nowait(PresenceSnapshot(tick=1, hall="Aula 1", full=True))
    clock[0] = 4.0
    q.put_nowait(PresenceSnapshot(tick=2, hall="Aula 1"))  # merged, still dated 0.0
    assert q.overflow is None
    clock[0] = 5.5
    assert q.check() and q.overflow is not None


def test_drained_queue_never_overflows() -> None:
    clock = [0.0]
    q = SendQueue(max_events=3, max_age=1.0, clock=lambda: clock[0])
    for i in range(100):
        clock[0] = i * 0.5
        q.put_nowait({"seq": i})
        q.put_nowait(PresenceSnapshot(tick=i, hall="Aula 1"))
        assert q.get_nowait() is not None and q.get_nowait() is not None
    assert q.overflow is None and q.events_sent == 100 and q.snapshots_sent == 100


def test_async_get_waits_and_close_ends_the_writer() -> None:
    async def main() -> list[object]:
        q = SendQueue()
        got: list[object] = []

        async def writer() -> None:
            while (item := await q.get()) is not None:
                got.append(item)

        task = asyncio.create_task(writer())
        await asyncio.sleep(0)
        q.put_nowait({"seq": 1})
        await asyncio.sleep(0)
        q.put_nowait({"seq": 2})
        q.close()
        await asyncio.wait_for(task, 1.0)
        return got

    assert asyncio.run(main()) == [{"seq": 1}, {"seq": 2}]


def test_async_get_raises_on_overflow() -> None:
    async def main() -> None:
        q = SendQueue(max_events=1)
        waiter = asyncio.create_task(q.get())
        await asyncio.sleep(0)
        q.put_nowait({"seq": 1})
        assert await waiter == {"seq": 1}
        q.put_nowait({"seq": 2})
        q.put_nowait({"seq": 3})
        with pytest.raises(BacklogExceeded):
            await q.get()

    asyncio.run(main())


# ---------------------------------------------------------------- load tool smoke test


@pytest.mark.slow
def test_load_tool_against_relay_baseline_delivers_updates() -> None:
    import socket

    from bench.loadtest import run_load, start_relay

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    relay = start_relay(port, k=2)
    try:
        result = run_load(
            f"ws://127.0.0.1:{port}/ws",
            http_base=None,
            bots=3,
            seconds=1.5,
            settle=0.5,
            processes=1,
            server_pid=relay.pid,
        )
    finally:
        relay.terminate()
        relay.join(5)
    assert result["connected"] == 3 and result["errors"] == 0 and result["failures"] == {}
    assert result["delivered_updates_per_s"] > 0 and result["latency_ms_p50"] is not None
    assert result["server_cpu_percent"] is not None


# ---------------------------------------------------------------- wire snapshots


def _wire(snap: PresenceSnapshot) -> WireSnapshot:
    return WireSnapshot(
        snap.tick,
        snap.hall,
        snap.full,
        [_entity_json(e) for e in snap.entered],
        [_row_json(r) for r in snap.changed],
        snap.left,
    )


@settings(max_examples=300, deadline=None)
@given(state=views, a=snapshots, b=snapshots)
def test_wire_merge_obeys_the_protocol_merge_law(
    state: dict[str, PresenceEntity], a: PresenceSnapshot, b: PresenceSnapshot
) -> None:
    merged = merge_wire(_wire(a), _wire(b))
    model = merged.to_model()
    assert parse_server(merged.text) == model
    assert apply_snapshot(state, model) == apply_snapshot(apply_snapshot(state, a), b)
    assert apply_snapshot(state, model) == apply_snapshot(state, merge_snapshots(a, b))
    assert model.tick == b.tick


def test_prepared_interest_is_used_by_the_tick_and_voided_by_a_join() -> None:
    eng = _engine(max_speed=100.0)
    eng.join("a", "A", 0.0, 0.0, now=0.0)
    eng.join("b", "B", 1.0, 0.0, now=0.0)
    eng.join("c", "C", 30.0, 0.0, now=0.0)
    eng.tick(0.0)
    eng.prepare()
    eng.move("c", 10.0, 0.0, 0.0, 0.1, 0.5)  # moves only: the prepared choice stands for this tick
    snap = eng.tick(0.1)["a"]
    assert snap.entered == [] and eng.interest("a") == {"b"}
    assert [e.id for e in eng.tick(0.15)["a"].entered] == ["c"]  # the next tick's choice sees the move
    eng.prepare()
    eng.join("d", "D", 2.0, 0.0, now=0.2)  # a join voids it: d is seen at once
    snaps = eng.tick(0.2)
    assert [e.id for e in snaps["a"].entered] == ["d"] and snaps["d"].full
    eng.prepare()
    eng.leave("b")  # and so does a leave: b is gone at once, never "changed"
    assert eng.tick(0.3)["a"].left == ["b"]


def test_entered_shows_the_last_published_state_and_name_however_late_it_is_built() -> None:
    """``entered`` fragments are built when first needed: they must still be the published state.

    b is published at 10.004 (quantised to 10.0), then drifts below epsilon (not re-published)
    and is renamed by a re-join; each entering viewer must see what the others were sent.
    """
    eng = _engine(max_speed=100.0, eps_pos=0.05, eps_heading=1.0)
    eng.join("a", "A", 0.0, 0.0, now=0.0)
    eng.join("b", "B", 10.004, 0.0, 90.0, now=0.0)
    eng.join("c", "C", 40.0, 0.0, now=0.0)  # far from b: sees nobody yet
    eng.tick(0.0)
    eng.move("b", 10.03, 0.0, 90.0, 1.0, 1.0)  # under eps_pos: not re-published
    eng.move("c", 11.0, 0.0, 0.0, 1.0, 1.0)  # c walks up to b
    snap = eng.tick(1.0)["c"]
    seen = {e.id: e for e in snap.entered}
    assert (seen["b"].name, seen["b"].x, seen["b"].heading) == ("B", 10.0, 90.0)
    eng.join("b", "Budi", 10.03, 0.0, 90.0, now=2.0)  # renamed: re-published with its new name
    eng.join("d", "D", 11.0, 1.0, now=2.0)
    snaps = eng.tick(2.0)
    assert {e.id: (e.name, e.x) for e in snaps["d"].entered}["b"] == ("Budi", 10.03)
    assert [e.id for e in snaps["a"].entered] == ["d"]  # a and c knew b: the rename is a change row
    assert ("b", 1003) in [(r[0], r[1]) for r in snaps["a"].changed]


def test_interest_every_second_tick_reuses_the_choice_but_never_past_a_join() -> None:
    eng = _engine(max_speed=100.0, interest_every=2)
    eng.join("a", "A", 0.0, 0.0, now=0.0)
    eng.join("b", "B", 1.0, 0.0, now=0.0)
    eng.join("c", "C", 30.0, 0.0, now=0.0)
    eng.prepare()
    eng.tick(0.0)
    eng.move("c", 10.0, 0.0, 0.0, 0.1, 0.5)
    eng.move("b", 2.0, 0.0, 0.0, 0.1, 0.5)
    eng.prepare()  # the second use of the first choice: c is not in a's view yet, b's move still goes out
    snap = eng.tick(0.1)["a"]
    assert snap.entered == [] and [(r[0], r[1]) for r in snap.changed] == [("b", 200)]
    eng.prepare()  # chosen afresh
    assert [e.id for e in eng.tick(0.2)["a"].entered] == ["c"]
    eng.move("c", 30.0, 0.0, 0.0, 0.3, 0.9)
    eng.prepare()  # afresh, then once reused ...
    eng.tick(0.3)
    eng.join("d", "D", 3.0, 0.0, now=0.4)  # ... but a join chooses afresh: d is seen at once
    eng.prepare()
    snaps = eng.tick(0.4)
    assert [e.id for e in snaps["a"].entered] == ["d"] and snaps["d"].full
    with pytest.raises(ValueError):
        PresenceEngine(interest_every=0)


def _a_sees_b_leave() -> PresenceEngine:
    """Viewer a at the origin has seen b (1 m away), and b has just left."""
    eng = _engine()
    eng.join("a", "A", 0.0, 0.0, now=0.0)
    eng.join("b", "B", 1.0, 0.0, now=0.0)
    eng.tick(0.0)
    eng.leave("b")
    return eng


def test_leave_and_rejoin_within_a_tick_is_a_change_not_a_swap() -> None:
    eng = _a_sees_b_leave()
    eng.join("b", "B", 2.0, 0.0, now=0.1)  # same visitor, reconnected before the tick
    snaps = eng.tick(0.1)
    snap = snaps["a"]
    assert (snap.entered, snap.left, [(r[0], r[1]) for r in snap.changed]) == ([], [], [("b", 200)])
    assert snaps["b"].full and [e.id for e in snaps["b"].entered] == ["a"]  # b itself starts afresh


def test_freed_slot_names_its_old_owner_in_left_before_reuse() -> None:
    eng = _a_sees_b_leave()
    eng.join("c", "C", 1.0, 0.0, now=0.1)  # may not take b's slot yet
    snap = eng.tick(0.1)["a"]
    assert snap.left == ["b"] and [e.id for e in snap.entered] == ["c"]
    eng.leave("c")
    eng.tick(0.2)
    eng.join("d", "D", 1.0, 0.0, now=0.3)  # now a slot is reused: no trace of b or c
    snap = eng.tick(0.3)["a"]
    assert snap.left == [] and [e.id for e in snap.entered] == ["d"]
    assert eng.interest("a") == {"d"}


# ---------------------------------------------------------------- hysteresis (opt-in)


def test_hysteresis_margin_keeps_a_visitor_just_outside_the_radius() -> None:
    eng = _engine(max_speed=100.0, keep_extra_m=1.0)
    eng.join("a", "A", 0.0, 0.0, now=0.0)
    eng.join("b", "B", 15.5, 0.0, now=0.0)
    assert eng.tick(0.0)["a"].entered == []  # entering still needs <= 15 m
    eng.move("b", 15.0, 0.0, 0.0, 1.0, 1.0)
    assert [e.id for e in eng.tick(1.0)["a"].entered] == ["b"]
    eng.move("b", 15.9, 0.0, 0.0, 2.0, 2.0)
    assert [r[0] for r in eng.tick(2.0)["a"].changed] == ["b"]  # kept inside the 1 m margin
    eng.move("b", 16.01, 0.0, 0.0, 3.0, 3.0)
    assert eng.tick(3.0)["a"].left == ["b"]


def test_hysteresis_extra_k_keeps_a_pushed_out_neighbour() -> None:
    eng = _engine(k=2, keep_extra_k=1, max_speed=100.0)
    for vid, x in (("a", 0.0), ("n1", 1.0), ("n2", 2.0), ("n3", 3.0)):
        eng.join(vid, vid, x, 0.0, now=0.0)
    assert {e.id for e in eng.tick(0.0)["a"].entered} == {"n1", "n2"}
    eng.move("n3", 0.5, 0.0, 0.0, 1.0, 1.0)  # n3 becomes the nearest: n2 is now 3rd, still kept
    snap = eng.tick(1.0)["a"]
    assert [e.id for e in snap.entered] == ["n3"] and snap.left == []
    assert eng.interest("a") == {"n1", "n2", "n3"}
    eng.join("n4", "n4", 0.2, 0.0, now=1.0)  # n2 is 4th now: beyond k + 1
    snap = eng.tick(1.1)["a"]
    assert snap.left == ["n2"] and [e.id for e in snap.entered] == ["n4"]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequence=ops, extra_k=st.integers(0, 2), extra_m=st.sampled_from([0.0, 0.5, 3.0]))
def test_hysteresis_views_stay_between_core_and_keep(
    sequence: list[tuple[str, int, float, float]], extra_k: int, extra_m: float
) -> None:
    k, radius = 3, 12.0
    eng = PresenceEngine(
        k=k,
        radius=radius,
        capacity=7,
        max_speed=40.0,
        eps_pos=0.0,
        eps_heading=0.0,
        keep_extra_k=extra_k,
        keep_extra_m=extra_m,
    )
    views: dict[str, dict[str, PresenceEntity]] = {}
    now = 0.0
    stale = False
    for op, who, x, y in [*sequence, ("tick", 0, 0.0, 0.0)]:
        vid = f"v{who}"
        now += 0.1
        if op == "join":
            eng.join(vid, vid, x, y, now=now)
            views.pop(vid, None)
        elif op == "move":
            eng.move(vid, x, y, 0.0, now, now)
        elif op == "leave":
            eng.leave(vid)
            views.pop(vid, None)
        elif op == "prepare":
            eng.prepare()
            stale = True  # moves after this may not change who is chosen until the next tick
        else:
            for viewer, snap in eng.tick(now).items():
                views[viewer] = apply_snapshot(views.get(viewer, {}), snap)
            states = {s.id: s for s in eng.local_states()}
            for viewer, me in states.items():
                view = set(views[viewer])
                assert view == eng.interest(viewer)
                if stale:
                    continue  # chosen on positions from before the latest moves
                dist = {
                    s.id: math.hypot(s.x - me.x, s.y - me.y)
                    for s in states.values()
                    if s.id != viewer and s.hall == me.hall
                }
                ranked = sorted(dist.values())
                core_cut = ranked[k - 1] if len(ranked) >= k else math.inf
                keep_cut = ranked[k + extra_k - 1] if len(ranked) >= k + extra_k else math.inf
                # Everyone strictly inside the core must be seen (ties at the cut are ambiguous)...
                assert {i for i, d in dist.items() if d < core_cut and d <= radius} <= view
                # ...and nobody outside the keep zone may linger.
                assert all(dist[i] <= keep_cut + 1e-9 and dist[i] <= radius + extra_m + 1e-9 for i in view)
                assert len(view) <= k + extra_k
            stale = False


def test_the_tick_hands_snapshots_to_a_connections_push_else_to_its_send() -> None:
    """The socket's ``push`` (straight to an idle socket, server/realtime/ws.py) takes the tick's snapshots."""
    from server.realtime.hub import Conn, Hub
    from server.realtime.presence_service import PresenceService

    hub = Hub()
    service = PresenceService(hub)
    pushed: list[WireSnapshot] = []
    sent: list[WireSnapshot] = []

    def push(text: str, frames: WireTick, i: int) -> None:
        snap = frames.snapshot(i)
        assert snap.text == text  # the text the socket writes is the snapshot's
        pushed.append(snap)

    hub.add(Conn(1, "a", None, "A", send=sent.append, push=push))
    hub.add(Conn(2, "b", None, "B", send=sent.append))
    service.join("a", "A", 0.0, 0.0, 0.0)
    service.join("b", "B", 1.0, 0.0, 0.0)
    service.tick()
    assert all(type(s) is WireSnapshot for s in pushed + sent)
    assert [[e.id for e in s.to_model().entered] for s in pushed] == [["b"]]  # a's snapshot, by push
    assert [[e.id for e in s.to_model().entered] for s in sent] == [["a"]]  # b has no push: by send


def test_publish_quantises_exactly_as_the_protocol_does() -> None:
    """The publish is array code (np.rint, np.mod): its rows and entered fragments must still carry
    ``protocol.presence.quantize``'s values to the character: ties to even, -0.4 cm as 0.0 (not -0.0),
    headings wrapped."""
    import json

    edges = [
        (-0.004, 0.005, 359.9),
        (0.015, -0.025, -0.1),
        (12.345, -12.345, 360.0),
        (-0.0, 0.0, 720.5),
        (0.125, 99.995, 180.703125),
        (-99.995, 1e-9, 0.703125),
        (-0.005, -0.015, 359.2969),
    ]
    eng = _engine(radius=500.0, max_speed=100.0, area=WalkableArea.rect(-200, -200, 200, 200))
    eng.join("viewer", "V", 150.0, 150.0, now=0.0)
    for i, (x, y, h) in enumerate(edges):
        eng.join(f"e{i}", f"E{i}", x + 0.7, y - 0.3, h + 90, now=0.0)
    eng.tick_wire(0.0)
    for i, (x, y, h) in enumerate(edges):  # the second round of positions: edge values in the rows
        assert eng.move(f"e{i}", x, y, h, 1.0, 1.0) == (x, y, h % 360.0, False)
    snap = eng.tick_wire(1.0)["viewer"]
    rows = {row[0]: row[1:] for row in json.loads(snap.text)["changed"]}
    for i, (x, y, h) in enumerate(edges):
        assert rows[f"e{i}"] == list(quantize(x, y, h))
    # a new viewer is sent everyone as entered fragments: their literals are the published floats'
    eng.join("late", "L", 150.0, 149.0, now=1.0)
    entered = {e["id"]: e for e in json.loads(eng.tick_wire(1.1)["late"].text, parse_float=str)["entered"]}
    for i, (x, y, h) in enumerate(edges):
        xcm, ycm, hq = quantize(x, y, h)
        want = {"x": repr(xcm / 100), "y": repr(ycm / 100), "heading": repr(heading_of(hq)), "ts": "1.0"}
        assert {key: entered[f"e{i}"][key] for key in want} == want


def test_tick_frames_are_tick_wire_text_for_text_and_snapshot_for_snapshot() -> None:
    """The service takes one WireTick (a text per viewer, the WireSnapshot only when it must queue it):
    same viewers in the same order, same texts, and snapshots equal to what tick_wire returns, over
    joins, leaves and several halls."""

    def run(frames: bool) -> list[Any]:
        eng = _engine(capacity=3, k=3, radius=6.0, rate_bands=((2.0, 1), (4.0, 2)), rank_bands=((1, 1), (2, 2)))
        rng_local = np.random.default_rng(3)
        out = []
        live: list[str] = []
        for t in range(1, 40):
            if t % 3 == 1 and len(live) < 10:
                live.append(f"v{t}")
                eng.join(live[-1], f"Név {t}", *rng_local.uniform(-5, 5, 2).tolist(), now=t / 10)
            if t % 17 == 0:
                eng.leave(live.pop(0))
            for vid in live:
                x, y, heading = rng_local.uniform(-5, 5, 2).tolist() + [float(rng_local.uniform(0, 360))]
                eng.move(vid, x, y, heading, t / 10, t / 10)
            if frames:
                tick = eng.tick_frames(t / 10)
                snaps = [(tick.ids[i], tick.texts[i], tick.snapshot(i)) for i in range(len(tick))]
                assert all(snap.text == text for _, text, snap in snaps)
            else:
                snaps = [(vid, snap.text, snap) for vid, snap in eng.tick_wire(t / 10).items()]
            out.append([(vid, text, (s.tick, s.hall, s.full, s.entered, s.changed, s.left)) for vid, text, s in snaps])
        return out

    wire, frames = run(False), run(True)
    assert wire == frames
    assert len({hall for tick in wire for _, _, (_, hall, *_) in tick}) >= 3


def test_pair_membership_by_table_agrees_with_binary_search() -> None:
    from server.realtime.presence.engine import _SHIFT, _in_sorted

    rng = np.random.default_rng(5)
    for slots in (1, 7, 64, 1024):
        for size in (0, 1, 50, 3000):
            ref = np.unique((rng.integers(0, slots, size) << _SHIFT) | rng.integers(0, slots, size))
            values = np.unique((rng.integers(0, slots, 2 * size) << _SHIFT) | rng.integers(0, slots, 2 * size))
            values = np.union1d(values, ref[: size // 2])
            assert (_in_sorted(values, ref, slots) == _in_sorted(values, ref)).all()
            assert (_in_sorted(values, ref) == np.isin(values, ref)).all()
