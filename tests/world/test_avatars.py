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
        assert clips[0] == "walk" and "point" in clips  # walks, then shows the way on arrival
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
