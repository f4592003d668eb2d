"""The hall client: ``MPPApp`` (a ShowBase) hosting a ``HallClient`` that owns the screens.

The client receives the engine (base, render, aspect2d, loader, taskMgr, camera) explicitly,
so tests attach it to the one shared offscreen ShowBase and destroy it again; nothing here
reads ``builtins.base``. The network runs on its own thread (:mod:`world.net`); each frame
one task drains its inbox, so rendering never waits on the server.
"""

from __future__ import annotations

import gc
import logging
import math
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from direct.showbase.DirectObject import DirectObject
from direct.showbase.ShowBase import ShowBase
from direct.task import Task
from panda3d.core import Filename, Plane, Point3, TextNode, Vec3, loadPrcFileData

from l10n import t
from protocol.catalog import Catalog, assets_dir, default_catalog
from protocol.messages import (
    CHAT_TEXT_MAX,
    ApplicationEvent,
    BoardUpdate,
    ChatReply,
    DocumentEvent,
    ErrorFrame,
    PresenceCorrect,
    PresenceSnapshot,
    QueueEvent,
    Welcome,
)
from world.config import BINDINGS, WorldConfig
from world.labels import state_label
from world.net import NetClient, NetEvent
from world.panels import ApplicationTracker, ConnectionBanner, TicketCard, localized
from world.screens import CONNECT_GRACE_S, Screens

_log = logging.getLogger("world.app")

WALK_SPEED = 4.0
TURN_SPEED = 110.0
MOVE_HZ = 10.0
TALK_DISTANCE = 4.5
DATASETS = {"village-progress": "village_progress", "budget": "budget", "poverty": "poverty"}
TASK_PREFIX = "mpp-client-"


def _call(obj: Any, names: Sequence[str], *args: Any) -> Any:
    """Call the first method ``obj`` has among ``names`` (the scene's API grew under two spellings)."""
    for name in names:
        fn = getattr(obj, name, None)
        if callable(fn):
            return fn(*args)
    return None


