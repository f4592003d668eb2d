"""Counter numbers are readable where a visitor is served: rendered from the client's camera with
the visitor at each counter's approach point, every number is at least 24 px tall at 1280x720,
and so is the agency's icon; every sign's text stays on its sign."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.render

MIN_CAP_PX_720 = 24


def _rows(base, node) -> float:
    """How many rows (at 720p) change on screen when ``node`` is hidden: its height in pixels."""
    import numpy as np

    with_it = _frame(base)
    node.hide()
    without = _frame(base)
    node.show()
    changed = np.abs(with_it - without).sum(axis=2) > 60
    rows = np.nonzero(changed.any(axis=1))[0]
    return 0.0 if not rows.size else float((rows.max() - rows.min() + 1) * 720 / with_it.shape[0])


def _frame(base):
    import numpy as np

    base.graphicsEngine.render_frame()
    base.graphicsEngine.render_frame()
    tex = base.win.get_screenshot()
    data = np.frombuffer(bytes(tex.get_ram_image_as("RGB")), dtype=np.uint8)
    return data.reshape(tex.get_y_size(), tex.get_x_size(), 3).astype(np.int16)


def test_every_counter_number_is_24px_tall_from_its_approach_point(base) -> None:
    from world.bench import build_hall
    from world.camera import ThirdPersonCamera

    hall = build_hall(base)
    base.aspect2d.hide()  # the 3D sign alone: no 2D overlay (ours, or one another test left behind) in the way
    base.camLens.set_fov(62)  # as the client
    base.camLens.set_near_far(0.3, 200)
    try:
        scene, me = hall.scene, hall.me
        hall.ai.root.hide()
        for fig in [*scene.officers.values(), me.figure]:
            fig.actor.stop()  # still figures: only the number differs between the two renders
        heights: dict[int, float] = {}
        icons: dict[int, float] = {}
        for spot in scene.layout.counters:
            x, y = spot.approach
            me.root.set_pos(x, y, 0)
            me.root.set_h(spot.heading)  # facing the counter
            cam = ThirdPersonCamera(scene.layout)
            want, look = cam.behind(x, y, spot.heading)
            base.camera.set_pos(*cam.step((x, y, 1.6), want, 0.0, snap=True))
            base.camera.look_at(*look)
            hall.labels.update()
            heights[spot.number] = _rows(base, scene.number_nodes[spot.number])
            icons[spot.number] = _rows(base, scene.icon_nodes[spot.number])
        assert all(heights.values()), f"numbers not on screen: {heights}"
        small = {n: round(h, 1) for n, h in heights.items() if h < MIN_CAP_PX_720}
        assert not small, f"numbers under {MIN_CAP_PX_720} px at 720p: {small}"
        small = {n: round(h, 1) for n, h in icons.items() if h < MIN_CAP_PX_720}
        assert not small, f"agency icons under {MIN_CAP_PX_720} px at 720p: {small}"
    finally:
        base.aspect2d.show()
        for obj in (hall.visitors, hall.ai, hall.me, hall.scene, hall.labels, hall.lights):
            obj.destroy()


def test_every_agency_has_its_own_icon_and_every_sign_keeps_its_text_on_it(base) -> None:
    from protocol.catalog import default_catalog
    from world.icons import GENERIC, icon_for
    from world.layout import load_layout
    from world.scene import HallScene

    layout = load_layout()
    agencies = {spot.agency_id for spot in layout.counters}
    icons = {a: repr(icon_for(a)) for a in agencies}
    assert repr(GENERIC) not in icons.values()  # none falls back to the generic one
    assert len(set(icons.values())) == len(agencies)  # and no two agencies share one
    parent = base.render.attach_new_node("t-signs")
    scene = HallScene(parent, base.loader, default_catalog(), layout).build()
    try:
        for lang in ("id", "en"):
            scene.set_lang(lang)
            for spot in layout.counters:
                frame = scene.root.attach_new_node("sign-frame")  # the counter's own frame
                frame.set_pos(spot.x, spot.y, 0)
                frame.set_h(spot.heading)
                lo, hi = scene.sign_nodes[spot.number].get_tight_bounds(frame)
                ilo, ihi = scene.icon_nodes[spot.number].get_tight_bounds(frame)
                frame.remove_node()
                half = spot.width / 2
                assert -half <= lo.x and hi.x <= half, (lang, spot.number, lo.x, hi.x)  # no text past the sign
                assert 2.6 <= lo.z and hi.z <= 4.75, (lang, spot.number, lo.z, hi.z)
                assert (
                    ihi.x <= half and ihi.z <= 4.75 and ihi.x - ilo.x > 0.25
                )  # the icon: on the sign, 0.3-0.48 m wide
    finally:
        scene.destroy()
        parent.remove_node()


def test_the_start_view_shows_the_halls_full_name_whole_and_unhidden(base) -> None:
    """The client's first frame: "Mal Pelayanan Publik Kabupaten Banyuwangi" on the far wall is
    entirely on screen, nothing (board, pillar, person, tag, hint) hides any of it, and it is big
    enough to read at 720p. Its pixels alone (drawn with nothing else) are the reference."""
    import numpy as np
    from panda3d.core import NodePath

    from world.app import HallClient
    from world.config import WorldConfig

    client = HallClient(base, WorldConfig(connect=False)).start()
    try:
        client.pump(lambda: client.screens.state == "Hall", timeout=5)
        client.pump(timeout=0.2, min_frames=3)
        scene = client.scene
        assert scene is not None and scene.layout.name.get("id") == "Mal Pelayanan Publik Kabupaten Banyuwangi"
        name = scene.name_node

        def diff() -> np.ndarray:
            shown = _frame(base)
            name.hide()
            hidden = _frame(base)
            name.show()
            return np.abs(shown - hidden).sum(axis=2) > 60

        seen = diff()  # in the full frame, overlays included
        parent = name.get_parent()
        alone = NodePath("only-the-name")
        name.wrt_reparent_to(alone)
        base.cam.node().set_scene(alone)
        base.aspect2d.hide()
        try:
            ink = diff()  # the same camera, nothing else drawn
        finally:
            base.aspect2d.show()
            base.cam.node().set_scene(base.render)
            name.wrt_reparent_to(parent)
        assert ink.sum() > 500
        rows, cols = np.nonzero(ink)
        h, w = ink.shape
        assert cols.min() > 2 and cols.max() < w - 3 and rows.min() > 2 and rows.max() < h - 3  # all on screen
        assert (rows.max() - rows.min() + 1) * 720 / h >= 14  # letters and descenders: readable at 720p
        visible = (seen & ink).sum() / ink.sum()
        assert visible > 0.98, f"only {visible:.0%} of the name shows in the start view"
    finally:
        client.destroy()
