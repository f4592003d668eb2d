"""Name tags on the screen never cover a face: checked against each head's projected bounds."""

from __future__ import annotations

import random

import pytest

pytestmark = pytest.mark.render


def _face_bounds(base, fig) -> tuple[float, float, float, float] | None:
    """The head's screen rectangle (aspect2d units) from the 8 projected corners of its box."""
    from panda3d.core import Point2, Point3

    lens = base.cam.node().get_lens()
    aspect = lens.get_aspect_ratio()
    r = fig.head_radius
    xs, ys = [], []
    for dx in (-r, r):
        for dy in (-r, r):
            for dz in (fig.chin, fig.head_top):
                p = base.cam.get_relative_point(fig.head, Point3(dx, dy, dz))
                film = Point2()
                if p.y < 0.3:
                    return None
                lens.project(p, film)
                xs.append(film.x * aspect)
                ys.append(film.y)
    return (min(xs), min(ys), max(xs), max(ys))


def _sign_bounds(base, node, corners) -> tuple[float, float, float, float] | None:
    """A sign's screen rectangle from its projected corners; None unless all are in front of the lens."""
    from panda3d.core import Point2, Point3

    lens = base.cam.node().get_lens()
    aspect = lens.get_aspect_ratio()
    xs, ys = [], []
    for c in corners:
        p = base.cam.get_relative_point(node, Point3(*c))
        film = Point2()
        if p.y < lens.get_near() or not lens.project(p, film):
            return None
        xs.append(film.x * aspect)
        ys.append(film.y)
    return (min(xs), min(ys), max(xs), max(ys))


def _tag_rect(base, tag) -> tuple[float, float, float, float]:
    """Where the tag's card really is on the screen (its own geometry, not the layer's bookkeeping)."""
    lo, hi = tag.np.get_tight_bounds(base.aspect2d)
    return (lo.x, lo.z, hi.x, hi.z)


def test_no_name_tag_covers_a_face_in_a_crowd(base) -> None:
    from world.bench import build_hall

    hall = build_hall(base)
    try:
        rng = random.Random(7)
        sx, sy, _ = hall.scene.layout.spawn
        ents = [
            {
                "id": f"p{k}",
                "name": rng.choice(["Siti Aminah", "Budi Santoso", "Wayan Sudirta", "Dewi Lestari", "Agus"]),
                "x": sx + rng.uniform(-5, 5),
                "y": sy + 2 + rng.uniform(0, 14),
                "heading": rng.uniform(0, 360),
            }
            for k in range(40)
        ]
        hall.visitors.interp.delay = 0.0
        hall.visitors.apply({"type": "presence.snapshot", "tick": 1, "hall": "Aula 1", "full": True, "entered": ents})
        base.camera.set_pos(sx, sy - 4, 2.6)
        base.camera.look_at(sx, sy + 8, 1.6)
        figures = [*hall.visitors.crowd.figures.values(), hall.ai.figure, hall.me.figure, *hall.scene.officers.values()]
        shown_total = signs_seen = 0
        for frame in range(6):
            hall.visitors.update(1 / 30)
            hall.ai.update(1 / 30)
            hall.me.update(1 / 30)
            base.taskMgr.step()  # joints move; the layer places tags for this frame's heads
            hall.labels.update()
            base.graphicsEngine.render_frame()
            faces = [f for f in (_face_bounds(base, fig) for fig in figures) if f is not None]
            signs = [b for b in (_sign_bounds(base, n, c) for n, c in hall.labels.signs) if b is not None]
            signs_seen += len(signs)
            tags = [t for t in hall.labels.tags.values() if t.rect is not None and not t.np.is_hidden()]
            shown_total += len(tags)
            for tag in tags:
                r = _tag_rect(base, tag)
                for f in faces + signs:  # neither a face nor a counter sign, board or screen
                    overlap = r[0] < f[2] and f[0] < r[2] and r[1] < f[3] and f[1] < r[3]
                    assert not overlap, (frame, tag.tn.get_text(), r, f)
        assert shown_total >= 6 * 4  # the crowd is tagged: the check is not vacuous
        assert signs_seen >= 6  # and signs are in view
    finally:
        for obj in (hall.visitors, hall.ai, hall.me, hall.scene, hall.labels, hall.lights):
            obj.destroy()


