"""Name tags and speech bubbles placed on the screen, never over a face or a sign.

A tag in the 3D scene covered the faces and the counter signs behind it at some angle.
Here every frame projects each figure's head to the screen (a face rectangle), each counter
sign (a sign rectangle), then places the tags nearest-first just above their own head,
sliding up past anything they would cover; a tag that finds no free place is hidden for
that frame. Tags fade out with distance. A speech bubble sits beside its speaker's face
(right if it fits, else left), clear of it.

Coordinates are ``aspect2d`` units: x in [-aspect, aspect], y in [-1, 1].
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Any

from l10n import t_or

Rect = tuple[float, float, float, float]  # x0, y0, x1, y1 (aspect2d units)

FADE_NEAR = 9.0  # metres: fully opaque up to here
FADE_FAR = 20.0  # gone from here
TAG_SCALE = 0.042
BUBBLE_SCALE = 0.045
NUMPY_FROM = 40  # people: from here the face rectangles are computed together in numpy


def overlaps(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@dataclass
class Person:
    """What the label layer needs of a figure: where its head is (a node and heights on it)."""

    node: Any  # the figure's root (z = floor)
    head_z: float  # top of the head above the root
    chin_z: float  # bottom of the face
    radius: float = 0.16  # half the head's width


class Tag:
    def __init__(self, overlay: Any, font: Any, text: str, person: Person, *, color: Any, card: Any) -> None:
        from panda3d.core import TextNode

        self.person = person
        self.tn = TextNode("tag")
        self.tn.set_font(font)
        self.tn.set_text(text)
        self.tn.set_align(TextNode.A_center)
        self.tn.set_text_color(*color)
        self.tn.set_card_color(*card)
        self.tn.set_card_as_margin(0.3, 0.3, 0.12, 0.12)
        self.tn.set_card_decal(True)
        self.np = overlay.attach_new_node(self.tn)
        self.np.set_scale(TAG_SCALE)
        self.np.hide()
        self.color = color
        self.card = card
        fr = self.tn.get_card_actual()
        self.size = ((fr[1] - fr[0]) * TAG_SCALE, (fr[3] - fr[2]) * TAG_SCALE, fr[2] * TAG_SCALE)
        self.rect: Rect | None = None
        self.alpha = 0.0

    def destroy(self) -> None:
        self.np.remove_node()


class Bubble:
    def __init__(self, overlay: Any, font: Any, person: Person) -> None:
        from panda3d.core import TextNode

        self.person = person
        self.tn = TextNode("bubble")
        self.tn.set_font(font)
        self.tn.set_wordwrap(16)
        self.tn.set_align(TextNode.A_left)
        self.tn.set_text_color(0.1, 0.1, 0.12, 1)
        self.tn.set_card_color(1, 1, 1, 0.95)
        self.tn.set_card_as_margin(0.5, 0.5, 0.35, 0.3)
        self.tn.set_card_decal(True)
        self.np = overlay.attach_new_node(self.tn)
        self.np.set_scale(BUBBLE_SCALE)
        self.np.hide()
        self.visible = False
        self.rect: Rect | None = None

    def set_text(self, text: str) -> None:
        self.tn.set_text(text)

    def get_text(self) -> str:
        return str(self.tn.get_text())

    def destroy(self) -> None:
        self.np.remove_node()


def _hide(tag: Tag) -> None:
    if tag.rect is not None:
        tag.np.hide()
        tag.rect = None


class LabelLayer:
    """Screen-space tags and bubbles for the figures of one hall (one per camera)."""

    def __init__(self, overlay: Any, cam: Any, render: Any, font: Any, *, aspect: float | None = None) -> None:
        self.overlay = overlay.attach_new_node("labels-2d")
        self.overlay.set_bin("fixed", 30)
        self.overlay.set_depth_test(False)
        self.overlay.set_depth_write(False)
        from panda3d.core import TransparencyAttrib

        self.overlay.set_transparency(TransparencyAttrib.M_alpha)
        self.cam = cam
        self.lens = cam.node().get_lens()
        self.render = render
        self.font = font
        self._aspect = aspect
        self.tags: dict[str, Tag] = {}
        self.bubbles: dict[str, Bubble] = {}
        self.people: dict[str, Person] = {}
        self.signs: list[tuple[Any, list[tuple[float, float, float]]]] = []
        self.face_rects: dict[str, Rect] = {}
        self.sign_rects: list[Rect] = []
        self._sign_cache: tuple[list[Any], Any] | None = None
        self.max_tags = 12

    @property
    def aspect(self) -> float:
        if self._aspect is not None:
            return self._aspect
        ratio = self.lens.get_aspect_ratio()
        return float(ratio) if ratio > 0 else 16 / 9

    # ------------------------------------------------------------------ registry

    def add_person(self, key: str, person: Person) -> None:
        self.people[key] = person

    def add_tag(
        self,
        key: str,
        text: str,
        person: Person,
        *,
        color: Any = (1, 1, 1, 1),
        card: Any = (0.1, 0.12, 0.16, 0.7),
    ) -> Tag:
        self.remove_tag(key)
        self.people[key] = person
        tag = self.tags[key] = Tag(self.overlay, self.font, text, person, color=color, card=card)
        return tag

    def remove_tag(self, key: str) -> None:
        tag = self.tags.pop(key, None)
        if tag is not None:
            tag.destroy()

    def remove(self, key: str) -> None:
        self.remove_tag(key)
        self.people.pop(key, None)
        self.face_rects.pop(key, None)
        b = self.bubbles.pop(key, None)
        if b is not None:
            b.destroy()

    def bubble(self, key: str, person: Person) -> Bubble:
        b = self.bubbles.get(key)
        if b is None:
            b = self.bubbles[key] = Bubble(self.overlay, self.font, person)
            self.people.setdefault(key, person)
        return b

    def add_sign(self, node: Any, corners: list[tuple[float, float, float]]) -> None:
        """A sign (corners in ``node``'s frame) that no tag may cover."""
        self.signs.append((node, corners))

    # ------------------------------------------------------------------ projection

    def project(self, node: Any, x: float, y: float, z: float) -> tuple[float, float, float] | None:
        """(screen x, screen y, distance) of a point on ``node``; None behind the camera or off the film."""
        from panda3d.core import Point2, Point3

        p = self.cam.get_relative_point(node, Point3(x, y, z))
        if p.y <= 0.05:
            return None
        film = Point2()
        if not self.lens.project(p, film):
            # off the film: still useful for rectangles partly on screen
            near = self.lens.get_near()
            if p.y < near:
                return None
            fov = self.lens.get_fov()
            fx = p.x / p.y / math.tan(math.radians(fov[0] / 2))
            fy = p.z / p.y / math.tan(math.radians(fov[1] / 2))
            return (fx * self.aspect, fy, p.length())
        return (film.x * self.aspect, film.y, p.length())

    def face_rect(self, person: Person, up: Any = None) -> tuple[Rect, float] | None:
        """The head's screen rectangle (top of head to chin, both sides) and its distance.

        One engine call per person (the head's position in the camera's frame); the rest is
        arithmetic, so a hundred faces cost well under a millisecond.
        """
        from panda3d.core import Vec3

        if up is None:
            up = self.cam.get_relative_vector(self.render, Vec3(0, 0, 1))
        p = person.node.get_pos(self.cam)
        # the head as a box of half-width r*sqrt(2) (any heading), seen in perspective: its near and
        # far top and bottom edges, along the horizontal forward direction (up x right)
        reach = person.radius * 1.4143
        fy, fz = up.z, -up.y
        kx, ky = self._k
        near = self.lens.get_near()
        ys, depth = [], []
        for z in (person.head_z, person.chin_z):
            for f in (-reach, reach):
                cy = p.y + up.y * z + fy * f
                cz = p.z + up.z * z + fz * f
                if cy < near:
                    return None
                ys.append(cz / cy * ky)
                depth.append(cy)
        d0 = min(depth)
        cx = (p.x + up.x * (person.head_z + person.chin_z) / 2) / d0 * kx
        cx_far = (p.x + up.x * (person.head_z + person.chin_z) / 2) / max(depth) * kx
        half = reach / d0 * kx
        return (min(cx, cx_far) - half, min(ys), max(cx, cx_far) + half, max(ys)), sum(depth) / len(depth)

    def _faces(self, up: Any, aspect: float) -> tuple[dict[str, Rect], dict[str, float]]:
        """:meth:`face_rect` for every person on screen; with a crowd, all at once in numpy (the
        per-person arithmetic in Python was most of the layer's 3-4 ms a frame at 100 visitors).
        A hall without a crowd stays in Python: importing numpy would cost its first frame ~0.3 s."""
        if len(self.people) < NUMPY_FROM:
            faces: dict[str, Rect] = {}
            dist: dict[str, float] = {}
            for key, person in self.people.items():
                if person.node.is_empty() or person.node.is_hidden():
                    continue
                fr = self.face_rect(person, up)
                if fr is None:
                    continue
                r, d = fr
                if r[2] < -aspect or r[0] > aspect or r[3] < -1 or r[1] > 1:
                    continue
                faces[key] = r
                dist[key] = d
            return faces, dist
        import numpy as np

        keys: list[str] = []
        rows: list[tuple[float, float, float, float, float, float]] = []
        cam = self.cam
        for key, person in self.people.items():
            node = person.node
            if node.is_empty() or node.is_hidden():
                continue
            p = node.get_pos(cam)
            keys.append(key)
            rows.append((p[0], p[1], p[2], person.head_z, person.chin_z, person.radius))
        if not rows:
            return {}, {}
        px, py, pz, hz, cz, radius = np.array(rows, dtype=np.float64).T
        reach = radius * 1.4143
        zs = np.stack([hz, hz, cz, cz], axis=1)  # the order face_rect walks: (top, chin) x (near, far)
        fs = np.stack([-reach, reach, -reach, reach], axis=1)
        depth = py[:, None] + up.y * zs + up.z * fs
        height = pz[:, None] + up.z * zs - up.y * fs
        kx, ky = self._k
        ok = (depth >= self.lens.get_near()).all(axis=1)
        safe = np.where(ok[:, None], depth, 1.0)
        ys = height / safe * ky
        d0, d1 = safe.min(axis=1), safe.max(axis=1)
        mid = px + up.x * (hz + cz) / 2
        cx, cx_far, half = mid / d0 * kx, mid / d1 * kx, reach / d0 * kx
        x0, x1 = np.minimum(cx, cx_far) - half, np.maximum(cx, cx_far) + half
        y0, y1 = ys.min(axis=1), ys.max(axis=1)
        shown = ok & (x1 >= -aspect) & (x0 <= aspect) & (y1 >= -1) & (y0 <= 1)
        mean = safe.mean(axis=1)
        faces = {}
        dist = {}
        for i in np.flatnonzero(shown).tolist():
            faces[keys[i]] = (float(x0[i]), float(y0[i]), float(x1[i]), float(y1[i]))
            dist[keys[i]] = float(mean[i])
        return faces, dist

    @property
    def _k(self) -> tuple[float, float]:
        """Camera-space x/y and z/y to aspect2d units."""
        fov = self.lens.get_fov()
        return (self.aspect / math.tan(math.radians(fov[0] / 2)), 1.0 / math.tan(math.radians(fov[1] / 2)))

    def _sign_rects(self) -> list[Rect]:
        """Every sign's screen rectangle, from its corners in the scene's frame (cached while the
        signs stay put) and one camera matrix: ~90 corners cost well under 0.2 ms a frame."""
        if not self.signs:
            return []
        world = self._sign_world()
        m = self.render.get_mat(self.cam)  # scene -> camera, row vectors
        r0, r1, r2, r3 = m.get_row3(0), m.get_row3(1), m.get_row3(2), m.get_row3(3)
        kx, ky = self._k
        near = max(0.05, self.lens.get_near())
        aspect = self.aspect
        out = []
        for corners in world:
            xs, ys = [], []
            for x, y, z in corners:
                cy = x * r0[1] + y * r1[1] + z * r2[1] + r3[1]
                if cy < near:
                    break
                xs.append((x * r0[0] + y * r1[0] + z * r2[0] + r3[0]) / cy * kx)
                ys.append((x * r0[2] + y * r1[2] + z * r2[2] + r3[2]) / cy * ky)
            else:
                r = (min(xs), min(ys), max(xs), max(ys))
                if r[2] < -aspect or r[0] > aspect or r[3] < -1 or r[1] > 1:
                    continue
                out.append(r)
        return out

    def _sign_world(self) -> list[list[tuple[float, float, float]]]:
        """The signs' corners in the scene's frame, recomputed only when a sign has moved."""
        stamp = [node.get_net_transform() for node, _ in self.signs]
        cached = self._sign_cache
        if cached is not None and len(cached[0]) == len(stamp) and all(map(operator.eq, cached[0], stamp)):
            return cached[1]
        world = []
        for node, corners in self.signs:
            m = node.get_mat(self.render)
            world.append([tuple(m.xform_point(c)) for c in corners])
        self._sign_cache = (stamp, world)
        return world

    def _sign_rects_each(self) -> list[Rect]:
        out = []
        for node, corners in self.signs:
            pts = [self.project(node, *c) for c in corners]
            seen = [p for p in pts if p is not None]
            if len(seen) < len(pts):
                continue
            xs, ys = [p[0] for p in seen], [p[1] for p in seen]
            r = (min(xs), min(ys), max(xs), max(ys))
            if r[2] < -self.aspect or r[0] > self.aspect or r[3] < -1 or r[1] > 1:
                continue
            out.append(r)
        return out

    # ------------------------------------------------------------------ per frame

    def update(self) -> None:
        from panda3d.core import Vec3

        aspect = self.aspect
        up = self.cam.get_relative_vector(self.render, Vec3(0, 0, 1))
        faces, dist = self._faces(up, aspect)
        self.face_rects = faces
        self.sign_rects = self._sign_rects()
        taken: list[Rect] = list(faces.values()) + list(self.sign_rects)
        # bubbles first: a speaker's words matter more than a name
        for key, b in self.bubbles.items():
            if not b.visible or key not in faces:
                b.np.hide()
                b.rect = None
                continue
            r = self._place_bubble(b, faces[key], taken, aspect)
            b.rect = r
            taken.append(r)
        order = sorted((k for k in self.tags if k in faces), key=lambda k: dist[k])
        shown = 0
        for key, tag in self.tags.items():
            if key not in faces:
                _hide(tag)
        for key in order:
            tag = self.tags[key]
            d = dist[key]
            alpha = 1.0 if d <= FADE_NEAR else max(0.0, 1.0 - (d - FADE_NEAR) / (FADE_FAR - FADE_NEAR))
            if alpha <= 0.02 or shown >= self.max_tags:
                _hide(tag)
                continue
            placed = self._place_tag(tag, faces[key], taken)
            if placed is None:
                _hide(tag)
                continue
            taken.append(placed)
            if tag.rect is None:
                tag.np.show()
            tag.rect = placed
            if abs(alpha - tag.alpha) > 0.02:
                tag.np.set_alpha_scale(alpha)
                tag.alpha = alpha
            shown += 1

    def _place_tag(self, tag: Tag, face: Rect, taken: list[Rect]) -> Rect | None:
        """Just above the face; slides up past what it would cover (at most a few steps)."""
        w, h, bottom = tag.size
        cx = (face[0] + face[2]) / 2
        x0, x1 = cx - w / 2, cx + w / 2
        column = [o for o in taken if o[0] < x1 and x0 < o[2]]  # only these can be in the way
        gap = 0.012
        y0 = face[3] + gap
        limit = y0 + 2.5 * h  # farther up it would read as someone else's tag: hide instead
        for _ in range(4):
            r = (x0, y0, x1, y0 + h)
            if r[3] > 1.0 or y0 > limit:
                return None
            hit = None
            for o in column:
                if o[1] < r[3] and r[1] < o[3]:
                    hit = o
                    break
            if hit is None:
                tag.np.set_pos(cx, 0, y0 - bottom)
                return r
            y0 = hit[3] + gap
        return None

    def _place_bubble(self, b: Bubble, face: Rect, taken: list[Rect], aspect: float) -> Rect:
        fr = b.tn.get_card_actual()
        w, h = (fr[1] - fr[0]) * BUBBLE_SCALE, (fr[3] - fr[2]) * BUBBLE_SCALE
        gap = 0.03
        cy = (face[1] + face[3]) / 2
        y0 = min(1.0 - h - 0.01, max(-1.0 + 0.01, cy - h / 2))
        right = (face[2] + gap, y0, face[2] + gap + w, y0 + h)
        left = (face[0] - gap - w, y0, face[0] - gap, y0 + h)
        r = right if right[2] <= aspect - 0.01 or left[0] < -aspect + 0.01 else left
        if r[2] > aspect - 0.01:  # neither side fits: keep it on screen, still beside the face vertically
            r = (aspect - 0.01 - w, y0, aspect - 0.01, y0 + h)
        b.np.set_pos(r[0] - fr[0] * BUBBLE_SCALE, 0, r[1] - fr[2] * BUBBLE_SCALE)
        b.np.show()
        return r

    def destroy(self) -> None:
        for key in list(self.tags):
            self.remove_tag(key)
        for b in self.bubbles.values():
            b.destroy()
        self.bubbles.clear()
        self.people.clear()
        self.overlay.remove_node()


__all__ = ["Bubble", "LabelLayer", "Person", "Tag", "overlaps"]


def state_label(state: str, lang: str) -> str:
    """An application state in words; a state the hall does not know yet is shown as the server named it."""
    return t_or(f"hall.state_{state}", lang, state)
