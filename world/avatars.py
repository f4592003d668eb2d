"""People of the hall: the visitor, the AI assistant and other visitors, as animated characters.

Each person is a :class:`world.characters.Figure` (a rigged glTF Actor). Name tags and the
assistant's speech bubble live on the screen (:mod:`world.labels`) when the hall is given an
overlay and a camera, so they never cover a face or a sign; without one (a bare scene in a
test) they fall back to billboards in the scene.
"""

from __future__ import annotations

import heapq
import math
import os
import time
from collections.abc import Callable
from typing import Any

from protocol.messages import PresenceSnapshot
from world.geom import MeshBuilder
from world.interp import display_name, heading_towards
from world.layout import FACING_NORMAL

OFFICER_COLOR = (0.2, 0.3, 0.5, 1.0)
BAKE_AHEAD_S = 0.002  # per frame: the crowd's remaining poses are baked ahead of need in small slices


def _font(loader: Any) -> Any:
    from protocol.catalog import assets_dir
    from world.scene import load_font

    return load_font(loader, assets_dir() / "fonts" / "DejaVuSans.ttf", 40)


def follow_path(
    pos: tuple[float, float], waypoints: list[tuple[float, float]], dist: float
) -> tuple[tuple[float, float], float | None]:
    """Advance ``dist`` metres along ``waypoints`` (consumed in place); returns (new pos, heading or None)."""
    x, y = pos
    heading = None
    while dist > 1e-9 and waypoints:
        tx, ty = waypoints[0]
        dx, dy = tx - x, ty - y
        d = math.hypot(dx, dy)
        if d < 1e-6:
            waypoints.pop(0)
            continue
        heading = heading_towards(dx, dy)
        if d <= dist:
            x, y = tx, ty
            dist -= d
            waypoints.pop(0)
        else:
            x += dx / d * dist
            y += dy / d * dist
            dist = 0.0
    return (x, y), heading


class NameTag:
    def __init__(
        self,
        parent: Any,
        font: Any,
        text: str,
        *,
        z: float = 2.2,
        scale: float = 0.22,
        color: tuple[float, float, float, float] = (1, 1, 1, 1),
        card: tuple[float, float, float, float] = (0.1, 0.12, 0.16, 0.65),
    ) -> None:
        from panda3d.core import TextNode

        self.tn = TextNode("tag")
        self.tn.set_font(font)
        self.tn.set_text(text)
        self.tn.set_align(TextNode.A_center)
        self.tn.set_text_color(*color)
        self.tn.set_card_color(*card)
        self.tn.set_card_as_margin(0.25, 0.25, 0.1, 0.1)
        self.tn.set_card_decal(True)  # text drawn as a decal on its card: never hidden behind it
        self.np = parent.attach_new_node(self.tn)
        self.np.set_z(z)
        self.np.set_scale(scale)
        self.np.set_billboard_point_eye()
        # drawn last and without depth test: a tag is a label, never half-hidden by its own card or a pillar
        self.np.set_bin("fixed", 20)
        self.np.set_depth_test(False)
        self.np.set_depth_write(False)

    def destroy(self) -> None:
        self.np.remove_node()


class CitizenAvatar:
    """The visitor's own figure; whoever moves ``root`` (keys, clicks, the tour) makes it walk."""

    def __init__(
        self,
        parent: Any,
        loader: Any,
        name: str,
        *,
        font: Any = None,
        labels: Any = None,
        kind: str = "visitor_hijab",
        lights: Any = None,
    ) -> None:
        from world.characters import CharacterLibrary, Figure

        font = font or _font(loader)
        self.figure = Figure(parent, CharacterLibrary(loader), kind, name="citizen", lights=lights)
        self.root = self.figure.root
        ring = MeshBuilder("ring")
        ring.cylinder(0, 0, 0.005, 0.55, 0.01, (1.0, 0.85, 0.3, 1), seg=16)
        ring_np = self.root.attach_new_node(ring.node())
        ring_np.set_light_off(1)
        self.labels = labels
        if labels is not None:
            self.tag: Any = labels.add_tag(
                "self", display_name(name), self.figure.person(), color=(1, 0.95, 0.7, 1), card=(0.1, 0.12, 0.16, 0.7)
            )
        else:
            self.tag = NameTag(self.root, font, display_name(name), color=(1, 0.95, 0.7, 1))
        self.path: list[tuple[float, float]] = []

    @property
    def xy(self) -> tuple[float, float]:
        return (self.root.get_x(), self.root.get_y())

    def update(self, dt: float) -> None:
        """Walks when its root moved since the last frame, stands otherwise."""
        self.figure.track(self.root.get_x(), self.root.get_y(), dt)
        self.figure.move(self.figure.speed)
        self.figure.update(dt)

    def destroy(self) -> None:
        if self.labels is not None:
            self.labels.remove("self")
        self.figure.destroy()


