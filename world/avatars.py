"""Figures of the hall: the visitor, the AI assistant and other visitors.

Figures are procedural (boxes and spheres in vertex colours). Other visitors
share a handful of template figures through ``instance_to`` so a crowd costs
one small batch per visitor, and only the nearest few carry a name tag.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from protocol.messages import PresenceSnapshot
from world.geom import MeshBuilder
from world.interp import display_name, heading_towards
from world.layout import FACING_NORMAL

SKIN = [(0.87, 0.68, 0.52, 1), (0.72, 0.52, 0.38, 1), (0.60, 0.43, 0.30, 1)]
SHIRTS = [
    (0.85, 0.33, 0.30, 1),
    (0.26, 0.52, 0.80, 1),
    (0.95, 0.75, 0.25, 1),
    (0.42, 0.68, 0.40, 1),
    (0.58, 0.42, 0.75, 1),
    (0.95, 0.55, 0.70, 1),
]
PANTS = (0.20, 0.22, 0.30, 1)
HAIR = (0.12, 0.10, 0.09, 1)


def crowd_mesh(name: str, shirt: Sequence[float], skin: Sequence[float]) -> MeshBuilder:
    """A visitor figure for crowds: six boxes, no hidden bottoms (~60 triangles), facing +y."""
    m = MeshBuilder(name)
    sides = "t+x-x+y-y"
    m.box(-0.21, -0.11, 0, -0.03, 0.11, 0.85, PANTS, faces=sides)
    m.box(0.03, -0.11, 0, 0.21, 0.11, 0.85, PANTS, faces=sides)
    m.box(-0.40, -0.14, 0.85, 0.40, 0.14, 1.47, shirt, faces=sides)
    m.box(-0.16, -0.15, 1.50, 0.16, 0.15, 1.84, skin, faces=sides)
    m.box(-0.18, -0.17, 1.72, 0.18, 0.17, 1.90, HAIR, faces=sides)
    m.box(-0.06, 0.15, 1.62, 0.06, 0.16, 1.66, (0.25, 0.15, 0.12, 1), faces="+y")  # a mouth: the face looks +y
    return m


def _font(loader: Any) -> Any:
    from protocol.catalog import assets_dir
    from world.scene import load_font

    return load_font(loader, assets_dir() / "fonts" / "DejaVuSans.ttf", 40)


def person_mesh(name: str, shirt: Sequence[float], skin: Sequence[float], *, arms: bool = True) -> MeshBuilder:
    m = MeshBuilder(name)
    m.cbox(-0.12, 0, 0, 0.18, 0.22, 0.85, PANTS)
    m.cbox(0.12, 0, 0, 0.18, 0.22, 0.85, PANTS)
    m.cbox(0, 0, 0.85, 0.52, 0.28, 0.62, shirt)
    if arms:
        m.cbox(-0.33, 0, 0.9, 0.13, 0.16, 0.56, shirt)
        m.cbox(0.33, 0, 0.9, 0.13, 0.16, 0.56, shirt)
    m.cbox(0, 0, 1.47, 0.12, 0.12, 0.08, skin)
    m.sphere(0, 0, 1.68, 0.17, skin, seg=8, rings=5)
    m.box(-0.18, -0.14, 1.72, 0.18, 0.19, 1.86, HAIR)
    m.box(-0.18, 0.05, 1.55, 0.18, 0.19, 1.78, HAIR)
    m.verts = [(-x, -y, z) for x, y, z in m.verts]  # built facing -y; turn to face +y (heading 0)
    return m


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
    """The visitor's own figure (third-person camera follows it)."""

    def __init__(self, parent: Any, loader: Any, name: str, *, font: Any = None) -> None:
        font = font or _font(loader)
        self.root = parent.attach_new_node("citizen")
        self.root.attach_new_node(person_mesh("citizen", (0.15, 0.55, 0.55, 1), SKIN[0]).node())
        ring = MeshBuilder("ring")
        ring.cylinder(0, 0, 0.005, 0.55, 0.01, (1.0, 0.85, 0.3, 1), seg=16)
        self.root.attach_new_node(ring.node())
        self.tag = NameTag(self.root, font, display_name(name), color=(1, 0.95, 0.7, 1))
        self.path: list[tuple[float, float]] = []

    @property
    def xy(self) -> tuple[float, float]:
        return (self.root.get_x(), self.root.get_y())

    def update(self, dt: float) -> None:
        """Nothing animates on the visitor's own figure yet; kept for the client's update loop."""

    def destroy(self) -> None:
        self.root.remove_node()


