"""Avatars on the shared offscreen ShowBase: the assistant acts, the crowd follows snapshots."""

from __future__ import annotations

import math

import pytest

pytestmark = pytest.mark.render


def _snap(tick: int, full: bool = False, **kw):
    return {"type": "presence.snapshot", "tick": tick, "hall": "Aula 1", "full": full, **kw}


def _ent(i: str, x: float, y: float, name: str = "Siti Aminah") -> dict:
    return {"id": i, "name": name, "x": x, "y": y, "heading": 0.0}


def test_assistant_talks_faces_and_walks(base) -> None:
    from world.avatars import AIAvatar

    parent = base.render.attach_new_node("t-ai")
    ai = AIAvatar(parent, base.loader, "id")
    try:
        assert not parent.find("**/ai-avatar").is_empty()
        ai.say("Syarat KTP-el: Kartu Keluarga", "id")
        assert ai.bubble_visible and "Kartu Keluarga" in ai.bubble.get_text() and ai.talking
        ai.update(0.3)
        assert ai.figure.clip == "talk" and ai.figure.speaking  # hands and mouth move
        ai.root.set_h(0)
        ai.face(5.0, 0.0)  # to the east: Panda heading -90
        for _ in range(60):
            ai.update(0.05)
        assert abs(((ai.root.get_h() + 90) + 180) % 360 - 180) < 2
        arrived: list[bool] = []
        ai.walk_path([(0.0, 2.0), (3.0, 2.0)], 3.0, lambda: arrived.append(True))
        clips = []
        for _ in range(100):
            ai.update(0.05)
            clips.append(ai.figure.clip)
        assert arrived == [True] and math.dist(ai.xy, (3.0, 2.0)) < 1e-6
        assert clips[0] == "walk" and "point" in clips and "beckon" not in clips  # walks, points the way
        # leading a visitor: walks ahead, then beckons them on, then points at the counter
        arrived.clear()
        ai.walk_path([(3.0, 4.0), (0.0, 4.0)], 3.0, lambda: arrived.append(True), lead=True)
        clips = []
        for _ in range(120):
            ai.update(0.05)
            clips.append(ai.figure.clip)
        shown = [c for k, c in enumerate(clips) if k == 0 or c != clips[k - 1]]
        assert arrived == [True] and shown == ["walk", "beckon", "point", "idle"], shown
        assert 25 <= clips.count("beckon") <= 40  # about 1.6 s of it at 20 frames a second
        # a visitor comes to talk: it turns to them and waves, then stands again
        ai.root.set_h(0)
        ai.greet(5.0, 4.0)
        clips = []
        for _ in range(60):
            ai.update(0.05)
            clips.append(ai.figure.clip)
        assert clips[0] == "wave" and clips.count("wave") >= 30 and clips[-1] == "idle"
        assert abs(((ai.root.get_h() + 90) + 180) % 360 - 180) < 2  # facing the visitor (east)
        ai.update(60.0)
        assert not ai.bubble_visible  # the bubble times out
    finally:
        ai.destroy()
        parent.remove_node()


def test_visitor_layer_follows_snapshots_and_hides_self(base) -> None:
    from world.avatars import VisitorLayer

    parent = base.render.attach_new_node("t-crowd")
    layer = VisitorLayer(parent, base.loader, delay=0.0)
    try:
        layer.set_self("me")
        layer.apply(_snap(1, True, entered=[_ent("me", 0, 0), _ent("a", 1, 1), _ent("b", 2, 2, "Budi Santoso")]))
        layer.update(0.016)
        assert layer.count == 2
        tags = sorted(tn.tn.get_text() for _, tn in layer.crowd.tags.values())
        assert tags == ["Budi", "Siti"]  # first names only
        layer.apply(_snap(2, changed=[("a", 400, 100, 0)], left=["b"]))
        layer.update(0.016)
        assert layer.count == 1
        node = layer.crowd.nodes["a"]
        assert abs(node.get_x() - 4) < 1e-6
        layer.officer_at(3, "Rina Wulandari")
        assert not parent.find("**/officer-3").is_empty()
    finally:
        layer.destroy()
    assert parent.get_num_children() == 0  # nothing left behind
    parent.remove_node()


def test_crowd_figures_share_baked_poses_with_levels_of_detail(base) -> None:
    from world.avatars import VisitorLayer

    parent = base.render.attach_new_node("t-batch")
    layer = VisitorLayer(parent, base.loader, delay=0.0)
    try:
        ents = [_ent(f"v{k}", (k % 10) * 1.5, (k // 10) * 1.5) for k in range(100)]
        layer.apply(_snap(1, True, entered=ents))
        layer.update(0.016)
        base.graphicsEngine.renderFrame()
        figs = layer.crowd.figures
        assert layer.count == 100 and len(figs) == 100
        assert len({f.kind for f in figs.values()}) >= 5  # several looks, not one clone
        # each shows a shared pose: one LODNode with the Actor's three levels and switch distances
        poses = {f.body.get_child(0).node() for f in figs.values()}
        assert len(poses) < len(figs)  # instanced, not one copy per visitor
        for pose in poses:
            assert [pose.get_child(i).get_name() for i in range(3)] == ["high", "medium", "low"]
            assert [(pose.get_in(i), pose.get_out(i)) for i in range(3)] == [(6.0, 0.0), (14.0, 6.0), (1000.0, 14.0)]
        assert len(layer.crowd.tags) == layer.crowd.max_tags  # only the nearest carry a (billboard) tag
    finally:
        layer.destroy()
        parent.remove_node()


def test_the_crowds_contact_shadows_are_one_batch_under_every_visitor(base) -> None:
    """One draw for all the crowd's shadows: a disc under each visitor, none where nobody stands."""
    import numpy as np
    from panda3d.core import GeomVertexReader

    from world.avatars import VisitorLayer

    parent = base.render.attach_new_node("t-shadows")
    layer = VisitorLayer(parent, base.loader, delay=0.0)
    try:
        ents = [_ent(f"s{k}", k * 2.0, 1.0) for k in range(5)]
        layer.apply(_snap(1, True, entered=ents))
        layer.update(0.016)
        assert all(f.shadow is None for f in layer.crowd.figures.values())  # no per-figure shadow draws
        batch = layer.crowd.shadow_batch
        assert batch.node.get_num_geoms() == 1 and batch.count == 5
        reader = GeomVertexReader(batch.node.get_geom(0).get_vertex_data(), "vertex")
        pts = []
        while not reader.is_at_end():
            pts.append(tuple(reader.get_data3()))
        discs = np.array(pts).reshape(batch.capacity, -1, 3)
        for k in range(5):
            centre = discs[k, 0]
            assert centre[0] == pytest.approx(k * 2.0) and centre[1] == pytest.approx(1.0) and 0 < centre[2] < 0.05
            rim = discs[k][np.arange(discs.shape[1]) % 3 != 0]  # each triangle: the centre, then two rim points
            assert np.allclose(np.hypot(rim[:, 0] - k * 2.0, rim[:, 1] - 1.0), 0.45, atol=1e-4)
        assert (discs[5:, :, 2] < -1).all()  # unused slots: nothing on the floor
        layer.apply(_snap(2, left=["s0", "s1"]))
        layer.update(0.016)
        assert batch.count == 3
    finally:
        layer.destroy()
    assert parent.get_num_children() == 0
    parent.remove_node()