class AIAvatar:
    """The AI assistant at the information desk: idles, talks (mouth and hands), waves to a
    visitor who comes to talk, and when it leads one to a counter it walks ahead, beckons them on
    at the counter and points at it."""

    def __init__(
        self, parent: Any, loader: Any, lang: str = "id", *, font: Any = None, labels: Any = None, lights: Any = None
    ) -> None:
        from panda3d.core import TextNode

        from l10n import t
        from world.characters import ASSISTANT_KIND, CharacterLibrary, Figure

        self.font = font or _font(loader)
        self.clock = 0.0
        self.talk_until = 0.0
        self.bubble_until = 0.0
        self.gesture_until = 0.0
        self.gesture: str | None = None
        self.gestures: list[tuple[str, float]] = []  # the ones that follow the current gesture
        self.thinking = False
        self.path: list[tuple[float, float]] = []
        self.speed = 2.6
        self.on_arrive: Callable[[], None] | None = None
        self.face_target: tuple[float, float] | None = None
        self.leading = False
        self.bubble_text = ""
        self.figure = Figure(
            parent, CharacterLibrary(loader), ASSISTANT_KIND, name="ai-avatar", speaker=True, lights=lights
        )
        self.root = self.figure.root
        self.root.set_h(180)
        self.labels = labels
        tag_color, tag_card = (0.85, 1.0, 0.95, 1), (0.06, 0.35, 0.32, 0.85)
        if labels is not None:
            person = self.figure.person()
            self.tag: Any = labels.add_tag(
                "assistant", t("hall.assistant_name", lang), person, color=tag_color, card=tag_card
            )
            self.bubble: Any = labels.bubble("assistant", person)
            self.bubble_np = self.bubble.np
        else:
            self.tag = NameTag(
                self.root, self.font, t("hall.assistant_name", lang), z=2.2, scale=0.2, color=tag_color, card=tag_card
            )
            tn = TextNode("bubble")
            tn.set_font(self.font)
            tn.set_wordwrap(18)
            tn.set_align(TextNode.A_left)
            tn.set_text_color(0.1, 0.1, 0.12, 1)
            tn.set_card_color(1, 1, 1, 0.95)
            tn.set_card_as_margin(0.5, 0.5, 0.35, 0.3)
            tn.set_card_decal(True)
            self.bubble = tn
            # beside the head (to its right as the camera sees it), never above the face
            self.bubble_np = self.root.attach_new_node(tn)
            self.bubble_np.set_billboard_point_eye()
            self.bubble_np.set_scale(0.11)
            self.bubble_np.set_bin("fixed", 10)
            self.bubble_np.set_depth_test(False)
            self.bubble_np.set_depth_write(False)
            self.bubble_np.hide()

    @property
    def xy(self) -> tuple[float, float]:
        return (self.root.get_x(), self.root.get_y())

    @property
    def talking(self) -> bool:
        return self.thinking or self.clock < self.talk_until

    @property
    def bubble_visible(self) -> bool:
        if self.labels is not None:
            return bool(self.bubble.visible)
        return not self.bubble_np.is_hidden()

    def say(self, text: str, lang: str = "id") -> None:
        """Show the reply in a bubble beside the head, move the mouth and hands for a while."""
        short = text if len(text) <= 480 else text[:477] + "…"
        self.bubble_text = short
        self.bubble.set_text(short)
        if self.labels is not None:
            self.bubble.visible = True
        else:
            b = self.bubble.get_card_actual()
            self.bubble_np.set_pos(0.45, 0, 1.75 - (b[3] + b[2]) / 2 * 0.11)
            self.bubble_np.show()
        self.talk_until = self.clock + min(8.0, 1.5 + len(short) / 25)
        self.bubble_until = self.clock + max(12.0, len(short) / 10)

    def set_talking(self, on: bool) -> None:
        """Waiting for an answer: keep gesturing (the reply itself starts the talk animation)."""
        self.thinking = on

    def gesture_for(self, name: str, seconds: float, *then: tuple[str, float]) -> None:
        """``wave``, ``point``, ``beckon`` or ``talk`` for a while, then the ``then`` ones in turn
        (walking still wins)."""
        self.gesture = name
        self.gesture_until = self.clock + seconds
        self.gestures = list(then)

    def face(self, x: float, y: float) -> None:
        self.face_target = (x, y)

    def greet(self, x: float, y: float) -> None:
        """A visitor at (x, y) comes to talk: turn to them and wave."""
        self.face(x, y)
        self.gesture_for("wave", 2.0)

    def walk_path(
        self,
        points: list[tuple[float, float]],
        speed: float = 2.6,
        on_arrive: Callable[[], None] | None = None,
        *,
        lead: bool = False,
    ) -> None:
        """Walk ``points``; ``lead``: a visitor follows, so on arrival beckon them on, then point
        at the counter (otherwise just point the way)."""
        self.path = [(float(p[0]), float(p[1])) for p in points]
        self.speed = speed
        self.on_arrive = on_arrive
        self.face_target = None
        self.leading = lead

    def update(self, dt: float) -> None:
        """Per frame: the path, turning to the visitor, and which clip and mouth movement show."""
        self.clock += dt
        now = self.clock
        walking = bool(self.path)
        moved = 0.0
        if walking:
            pos, heading = follow_path(self.xy, self.path, self.speed * dt)
            moved = math.hypot(pos[0] - self.xy[0], pos[1] - self.xy[1])
            self.root.set_pos(pos[0], pos[1], 0)
            if heading is not None:
                self.root.set_h(heading)
            if not self.path:
                if self.leading:  # "this way, please", then "this is your counter"
                    self.gesture_for("beckon", 1.6, ("point", 2.5))
                else:  # arrived: point the way for a moment
                    self.gesture_for("point", 2.5)
                if self.on_arrive is not None:
                    cb, self.on_arrive = self.on_arrive, None
                    cb()
        elif self.face_target is not None:
            dx, dy = self.face_target[0] - self.xy[0], self.face_target[1] - self.xy[1]
            if math.hypot(dx, dy) > 0.05:
                target = heading_towards(dx, dy)
                cur = self.root.get_h()
                diff = (target - cur + 180) % 360 - 180
                self.root.set_h(cur + diff * min(1.0, dt * 5))
        fig = self.figure
        fig.move(moved / dt if dt > 0 else 0.0)
        talking = self.talking
        while self.gesture is not None and now >= self.gesture_until and self.gestures:
            name, seconds = self.gestures.pop(0)
            self.gesture, self.gesture_until = name, self.gesture_until + seconds
        if self.gesture is not None and now < self.gesture_until:
            fig.set_gesture(self.gesture)
        else:
            self.gesture = None
            fig.set_gesture("talk" if talking else None)
        fig.set_speaking(self.clock < self.talk_until)
        fig.update(dt)
        if now > self.bubble_until:
            if self.labels is not None:
                self.bubble.visible = False
            self.bubble_np.hide()

    def destroy(self) -> None:
        if self.root is not None:
            if self.labels is not None:
                self.labels.remove("assistant")
            self.figure.destroy()
            self.root = None