class AIAvatar:
    """The AI avatar at the information desk: idles, talks, turns to the visitor, walks to counters."""

    def __init__(self, parent: Any, loader: Any, lang: str = "id", *, font: Any = None) -> None:
        from panda3d.core import TextNode

        from world.strings import t

        self.font = font or _font(loader)
        self.clock = 0.0
        self.talk_until = 0.0
        self.bubble_until = 0.0
        self.thinking = False
        self.path: list[tuple[float, float]] = []
        self.speed = 2.6
        self.on_arrive: Callable[[], None] | None = None
        self.face_target: tuple[float, float] | None = None
        self.bubble_text = ""
        self.arms: list[Any] = []
        self.root = parent.attach_new_node("ai-avatar")
        self.root.set_h(180)
        self.body = self.root.attach_new_node("body")
        self.body.set_h(180)  # the mesh is built facing -y; the root's heading 0 looks +y
        batik = (0.10, 0.52, 0.47, 1)
        gold = (0.95, 0.72, 0.25, 1)
        m = MeshBuilder("assistant-body")
        m.cbox(0, 0, 0, 0.62, 0.4, 0.95, (0.95, 0.93, 0.88, 1))  # long sarong
        m.cbox(0, 0, 0.95, 0.6, 0.32, 0.65, batik)
        m.cbox(0, 0.0, 1.18, 0.62, 0.34, 0.08, gold)  # batik band
        m.cbox(0, 0, 1.6, 0.13, 0.13, 0.1, SKIN[1])
        m.sphere(0, 0, 1.85, 0.2, SKIN[1], seg=10, rings=6)
        m.box(-0.21, -0.1, 1.92, 0.21, 0.2, 2.1, gold)  # cap
        m.box(-0.08, -0.205, 1.86, -0.03, -0.19, 1.91, (0.1, 0.1, 0.1, 1))  # eyes
        m.box(0.03, -0.205, 1.86, 0.08, -0.19, 1.91, (0.1, 0.1, 0.1, 1))
        m.box(-0.06, -0.205, 1.77, 0.06, -0.19, 1.79, (0.75, 0.3, 0.3, 1))  # smile
        self.body.attach_new_node(m.node())
        for side in (-1, 1):
            pivot = self.body.attach_new_node(f"arm-{side}")
            pivot.set_pos(side * 0.38, 0, 1.52)
            a = MeshBuilder("arm")
            a.cbox(0, 0, -0.62, 0.14, 0.16, 0.62, batik)
            a.sphere(0, 0, -0.66, 0.08, SKIN[1], seg=6, rings=3)
            pivot.attach_new_node(a.node())
            self.arms.append(pivot)
        h = MeshBuilder("halo")
        h.cylinder(0, 0, 0, 0.3, 0.04, (0.55, 0.95, 1.0, 1), seg=16)
        self.halo = self.root.attach_new_node(h.node())
        self.halo.set_z(2.35)
        self.tag = NameTag(
            self.root,
            self.font,
            t("assistant_name", lang),
            z=2.62,
            scale=0.2,
            color=(0.85, 1.0, 0.95, 1),
            card=(0.06, 0.35, 0.32, 0.8),
        )
        self.bubble = TextNode("bubble")
        self.bubble.set_font(self.font)
        self.bubble.set_wordwrap(20)
        self.bubble.set_align(TextNode.A_center)
        self.bubble.set_text_color(0.1, 0.1, 0.12, 1)
        self.bubble.set_card_color(1, 1, 1, 0.95)
        self.bubble.set_card_as_margin(0.5, 0.5, 0.35, 0.3)
        self.bubble.set_card_decal(True)
        self.bubble_np = self.root.attach_new_node(self.bubble)
        self.bubble_np.set_billboard_point_eye()
        self.bubble_np.set_scale(0.13)
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
        return not self.bubble_np.is_hidden()

    def say(self, text: str, lang: str = "id") -> None:
        """Show the reply in the bubble (bottom-anchored above the head) and talk for a while."""
        short = text if len(text) <= 480 else text[:477] + "…"
        self.bubble_text = short
        self.bubble.set_text(short)
        height = self.bubble.get_height() * 0.13
        self.bubble_np.set_z(2.75 + height)
        self.bubble_np.show()
        self.talk_until = self.clock + min(8.0, 1.5 + len(short) / 25)
        self.bubble_until = self.clock + max(12.0, len(short) / 10)

    def set_talking(self, on: bool) -> None:
        """Waiting for an answer: keep gesturing (the reply itself starts the talk animation)."""
        self.thinking = on

    def face(self, x: float, y: float) -> None:
        self.face_target = (x, y)

    def walk_path(
        self, points: list[tuple[float, float]], speed: float = 2.6, on_arrive: Callable[[], None] | None = None
    ) -> None:
        self.path = [(float(p[0]), float(p[1])) for p in points]
        self.speed = speed
        self.on_arrive = on_arrive
        self.face_target = None

    def update(self, dt: float) -> None:
        """Per-frame animation; pure arithmetic on node transforms."""
        self.clock += dt
        now = self.clock
        walking = bool(self.path)
        if walking:
            pos, heading = follow_path(self.xy, self.path, self.speed * dt)
            self.root.set_pos(pos[0], pos[1], 0)
            if heading is not None:
                self.root.set_h(heading)
            if not self.path and self.on_arrive is not None:
                cb, self.on_arrive = self.on_arrive, None
                cb()
        elif self.face_target is not None:
            dx, dy = self.face_target[0] - self.xy[0], self.face_target[1] - self.xy[1]
            if math.hypot(dx, dy) > 0.05:
                target = heading_towards(dx, dy)
                cur = self.root.get_h()
                diff = (target - cur + 180) % 360 - 180
                self.root.set_h(cur + diff * min(1.0, dt * 5))
        talking = self.talking
        bob = math.sin(now * (6.0 if talking else 2.0)) * (0.03 if talking else 0.015)
        self.body.set_z(bob + (abs(math.sin(now * 8)) * 0.04 if walking else 0))
        for k, arm in enumerate(self.arms):
            if walking:
                arm.set_p(math.sin(now * 8 + k * math.pi) * 25)
                arm.set_r(0)
            elif talking:
                arm.set_p(-35 - 25 * math.sin(now * 5 + k))
                arm.set_r((-1) ** k * 12)
            else:
                arm.set_p(math.sin(now * 1.5 + k) * 4)
                arm.set_r(0)
        self.halo.set_h(now * 60)
        self.halo.set_z(2.35 + math.sin(now * 2) * 0.05)
        if now > self.bubble_until:
            self.bubble_np.hide()

    def destroy(self) -> None:
        if self.root is not None:
            self.root.remove_node()
            self.root = None


