"""The hall client: ``MPPApp`` (a ShowBase) hosting a ``HallClient`` that composes the hall.

The client receives the engine (base, render, aspect2d, loader, taskMgr, camera) explicitly,
so tests attach it to the one shared offscreen ShowBase and destroy it again; nothing here
reads ``builtins.base``. The network runs on its own thread (:mod:`world.net`); each frame
one task drains its inbox into the client's :class:`~world.control.bus.Bus`, so rendering
never waits on the server. What the visitor does is split along its seams into controllers
(:mod:`world.control`: chat, forms, tickets, presence) and screens (:mod:`world.screens`);
this module keeps the world itself: the scene, the figures, walking and the camera.
"""

from __future__ import annotations

import gc
import logging
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from direct.showbase.DirectObject import DirectObject
from direct.showbase.ShowBase import ShowBase
from direct.task import Task
from panda3d.core import Filename, Plane, Point3, Vec3, loadPrcFileData

from l10n import t
from protocol.catalog import Catalog, assets_dir, default_catalog
from world import pacing
from world.avatars import AIAvatar, CitizenAvatar, VisitorLayer
from world.characters import FigureLights
from world.config import BINDINGS, WorldConfig
from world.control.bus import Bus, HttpAnswer
from world.control.chat import ChatController
from world.control.forms import FormController
from world.control.presence import PresenceController
from world.control.tickets import TicketController
from world.labels import LabelLayer
from world.layout import HallLayout
from world.net import NetClient, NetEvent
from world.pacing import FramePacer
from world.panels import ConnectionBanner
from world.quality import Quality, wanted_level
from world.scene import HallScene
from world.screens import CONNECT_GRACE_S, Screens

_log = logging.getLogger("world.app")

WALK_SPEED = 4.0
TURN_SPEED = 110.0
TALK_DISTANCE = 4.5
DATASETS = {"village-progress": "village_progress", "budget": "budget", "poverty": "poverty"}
TASK_PREFIX = "mpp-client-"