class Crowd:
    """Other visitors as animated figures, each walking at the pace it moves.

    A figure instances the shared, pre-skinned pose of its kind for its own clip and frame
    (:class:`world.characters.CrowdFigure`), so a crowd costs draw calls, not skinning; with
    ``MPP_HALL_CROWD=actors`` (the old path, kept for the bench's same-run comparison) each is a
    copy of a loaded Actor whose far figures update their animation less often. Name tags go to
    the label layer, or, for a bare scene, the nearest ``max_tags`` carry a billboard tag.
    """

    def __init__(
        self, parent: Any, font: Any, *, max_tags: int = 12, labels: Any = None, loader: Any = None, lights: Any = None
    ) -> None:
        from world.characters import CharacterLibrary

        self.root = parent.attach_new_node("crowd")
        self.tag_root = parent.attach_new_node("crowd-tags")
        self.font = font
        self.max_tags = max_tags
        self.library = CharacterLibrary(loader)
        self.labels = labels
        self.lights = lights
        self.figures: dict[str, Any] = {}
        self.nodes: dict[str, Any] = {}
        self.tags: dict[str, tuple[Any, NameTag]] = {}
        self._frame = 0
        self._want: set[str] | None = None
        # shared baked poses (world.characters.PoseBook); MPP_HALL_CROWD=actors: one Actor per visitor
        self.shared_poses = os.environ.get("MPP_HALL_CROWD", "poses").strip().lower() != "actors"
        self.shadow_batch: Any = None

    def _figure(self, key: str, name: str) -> Any:
        fig = self.figures.get(key)
        if fig is None:
            from world.characters import CrowdFigure, Figure, kind_for

            if self.shared_poses:
                fig = CrowdFigure(
                    self.root, self.library, kind_for(key), name=f"v-{key}", lights=self.lights, shadow=False
                )
            else:
                fig = Figure(self.root, self.library, kind_for(key), name=f"v-{key}", lights=self.lights)
                # beyond 8 m the walk cycle is sampled less often (up to every 0.2 s at 30 m)
                fig.actor.set_lod_animation(30.0, 8.0, 0.2)
            self.figures[key] = fig
            self.nodes[key] = fig.root
            if self.labels is not None:
                self.labels.add_tag(f"v-{key}", display_name(name), fig.person(static=True))
        return fig

    def _shadows(self, xy: list[tuple[float, float]]) -> None:
        """The crowd's contact shadows, one draw for all (figures made with ``shadow=False``)."""
        if self.shadow_batch is None:
            if not xy:
                return
            from world.ao import ShadowBatch

            self.shadow_batch = ShadowBatch(self.root)
        if self.shadow_batch.update(xy):
            from world.characters import FigureLights

            if FigureLights.pbr and FigureLights.linear is not None:  # new slots made while PBR is on
                from world.linear import TAG

                self.shadow_batch.np.clear_tag(TAG)
                FigureLights.linear.apply(self.shadow_batch.np)

    def remove(self, key: str) -> None:
        fig = self.figures.pop(key, None)
        self.nodes.pop(key, None)
        if fig is not None:
            fig.destroy()
            if self.labels is not None:
                self.labels.remove(f"v-{key}")
        tag = self.tags.pop(key, None)
        if tag is not None:
            tag[0].remove_node()

    def update(
        self,
        positions: dict[str, tuple[float, float, float]],
        names: dict[str, str],
        eye: tuple[float, float],
        dt: float = 1 / 30,
    ) -> None:
        for key in list(self.figures):
            if key not in positions:
                self.remove(key)
        for key, (x, y, h) in positions.items():
            fig = self._figure(key, names.get(key, "?"))
            fig.root.set_pos_hpr(x, y, 0, h, 0, 0)
            fig.track(x, y, dt)
            fig.move(fig.speed)
            fig.update(dt)
        self._shadows([(x, y) for key, (x, y, _h) in positions.items() if key in self.figures and self.shared_poses])
        if self.shared_poses and self.figures:
            from world.characters import PoseBook

            PoseBook.bake_ahead(BAKE_AHEAD_S)
        if self.labels is not None:
            return
        self._frame += 1
        if len(positions) <= self.max_tags:
            want = set(positions)
        elif self._want is None or self._frame % 10 == 0 or not self._want <= positions.keys():
            # re-rank who is nearest every tenth frame: people do not overtake each other faster than that
            ex, ey = eye
            near = heapq.nsmallest(
                self.max_tags, positions, key=lambda k: (positions[k][0] - ex) ** 2 + (positions[k][1] - ey) ** 2
            )
            want = set(near)
        else:
            want = self._want
        self._want = want
        for key, (anchor, _tag) in self.tags.items():
            if key not in want and key in positions:
                anchor.hide()  # kept: generating its text again when it comes near was a 15-20 ms hitch
        for key in want:
            found = self.tags.get(key)
            if found is not None:
                anchor = found[0]
                anchor.show()
            else:
                anchor = self.tag_root.attach_new_node(f"tag-{key}")
                self.tags[key] = (
                    anchor,
                    NameTag(anchor, self.font, display_name(names.get(key, "?")), z=2.15, scale=0.2),
                )
            x, y, _ = positions[key]
            anchor.set_pos(x, y, 0)

    def destroy(self) -> None:
        for key in list(self.figures):
            self.remove(key)
        if self.shadow_batch is not None:
            self.shadow_batch.destroy()
            self.shadow_batch = None
        self.root.remove_node()
        self.tag_root.remove_node()


