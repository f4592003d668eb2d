"""The walkable area: a union of polygons; anything outside is clamped to the nearest inside point.

Kept separate from the engine so a hall layout file can build one without
touching tick logic. Axis-aligned rectangles take a fast path because that is
what the default hall (and most counters' floor plans) are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

Point = tuple[float, float]

DEFAULT_HALL_BOUNDS: tuple[float, float, float, float] = (-30.0, -20.0, 30.0, 25.0)


def _inside_polygon(x: float, y: float, poly: Sequence[Point]) -> bool:
    """Even-odd ray cast; points on an edge count as inside (checked by the caller via distance)."""
    inside = False
    n = len(poly)
    for i in range(n):
        x1, y1 = poly[i]
        x2, y2 = poly[(i + 1) % n]
        if (y1 > y) != (y2 > y):
            xcross = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if x < xcross:
                inside = not inside
    return inside


def _nearest_on_segment(x: float, y: float, a: Point, b: Point) -> tuple[float, float, float]:
    ax, ay = a
    bx, by = b
    vx, vy = bx - ax, by - ay
    seg2 = vx * vx + vy * vy
    t = 0.0 if seg2 == 0 else max(0.0, min(1.0, ((x - ax) * vx + (y - ay) * vy) / seg2))
    px, py = ax + t * vx, ay + t * vy
    return (px - x) ** 2 + (py - y) ** 2, px, py


def _as_box(poly: tuple[Point, ...]) -> tuple[float, float, float, float] | None:
    """(xmin, ymin, xmax, ymax) when the polygon is an axis-aligned rectangle."""
    if len(poly) != 4:
        return None
    xs = sorted({p[0] for p in poly})
    ys = sorted({p[1] for p in poly})
    if len(xs) == 2 and len(ys) == 2 and {(x, y) for x in xs for y in ys} == set(poly):
        return xs[0], ys[0], xs[1], ys[1]
    return None


@dataclass(frozen=True)
class WalkableArea:
    """A union of simple polygons (each a list of vertices, either winding)."""

    polygons: tuple[tuple[Point, ...], ...]
    _boxes: tuple[tuple[float, float, float, float] | None, ...] = field(
        default=(), init=False, repr=False, compare=False
    )
    # The default hall is one rectangle: clamp it without the general loop (10k moves a second).
    _single: tuple[float, float, float, float] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.polygons or any(len(p) < 3 for p in self.polygons):
            raise ValueError("a walkable area needs at least one polygon of 3+ vertices")
        for poly in self.polygons:
            for px, py in poly:
                if not (math.isfinite(px) and math.isfinite(py)):
                    raise ValueError("polygon vertices must be finite")
        object.__setattr__(self, "_boxes", tuple(_as_box(p) for p in self.polygons))
        object.__setattr__(self, "_single", self._boxes[0] if len(self._boxes) == 1 else None)

    @classmethod
    def rect(cls, xmin: float, ymin: float, xmax: float, ymax: float) -> WalkableArea:
        return cls.rects([(xmin, ymin, xmax, ymax)])

    @classmethod
    def rects(cls, boxes: Sequence[tuple[float, float, float, float]]) -> WalkableArea:
        polys = []
        for xmin, ymin, xmax, ymax in boxes:
            if not (xmin < xmax and ymin < ymax):
                raise ValueError(f"empty rectangle {xmin, ymin, xmax, ymax}")
            polys.append(((xmin, ymin), (xmax, ymin), (xmax, ymax), (xmin, ymax)))
        return cls(tuple(polys))

    @classmethod
    def default(cls) -> WalkableArea:
        return cls.rect(*DEFAULT_HALL_BOUNDS)

    def contains(self, x: float, y: float) -> bool:
        for poly, box in zip(self.polygons, self._boxes, strict=True):
            if box is not None:
                if box[0] <= x <= box[2] and box[1] <= y <= box[3]:
                    return True
            elif _inside_polygon(x, y, poly):
                return True
        return False

    def clamp(self, x: float, y: float) -> Point:
        """The point itself when walkable, else the nearest point of the area's boundary."""
        box = self._single
        if box is not None:
            return min(max(x, box[0]), box[2]), min(max(y, box[1]), box[3])
        best: tuple[float, float, float] | None = None
        for poly, box in zip(self.polygons, self._boxes, strict=True):
            if box is not None:
                cx, cy = min(max(x, box[0]), box[2]), min(max(y, box[1]), box[3])
                if cx == x and cy == y:
                    return x, y
                cand = ((cx - x) ** 2 + (cy - y) ** 2, cx, cy)
                if best is None or cand[0] < best[0]:
                    best = cand
                continue
            if _inside_polygon(x, y, poly):
                return x, y
            n = len(poly)
            for i in range(n):
                cand = _nearest_on_segment(x, y, poly[i], poly[(i + 1) % n])
                if cand[0] == 0.0:
                    return x, y
                if best is None or cand[0] < best[0]:
                    best = cand
        assert best is not None  # at least one polygon, checked in __post_init__
        return best[1], best[2]


__all__ = ["DEFAULT_HALL_BOUNDS", "WalkableArea"]
