"""The render quality is chosen from the measured frame time: PBR is kept only within budget."""

from __future__ import annotations

from typing import Any

import pytest

from world.quality import PROBE_AFTER_FRAMES, PROBE_FRAMES, Quality


class _Probe(Quality):
    """The decision logic without a GPU: records the levels it switches to."""

    def __init__(self, level: str = "auto") -> None:
        self.switched: list[str] = []
        super().__init__(base=None, scene=None, level=level)

    def set(self, level: str) -> None:
        if level != self.level:
            self.switched.append(level)
            self.level = level


def _run(q: Quality, ms: float) -> None:
    for _ in range(PROBE_AFTER_FRAMES + PROBE_FRAMES + 5):
        q.frame(ms)


def test_auto_falls_back_to_baked_light_when_pbr_is_too_slow() -> None:
    q = _Probe()
    _run(q, 180.0)  # llvmpipe: a PBR frame of the hall costs ~200 ms
    assert q.switched == ["high", "low"] and q.level == "low" and q.decided
    assert q.probe_ms == pytest.approx(180.0)


def test_auto_keeps_pbr_on_a_machine_that_affords_it() -> None:
    q = _Probe()
    _run(q, 9.0)
    assert q.switched == ["high"] and q.level == "high"


def test_an_explicit_level_is_never_probed() -> None:
    q = _Probe("low")
    _run(q, 1.0)
    assert q.switched == [] and q.level == "low"


@pytest.mark.render
def test_the_two_looks_render_and_switch_back_cleanly(base: Any) -> None:
    import numpy as np

    from world.bench import build_hall

    hall = build_hall(base)
    try:
        base.camera.set_pos(0, -19.4, 2.9)
        base.camera.look_at(0, 6, 2.6)

        def shot() -> Any:
            base.task_mgr.step()
            base.graphicsEngine.render_frame()
            tex = base.win.get_screenshot()
            return np.frombuffer(bytes(tex.get_ram_image_as("RGB")), dtype=np.uint8).astype(int)

        low = shot()
        q = Quality(base, hall.scene, level="high")
        assert q.level == "high" and q.pipeline is not None
        high = shot()
        q.set("low")
        back = shot()
        assert np.abs(high - low).mean() > 5  # the PBR look is a different picture
        assert np.abs(back - low).mean() < 1  # and switching back restores the baked look
        assert base.render.get_shader() is None
    finally:
        for obj in (hall.visitors, hall.ai, hall.me, hall.scene, hall.labels, hall.lights):
            obj.destroy()
