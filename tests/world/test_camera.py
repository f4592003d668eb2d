"""The third-person camera never ends inside a wall, pillar, counter or sign: 16 scripted walks
from the entrance to each counter, driven through the client's own camera code."""

from __future__ import annotations

import math

from world.camera import ThirdPersonCamera, collision_boxes, segment_hit
from world.layout import load_layout
from world.nav import NavGrid

NEAR = 0.3  # the client's near plane: geometry closer than this is cut open on screen


def _walk(layout, cam: ThirdPersonCamera | None, goal):
    """Positions of the camera, frame by frame, on the walk from the spawn to ``goal``."""
    grid = NavGrid.from_layout(layout)
    sx, sy, heading = layout.spawn
    path = grid.find_path((sx, sy), goal)
    assert path, goal
    x, y = sx, sy
    out: list[tuple[float, float, float]] = []
    dt, speed = 1 / 30, 1.4
    pending = list(path[1:])
    naive: tuple[float, float, float] | None = None
    snap = True
    while pending:
        tx, ty = pending[0]
        d = math.hypot(tx - x, ty - y)
        step = speed * dt
        if d <= step:
            x, y = tx, ty
            pending.pop(0)
        else:
            x, y = x + (tx - x) / d * step, y + (ty - y) / d * step
            heading = math.degrees(math.atan2(-(tx - x), ty - y))
        if cam is not None:
            want, _ = cam.behind(x, y, heading)
            out.append(cam.step((x, y, 1.6), want, dt, snap=snap))
        else:  # the old camera: eased towards the spot behind, no collision
            rad = math.radians(heading)
            want = (x + math.sin(rad) * 7.0, y - math.cos(rad) * 7.0, 3.8)
            if naive is None:
                naive = want
            else:
                f = min(1.0, dt * 5)
                naive = (
                    naive[0] + (want[0] - naive[0]) * f,
                    naive[1] + (want[1] - naive[1]) * f,
                    naive[2] + (want[2] - naive[2]) * f,
                )
            out.append(naive)
        snap = False
    return out


def test_the_camera_never_ends_inside_anything_on_the_walk_to_each_counter() -> None:
    layout = load_layout()
    assert len(layout.counters) == 16
    for spot in layout.counters:
        cam = ThirdPersonCamera(layout)
        frames = _walk(layout, cam, spot.approach)
        assert len(frames) > 30
        for k, pos in enumerate(frames):
            assert not cam.blocked(pos, margin=NEAR - 0.05), (spot.number, k, pos)


def test_without_the_pull_in_the_same_walks_go_through_walls_or_pillars() -> None:
    """The scripted walks are hard enough: the old free camera ends inside something on some of them."""
    layout = load_layout()
    probe = ThirdPersonCamera(layout)
    bad = 0
    for spot in layout.counters:
        frames = _walk(layout, None, spot.approach)
        bad += any(probe.blocked(p, margin=NEAR - 0.05) for p in frames)
    assert bad >= 3


def test_segment_hits_and_misses() -> None:
    box = (0.0, 0.0, 0.0, 1.0, 1.0, 1.0)
    assert segment_hit((-1, 0.5, 0.5), (2, 0.5, 0.5), box) == 1 / 3
    assert segment_hit((-1, 2, 0.5), (2, 2, 0.5), box) is None
    assert segment_hit((0.5, 0.5, 0.5), (2, 0.5, 0.5), box) == 0.0  # starting inside
    assert len(collision_boxes(load_layout())) > 16 + 7
