"""Navigation grid and A* for click-to-walk, the AI avatar and the guided autopilot.

Pure python and deterministic so it is tested without rendering. The grid marks
a cell blocked when any obstacle footprint, grown by the walker's radius, covers
its centre; paths are then string-pulled so avatars walk straight lines, not
staircases.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Sequence

from world.layout import HallLayout, Rect

Point = tuple[float, float]
Cell = tuple[int, int]

_SQRT2 = math.sqrt(2.0)
_NEIGHBOURS: tuple[tuple[int, int, float], ...] = (
    (1, 0, 1.0),
    (-1, 0, 1.0),
    (0, 1, 1.0),
    (0, -1, 1.0),
    (1, 1, _SQRT2),
    (1, -1, _SQRT2),
    (-1, 1, _SQRT2),
    (-1, -1, _SQRT2),
)


class NavGrid:
    """Occupancy grid over the hall bounds."""

    def __init__(self, bounds: Rect, obstacles: Iterable[Rect], *, cell: float = 0.5, radius: float = 0.4) -> None:
        self.bounds = bounds
        self.cell = cell
        self.radius = radius
        self.nx = max(1, int(math.ceil((bounds.xmax - bounds.xmin) / cell)))
        self.ny = max(1, int(math.ceil((bounds.ymax - bounds.ymin) / cell)))
        self.blocked = bytearray(self.nx * self.ny)
        for i in range(self.nx):
            for j in range(self.ny):
                x, y = self.center((i, j))
                if (
                    x < bounds.xmin + radius
                    or x > bounds.xmax - radius
                    or y < bounds.ymin + radius
                    or y > bounds.ymax - radius
                ):
                    self.blocked[j * self.nx + i] = 1
        for r in obstacles:
            self.block(r)

    layout: HallLayout | None = None

    @classmethod
    def from_layout(cls, layout: HallLayout, cell: float = 0.5, *, radius: float = 0.4) -> NavGrid:
        grid = cls(layout.bounds, layout.obstacles, cell=cell, radius=radius)
        grid.layout = layout
        return grid

    def approach_point(self, counter_number: int) -> Point:
        """A walkable spot in front of a counter, where a visitor is served (grid from a layout only)."""
        if self.layout is None:
            raise ValueError("approach_point needs a grid made by NavGrid.from_layout")
        spot = self.layout.counter(counter_number)
        p = spot.approach
        if self.walkable(p):
            return p
        c = self.nearest_free(p)
        if c is None:
            raise ValueError(f"counter {counter_number} has no free spot in front of it")
        return self.center(c)

    def block(self, rect: Rect) -> None:
        grown = Rect(rect.xmin - self.radius, rect.ymin - self.radius, rect.xmax + self.radius, rect.ymax + self.radius)
        i0, j0 = self.cell_of((grown.xmin, grown.ymin))
        i1, j1 = self.cell_of((grown.xmax, grown.ymax))
        for i in range(max(0, i0 - 1), min(self.nx, i1 + 2)):
            for j in range(max(0, j0 - 1), min(self.ny, j1 + 2)):
                x, y = self.center((i, j))
                if grown.contains(x, y):
                    self.blocked[j * self.nx + i] = 1

    def cell_of(self, p: Point) -> Cell:
        i = int((p[0] - self.bounds.xmin) / self.cell)
        j = int((p[1] - self.bounds.ymin) / self.cell)
        return (min(max(i, 0), self.nx - 1), min(max(j, 0), self.ny - 1))

    def center(self, c: Cell) -> Point:
        return (self.bounds.xmin + (c[0] + 0.5) * self.cell, self.bounds.ymin + (c[1] + 0.5) * self.cell)

    def is_free_cell(self, c: Cell) -> bool:
        i, j = c
        return 0 <= i < self.nx and 0 <= j < self.ny and not self.blocked[j * self.nx + i]

    def walkable(self, p: Point) -> bool:
        """True when a walker centred at ``p`` stands clear of walls and furniture."""
        b = self.bounds
        if not (b.xmin <= p[0] <= b.xmax and b.ymin <= p[1] <= b.ymax):
            return False
        return self.is_free_cell(self.cell_of(p))

    def is_walkable(self, x: float, y: float) -> bool:
        return self.walkable((x, y))

    def nearest_free(self, p: Point, max_rings: int = 40) -> Cell | None:
        c = self.cell_of(p)
        if self.is_free_cell(c):
            return c
        for ring in range(1, max_rings):
            best: tuple[float, Cell] | None = None
            for di in range(-ring, ring + 1):
                for dj in range(-ring, ring + 1):
                    if max(abs(di), abs(dj)) != ring:
                        continue
                    cand = (c[0] + di, c[1] + dj)
                    if self.is_free_cell(cand):
                        cx, cy = self.center(cand)
                        d = (cx - p[0]) ** 2 + (cy - p[1]) ** 2
                        if best is None or d < best[0]:
                            best = (d, cand)
            if best is not None:
                return best[1]
        return None

    def line_free(self, a: Point, b: Point) -> bool:
        """Sample the segment at quarter-cell steps; every sample must be walkable."""
        # same test as walkable() per sample, inlined: smoothing calls this thousands of times per path
        bd = self.bounds
        x0, y0, dx, dy = a[0], a[1], b[0] - a[0], b[1] - a[1]
        steps = max(1, int(math.hypot(dx, dy) / (self.cell * 0.25)))
        nx, ny, cell, blocked = self.nx, self.ny, self.cell, self.blocked
        for k in range(steps + 1):
            t = k / steps
            x, y = x0 + dx * t, y0 + dy * t
            if not (bd.xmin <= x <= bd.xmax and bd.ymin <= y <= bd.ymax):
                return False
            i = min(max(int((x - bd.xmin) / cell), 0), nx - 1)
            j = min(max(int((y - bd.ymin) / cell), 0), ny - 1)
            if blocked[j * nx + i]:
                return False
        return True

    def astar(self, start: Cell, goal: Cell) -> list[Cell] | None:
        if not (self.is_free_cell(start) and self.is_free_cell(goal)):
            return None
        nx = self.nx
        blocked = self.blocked
        gx, gy = goal

        def h(i: int, j: int) -> float:
            dx, dy = abs(i - gx), abs(j - gy)
            return (dx + dy) + (_SQRT2 - 2) * min(dx, dy)

        open_heap: list[tuple[float, float, int, int]] = [(h(*start), 0.0, start[0], start[1])]
        came: dict[int, int] = {}
        cost: dict[int, float] = {start[1] * nx + start[0]: 0.0}
        closed = set()
        while open_heap:
            _, g, i, j = heapq.heappop(open_heap)
            key = j * nx + i
            if key in closed:
                continue
            if (i, j) == goal:
                path = [(i, j)]
                while key in came:
                    key = came[key]
                    path.append((key % nx, key // nx))
                path.reverse()
                return path
            closed.add(key)
            for di, dj, step in _NEIGHBOURS:
                ni, nj = i + di, j + dj
                if not (0 <= ni < nx and 0 <= nj < self.ny) or blocked[nj * nx + ni]:
                    continue
                if di and dj and (blocked[j * nx + ni] or blocked[nj * nx + i]):
                    continue  # never cut a corner through furniture
                nkey = nj * nx + ni
                ng = g + step
                if ng < cost.get(nkey, math.inf):
                    cost[nkey] = ng
                    came[nkey] = key
                    heapq.heappush(open_heap, (ng + h(ni, nj), ng, ni, nj))
        return None

    def smooth(self, pts: Sequence[Point]) -> list[Point]:
        if len(pts) <= 2:
            return list(pts)
        out = [pts[0]]
        anchor = 0
        k = 2
        while k < len(pts):
            if not self.line_free(pts[anchor], pts[k]):
                out.append(pts[k - 1])
                anchor = k - 1
            k += 1
        out.append(pts[-1])
        return out

    def find_path(self, start: Point, goal: Point) -> list[Point] | None:
        """Waypoints from ``start`` to (the free spot nearest) ``goal``; None when unreachable.

        The first waypoint is the start itself; the last is the exact goal when it is walkable.
        """
        s = self.nearest_free(start)
        g = self.nearest_free(goal)
        if s is None or g is None:
            return None
        cells = self.astar(s, g)
        if cells is None:
            return None
        pts: list[Point] = [start] + [self.center(c) for c in cells[1:-1]]
        pts.append(goal if self.walkable(goal) else self.center(g))
        return self.smooth(pts)


def path_length(pts: Sequence[Point]) -> float:
    return sum(math.hypot(b[0] - a[0], b[1] - a[1]) for a, b in zip(pts, pts[1:], strict=False))


_GRIDS: dict[int, NavGrid] = {}


def find_path(start: Point, goal: Point, layout: HallLayout | None = None) -> list[Point] | None:
    """Module-level convenience over the default hall (grid built once)."""
    if layout is None:
        from world.layout import load_layout

        layout = load_layout()
    grid = _GRIDS.get(id(layout))
    if grid is None:
        grid = NavGrid.from_layout(layout)
        _GRIDS.clear()
        _GRIDS[id(layout)] = grid
    return grid.find_path(start, goal)


def counter_approach_points(layout: HallLayout) -> dict[int, Point]:
    return {c.number: c.approach for c in layout.counters}


__all__ = ["NavGrid", "counter_approach_points", "find_path", "path_length"]