__all__ = ["AIAvatar", "CitizenAvatar", "Crowd", "NameTag", "VisitorLayer", "follow_path"]


class VisitorLayer:
    """Presence snapshots in, smoothly interpolated, walking figures out (~100 ms behind the server)."""

    def __init__(
        self,
        parent: Any,
        loader: Any,
        *,
        layout: Any = None,
        delay: float = 0.1,
        max_tags: int = 12,
        font: Any = None,
        labels: Any = None,
        lights: Any = None,
    ) -> None:
        from world.interp import Interpolator

        self.font = font or _font(loader)
        self.parent = parent
        self.layout = layout
        self.labels = labels
        self.interp = Interpolator(delay=delay)
        self.crowd = Crowd(parent, self.font, max_tags=max_tags, labels=labels, loader=loader, lights=lights)
        self.officers: dict[int, Any] = {}
        self.clock = time.monotonic

    @property
    def count(self) -> int:
        return len(self.crowd.figures)

    def set_self(self, session_id: str | None) -> None:
        """The visitor's own id: never drawn as a second figure."""
        self.interp.self_id = session_id
        if session_id is not None:
            self.crowd.remove(session_id)
            self.interp.view.pop(session_id, None)
            self.interp.tracks.pop(session_id, None)

    def apply(self, snapshot: dict[str, Any] | PresenceSnapshot) -> None:
        snap = snapshot if isinstance(snapshot, PresenceSnapshot) else PresenceSnapshot.model_validate(snapshot)
        self.interp.apply(snap, self.clock())

    def officer_at(self, counter: int, name: str) -> None:
        """Name tag over the officer behind ``counter`` (after a handoff is accepted)."""
        if self.layout is None:
            from world.layout import load_layout

            self.layout = load_layout()
        try:
            spot = self.layout.counter(int(counter))
        except (KeyError, ValueError):
            return
        self._drop_officer(spot.number)
        nx, ny = FACING_NORMAL[spot.facing]
        anchor = self.parent.attach_new_node(f"officer-{spot.number}")
        back = spot.depth / 2 + 0.45
        anchor.set_pos(spot.x - nx * back, spot.y - ny * back, 0)
        if self.labels is not None:
            from world.labels import Person

            # the officer figure's head: standing adult behind the desk
            head = anchor.attach_new_node("officer-head")
            head.set_z(1.55)
            self.labels.add_tag(
                f"officer-{spot.number}",
                display_name(name),
                Person(head, 0.29, -0.03, 0.13),
                color=(1, 1, 0.8, 1),
                card=(0.2, 0.3, 0.5, 0.85),
            )
            self.officers[spot.number] = anchor
        else:
            tag = NameTag(
                anchor, self.font, display_name(name), z=2.2, scale=0.2, color=(1, 1, 0.8, 1), card=OFFICER_COLOR
            )
            self.officers[spot.number] = tag.np.get_parent()

    def _drop_officer(self, number: int) -> None:
        old = self.officers.pop(number, None)
        if old is not None:
            if self.labels is not None:
                self.labels.remove(f"officer-{number}")
            old.remove_node()

    def update(self, dt: float) -> None:
        now = self.clock()
        names = {k: tr.name for k, tr in self.interp.tracks.items()}
        top = self.parent.get_top()
        cam = top.find("camera")
        eye = (cam.get_x(top), cam.get_y(top)) if not cam.is_empty() else (0.0, 0.0)
        self.crowd.update(self.interp.positions(now), names, eye, dt)

    def destroy(self) -> None:
        for number in list(self.officers):
            self._drop_officer(number)
        self.crowd.destroy()
