"""The third-person camera that never enters a wall, a pillar, a counter or a sign.

The camera wants to sit behind and above the visitor. Every frame the segment from the
visitor's head to that spot is tested against the hall's solid parts (boxes from the
layout, grown by the camera's radius); on a hit the camera is pulled in to just before it.
The smoothed position is checked again, so easing from one side of a pillar to the other
cannot pass through it either. Pure Python on the layout: the tests drive the same code
without a window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from world.layout import ARCH_DEPTH_IN, FACING_HEADING, HallLayout

Box = tuple[float, float, float, float, float, float]  # x0, y0, z0, x1, y1, z1
Vec3 = tuple[float, float, float]

BACK = 6.5  # metres behind the visitor
UP = 3.0  # camera height
LOOK_Z = 2.0  # a little above the head: the counter signs (2.6-4.9 m) stay in the frame up close
AHEAD = 4.0  # metres past the visitor
RADIUS = 0.35  # the near plane (0.3) plus a little: nothing is ever cut open on screen
EASE = 5.0  # 1/s


def _rotated(
    cx: float, cy: float, heading: float, x0: float, y0: float, x1: float, y1: float
) -> tuple[float, float, float, float]:
    """The world AABB of a local rectangle on a node at (cx, cy) turned by a cardinal heading."""
    rad = math.radians(heading)
    c, s = math.cos(rad), math.sin(rad)
    xs, ys = [], []
    for lx, ly in ((x0, y0), (x1, y0), (x0, y1), (x1, y1)):
        xs.append(cx + lx * c - ly * s)
        ys.append(cy + lx * s + ly * c)
    return min(xs), min(ys), max(xs), max(ys)


def collision_boxes(layout: HallLayout) -> list[Box]:
    """Everything solid a camera could end up in, as the scene builds it."""
    b, hgt = layout.bounds, layout.height
    boxes: list[Box] = []
    th = 1.0  # walls count as thick: a camera is never placed behind one
    ex, _, ew = layout.entrance
    boxes += [
        (b.xmin - th, b.ymax, 0.0, b.xmax + th, b.ymax + th, hgt),
        (b.xmax, b.ymin - th, 0.0, b.xmax + th, b.ymax + th, hgt),
        (b.xmin - th, b.ymin - th, 0.0, b.xmin, b.ymax + th, hgt),
        (b.xmin - th, b.ymin - th, 0.0, ex - ew / 2, b.ymin, hgt),
        (ex + ew / 2, b.ymin - th, 0.0, b.xmax + th, b.ymin, hgt),
        # the door opening too: the camera stays in the hall (behind the arch it saw only a cropped banner)
        (ex - ew / 2, b.ymin - th, 0.0, ex + ew / 2, b.ymin, hgt),
        (b.xmin - th, b.ymin - th, hgt - 0.05, b.xmax + th, b.ymax + th, hgt + th),  # ceiling
    ]
    for px, py in layout.pillars:
        boxes.append((px - 0.55, py - 0.55, 0.0, px + 0.55, py + 0.55, hgt))
    for spot in layout.counters:
        w, d = spot.width, spot.depth
        # desk, officer, partition and the sign above it: one block from the desk front to the partition
        x0, y0, x1, y1 = _rotated(spot.x, spot.y, spot.heading, -w / 2 - 0.2, -d / 2 - 0.1, w / 2 + 0.2, d / 2 + 1.2)
        boxes.append((x0, y0, 0.0, x1, y1, 4.9))
    desk = layout.info_desk
    w, dp = float(desk["width"]), float(desk["depth"])
    h = FACING_HEADING[desk["facing"]]
    x0, y0, x1, y1 = _rotated(desk["x"], desk["y"], h, -w / 2 - 0.1, -dp / 2 - 0.1, w / 2 + 0.1, dp / 2 + 0.05)
    boxes.append((x0, y0, 0.0, x1, y1, 1.15))
    totem = layout.info_totem_rect
    boxes.append((totem.xmin, totem.ymin, 0.0, totem.xmax, totem.ymax, 4.2))  # the "i" totem
    # the entrance arch (world.scene._entrance): its columns and lintel reach into the hall
    for col in layout.entrance_columns:
        boxes.append((col.xmin, col.ymin, 0.0, col.xmax, col.ymax, 4.85))
    boxes.append((ex - ew / 2 - 0.9, b.ymin - 1.05, 3.35, ex + ew / 2 + 0.9, b.ymin + ARCH_DEPTH_IN, 4.85))
    for bench in layout.benches:
        fp = bench.footprint
        boxes.append((fp.xmin, fp.ymin, 0.0, fp.xmax, fp.ymax, 0.95))
    for px, py in layout.plants:
        boxes.append((px - 0.6, py - 0.6, 0.0, px + 0.6, py + 0.6, 1.95))
    for board in layout.boards:
        bh = FACING_HEADING[board.facing]
        x0, y0, x1, y1 = _rotated(board.x, board.y, bh, -board.width / 2 - 0.1, -0.05, board.width / 2 + 0.1, 0.2)
        boxes.append((x0, y0, board.z - board.height / 2 - 0.1, x1, y1, hgt))
    return boxes


def grow(box: Box, r: float) -> Box:
    return (box[0] - r, box[1] - r, box[2] - r, box[3] + r, box[4] + r, box[5] + r)


def inside(p: Vec3, box: Box) -> bool:
    return box[0] < p[0] < box[3] and box[1] < p[1] < box[4] and box[2] < p[2] < box[5]


def segment_hit(a: Vec3, b: Vec3, box: Box) -> float | None:
    """Where (0..1) the segment a→b first enters ``box``; None if it never does (slab test)."""
    t0, t1 = 0.0, 1.0
    for k in range(3):
        d = b[k] - a[k]
        lo, hi = box[k], box[k + 3]
        if abs(d) < 1e-12:
            if a[k] <= lo or a[k] >= hi:
                return None
            continue
        ta, tb = (lo - a[k]) / d, (hi - a[k]) / d
        if ta > tb:
            ta, tb = tb, ta
        t0, t1 = max(t0, ta), min(t1, tb)
        if t0 >= t1:
            return None
    return t0


@dataclass
class ThirdPersonCamera:
    """Behind and above the visitor, eased, and pulled in before anything solid."""

    layout: HallLayout
    radius: float = RADIUS

    def __post_init__(self) -> None:
        self.boxes = collision_boxes(self.layout)
        self.solid = [grow(b, self.radius) for b in self.boxes]
        self.pos: Vec3 | None = None

    def clear(self, pivot: Vec3, want: Vec3) -> Vec3:
        """The point on pivot→want nearest to ``want`` that is clear of every (grown) box."""
        t = 1.0
        for box in self.solid:
            if inside(pivot, box):
                continue  # the pivot itself is inside (a visitor pressed to a wall): ignore that box
            hit = segment_hit(pivot, want, box)
            if hit is not None and hit < t:
                t = hit
        t = max(0.0, t - 0.02)
        return (
            pivot[0] + (want[0] - pivot[0]) * t,
            pivot[1] + (want[1] - pivot[1]) * t,
            pivot[2] + (want[2] - pivot[2]) * t,
        )

    def behind(self, x: float, y: float, heading: float) -> tuple[Vec3, Vec3]:
        """(wanted camera position, point to look at) for a visitor at (x, y) facing ``heading``.

        The camera looks a few metres past the visitor, not at them: a gentle downward pitch keeps
        the hall, its signs and the visitor in one frame, even when pulled in against a wall.
        """
        rad = math.radians(heading)
        fx, fy = -math.sin(rad), math.cos(rad)
        return (x - fx * BACK, y - fy * BACK, UP), (x + fx * AHEAD, y + fy * AHEAD, LOOK_Z)

    def step(self, pivot: Vec3, want: Vec3, dt: float, snap: bool = False) -> Vec3:
        """This frame's camera position: eased towards ``want``, never inside anything."""
        target = self.clear(pivot, want)
        if snap or self.pos is None:
            pos = target
        else:
            f = min(1.0, dt * EASE)
            cur = self.pos
            pos = (
                cur[0] + (target[0] - cur[0]) * f,
                cur[1] + (target[1] - cur[1]) * f,
                cur[2] + (target[2] - cur[2]) * f,
            )
            pos = self.clear(pivot, pos)
        self.pos = pos
        return pos

    def blocked(self, p: Vec3, margin: float = 0.0) -> bool:
        """True if ``p`` is inside any solid box grown by ``margin`` (for tests and the bench)."""
        return any(inside(p, grow(b, margin)) for b in self.boxes)


__all__ = ["ThirdPersonCamera", "collision_boxes", "segment_hit"]