def test_the_speech_bubble_sits_beside_the_speakers_face_never_over_it(base) -> None:
    """The assistant's words: level with its face, left or right of it, clear of it and on screen,
    seen from the start view and from close by on either side."""
    from world.bench import build_hall

    hall = build_hall(base)
    try:
        ai = hall.ai
        ai.say("Selamat datang di MPP Banyuwangi! Ada yang bisa saya bantu?", "id")
        hx, hy = hall.scene.layout.ai_avatar_home
        views = [
            (tuple(base.camera.get_pos()), None),  # the start view build_hall set up
            ((hx - 1.5, hy - 3.5, 1.8), (hx, hy, 1.5)),
            ((hx + 1.5, hy - 3.5, 1.8), (hx, hy, 1.5)),
        ]
        aspect = base.camLens.get_aspect_ratio()
        for pos, look in views:
            base.camera.set_pos(*pos)
            if look is not None:
                base.camera.look_at(*look)
            for _ in range(2):
                ai.update(1 / 30)
                base.taskMgr.step()
                hall.labels.update()
            face = _face_bounds(base, ai.figure)
            assert face is not None, pos
            bubble = hall.labels.bubbles["assistant"]
            assert not bubble.np.is_hidden(), pos
            b = _tag_rect(base, bubble)
            assert b[2] <= face[0] or b[0] >= face[2], (pos, b, face)  # beside: left or right, not over it
            assert b[1] < face[3] and face[1] < b[3], (pos, b, face)  # level with the face
            assert -aspect - 1e-3 <= b[0] and b[2] <= aspect + 1e-3 and -1 - 1e-3 <= b[1] and b[3] <= 1 + 1e-3
    finally:
        for obj in (hall.visitors, hall.ai, hall.me, hall.scene, hall.labels, hall.lights):
            obj.destroy()


def test_name_tags_fade_with_distance_and_vanish_far_away(base) -> None:
    """Near tags are opaque, a tag between FADE_NEAR and FADE_FAR is partly see-through, farther
    ones are not drawn at all (a far crowd is not a wall of names)."""
    from world.bench import build_hall
    from world.labels import FADE_FAR, FADE_NEAR

    hall = build_hall(base)
    try:
        sx, sy, _ = hall.scene.layout.spawn
        cam_y = sy - 3
        base.camera.set_pos(sx, cam_y, 1.7)
        base.camera.look_at(sx, cam_y + 10, 1.7)
        hall.me.root.hide()
        hall.ai.root.hide()
        hall.labels.signs = []  # only distance decides here: no sign may push a tag away
        hall.labels._sign_cache = None
        mid = (FADE_NEAR + FADE_FAR) / 2
        ents = [
            {"id": "near", "name": "Dewi", "x": sx - 1.0, "y": cam_y + FADE_NEAR - 3, "heading": 180.0},
            {"id": "mid", "name": "Budi", "x": sx + 1.0, "y": cam_y + mid, "heading": 180.0},
            {"id": "far", "name": "Agus", "x": sx + 2.5, "y": cam_y + FADE_FAR + 3, "heading": 180.0},
        ]
        hall.visitors.interp.delay = 0.0
        hall.visitors.apply({"type": "presence.snapshot", "tick": 1, "hall": "Aula 1", "full": True, "entered": ents})
        for _ in range(3):
            hall.visitors.update(1 / 30)
            base.taskMgr.step()
            hall.labels.update()
        tags = {k: t for k, t in hall.labels.tags.items() if t.tn.get_text() in ("Dewi", "Budi", "Agus")}
        by_name = {t.tn.get_text(): t for t in tags.values()}
        assert set(by_name) == {"Dewi", "Budi", "Agus"}
        near, middle, far = by_name["Dewi"], by_name["Budi"], by_name["Agus"]
        assert near.rect is not None and not near.np.is_hidden() and near.np.get_color_scale()[3] == 1.0
        assert middle.rect is not None and not middle.np.is_hidden()
        assert 0.2 < middle.np.get_color_scale()[3] < 0.8  # half-way: half faded
        assert far.rect is None and far.np.is_hidden()
    finally:
        for obj in (hall.visitors, hall.ai, hall.me, hall.scene, hall.labels, hall.lights):
            obj.destroy()
