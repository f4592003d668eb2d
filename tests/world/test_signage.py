"""Counter numbers are readable where a visitor is served: rendered from the client's camera with
the visitor at each counter's approach point, every number is at least 24 px tall at 1280x720."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.render

MIN_CAP_PX_720 = 24


def _frame(base):
    import numpy as np

    base.graphicsEngine.render_frame()
    base.graphicsEngine.render_frame()
    tex = base.win.get_screenshot()
    data = np.frombuffer(bytes(tex.get_ram_image_as("RGB")), dtype=np.uint8)
    return data.reshape(tex.get_y_size(), tex.get_x_size(), 3).astype(np.int16)


def test_every_counter_number_is_24px_tall_from_its_approach_point(base) -> None:
    import numpy as np

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
        heights = {}
        for spot in scene.layout.counters:
            x, y = spot.approach
            me.root.set_pos(x, y, 0)
            me.root.set_h(spot.heading)  # facing the counter
            cam = ThirdPersonCamera(scene.layout)
            want, look = cam.behind(x, y, spot.heading)
            base.camera.set_pos(*cam.step((x, y, 1.6), want, 0.0, snap=True))
            base.camera.look_at(*look)
            hall.labels.update()
            with_number = _frame(base)
            scene.number_nodes[spot.number].hide()
            without = _frame(base)
            scene.number_nodes[spot.number].show()
            changed = np.abs(with_number - without).sum(axis=2) > 60
            rows = np.nonzero(changed.any(axis=1))[0]
            assert rows.size, f"counter {spot.number}: its number is not on screen"
            px = (rows.max() - rows.min() + 1) * 720 / with_number.shape[0]
            heights[spot.number] = px
        small = {n: round(h, 1) for n, h in heights.items() if h < MIN_CAP_PX_720}
        assert not small, f"numbers under {MIN_CAP_PX_720} px at 720p: {small}"
    finally:
        base.aspect2d.show()
        for obj in (hall.visitors, hall.ai, hall.me, hall.scene, hall.labels, hall.lights):
            obj.destroy()