class HallClient(DirectObject):
    """Everything the citizen sees and does in the hall, on an engine that is passed in."""

    def __init__(
        self, base: Any, cfg: WorldConfig, *, net: NetClient | None = None, catalog: Catalog | None = None
    ) -> None:
        DirectObject.__init__(self)
        self.base = base
        self.render = base.render
        self.aspect2d = base.aspect2d
        self.loader = base.loader
        self.task_mgr = base.taskMgr
        self.camera = base.camera
        self.cam_lens = base.camLens
        self.mouse_watcher = base.mouseWatcherNode
        self.cfg = cfg
        self.lang = cfg.lang
        self.assets = cfg.assets or assets_dir()
        self.catalog = catalog or default_catalog()
        self.font = self.loader.loadFont(
            Filename.fromOsSpecific(str(self.assets / "fonts" / "DejaVuSans.ttf")).getFullpath()
        )
        if self.font.getNumPages() == 0:  # fonts are pooled: set once
            self.font.setPixelsPerUnit(48)
        self.net = (
            net if net is not None else (NetClient(cfg.server, lang=cfg.lang, name=cfg.name) if cfg.connect else None)
        )
        self.call: Any = None  # world.call.HallCall, when aiortc is installed
        self.call_screen: Any = None
        if self.net is not None:
            self.call = _hall_call(self.net)
        # world objects (load_world)
        self.layout: HallLayout | None = None
        self.nav: Any = None
        self.scene: HallScene | None = None
        self.player: CitizenAvatar | None = None
        self.ai: AIAvatar | None = None
        self.visitors: VisitorLayer | None = None
        self.world_root: Any = None
        self.labels: LabelLayer | None = None
        self.figure_lights: FigureLights | None = None
        self.follow_cam: Any = None
        self.quality: Quality | None = None  # baked light or PBR, chosen from the measured frame time
        # the seams: screens, and one controller per thing the visitor does
        self.bus = Bus()
        self.screens = Screens(self)
        self.banner = ConnectionBanner(self.aspect2d, self.font, self.lang, cfg.text_scale)
        self.chat = ChatController(self)
        self.forms = FormController(self)
        self.tickets = TicketController(self)
        self.presence = PresenceController(self)
        self.bus.on_status(self._on_status)
        self.bus.on_http("dashboard:", self._on_dataset, prefix=True)
        # walking and the camera
        self.keys = {a: False for a in ("forward", "back", "left", "right")}
        self.typing = False
        self.player_path: list[tuple[float, float]] = []
        self.datasets: dict[str, Any] = {}
        self.connect_started = 0.0
        self.camera_override: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None
        self._tasks: set[str] = set()
        self.pacer: FramePacer | None = None
        self._started = False
        self._destroyed = False
        self.figures: dict[str, float] = {}  # measured moments (seconds) the CLI prints

    # ------------------------------------------------------------------ what other parts read

    @property
    def identified(self) -> bool:
        """The session proved a NIK with the second factor (its applications are the citizen's)."""
        return self.forms.identified

    @identified.setter
    def identified(self, value: bool) -> None:
        self.forms.identified = value

    @property
    def bubble_text(self) -> str:
        return self.chat.bubble_text

    def say(self, text: str) -> None:
        self.chat.say(text)

    def show_ticket(self, ticket: dict[str, Any]) -> Any:
        return self.tickets.show_ticket(ticket)

    # ------------------------------------------------------------------ lifecycle

    def now(self) -> float:
        return time.monotonic()

    def add_task(self, fn: Callable[..., Any], name: str, delay: float | None = None) -> None:
        full = TASK_PREFIX + name
        self.task_mgr.remove(full)
        if delay is None:
            self.task_mgr.add(fn, full)
        else:
            self.task_mgr.doMethodLater(delay, fn, full)
        self._tasks.add(full)

    def start(self) -> HallClient:
        if self._started:
            return self
        self._started = True
        self._bind_inputs()
        self.add_task(self._frame, "frame")
        # at most one frame in flight behind the one being built (world.pacing); the bench does the same
        self.pacer = pacing.install(self.base)
        self.screens.request("Boot")
        self.screens.request("Connecting" if self.net is not None else "Hall")
        return self

    def destroy(self) -> None:
        """Undo everything start() did: states, overlays, tasks, event hooks, scene nodes, net thread."""
        if self._destroyed:
            return
        self._destroyed = True
        if self.screens.state not in (None, "Off"):
            self.screens.request("Off")
        self.screens.unload()
        self.screens.cleanup()
        for name in list(self._tasks):
            self.task_mgr.remove(name)
        self._tasks.clear()
        if self.pacer is not None:
            pacing.remove(self.base)
            self.pacer = None
        self.ignoreAll()
        self.tickets.destroy()
        for overlay in (self.banner, self.call_screen):
            if overlay is not None:
                overlay.destroy()
        self.call_screen = None
        if self.quality is not None:
            self.quality.set("low")  # simplepbr's pipeline, lights and linear colours go with the hall
            self.quality = None
        for obj in (self.visitors, self.ai, self.player, self.scene):
            if obj is not None:
                obj.destroy()
        self.visitors = self.ai = self.player = self.scene = None
        if self.labels is not None:
            self.labels.destroy()
            self.labels = None
        if self.world_root is not None:
            self.world_root.removeNode()
            self.world_root = None
        if self.net is not None:
            self.presence.leave()
            self.net.stop()

    # ------------------------------------------------------------------ world

    def load_world(self) -> None:
        from world.layout import load_layout
        from world.nav import NavGrid

        layout = self.layout = load_layout(self.catalog)
        self.nav = NavGrid.from_layout(layout)
        self.world_root = self.render.attachNewNode("mpp-world")
        # screen-space name tags and bubbles (never over a face or a sign), and the figures' light
        self.labels = LabelLayer(self.aspect2d, self.base.cam, self.render, self.font)
        self.figure_lights = FigureLights(self.world_root)
        self.scene = HallScene(
            self.world_root,
            self.loader,
            self.catalog,
            layout,
            font_path=self.assets / "fonts" / "DejaVuSans.ttf",
            lights=self.figure_lights,
            labels=self.labels,
        )
        self.scene.build()
        self.scene.set_lang(self.lang)
        people = {"font": self.font, "labels": self.labels, "lights": self.figure_lights}
        self.player = CitizenAvatar(self.world_root, self.loader, self.cfg.name, **people)
        self.ai = AIAvatar(self.world_root, self.loader, self.lang, **people)
        self.visitors = VisitorLayer(self.world_root, self.loader, layout=layout, **people)
        self.player.root.setPos(layout.spawn[0], layout.spawn[1], 0)
        self.player.root.setH(0.0)
        hx, hy = layout.avatar_home
        self.ai.root.setPos(hx, hy, 0)
        self.ai.root.setH(180)
        self.base.disableMouse()
        self.cam_lens.setFov(62)
        self.cam_lens.setNearFar(0.3, 200)
        self._place_camera(0.0, snap=True)
        # auto: starts on baked light, tries PBR once the hall is up, keeps it only within 30 FPS
        self.quality = Quality(self.base, self.scene, level=self.cfg.quality or wanted_level())
        gc.collect()
        gc.freeze()  # the hall's long-lived objects: a full collection then never walks them mid-walk

    # ------------------------------------------------------------------ input

    def _bind_inputs(self) -> None:
        """The one binding table (world.config.BINDINGS) → handlers."""
        handlers: dict[str, Callable[[], None]] = {
            "click": self.on_click,
            "talk": self.talk,
            "escape": self.back,
            "settings": self.open_settings,
            "tracker": self.tickets.toggle_tracker,
        }
        for action, keys in BINDINGS.items():
            for key in keys:
                if action in self.keys:
                    self.accept(key, self._key, [action, True])
                    self.accept(f"{key}-up", self._key, [action, False])
                elif action in handlers:
                    self.accept(key, handlers[action])

    def _key(self, action: str, down: bool) -> None:
        self.keys[action] = down and not self.typing

    def set_typing(self, on: bool) -> None:
        """A text entry has focus: letters are text, not walking."""
        self.typing = on
        if on:
            for k in self.keys:
                self.keys[k] = False

    def on_click(self) -> None:
        if self.screens.state not in ("Hall", "Conversation") or not self.mouse_watcher.hasMouse():
            return
        if self.mouse_watcher.isOverRegion():
            return  # the click belongs to a panel
        m = self.mouse_watcher.getMouse()
        goal = self.pick_floor(m.getX(), m.getY())
        if goal is not None:
            self.walk_player_to(goal)

    def pick_floor(self, mx: float, my: float) -> tuple[float, float] | None:
        """Mouse (film coords -1..1) → the floor point under it (ray against the z=0 plane)."""
        near, far = Point3(), Point3()
        if not self.cam_lens.extrude((mx, my), near, far):
            return None
        near_w = self.render.getRelativePoint(self.camera, near)
        far_w = self.render.getRelativePoint(self.camera, far)
        hit = Point3()
        if Plane(Vec3(0, 0, 1), Point3(0, 0, 0)).intersectsLine(hit, near_w, far_w):
            return (hit.x, hit.y)
        return None

    def walk_player_to(self, goal: tuple[float, float]) -> bool:
        if self.nav is None or self.player is None:
            return False
        path = self.nav.find_path(self.player_xy, goal)
        if not path:
            return False
        self.player_path = list(path[1:])
        return True

    @property
    def player_xy(self) -> tuple[float, float]:
        return (self.player.root.getX(), self.player.root.getY()) if self.player is not None else (0.0, 0.0)

    @property
    def ai_xy(self) -> tuple[float, float]:
        return (self.ai.root.getX(), self.ai.root.getY()) if self.ai is not None else (0.0, 0.0)

    def near_ai(self) -> bool:
        (px, py), (ax, ay) = self.player_xy, self.ai_xy
        return math.hypot(px - ax, py - ay) <= TALK_DISTANCE

    def talk(self) -> None:
        if self.screens.state == "Hall" and self.near_ai():
            self.screens.request("Conversation")

    def back(self) -> None:
        if self.screens.state in ("Conversation", "Form", "Settings"):
            self.screens.request("Hall")

    def open_settings(self) -> None:
        if self.screens.state in ("Hall", "Conversation"):
            self.screens.request("Settings")

    def set_lang(self, lang: str) -> None:
        if lang not in ("id", "en") or lang == self.lang:
            return
        self.lang = self.cfg.lang = lang
        if self.net is not None:
            self.net.lang = lang
        self._rebuild_overlays()
        if self.scene is not None:
            self.scene.set_lang(lang)
        self.screens.refresh_settings()

    def change_text_scale(self, delta: float) -> None:
        self.cfg.text_scale = round(min(2.0, max(0.7, self.cfg.text_scale + delta)), 2)
        loadPrcFileData("mpp-settings", f"mpp-text-scale {self.cfg.text_scale}")
        self._rebuild_overlays()
        self.screens.refresh_settings()

    def _rebuild_overlays(self) -> None:
        state = self.banner.state
        self.banner.destroy()
        self.banner = ConnectionBanner(self.aspect2d, self.font, self.lang, self.cfg.text_scale)
        self.banner.set_state(state)
        self.tickets.rebuild()

    def ai_face_player(self) -> None:
        if self.ai is not None:
            self.ai.face(*self.player_xy)

    def ai_greet_player(self) -> None:
        """The visitor comes to talk: the assistant turns to them and waves."""
        if self.ai is not None:
            self.ai.greet(*self.player_xy)

    # ------------------------------------------------------------------ the counters

    def join_call(self, handoff_id: int, counter: int) -> None:
        """Ask the officer for a call; the video goes on a screen beside the officer at the counter."""
        if self.call is None or not handoff_id or self.world_root is None or self.layout is None:
            return
        try:
            spot = self.layout.counter(counter)
        except KeyError:
            spot = None
        if self.call_screen is None and spot is not None:
            from world.call import CounterScreen
            from world.layout import FACING_NORMAL

            nx, ny = FACING_NORMAL[spot.facing]
            back = spot.depth / 2 + 0.45
            side = spot.width / 2 - 0.4  # beside the officer, on the desk's end
            x, y = spot.x - nx * back - ny * side, spot.y - ny * back + nx * side
            self.call_screen = CounterScreen(self.world_root, x, y, spot.heading, self.font)
        self.call.request(handoff_id)

    def _call_caption(self) -> str:
        """What the counter screen says under the picture: the call's state and the devices this hall lacks."""
        call = self.call
        if call.state in ("requested", "connecting"):
            return t("hall.call_connecting", self.lang)
        if call.state == "ended":
            if call.reason in ("no_path", "failed"):
                return t("hall.call_no_path", self.lang)
            return t("hall.call_ended", self.lang)
        missing = call.devices.missing
        if not missing:
            return ""
        return t("hall.call_missing", self.lang, devices=", ".join(t(f"hall.dev_{d}", self.lang) for d in missing))

    def lead_to_counter(self, number: int) -> bool:
        """The AI avatar walks ahead to the counter; the citizen follows."""
        if self.layout is None:
            return False
        try:
            spot = self.layout.counter(number)
        except KeyError:
            return False
        ax, ay = spot.approach
        self.walk_player_to((ax, ay))
        if self.ai is not None and self.nav is not None:
            # the guide stands beside the citizen, offset along the counter's front
            dx, dy = ax - spot.x, ay - spot.y
            d = math.hypot(dx, dy) or 1.0
            side = (-dy / d * 0.9, dx / d * 0.9)
            path = self.nav.find_path(self.ai_xy, (ax + side[0], ay + side[1]))
            if path:
                self.ai.walk_path(path[1:], 3.0, self._ai_arrived, lead=True)
        self.chat.log("assistant", t("hall.walking_to", self.lang, n=number))
        return True

    def _ai_arrived(self) -> None:
        self.ai_face_player()
        self.add_task(self._ai_go_home, "ai-home", delay=8.0)

    def _ai_go_home(self, task: Any = None) -> int:
        self._tasks.discard(TASK_PREFIX + "ai-home")
        if self.ai is not None and self.nav is not None and self.layout is not None:
            path = self.nav.find_path(self.ai_xy, self.layout.avatar_home)
            if path:
                self.ai.walk_path(path[1:], 2.6, None)
        return Task.done

    # ------------------------------------------------------------------ network

    def handle(self, ev: NetEvent) -> None:
        """One event from the net thread, to whoever subscribed on the bus."""
        self.bus.dispatch(ev)

    def on_frame(self, frame: Any) -> None:
        """A server frame (``protocol.messages``), as if it had just arrived."""
        self.bus.frame(frame)

    def _on_status(self, state: str) -> None:
        self.banner.set_state(state)
        if state != "online":
            return
        if self.screens.state == "Connecting":
            self.screens.request("Hall")
        elif self.screens.state not in (None, "Off", "Boot"):
            self.presence.join(force=True)
        if self.net is None:
            return
        self.tickets.refresh()
        for name in DATASETS:
            self.net.dashboard(name)

    def _on_dataset(self, answer: HttpAnswer) -> None:
        if answer.data is None:
            return
        name = answer.suffix
        payload = answer.data.model_dump(mode="json")
        self.datasets[name] = payload
        if self.scene is not None:
            self.scene.set_dataset(DATASETS.get(name, name), payload)

    # ------------------------------------------------------------------ per frame

    def _frame(self, task: Any) -> int:
        now = self.now()
        raw_dt = self.base.clock.getDt()
        dt = min(raw_dt, 0.1)
        if self.quality is not None and not self.quality.decided:
            self.quality.frame(raw_dt * 1000.0)
        if self.net is not None:
            for ev in self.net.poll():
                self.handle(ev)
            if self.screens.state == "Connecting" and now - self.connect_started > CONNECT_GRACE_S:
                self.screens.request("Hall")
        if self._move_player(dt):
            self.presence.moved(now)
        for obj in (self.ai, self.player, self.visitors):
            if obj is not None:
                obj.update(dt)
        self._place_camera(dt)
        if self.labels is not None:
            self.labels.update()
        if self.call_screen is not None and self.call is not None:
            self.call_screen.update(self.call, self._call_caption())
        return Task.cont

    def _move_player(self, dt: float) -> bool:
        """Keys or a clicked path move the player; True when it moved this frame."""
        p = self.player
        if p is None:
            return False
        walking_keys = any(self.keys.values()) and not self.typing
        if walking_keys and self.screens.state in ("Hall", "Conversation"):
            self.player_path = []
            h = p.root.getH() + (self.keys["left"] - self.keys["right"]) * TURN_SPEED * dt
            p.root.setH(h)
            step = (self.keys["forward"] - self.keys["back"]) * WALK_SPEED * dt
            if step:
                rad = math.radians(h)
                x, y = self.player_xy
                nx, ny = x - math.sin(rad) * step, y + math.cos(rad) * step
                for cand in ((nx, ny), (nx, y), (x, ny)):
                    if self.nav is None or self.nav.walkable(cand):
                        p.root.setPos(cand[0], cand[1], 0)
                        break
            return True
        if self.player_path:
            x, y = self.player_xy
            tx, ty = self.player_path[0]
            d = math.hypot(tx - x, ty - y)
            step = WALK_SPEED * dt
            if d <= step:
                p.root.setPos(tx, ty, 0)
                self.player_path.pop(0)
            else:
                p.root.setPos(x + (tx - x) / d * step, y + (ty - y) / d * step, 0)
                p.root.setH(math.degrees(math.atan2(-(tx - x), ty - y)))
            return True
        return False

    def _place_camera(self, dt: float, snap: bool = False) -> None:
        if self.camera_override is not None:
            pos, look = self.camera_override
            self.camera.setPos(*pos)
            self.camera.lookAt(Point3(*look))
            return
        p = self.player
        if p is None:
            return
        from world.camera import ThirdPersonCamera

        if self.follow_cam is None and self.layout is not None:
            self.follow_cam = ThirdPersonCamera(self.layout)
        px, py = self.player_xy
        talking = self.screens.state in ("Conversation", "Form") and self.ai is not None
        if talking:
            ax, ay = self.ai_xy
            dx, dy = px - ax, py - ay
            d = math.hypot(dx, dy) or 1.0
            want = (px + dx / d * 4.6 + 1.0, py + dy / d * 4.6, 3.0)
            look = ((ax + px) / 2, (ay + py) / 2, 2.3)
        elif self.follow_cam is not None:
            want, look = self.follow_cam.behind(px, py, p.root.getH())
        else:
            rad = math.radians(p.root.getH())
            want, look = (px + math.sin(rad) * 7.0, py - math.cos(rad) * 7.0, 3.8), (px, py, 1.4)
        if self.follow_cam is not None:
            # pulled in before walls, pillars, counters and signs (never half a screen of beige)
            pos = self.follow_cam.step((px, py, 1.6), want, dt, snap=snap)
            self.camera.setPos(*pos)
        elif snap:
            self.camera.setPos(*want)
        else:
            cur = self.camera.getPos()
            self.camera.setPos(cur + (Point3(*want) - cur) * min(1.0, dt * 5.0))
        self.camera.lookAt(Point3(*look))
        if talking:
            self.camera.setH(self.camera.getH() - 14)  # keep the two figures clear of the side panel

    # ------------------------------------------------------------------ tools for the tour and tests

    def pump(
        self,
        until: Callable[[], bool] | None = None,
        timeout: float = 10.0,
        min_frames: int = 1,
        max_fps: float | None = None,
    ) -> bool:
        """Step frames until ``until()`` (or the timeout). ``max_fps`` leaves CPU to a server on the same box.

        Offscreen rendering is software GL here; at full speed it starved the assistant in the
        child server (2 cores: 'syarat KTP' took 21 s instead of under 1 s).
        """
        end = time.monotonic() + timeout
        frames = 0
        period = 1.0 / max_fps if max_fps else 0.005
        while True:
            started = time.monotonic()
            self.task_mgr.step()
            frames += 1
            if frames >= min_frames and until is not None and until():
                return True
            if time.monotonic() >= end:
                return until is None
            time.sleep(max(0.005, period - (time.monotonic() - started)))

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.base.graphicsEngine.renderFrame()
        self.base.graphicsEngine.renderFrame()
        self.base.win.saveScreenshot(Filename.fromOsSpecific(str(path.resolve())))
        return path