class _Figure:
    """A stand-in figure (coloured box + name) when world.avatars is not available."""

    def __init__(self, parent: Any, name: str, color: tuple[float, float, float, float], font: Any) -> None:
        from panda3d.core import CardMaker

        self.root = parent.attachNewNode(f"figure-{name}")
        cm = CardMaker("body")
        cm.setFrame(-0.3, 0.3, 0, 1.7)
        for h in (0, 90):
            card = self.root.attachNewNode(cm.generate())
            card.setH(h)
            card.setTwoSided(True)
            card.setColor(*color)
        tn = TextNode(f"bubble-{name}")
        tn.setFont(font)
        tn.setAlign(TextNode.ACenter)
        tn.setWordwrap(16)
        tn.setCardColor(1, 1, 1, 0.92)
        tn.setCardAsMargin(0.3, 0.3, 0.2, 0.2)
        tn.setTextColor(0.1, 0.1, 0.1, 1)
        self.bubble = self.root.attachNewNode(tn)
        self.bubble.setScale(0.16)
        self.bubble.setZ(2.2)
        self.bubble.setBillboardPointEye()
        self.text = ""
        self.path: list[tuple[float, float]] = []
        self.on_arrive: Callable[[], None] | None = None

    def say(self, text: str, lang: str = "id") -> None:
        self.text = text
        node: TextNode = self.bubble.node()
        node.setText(text if len(text) <= 300 else text[:297] + "…")

    def face(self, x: float, y: float) -> None:
        self.root.headsUp(Point3(x, y, self.root.getZ()))
        self.root.setH(self.root.getH() + 180)

    def set_talking(self, on: bool) -> None:
        pass

    def walk_path(
        self, points: Sequence[tuple[float, float]], speed: float = 2.6, on_arrive: Callable[[], None] | None = None
    ) -> None:
        self.path = list(points)
        self.speed = speed
        self.on_arrive = on_arrive

    def update(self, dt: float) -> None:
        if not self.path:
            return
        x, y = self.root.getX(), self.root.getY()
        tx, ty = self.path[0]
        d = math.hypot(tx - x, ty - y)
        step = getattr(self, "speed", 2.6) * dt
        if d <= step:
            self.root.setPos(tx, ty, 0)
            self.path.pop(0)
            if not self.path and self.on_arrive is not None:
                cb, self.on_arrive = self.on_arrive, None
                cb()
        else:
            self.root.setPos(x + (tx - x) / d * step, y + (ty - y) / d * step, 0)

    def destroy(self) -> None:
        self.root.removeNode()


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
        if hasattr(self.font, "getNumPages") and self.font.getNumPages() == 0:  # fonts are pooled: set once
            self.font.setPixelsPerUnit(48)
        self.net = (
            net if net is not None else (NetClient(cfg.server, lang=cfg.lang, name=cfg.name) if cfg.connect else None)
        )
        self.call: Any = None  # world.call.HallCall, when aiortc is installed
        self.call_screen: Any = None
        if self.net is not None:
            self.call = _hall_call(self.net)
        self.screens = Screens(self)
        self.banner = ConnectionBanner(self.aspect2d, self.font, self.lang, cfg.text_scale)
        self.ticket: TicketCard | None = None
        self.tracker: ApplicationTracker | None = None
        # world objects (load_world)
        self.layout: Any = None
        self.nav: Any = None
        self.scene: Any = None
        self.player: Any = None
        self.ai: Any = None
        self.visitors: Any = None
        self.world_root: Any = None
        self.labels: Any = None
        self.figure_lights: Any = None
        self.follow_cam: Any = None
        # state
        self.keys = {a: False for a in ("forward", "back", "left", "right")}
        self.typing = False
        self.player_path: list[tuple[float, float]] = []
        self.chat_history: list[tuple[str, str]] = []
        self.last_quick: list[tuple[str, str]] = []
        self.replies: list[ChatReply] = []
        # Who else wants each reply (guided mode shows the officer's words as its own steps).
        self.reply_listeners: list[Callable[[ChatReply], None]] = []
        self.document_listeners: list[Callable[[DocumentEvent], None]] = []  # e.g. guided mode
        self.frame_listeners: list[Callable[[Any], None]] = []  # every server frame (guided mode's steps)
        self.conversation_id: str | None = None
        self.bubble_text = ""
        self.session_id: str | None = None
        self.identified = False
        self.challenge: str | None = None  # the pending one-time-code challenge of the form panel
        self.applications: dict[str, dict[str, Any]] = {}
        self.documents: dict[str, dict[str, Any]] = {}  # tracking -> issued document (number, state)
        self.download_dir = Path.home() / "Downloads"
        self.app_events: list[ApplicationEvent] = []
        self.queue_events: list[QueueEvent] = []
        self.board: dict[int, tuple[str | None, int]] = {}
        self.datasets: dict[str, Any] = {}
        self.form_attention: tuple[str, ...] = ()
        self.form_key: str | None = None
        self.pending_submit: dict[str, Any] | None = None
        self.joined = False
        self.connect_started = 0.0
        self.camera_override: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None
        self._last_move = 0.0
        self._last_sent: tuple[float, float, float] | None = None
        self._tasks: set[str] = set()
        self._started = False
        self.figures: dict[str, float] = {}  # measured moments (seconds) the CLI prints

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
        self.screens.request("Boot")
        self.screens.request("Connecting" if self.net is not None else "Hall")
        return self

    def destroy(self) -> None:
        """Undo everything start() did: states, overlays, tasks, event hooks, scene nodes, net thread."""
        if getattr(self, "_destroyed", False):
            return
        self._destroyed = True
        if self.screens.state not in (None, "Off"):
            self.screens.request("Off")
        self.screens.cleanup()
        for name in list(self._tasks):
            self.task_mgr.remove(name)
        self._tasks.clear()
        self.ignoreAll()
        for overlay in (self.ticket, self.tracker, self.banner, self.call_screen):
            if overlay is not None:
                overlay.destroy()
        self.call_screen = None
        self.ticket = self.tracker = None
        for obj in (self.visitors, self.ai, self.player, self.scene):
            if obj is not None and hasattr(obj, "destroy"):
                obj.destroy()
        self.visitors = self.ai = self.player = self.scene = None
        if self.labels is not None:
            self.labels.destroy()
            self.labels = None
        if self.world_root is not None:
            self.world_root.removeNode()
            self.world_root = None
        if self.net is not None:
            if self.joined:
                self.net.send({"type": "presence.leave"})
            self.net.stop()

    # ------------------------------------------------------------------ world

    def load_world(self) -> None:
        from world.layout import load_layout
        from world.nav import NavGrid

        self.layout = load_layout(self.catalog)
        self.nav = NavGrid.from_layout(self.layout)
        self.world_root = self.render.attachNewNode("mpp-world")
        self._make_people_layers()
        self.scene = self._make_scene()
        self.player, self.ai, self.visitors = self._make_avatars()
        spawn = layout_point(self.layout, "spawn", "entrance")
        sx, sy = spawn[0], spawn[1] + (0.0 if hasattr(self.layout, "spawn") else 3.0)
        sh = 0.0
        self.player.root.setPos(sx, sy, 0)
        self.player.root.setH(sh)
        hx, hy = layout_point(self.layout, "ai_avatar_home", "avatar_home")[:2]
        self.ai.root.setPos(hx, hy, 0)
        self.ai.root.setH(180)
        self.base.disableMouse()
        self.cam_lens.setFov(62)
        self.cam_lens.setNearFar(0.3, 200)
        self._place_camera(0.0, snap=True)
        gc.collect()
        gc.freeze()  # the hall's long-lived objects: a full collection then never walks them mid-walk

    def _make_people_layers(self) -> None:
        """Screen-space name tags and bubbles (never over a face or a sign), and the figures' light."""
        try:
            from world.characters import FigureLights
            from world.labels import LabelLayer
        except ImportError:
            return
        self.labels = LabelLayer(self.aspect2d, self.base.cam, self.render, self.font)
        self.figure_lights = FigureLights(self.world_root)

    def _make_scene(self) -> Any:
        font_path = self.assets / "fonts" / "DejaVuSans.ttf"
        try:
            from world.scene import HallScene
        except ImportError:
            return self._fallback_floor()
        try:
            scene = HallScene(
                self.world_root,
                self.loader,
                self.catalog,
                self.layout,
                font_path=font_path,
                lights=self.figure_lights,
                labels=self.labels,
            )
        except TypeError:  # the scene's older constructor: (render, loader, layout, assets, lang=)
            scene = HallScene(self.world_root, self.loader, self.layout, self.assets, lang=self.lang)
        scene.build()
        _call(scene, ("set_lang",), self.lang)
        return scene

    def _fallback_floor(self) -> Any:
        from panda3d.core import CardMaker

        b = self.layout.bounds
        cm = CardMaker("floor")
        cm.setFrame(b.xmin, b.xmax, b.ymin, b.ymax)
        floor = self.world_root.attachNewNode(cm.generate())
        floor.setP(-90)
        floor.setColor(0.92, 0.87, 0.8, 1)
        return None

    def _make_avatars(self) -> tuple[Any, Any, Any]:
        import importlib

        try:
            avatars: Any = importlib.import_module("world.avatars")
        except ImportError:
            avatars = None
        parent = self.world_root
        if avatars is not None and hasattr(avatars, "AIAvatar") and hasattr(avatars, "CitizenAvatar"):
            people = {"font": self.font, "labels": self.labels, "lights": self.figure_lights}
            player = avatars.CitizenAvatar(parent, self.loader, self.cfg.name, **people)
            ai = avatars.AIAvatar(parent, self.loader, self.lang, **people)
            visitors = None
            if hasattr(avatars, "VisitorLayer"):
                visitors = avatars.VisitorLayer(parent, self.loader, layout=self.layout, **people)
            return player, ai, visitors
        player = _Figure(parent, self.cfg.name, (0.15, 0.55, 0.55, 1), self.font)
        ai = _Figure(parent, t("hall.assistant_name", self.lang), (0.18, 0.49, 0.42, 1), self.font)
        return player, ai, None

    # ------------------------------------------------------------------ input

    def _bind_inputs(self) -> None:
        """The one binding table (world.config.BINDINGS) → handlers."""
        handlers: dict[str, Callable[[], None]] = {
            "click": self.on_click,
            "talk": self.talk,
            "escape": self.back,
            "settings": self.open_settings,
            "tracker": self.toggle_tracker,
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
        _call(self.scene, ("set_lang",), lang)
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
        if self.ticket is not None:
            self.show_ticket(dict(self.ticket.ticket))
        if self.tracker is not None:
            self.close_tracker()
            self.toggle_tracker()

    # ------------------------------------------------------------------ screens' hooks

    def on_hall_entered(self) -> None:
        self._join_presence()

    def ai_face_player(self) -> None:
        if self.ai is not None:
            self.ai.face(*self.player_xy)

    def request_service(self, service_id: str) -> None:
        if self.net is None:
            svc = self.catalog.service(service_id)
            self._on_service(200, svc.model_dump(mode="json"))
            return
        self.net.service(service_id, tag=f"service:{service_id}")

    # ------------------------------------------------------------------ chat

    def say(self, text: str) -> None:
        """Send a chat line (typed or a quick-reply payload) to the assistant."""
        text = text.strip()
        if not text:
            return
        if len(text) > CHAT_TEXT_MAX:  # refused clearly, never cut so that the question is lost
            self._chat("system", t("hall.too_long", self.lang, n=CHAT_TEXT_MAX))
            return
        if text.startswith("__walk:"):  # a local quick reply ("take me there"), not a question
            self.lead_to_counter(_int(text.split(":", 1)[1]))
            return
        self._chat("you", text)
        if self.ai is not None:
            _call(self.ai, ("set_talking",), True)
        frame: dict[str, Any] = {"type": "chat.say", "text": text, "lang": self.lang, "ref": uuid.uuid4().hex[:12]}
        if self.conversation_id:
            frame["conversation_id"] = self.conversation_id
        if self.net is not None:
            if self.net.state != "online":
                # kept in the outbox and sent after reconnecting; say so instead of staying silent
                self._chat("system", t("hall.queued_offline", self.lang))
            self.net.send(frame)

    def _tell_chat_submitted(self, service_id: str, tracking: str) -> None:
        """The panel sent the application the chat was asking about: the chat closes its form."""
        last = self.replies[-1] if self.replies else None
        if not (self.conversation_id and last is not None and last.intent == "start_application"):
            return
        if self.net is not None and service_id:
            self.net.send(
                {
                    "type": "chat.say",
                    "text": f"/submitted {service_id} {tracking}",
                    "lang": self.lang,
                    "conversation_id": self.conversation_id,
                    "ref": uuid.uuid4().hex[:12],
                }
            )

    def _chat(self, who: str, text: str) -> None:
        self.chat_history.append((who, text))
        del self.chat_history[:-60]
        chat = self.screens.chat
        if chat is not None:
            chat.add(who, text)

    def ai_say(self, text: str) -> None:
        """The bubble gets the first lines (the chat panel keeps the whole answer)."""
        self.bubble_text = bubble_summary(text)
        if self.ai is not None:
            self.ai.say(self.bubble_text, self.lang)

    def on_reply(self, reply: ChatReply) -> None:
        self.replies.append(reply)
        self.conversation_id = reply.conversation_id
        self._chat(reply.sender, reply.text)
        if reply.sender != "officer":
            self.ai_say(reply.text)
        if self.ai is not None:
            _call(self.ai, ("set_talking",), False)
        self.last_quick = [(q.label, q.payload) for q in reply.quick_replies]
        if self.screens.chat is not None:
            self.screens.chat.set_quick_replies(self.last_quick, self.say)
        for action in reply.actions:
            self.perform(action.kind, dict(action.data))
        for listener in list(self.reply_listeners):
            listener(reply)

    def perform(self, kind: str, data: dict[str, Any]) -> None:
        """Carry out an assistant action in the world."""
        if kind == "walk_to_counter":
            self.lead_to_counter(_int(data.get("counter")))
        elif kind == "open_form":
            sid = str(data.get("service_id") or "")
            if sid:
                attention = tuple(str(a) for a in (data.get("attention") or ()))
                if self.screens.state == "Form":
                    self.screens.request("Hall")
                self.screens.request("Form", sid, attention)
        elif kind == "show_ticket":
            self.show_ticket(data)
        elif kind == "show_application":
            tn = str(data.get("tracking_number") or "")
            if tn:
                self.show_application(tn)
        elif kind == "handoff":
            if data.get("state") == "accepted":
                counter = _int(data.get("counter"))
                officer = str(data.get("officer") or t("hall.officer", self.lang))
                if self.visitors is not None and counter:
                    _call(self.visitors, ("officer_at",), counter, officer)
                self._join_call(_int(data.get("handoff_id")), counter)
                text = (
                    t("hall.handoff_accepted", self.lang, officer=officer, n=counter)
                    if counter
                    else t("hall.handoff", self.lang)
                )
                self._chat("system", text)
            else:
                self._chat("system", t("hall.handoff", self.lang))

    def _join_call(self, handoff_id: int, counter: int) -> None:
        """Ask the officer for a call; the video goes on a screen beside the officer at the counter."""
        if self.call is None or not handoff_id or self.world_root is None:
            return
        try:
            spot = self.layout.counter(counter)
        except (KeyError, AttributeError, ValueError):
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
        return t("hall.call_missing", self.lang, devices=", ".join(t(f"dev_{d}", self.lang) for d in missing))

    def lead_to_counter(self, number: int) -> bool:
        """The AI avatar walks ahead to the counter; the citizen follows."""
        try:
            spot = counter_spot(self.layout, number)
        except (KeyError, AttributeError):
            return False
        ax, ay = approach_of(spot, self.nav)
        self.walk_player_to((ax, ay))
        if self.ai is not None and self.nav is not None:
            # the guide stands beside the citizen, offset along the counter's front
            dx, dy = ax - spot.x, ay - spot.y
            d = math.hypot(dx, dy) or 1.0
            side = (-dy / d * 0.9, dx / d * 0.9)
            path = self.nav.find_path(self.ai_xy, (ax + side[0], ay + side[1]))
            if path:
                self.ai.walk_path(path[1:], 3.0, self._ai_arrived)
        self._chat("assistant", t("hall.walking_to", self.lang, n=number))
        return True

    def _ai_arrived(self) -> None:
        self.ai_face_player()
        self.add_task(self._ai_go_home, "ai-home", delay=8.0)

    def _ai_go_home(self, task: Any = None) -> int:
        self._tasks.discard(TASK_PREFIX + "ai-home")
        if self.ai is not None and self.nav is not None and self.layout is not None:
            path = self.nav.find_path(self.ai_xy, layout_point(self.layout, "ai_avatar_home", "avatar_home")[:2])
            if path:
                self.ai.walk_path(path[1:], 2.6, None)
        return Task.done

    # ------------------------------------------------------------------ overlays

    def show_ticket(self, ticket: dict[str, Any]) -> TicketCard:
        if self.ticket is not None:
            self.ticket.destroy()
        self.ticket = TicketCard(
            self.aspect2d,
            self.font,
            self.lang,
            self.cfg.text_scale,
            ticket,
            on_close=self.close_ticket,
            on_go=self.lead_to_counter,
        )
        return self.ticket

    def close_ticket(self) -> None:
        if self.ticket is not None:
            self.ticket.destroy()
            self.ticket = None

    def toggle_tracker(self) -> None:
        if self.tracker is not None:
            self.close_tracker()
            return
        self.tracker = ApplicationTracker(
            self.aspect2d,
            self.font,
            self.lang,
            self.cfg.text_scale,
            on_close=self.close_tracker,
            on_save=self.save_document,
        )
        self.tracker.set_applications(list(self.applications.values()))
        for ev in self.app_events:
            self.tracker.add_event(ev.tracking_number, ev.service_id, ev.to_state, ev.at, ev.note, ev.seq)
        for tracking, doc in self.documents.items():
            self.tracker.set_document(tracking, doc["number"], doc["state"])
        if self.net is not None:
            self.net.applications()
            self.net.issued_documents()

    def save_document(self, tracking: str) -> None:
        """The hall's "print": the signed PDF saved where the visitor's own printer can take it."""
        doc = self.documents.get(tracking)
        if self.net is None or doc is None:
            return
        name = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in str(doc["number"])) + ".pdf"
        self.net.save_document(tracking, self.download_dir / name)

    def show_application(self, tracking: str) -> None:
        if self.tracker is None:
            self.toggle_tracker()
        assert self.tracker is not None
        self.tracker.set_applications([self.applications.get(tracking, {"tracking_number": tracking})])
        if self.net is not None:
            self.net.application_events(tracking, tag=f"timeline:{tracking}")

    def close_tracker(self) -> None:
        if self.tracker is not None:
            self.tracker.destroy()
            self.tracker = None

    # ------------------------------------------------------------------ forms

    def submit_form(self, data: dict[str, Any]) -> None:
        """Identify first when the form carries a NIK (so the application is the citizen's), then create it."""
        sid = self.screens.form_service
        if sid is None:
            return
        if self.net is None:
            return
        self.pending_submit = {"service_id": sid, "data": data}
        nik = data.get("nik")
        if nik and not self.identified:
            name = str(data.get("full_name") or data.get("name") or self.cfg.name)
            contact = data.get("email") or data.get("phone")  # registers a NIK that has no contact yet
            self.net.identify(str(nik), name, tag="identify", contact=str(contact) if contact else None)
            return
        self._create_pending()

    def _create_pending(self) -> None:
        p = self.pending_submit
        if p is None or self.net is None:
            return
        # one key per form: a retry after a lost answer can never create a second application
        self.form_key = self.net.create_application(
            p["service_id"], p["data"], submit=True, key=self.form_key, tag="submit"
        )

    # ------------------------------------------------------------------ network

    def _frame(self, task: Any) -> int:
        now = self.now()
        dt = min(self.base.clock.getDt() if hasattr(self.base, "clock") else 1 / 60, 0.1)
        if self.net is not None:
            for ev in self.net.poll():
                self.handle(ev)
            if self.screens.state == "Connecting" and now - self.connect_started > CONNECT_GRACE_S:
                self.screens.request("Hall")
        self._move_player(dt, now)
        for obj in (self.ai, self.player):
            if obj is not None:
                self._update(obj, dt, now)
        if self.visitors is not None:
            self._update(self.visitors, dt, now)
        self._place_camera(dt)
        if self.labels is not None:
            self.labels.update()
        if self.call_screen is not None and self.call is not None:
            self.call_screen.update(self.call, self._call_caption())
        return Task.cont

    @staticmethod
    def _update(obj: Any, dt: float, now: float) -> None:
        fn = getattr(obj, "update", None)
        if fn is None:
            return
        try:
            fn(dt)
        except TypeError:
            fn(now)

    def handle(self, ev: NetEvent) -> None:
        if ev.kind == "status":
            self.banner.set_state(str(ev.data))
            if ev.data == "online":
                self._on_online()
        elif ev.kind == "http":
            self._on_http(ev.data)
        elif ev.kind == "frame":
            self.on_frame(ev.data)

    def on_frame(self, frame: Any) -> None:
        for listener in list(self.frame_listeners):
            listener(frame)
        if isinstance(frame, Welcome):
            self.session_id = frame.session_id
            self.identified = frame.citizen is not None
            if self.visitors is not None:
                _call(self.visitors, ("set_self",), frame.session_id)
        elif isinstance(frame, PresenceSnapshot):
            if self.visitors is not None:
                _call(self.visitors, ("apply",), frame.model_dump(mode="json"))
        elif isinstance(frame, PresenceCorrect):
            self.on_correct(frame)
        elif isinstance(frame, BoardUpdate):
            self.set_board(frame.counter, frame.now_serving, frame.waiting)
        elif isinstance(frame, ChatReply):
            self.on_reply(frame)
        elif isinstance(frame, ApplicationEvent):
            self.on_application_event(frame)
        elif isinstance(frame, QueueEvent):
            self.on_queue_event(frame)
        elif isinstance(frame, DocumentEvent):
            self.on_document_event(frame)
        elif isinstance(frame, ErrorFrame):
            if self.ai is not None:
                _call(self.ai, ("set_talking",), False)

    def on_correct(self, frame: PresenceCorrect) -> None:
        """The server clamped our move (a wall, or too fast): stand where it says we are."""
        if self.player is None:
            return
        self.player.root.setPos(frame.x, frame.y, 0)
        self._last_sent = (round(frame.x, 3), round(frame.y, 3), round(frame.heading % 360, 1))

    def set_board(self, counter: int, now_serving: str | None, waiting: int) -> None:
        self.board[counter] = (now_serving, waiting)
        if self.scene is not None:
            _call(self.scene, ("set_board", "update_board"), counter, now_serving, waiting)

    def on_document_event(self, ev: DocumentEvent) -> None:
        """Issued: the tracker offers the PDF. Handed over: the counter officer gives it (said in the chat)."""
        self.documents[ev.tracking_number] = {"number": ev.number, "state": ev.state, "title": ev.title}
        if self.tracker is not None:
            self.tracker.set_document(ev.tracking_number, ev.number, ev.state)
        if ev.state == "issued":
            self._chat("system", f"{ev.title} {ev.number}: {t('hall.doc_ready', self.lang)}")
        elif ev.state == "handed_over":
            self._chat("officer", t("hall.doc_handed_over", self.lang, number=ev.number))
            if self.ai is not None:
                _call(self.ai, ("set_talking",), True)
        elif ev.state == "revoked":
            self._chat("system", t("hall.doc_revoked", self.lang, number=ev.number))
        for listener in list(self.document_listeners):
            listener(ev)

    def on_application_event(self, ev: ApplicationEvent) -> None:
        self.app_events.append(ev)
        rec = self.applications.setdefault(ev.tracking_number, {"tracking_number": ev.tracking_number})
        rec.update(service_id=ev.service_id, state=ev.to_state)
        if self.tracker is not None:
            self.tracker.add_event(ev.tracking_number, ev.service_id, ev.to_state, ev.at, ev.note, ev.seq)
        if ev.actor != "citizen":
            self._chat(
                "system",
                f"{ev.tracking_number}: {state_label(ev.to_state, self.lang)}" + (f" — {ev.note}" if ev.note else ""),
            )

    def on_queue_event(self, ev: QueueEvent) -> None:
        self.queue_events.append(ev)
        if self.ticket is not None and self.ticket.ticket.get("code") == ev.ticket_code:
            self.ticket.update(state=ev.state, estimated_wait_min=ev.estimated_wait_min)
        if ev.state == "called":
            if self.ticket is None:
                self.show_ticket({"code": ev.ticket_code, "counter": ev.counter, "state": "called"})
            text = t("hall.called_invite", self.lang, code=ev.ticket_code, n=ev.counter)
            self.ai_say(text)
            self._chat("assistant", text)
            self.last_quick = [(t("hall.go_there", self.lang), f"__walk:{ev.counter}")]

    def _on_online(self) -> None:
        if self.screens.state == "Connecting":
            self.screens.request("Hall")
        elif self.screens.state not in (None, "Off", "Boot"):
            self._join_presence(force=True)
        if self.net is None:
            return
        self.net.board()
        for name in DATASETS:
            self.net.dashboard(name)
        self.net.applications()

    def _join_presence(self, force: bool = False) -> None:
        if self.net is None or self.player is None or self.net.state != "online":
            return
        if self.joined and not force:
            return
        x, y = self.player_xy
        self.net.send({"type": "presence.join", "x": x, "y": y, "heading": self.player.root.getH()})
        self.joined = True

    def _on_http(self, res: dict[str, Any]) -> None:
        tag, status, body = str(res.get("tag", "")), int(res.get("status") or 0), res.get("body")
        if tag == "board" and status == 200 and isinstance(body, list):
            for row in body:
                self.set_board(_int(row.get("counter")), row.get("now_serving"), _int(row.get("waiting")))
        elif tag.startswith("dashboard:") and status == 200 and isinstance(body, dict):
            name = tag.split(":", 1)[1]
            self.datasets[name] = body
            if self.scene is not None:
                if _call(self.scene, ("set_dataset",), DATASETS.get(name, name), body) is None:
                    _call(self.scene, ("update_screen",), name, body)
        elif tag.startswith("service:"):
            if self.screens.state == "Form" and tag == f"service:{self.screens.form_service}":
                self._on_service(status, body)
        elif tag == "identify":
            self._on_identify(status, body)
        elif tag == "verify":
            self._on_verified(status, body)
        elif tag == "submit":
            self._on_submitted(status, body)
        elif tag == "applications" and status == 200 and isinstance(body, list):
            for a in body:
                tn = str(a.get("tracking_number"))
                self.applications.setdefault(tn, {}).update(a)
            if self.tracker is not None:
                self.tracker.set_applications(body)
        elif tag == "documents" and status == 200 and isinstance(body, list):
            for d in body:
                if isinstance(d, dict) and d.get("tracking_number"):
                    state = "revoked" if d.get("revoked") else ("handed_over" if d.get("handed_over_at") else "issued")
                    self.documents[str(d["tracking_number"])] = {"number": d.get("number"), "state": state}
                    if self.tracker is not None:
                        self.tracker.set_document(str(d["tracking_number"]), str(d.get("number")), state)
        elif tag == "document.saved":
            if status == 200 and isinstance(body, dict):
                self._chat("system", t("hall.doc_saved", self.lang, path=body.get("path")))
            else:
                self._chat("system", t("hall.doc_save_failed", self.lang))
        elif tag.startswith("timeline:") and status == 200 and isinstance(body, list):
            if self.tracker is not None:
                self.tracker.set_timeline(tag.split(":", 1)[1], body)
        elif tag == "ticket" and status in (200, 201) and isinstance(body, dict):
            self.show_ticket(body)

    def _on_service(self, status: int, body: Any) -> None:
        form = self.screens.form
        if form is None:
            return
        if status == 200 and isinstance(body, dict):
            form.load(body, attention=self.form_attention)
        else:
            form.set_status(t("hall.form_load_failed", self.lang), ok=False)

    def _on_identify(self, status: int, body: Any) -> None:
        form = self.screens.form
        if status == 202 and isinstance(body, dict):
            self.challenge = str(body.get("challenge_id"))
            if form is not None:
                form.ask_code(self.verify_code)
            return
        self._identify_failed(status, body)

    def verify_code(self, code: str) -> None:
        if self.net is not None and self.challenge:
            self.net.verify_code(self.challenge, code, tag="verify")

    def _on_verified(self, status: int, body: Any) -> None:
        if status == 200:
            self.identified = True
            self.challenge = None
            self._create_pending()
            return
        self._identify_failed(status, body)

    def _identify_failed(self, status: int, body: Any) -> None:
        form = self.screens.form
        if form is not None:
            detail = body.get("detail") if isinstance(body, dict) else None
            if status in (400, 429) and isinstance(detail, dict):
                form.set_status(str(detail.get("message_en" if self.lang == "en" else "message_id")), ok=False)
            elif status == 422 and isinstance(detail, dict):
                msg = {
                    "id": detail.get("message_id") or detail.get("message"),
                    "en": detail.get("message_en") or detail.get("message"),
                }
                form.show_errors({str(detail.get("field") or "nik"): msg})
            else:
                form.set_status(t("hall.form_error", self.lang), ok=False)

    def _on_submitted(self, status: int, body: Any) -> None:
        form = self.screens.form
        if status in (200, 201) and isinstance(body, dict):
            tn = str(body.get("tracking_number"))
            self.applications.setdefault(tn, {}).update(body)
            self.pending_submit = None
            if form is not None:
                form.show_done(tn)
            self._chat("system", f"{t('hall.form_sent', self.lang)}: {tn}")
            self._tell_chat_submitted(str(body.get("service_id") or self.screens.form_service or ""), tn)
            self.show_application(tn)
            return
        if form is None:
            return
        detail = body.get("detail") if isinstance(body, dict) else None
        fields = detail.get("fields") if isinstance(detail, dict) else None
        if status == 422 and isinstance(fields, dict):
            form.show_errors(fields)
        elif isinstance(detail, dict) and status in range(400, 500):
            form.set_status(
                localized(
                    {
                        "id": detail.get("message_id") or detail.get("message"),
                        "en": detail.get("message_en") or detail.get("message"),
                    },
                    self.lang,
                ),
                ok=False,
            )
        else:
            form.set_status(t("hall.form_error", self.lang), ok=False)

    # ------------------------------------------------------------------ per frame

    def _move_player(self, dt: float, now: float) -> None:
        p = self.player
        if p is None:
            return
        moved = False
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
            moved = True
        elif self.player_path:
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
            moved = True
        if moved and self.net is not None and self.joined and now - self._last_move >= 1.0 / MOVE_HZ:
            cur = (round(p.root.getX(), 3), round(p.root.getY(), 3), round(p.root.getH() % 360, 1))
            if cur != self._last_sent:
                self.net.send({"type": "presence.move", "x": cur[0], "y": cur[1], "heading": cur[2], "ts": now})
                self._last_sent = cur
                self._last_move = now

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


