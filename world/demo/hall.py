"""The hall as the demo sees it: a scene, a camera, a visitor who walks, an assistant who talks.

The demo opens its own ShowBase (window, or offscreen buffer of the recording size) and
attaches the product's hall client to it (``world.app.HallClient``). When that client is
not importable, it builds the hall straight from ``world.scene`` (and ``world.avatars``
when present), so a recording always works. Animations follow ``clock``: the wall clock
when presenting, the frame clock when recording.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from protocol.catalog import assets_dir, default_catalog

__all__ = ["Hall", "open_base"]

log = logging.getLogger(__name__)

WALK_SPEED = 3.2


def open_base(size: tuple[int, int], *, offscreen: bool, fullscreen: bool = False, fps: int | None = None) -> Any:
    """A ShowBase for the demo; offscreen uses headless GL with the software renderer as fallback."""
    from panda3d.core import load_prc_file_data

    prc = [
        f"win-size {size[0]} {size[1]}",
        "window-title Virtual MPP — Demo",
        "sync-video #f",
        "audio-library-name null",
        "textures-power-2 none",
        "framebuffer-multisample #f",
        "notify-level-display error",
        "notify-level-device fatal",
        "default-directnotify-level warning",
    ]
    if fullscreen:
        prc.append("fullscreen #t")
    if offscreen:
        prc += ["window-type offscreen", "load-display p3headlessgl", "aux-display p3tinydisplay"]
    load_prc_file_data("mpp-demo", "\n".join(prc))
    from direct.showbase.ShowBase import ShowBase

    base = ShowBase(windowType="offscreen" if offscreen else None)
    if base.win is None:
        raise RuntimeError("no window or offscreen buffer could be opened")
    base.disable_mouse()
    base.set_background_color(0.96, 0.93, 0.86, 1)
    if fps is not None:
        from panda3d.core import ClockObject

        clock = ClockObject.get_global_clock()
        clock.set_mode(ClockObject.M_forced)
        clock.set_frame_rate(fps)
    return base


class Hall:
    """Adapter over whichever hall implementation is available; all methods are safe to call."""

    def __init__(self, base: Any, lang: str, *, clock: Callable[[], float] = time.monotonic, net: Any = None) -> None:
        self.base = base
        self.net = net
        self.lang = lang
        self.clock = clock
        self.assets: Path = assets_dir()
        self.catalog = default_catalog()
        self.client: Any = None
        self.scene: Any = None
        self.layout: Any = None
        self.assistant: Any = None
        self.visitor: Any = None
        self.grid: Any = None
        self.kind = ""
        self._path: list[tuple[float, float]] = []
        self._root: Any = None
        self._camera: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None
        if not self._attach_client():
            self._build_scene()
        base.task_mgr.add(self._frame, "mpp-demo-hall", sort=-5)

    # ------------------------------------------------------------------ setup

    def _attach_client(self) -> bool:
        if os.environ.get("MPP_DEMO_HALL") == "scene":
            return False
        try:
            from world.app import HallClient
            from world.config import WorldConfig
        except Exception as exc:  # noqa: BLE001 -- a half-edited client must not lose the demo either
            log.info("hall client not available (%s): building the scene directly", exc)
            return False
        server = getattr(self.net, "base", "http://127.0.0.1:8765")
        cfg = WorldConfig(server=server, lang=self.lang, connect=self.net is not None, name="Siti Aminah")
        try:
            client = HallClient(self.base, cfg, net=self.net).start()
        except Exception as exc:  # noqa: BLE001 -- any failure of the hall client must not lose the demo
            log.warning("hall client failed to start (%s): building the scene directly", exc)
            return False
        client.now = self.clock  # type: ignore[method-assign]  # the client's animations follow the demo's clock
        self.client = client
        self.scene = client.scene
        self.layout = client.layout
        self.assistant = client.ai
        self.kind = "client"
        self._quiet_client()
        return True

    def _quiet_client(self) -> None:
        """The tour drives the hall: no key hints on screen, no walking on the clicker's arrow keys."""
        from world.demo.presenter import KEYMAP

        client = self.client
        hint = client.screens.hall.hint  # world.screens.HallScreen
        if hint is not None:
            hint.hide()
        for key in KEYMAP:
            client.ignore(key)
            client.ignore(f"{key}-up")

    def _build_scene(self) -> None:
        import importlib

        from world.layout import load_layout
        from world.nav import NavGrid
        from world.scene import HallScene

        self.layout = load_layout(self.catalog)
        self.grid = NavGrid.from_layout(self.layout)
        font_path = self.assets / "fonts" / "DejaVuSans.ttf"
        scene_cls: Any = HallScene
        try:
            scene = scene_cls(self.base.render, self.base.loader, self.catalog, self.layout, font_path=font_path)
        except TypeError:  # the scene's first constructor: (render, loader, layout, assets, lang=)
            scene = scene_cls(self.base.render, self.base.loader, self.layout, self.assets, lang=self.lang)
        scene.build()
        if hasattr(scene, "set_lang"):
            scene.set_lang(self.lang)
        self.scene = scene
        lens = self.base.camLens
        lens.set_fov(62)
        lens.set_near_far(0.3, 200)
        self.kind = "scene"
        try:
            avatars: Any = importlib.import_module("world.avatars")
            self.assistant = avatars.AIAvatar(self.base.render, self.base.loader, self.lang)
            self.visitor = avatars.CitizenAvatar(self.base.render, self.base.loader, "Siti Aminah")
        except (ImportError, AttributeError, TypeError) as exc:
            log.warning("avatars unavailable in the demo hall: %s", exc)
            self.assistant = self.visitor = None
            return
        sx, sy, sh = self.layout.spawn
        self.visitor.root.set_pos(sx, sy, 0)
        self.visitor.root.set_h(sh)
        hx, hy = self.layout.avatar_home
        self.assistant.root.set_pos(hx, hy, 0)
        self.assistant.root.set_h(180)

    # ------------------------------------------------------------------ what the demo does

    def set_camera(self, pos: tuple[float, float, float], look: tuple[float, float, float]) -> None:
        self._camera = (pos, look)
        if self.client is not None:
            self.client.camera_override = (pos, look)
        self._place_camera()

    def _place_camera(self) -> None:
        if self._camera is None:
            return
        from panda3d.core import Point3

        pos, look = self._camera
        self.base.camera.set_pos(*pos)
        self.base.camera.look_at(Point3(*look))

    def update_board(self, counter: int, now_serving: str | None, waiting: int) -> None:
        if self.client is not None:
            self.client.tickets.set_board(counter, now_serving, waiting)
        elif self.scene is not None:
            self.scene.update_board(counter, now_serving, waiting)

    def update_screen(self, dataset: str, payload: dict[str, Any]) -> None:
        if self.scene is not None and hasattr(self.scene, "update_screen"):
            self.scene.update_screen(dataset, payload)

    def walk_visitor_to(self, counter: int) -> None:
        try:
            goal = self.layout.counter(counter).approach
        except (KeyError, AttributeError):
            return
        if self.client is not None:
            fn = getattr(self.client, "walk_player_to", None) or getattr(self.client, "walk_citizen_to", None)
            if fn is not None:
                fn(goal)
            return
        if self.visitor is not None and self.grid is not None:
            path = self.grid.find_path((self.visitor.root.get_x(), self.visitor.root.get_y()), goal)
            self._path = list(path[1:]) if path else []

    def say(self, text: str) -> None:
        """The assistant's speech bubble (presenting only: bubble lifetimes follow the clock)."""
        fn = getattr(self.assistant, "say", None)
        if fn is not None:
            fn(text, "en" if self.lang == "en" else "id")

    # ------------------------------------------------------------------ per frame

    def _frame(self, task: Any) -> int:
        from direct.task import Task
        from panda3d.core import ClockObject

        dt = min(ClockObject.get_global_clock().get_dt(), 0.1)
        if self.client is None:
            if self.visitor is not None and self._path:
                from world.avatars import follow_path

                x, y = self.visitor.root.get_x(), self.visitor.root.get_y()
                pos, heading = follow_path((x, y), self._path, WALK_SPEED * dt)
                self.visitor.root.set_pos(pos[0], pos[1], 0)
                if heading is not None:
                    self.visitor.root.set_h(heading)
            for avatar in (self.assistant, self.visitor):
                if avatar is not None and hasattr(avatar, "update"):
                    avatar.update(dt)
        self._place_camera()
        return Task.cont

    def destroy(self) -> None:
        self.base.task_mgr.remove("mpp-demo-hall")
        if self.client is not None:
            self.client.destroy()
            self.client = None
            return
        for obj in (self.assistant, self.visitor, self.scene):
            if obj is not None and hasattr(obj, "destroy"):
                obj.destroy()
