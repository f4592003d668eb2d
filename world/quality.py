"""Render quality: ``high`` (simplepbr, a shadow-casting sun, filmic tonemapping) or ``low`` (the
hall's baked vertex-colour light, per-vertex light on the figures), chosen from the frame time.

``auto`` starts low (a fast first frame), then tries high for a few frames once the hall is up
and keeps it only if the median frame fits the budget (30 FPS). On llvmpipe a PBR frame of the
hall costs several times the budget, so software rendering settles on low by itself; a real GPU
keeps high. Shadows use one light only: simplepbr's shadow path crashes llvmpipe's LLVM with
more than one (measured: segfault unless ``max_lights=1``).
"""

from __future__ import annotations

import logging
import os
import statistics
from typing import Any

_log = logging.getLogger("world.quality")

LEVELS = ("auto", "high", "low")
BUDGET_MS = 1000.0 / 30
PROBE_FRAMES = 12
PROBE_EARLY_FRAMES = 3  # every one of these over twice the budget: decided without the rest
PROBE_AFTER_FRAMES = 30  # let the first frames (loading, first uploads) pass at low


def wanted_level() -> str:
    """``MPP_HALL_QUALITY`` (auto, high or low); anything else is auto."""
    level = os.environ.get("MPP_HALL_QUALITY", "auto").strip().lower()
    return level if level in LEVELS else "auto"


class _OneShot:
    """Stands in for the task simplepbr's update returns a status to."""

    DS_cont = 1


_ONE_SHOT = _OneShot()


class Quality:
    """Switches one hall between the two looks, and probes which one the machine can afford."""

    def __init__(self, base: Any, scene: Any, *, level: str = "auto", budget_ms: float = BUDGET_MS) -> None:
        self.base = base
        self.scene = scene
        self.wanted = level if level in LEVELS else "auto"
        self.budget_ms = budget_ms
        self.level = "low"
        self.pipeline: Any = None
        self.sun: Any = None
        self.ambient: Any = None
        self.frames = 0
        self.samples: list[float] = []
        self.decided = self.wanted != "auto"
        self.probe_ms: float | None = None
        self.linear: Any = None
        if self.wanted == "high":
            self.set("high")

    def set(self, level: str) -> None:
        if level == self.level:
            return
        if level == "high":
            self._high()
        else:
            self._low()
        self.level = level
        if self.scene is not None and hasattr(self.scene, "set_quality"):
            self.scene.set_quality(level)

    def _high(self) -> None:
        import simplepbr
        from panda3d.core import AmbientLight, DirectionalLight, Vec4

        render = self.base.render
        self.pipeline = simplepbr.Pipeline(
            render_node=render,
            window=self.base.win,
            camera_node=self.base.cam,
            taskmgr=self.base.task_mgr,
            msaa_samples=0,
            max_lights=1,
            enable_shadows=True,
            use_emission_maps=False,
            exposure=0.4,
        )
        sun = DirectionalLight("sun")
        sun.set_color(Vec4(1.5, 1.36, 1.15, 1))  # warm late-morning light through the skylight
        sun.set_shadow_caster(True, 1024, 1024)
        lens = sun.get_lens()
        lens.set_film_size(75, 65)
        lens.set_near_far(0.2, 60)
        # the shadow camera starts under the ceiling: the roof and ceiling never shade the whole hall
        self.sun = render.attach_new_node(sun)
        self.sun.set_pos(12, -16, 6.7)
        self.sun.look_at(0, 4, 0)
        render.set_light(self.sun)
        amb = AmbientLight("sky")
        amb.set_color(Vec4(0.55, 0.52, 0.48, 1))
        self.ambient = render.attach_new_node(amb)
        render.set_light(self.ambient)
        if self.scene is not None and self.scene.root is not None:
            self.scene.root.clear_shader()
            self.scene.root.clear_light()
        self._figures(pbr=True)
        # the scene is authored in display colours; PBR lights in linear ones (see world.linear)
        from world.characters import FigureLights
        from world.linear import LinearColours

        self.linear = LinearColours()
        self.linear.apply(render)
        FigureLights.linear = self.linear
        self._figures(pbr=True)  # the crowd's baked poses not on screen now are converted too
        # simplepbr's per-frame inputs now, so the next render (a task step or a bare render_frame)
        # has them; stepping the task manager here would re-enter it when the client's frame task
        # switches (the automatic probe)
        self.pipeline._update(_ONE_SHOT)

    def _low(self) -> None:
        from world.characters import FigureLights

        render = self.base.render
        FigureLights.linear = None
        if self.linear is not None:
            self.linear.restore()
            self.linear = None
        if self.pipeline is not None:
            self.base.task_mgr.remove("simplepbr update")
            self.pipeline._filtermgr.cleanup()
            self.pipeline = None
        render.clear_shader()
        render.clear_material()
        render.clear_antialias()
        for light in (self.sun, self.ambient):
            if light is not None:
                render.clear_light(light)
                light.remove_node()
        self.sun = self.ambient = None
        self._figures(pbr=False)
        if self.scene is not None and self.scene.root is not None:
            self.scene.root.set_shader_off()
            self.scene.root.set_light_off()

    def _figures(self, *, pbr: bool) -> None:
        """People take the scene's sun and sky under PBR, and their own per-vertex light otherwise."""
        from world.characters import Figure, FigureLights, PoseBook

        FigureLights.pbr = pbr
        for fig in list(Figure.live):
            if fig.lights is not None and not fig.actor.is_empty():
                fig.lights.apply(fig.actor)
        PoseBook.relight_all()

    def frame(self, frame_ms: float) -> None:
        """Feed one frame's time; ``auto`` probes high once, then keeps what fits the budget."""
        if self.decided:
            return
        self.frames += 1
        if self.frames == PROBE_AFTER_FRAMES:
            self.set("high")
            return
        if self.frames > PROBE_AFTER_FRAMES + 2:  # the first PBR frames compile shaders: not counted
            self.samples.append(frame_ms)
            # hopeless (software rendering: ~8x the budget): stop after a few frames, not a dozen,
            # so the visitor sees PBR's slow frames for well under a second more than needed
            hopeless = len(self.samples) >= PROBE_EARLY_FRAMES and min(self.samples) > 2 * self.budget_ms
            if len(self.samples) >= PROBE_FRAMES or hopeless:
                self.probe_ms = statistics.median(self.samples)
                self.decided = True
                keep = self.probe_ms <= self.budget_ms
                _log.info(
                    "render quality: PBR median frame %.1f ms (budget %.1f ms): %s",
                    self.probe_ms,
                    self.budget_ms,
                    "kept" if keep else "baked light",
                )
                if not keep:
                    self.set("low")


__all__ = ["BUDGET_MS", "LEVELS", "PROBE_EARLY_FRAMES", "PROBE_FRAMES", "Quality", "wanted_level"]
