"""Guided mode in the hall: what the view needs besides the server's steps.

The visit itself is driven by the server (``assistant/dialogue/guided.py`` behind ``guided.start`` /
``guided.choose``); the hall only draws each ``guided.step`` frame (``world.guided_view``) and, on a
walk step, leads the visitor to the step's counter along the path computed here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from world.layout import HallLayout

__all__ = ["counter_path_fn"]

Point = tuple[float, float]
PathFn = Callable[[int], Sequence[Point] | None]


def counter_path_fn(layout: HallLayout | None = None) -> PathFn:
    """Path from the hall entrance to a counter's approach point over the nav grid (built once)."""
    from world.layout import load_layout
    from world.nav import NavGrid

    hall = layout or load_layout()
    grid = NavGrid.from_layout(hall)
    start = (hall.spawn[0], hall.spawn[1])

    def path(counter: int) -> list[Point] | None:
        try:
            goal = hall.counter(counter).approach
        except KeyError:
            return None
        return grid.find_path(start, goal)

    return path