class Crowd:
    """Other visitors as copies of a few template figures under one RigidBodyCombiner.

    The combiner merges every figure into a handful of batches while each keeps its own
    transform, so 100 visitors cost a few draw calls instead of 100; only the nearest
    ``max_tags`` visitors carry a (billboarded) name tag.
    """

    def __init__(self, parent: Any, font: Any, *, max_tags: int = 12) -> None:
        from panda3d.core import NodePath, RigidBodyCombiner

        self.rbc = RigidBodyCombiner("crowd")
        self.root = parent.attach_new_node(self.rbc)
        self.tag_root = parent.attach_new_node("crowd-tags")
        self.font = font
        self.max_tags = max_tags
        self.templates = [
            NodePath(crowd_mesh(f"visitor-{k}", SHIRTS[k], SKIN[k % len(SKIN)]).node()) for k in range(len(SHIRTS))
        ]
        self.nodes: dict[str, Any] = {}
        self.tags: dict[str, tuple[Any, NameTag]] = {}
        self.dirty = False
        self._frame = 0
        self._want: set[str] | None = None

    def _node(self, key: str) -> Any:
        np = self.nodes.get(key)
        if np is None:
            template = self.templates[sum(map(ord, key)) % len(self.templates)]
            np = template.copy_to(self.root)
            np.set_name(f"v-{key}")
            self.nodes[key] = np
            self.dirty = True
        return np

    def remove(self, key: str) -> None:
        np = self.nodes.pop(key, None)
        if np is not None:
            np.remove_node()
            self.dirty = True
        tag = self.tags.pop(key, None)
        if tag is not None:
            tag[0].remove_node()

    def update(
        self, positions: dict[str, tuple[float, float, float]], names: dict[str, str], eye: tuple[float, float]
    ) -> None:
        for key in list(self.nodes):
            if key not in positions:
                self.remove(key)
        for key, (x, y, h) in positions.items():
            self._node(key).set_pos_hpr(x, y, 0, h, 0, 0)
        if self.dirty:
            self.rbc.collect()  # membership changed: rebuild the merged batches
            self.dirty = False
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
        for key in list(self.nodes):
            self.remove(key)
        self.root.remove_node()
        self.tag_root.remove_node()


