"""The third-person camera never ends inside a wall, pillar, counter or sign: 16 scripted walks
from the entrance to each counter, driven through the client's own camera code, checked against
the camera's collision boxes and, rendered, against the hall's own geometry."""

from __future__ import annotations

import math

import pytest

from world.camera import ThirdPersonCamera, collision_boxes, segment_hit
from world.layout import load_layout
from world.nav import NavGrid

NEAR = 0.3  # the client's near plane: geometry closer than this is cut open on screen


def _walk(layout, cam: ThirdPersonCamera | None, goal, pivots: list | None = None):
    """Positions of the camera, frame by frame, on the walk from the spawn to ``goal`` (and the
    visitor's head, the camera's pivot, for each frame into ``pivots``)."""
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
        if pivots is not None:
            pivots.append((x, y, 1.6))
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


@pytest.mark.render
def test_on_the_rendered_hall_the_camera_never_touches_geometry_nor_looks_through_it(base) -> None:
    """The same 16 walks against the triangles the hall really draws (walls, pillars, the entrance
    arch, counters, signs, the information desk and its totem, roofs, rafters, boards, screens):
    a sphere of the near plane's size around the camera touches none of them, and nothing stands
    between the visitor's head and the camera. The collision boxes are the camera's own model of
    the hall; this catches geometry the model leaves out."""
    from panda3d.core import (
        BitMask32,
        CollisionHandlerQueue,
        CollisionNode,
        CollisionSegment,
        CollisionSphere,
        CollisionTraverser,
        GeomNode,
    )

    from world.bench import build_hall

    hall = build_hall(base)
    try:
        scene = hall.scene
        for fig in [*scene.officers.values(), hall.ai.figure, hall.me.figure]:
            fig.root.set_collide_mask(BitMask32.all_off())  # people are not walls
        checked = 0
        hits: dict[tuple[int, str, str], int] = {}
        for spot in scene.layout.counters:
            pivots: list[tuple[float, float, float]] = []
            frames = _walk(scene.layout, ThirdPersonCamera(scene.layout), spot.approach, pivots)
            probe = CollisionNode("camera-probe")
            probe.set_from_collide_mask(GeomNode.get_default_collide_mask())
            probe.set_into_collide_mask(BitMask32.all_off())
            for pivot, pos in list(zip(pivots, frames, strict=True))[::3]:
                probe.add_solid(CollisionSphere(*pos, NEAR - 0.05))
                if math.dist(pivot, pos) > 1e-3:
                    probe.add_solid(CollisionSegment(*pivot, *pos))
            probe_np = base.render.attach_new_node(probe)
            queue = CollisionHandlerQueue()
            trav = CollisionTraverser("camera-probe")
            trav.add_collider(probe_np, queue)
            trav.traverse(scene.root)
            checked += probe.get_num_solids()
            for k in range(queue.get_num_entries()):
                e = queue.get_entry(k)
                key = (spot.number, type(e.get_from()).__name__, e.get_into_node_path().get_name())
                hits[key] = hits.get(key, 0) + 1
            probe_np.remove_node()
        assert checked > 16 * 100
        assert not hits, hits
        # and the probe does see the hall: the same sphere at a pillar's face touches it
        px, py = scene.layout.pillars[0]
        probe = CollisionNode("pillar-probe")
        probe.set_from_collide_mask(GeomNode.get_default_collide_mask())
        probe.set_into_collide_mask(BitMask32.all_off())
        probe.add_solid(CollisionSphere(px + 0.6, py, 2.0, NEAR - 0.05))
        probe_np = base.render.attach_new_node(probe)
        queue = CollisionHandlerQueue()
        trav = CollisionTraverser("pillar-probe")
        trav.add_collider(probe_np, queue)
        trav.traverse(scene.root)
        probe_np.remove_node()
        assert queue.get_num_entries() > 0
    finally:
        for obj in (hall.visitors, hall.ai, hall.me, hall.scene, hall.labels, hall.lights):
            obj.destroy()