def bubble_summary(text: str, limit: int = 200) -> str:
    """Cut at a line or word boundary so a speech bubble stays readable above the avatar's head."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[:limit]
    for sep in ("\n", ". ", " "):
        i = cut.rfind(sep)
        if i > limit // 2:
            return cut[:i].rstrip() + " …"
    return cut + "…"


def layout_point(layout: Any, *names: str) -> tuple[float, ...]:
    """The first of ``names`` the layout has, as a tuple (x, y[, heading]); objects with .x/.y work too."""
    for name in names:
        v = getattr(layout, name, None)
        if v is None:
            continue
        if hasattr(v, "x") and hasattr(v, "y"):
            return (float(v.x), float(v.y))
        if isinstance(v, dict) and "x" in v:
            return (float(v["x"]), float(v["y"]))
        return tuple(float(a) for a in v)
    raise AttributeError(names[0])


def counter_spots(layout: Any) -> list[Any]:
    spots = layout.counters
    return sorted(spots.values() if isinstance(spots, dict) else spots, key=lambda c: c.number)


def counter_spot(layout: Any, number: int) -> Any:
    for c in counter_spots(layout):
        if c.number == number:
            return c
    raise KeyError(number)


def approach_of(spot: Any, nav: Any = None) -> tuple[float, float]:
    """Where a visitor stands to be served at ``spot``."""
    ap = getattr(spot, "approach", None)
    if ap is not None:
        return (float(ap[0]), float(ap[1]))
    if nav is not None and hasattr(nav, "approach_point"):
        x, y = nav.approach_point(spot)
        return (float(x), float(y))
    rad = math.radians(float(getattr(spot, "facing_deg", 0.0)))
    return (spot.x - math.sin(rad) * 1.6, spot.y + math.cos(rad) * 1.6)


def _hall_call(net: NetClient) -> Any:
    """The hall's call client when aiortc is installed; without it the remote counter stays text chat."""
    try:
        import aiortc  # noqa: F401
    except ImportError:
        return None
    from world.call import HallCall

    call = HallCall(send=net.send, fetch_ice=getattr(net, "ice_servers", None))
    net.call = call
    return call


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


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

    def shot(name: str) -> None:
        client.pump(timeout=0.6)
        out.append(client.screenshot(shots / name))

    client.pump(lambda: client.screens.state == "Hall", timeout=15)
    b = lay.bounds
    client.player.root.setPos(0.8, b.ymin + 6.5, 0)  # just inside, seen from behind as they walk in
    client.player.root.setH(0)
    client.camera_override = ((1.5, b.ymin + 1.2, 3.0), (0.0, 6.0, 2.2))
    shot("01-entrance.png")
    first = counter_spots(lay)[0]
    client.camera_override = ((first.x + 9.0, first.y - 13.0, 3.6), (first.x + 4.0, first.y, 2.4))
    shot("02-counters.png")
    client.camera_override = None
    hx, hy = layout_point(lay, "ai_avatar_home", "avatar_home")[:2]
    ix, iy = hx, hy - 2.2
    client.player.root.setPos(ix, iy, 0)
    client.player_path = []
    client.player.root.setH(180)
    client.screens.request("Conversation")
    before = len(client.replies)
    asked = time.perf_counter()
    client.say(question)
    if client.pump(lambda: len(client.replies) > before, timeout=reply_timeout, max_fps=4):
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
            client.pump(lambda: any(a.get("tracking_number") for a in client.applications.values()), timeout=20)
        shot("04-form.png")
        client.screens.request("Hall")
        if client.net is not None:
            client.net.take_ticket(first.number)
            client.pump(lambda: client.ticket is not None, timeout=15)
        shot("05-ticket.png")
        client.close_ticket()
        client.close_tracker()
    if client.screens.state != "Hall":
        client.screens.request("Hall")
    client.pump(lambda: len(client.datasets) == len(DATASETS), timeout=10)
    screens = list(getattr(lay, "screens", []))
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