__all__ = ["AIAvatar", "CitizenAvatar", "Crowd", "NameTag", "VisitorLayer", "follow_path", "person_mesh"]


class VisitorLayer:
    """Presence snapshots in, smoothly interpolated figures out (~100 ms behind the server)."""

    def __init__(
        self, parent: Any, loader: Any, *, layout: Any = None, delay: float = 0.1, max_tags: int = 12, font: Any = None
    ) -> None:
        from world.interp import Interpolator

        self.font = font or _font(loader)
        self.parent = parent
        self.layout = layout
        self.interp = Interpolator(delay=delay)
        self.crowd = Crowd(parent, self.font, max_tags=max_tags)
        self.officers: dict[int, NameTag] = {}
        self.clock = time.monotonic

    @property
    def count(self) -> int:
        return len(self.crowd.nodes)

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
        old = self.officers.pop(spot.number, None)
        if old is not None:
            old.destroy()
        nx, ny = FACING_NORMAL[spot.facing]
        anchor = self.parent.attach_new_node(f"officer-{spot.number}")
        back = spot.depth / 2 + 0.45
        anchor.set_pos(spot.x - nx * back, spot.y - ny * back, 0)
        tag = NameTag(
            anchor, self.font, display_name(name), z=2.45, scale=0.22, color=(1, 1, 0.8, 1), card=(0.2, 0.3, 0.5, 0.85)
        )
        self.officers[spot.number] = tag

    def update(self, dt: float) -> None:
        now = self.clock()
        names = {k: tr.name for k, tr in self.interp.tracks.items()}
        top = self.parent.get_top()
        cam = top.find("camera")
        eye = (cam.get_x(top), cam.get_y(top)) if not cam.is_empty() else (0.0, 0.0)
        self.crowd.update(self.interp.positions(now), names, eye)

    def destroy(self) -> None:
        for tag in self.officers.values():
            tag.np.get_parent().remove_node()
        self.officers.clear()
        self.crowd.destroy()