def _hall_call(net: NetClient) -> Any:
    """The hall's call client when aiortc is installed; without it the remote counter stays text chat."""
    try:
        import aiortc  # noqa: F401
    except ImportError:
        return None
    from world.call import HallCall

    call = HallCall(send=net.send, fetch_ice=net.ice_servers)
    net.call = call
    return call


class MPPApp(ShowBase):
    """The window (or offscreen buffer) with the hall client in it."""

    def __init__(self, cfg: WorldConfig, *, net: NetClient | None = None) -> None:
        cfg.apply_prc()
        ShowBase.__init__(self, windowType="offscreen" if cfg.offscreen else None)
        self.setBackgroundColor(0.96, 0.93, 0.86, 1)
        self.cfg = cfg
        self.client = HallClient(self, cfg, net=net).start()

    def close(self) -> None:
        self.client.destroy()
        self.destroy()


# ---------------------------------------------------------------------- runs (CLI bodies)

DEMO_NIK = "3510011204900001"  # a valid Banyuwangi NIK used only by the scripted walkthrough


def walkthrough(
    client: HallClient,
    shots: Path,
    *,
    question: str = "syarat KTP apa saja?",
    full: bool = False,
    reply_timeout: float = 60.0,
) -> list[Path]:
    """Entrance, counters, the assistant answering a real question, (form, ticket,) the lounge; saves PNGs."""
    out: list[Path] = []
    lay = client.layout
    assert lay is not None and client.player is not None

    def shot(name: str) -> None:
        client.pump(timeout=0.6)
        out.append(client.screenshot(shots / name))

    client.pump(lambda: client.screens.state == "Hall", timeout=15)
    b = lay.bounds
    client.player.root.setPos(0.8, b.ymin + 6.5, 0)  # just inside, seen from behind as they walk in
    client.player.root.setH(0)
    client.camera_override = ((1.5, b.ymin + 1.2, 3.0), (0.0, 6.0, 2.2))
    shot("01-entrance.png")
    first = lay.counters[0]
    client.camera_override = ((first.x + 9.0, first.y - 13.0, 3.6), (first.x + 4.0, first.y, 2.4))
    shot("02-counters.png")
    client.camera_override = None
    hx, hy = lay.avatar_home
    ix, iy = hx, hy - 2.2
    client.player.root.setPos(ix, iy, 0)
    client.player_path = []
    client.player.root.setH(180)
    client.screens.request("Conversation")
    before = len(client.chat.replies)
    asked = time.perf_counter()
    client.say(question)
    if client.pump(lambda: len(client.chat.replies) > before, timeout=reply_timeout, max_fps=4):
        client.figures["answer_s"] = round(time.perf_counter() - asked, 2)
    if client.screens.state != "Conversation":
        client.screens.request("Conversation")
    shot("03-assistant.png")
    if full:
        client.screens.request("Form", "ktp-el")
        client.pump(lambda: bool(client.screens.form and client.screens.form.fields), timeout=15)
        form = client.screens.form
        if form is not None:
            from protocol.forms import example_answers

            for k, v in example_answers(client.catalog.service("ktp-el"), DEMO_NIK, "Budi Santoso").items():
                form.set_value(k, v)
            form.submit()
            client.pump(lambda: any(a.get("tracking_number") for a in client.tickets.applications.values()), timeout=20)
        shot("04-form.png")
        client.screens.request("Hall")
        if client.net is not None:
            client.net.take_ticket(first.number)
            client.pump(lambda: client.tickets.ticket is not None, timeout=15)
        shot("05-ticket.png")
        client.tickets.close_ticket()
        client.tickets.close_tracker()
    if client.screens.state != "Hall":
        client.screens.request("Hall")
    client.pump(lambda: len(client.datasets) == len(DATASETS), timeout=10)
    screens = list(lay.screens)
    if screens:
        mid = screens[len(screens) // 2]
        client.camera_override = ((mid.x - 14.5, mid.y - 1.0, 2.8), (mid.x, mid.y, mid.z - 0.3))
    else:
        r = lay.lounge
        client.camera_override = (
            ((r.xmin + r.xmax) / 2 - 8, (r.ymin + r.ymax) / 2, 3.0),
            (r.xmax, (r.ymin + r.ymax) / 2, 2.5),
        )
    shot(f"{len(out) + 1:02d}-lounge.png")
    client.camera_override = None
    return out


def run_hall(cfg: WorldConfig, screenshot: Path | None = None, *, emit: Callable[[str], None] = _log.info) -> int:
    """``mpp hall``: the client; with ``screenshot`` it renders until connected, saves one frame and exits."""
    app = MPPApp(cfg)
    guided: Any = None
    try:
        client = app.client
        if cfg.guided and client.net is None:
            _log.warning("guided mode needs a server (it drives the visit); the hall opens without it")
        elif cfg.guided:
            # guided mode (world.guided_view): big buttons, spoken steps, the avatar leads the way
            from world.guided_view import attach_to_hall

            client.pump(lambda: client.screens.state == "Hall" and client.layout is not None, timeout=15)
            guided = attach_to_hall(client)
            client.pump(lambda: guided.step is not None, timeout=10)  # the server's first step is on screen
        if screenshot is not None:
            net = client.net
            client.pump(lambda: net is None or net.state == "online", timeout=8)
            client.pump(timeout=1.0)
            # auto quality: the picture is taken in the look this machine settled on, not mid-probe
            quality = client.quality
            client.pump(lambda: quality is None or quality.decided, timeout=30)
            emit(str(client.screenshot(screenshot).resolve()))
            return 0
        app.run()
    finally:
        if guided is not None:
            guided.destroy()
        app.close()
    return 0


def run_up(
    *,
    port: int,
    lang: str,
    shots: Path,
    size: tuple[int, int] = (1280, 720),
    force_offscreen: bool = False,
    data_dir: Path | None = None,
    emit: Callable[[str], None] = _log.info,
) -> int:
    """``mpp up``: the server as a child process, then the hall connected to it (offscreen tour without $DISPLAY)."""
    import os

    from mpp.launch import LaunchError, ServerProcess

    var = data_dir or Path(os.environ.get("MPP_DATA_DIR", "var"))
    server = ServerProcess(var, port, log_path=var / "server.log")
    base_url = server.url
    emit(f"server: {base_url} (log {server.log_path})")
    try:
        try:
            server.start(timeout=120)
        except LaunchError as exc:
            emit(f"server gagal start / server did not start\n{exc}")
            return 1
        emit("server ready / server siap")
        offscreen = force_offscreen or not os.environ.get("DISPLAY")
        cfg = WorldConfig(server=base_url, lang=lang, offscreen=offscreen, width=size[0], height=size[1])
        app = MPPApp(cfg)
        try:
            if not offscreen:
                app.run()
                return 0
            net = app.client.net
            t0 = time.perf_counter()
            if not app.client.pump(lambda: net is not None and net.state == "online", timeout=20):
                emit("hall could not connect / aula tidak terhubung")
                return 1
            app.client.figures["connect_s"] = round(time.perf_counter() - t0, 2)
            _wait_assistant(base_url)
            for p in walkthrough(app.client, shots):
                emit(str(p.resolve()))
            figs = app.client.figures
            emit(
                f"hall connected in {figs.get('connect_s', '?')} s; "
                f"assistant answered 'syarat KTP apa saja?' in {figs.get('answer_s', '?')} s "
                f"({app.client.bubble_text.splitlines()[0][:60] if app.client.bubble_text else 'no answer'})"
            )
            return 0 if "answer_s" in figs else 1
        finally:
            app.close()
    finally:
        server.stop()


def _wait_assistant(base_url: str, timeout: float = 90.0) -> bool:
    import httpx

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if httpx.get(base_url + "/api/v1/ready", timeout=2).json().get("checks", {}).get("assistant") == "ok":
                return True
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.5)
    return False


__all__ = ["DEMO_NIK", "HallClient", "MPPApp", "run_hall", "run_up", "walkthrough"]
