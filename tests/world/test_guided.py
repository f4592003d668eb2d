"""Guided mode's part in the hall without rendering: the walk to the step's counter.

The visit itself (steps, presses, read-backs, officer) is the server's loop, tested in
``tests/assistant/test_guided_*.py``; the view that draws it is in ``test_guided_view.py``.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from protocol.catalog import default_catalog
from world.guided import counter_path_fn


@pytest.fixture(scope="module")
def layout() -> Any:
    from world.layout import load_layout

    return load_layout()


@pytest.fixture(scope="module")
def path_fn(layout: Any) -> Any:
    return counter_path_fn(layout)


def test_walk_path_goes_from_the_entrance_to_the_counter_approach_point(layout: Any, path_fn: Any) -> None:
    from world.nav import NavGrid

    grid = NavGrid.from_layout(layout)
    path = path_fn(1)  # the KTP-el counter, where a lost-card visit walks
    assert path is not None
    start, goal = path[0], path[-1]
    assert math.dist(start, layout.spawn[:2]) < 1e-6
    assert math.dist(goal, layout.counter(1).approach) < 1e-6
    for a, b in zip(path, path[1:], strict=False):
        assert grid.line_free(a, b), (a, b)


def test_every_catalogue_counter_is_reachable_from_the_entrance(layout: Any, path_fn: Any) -> None:
    for service in default_catalog().services:
        path = path_fn(service.counter)
        assert path is not None, service.id
        assert math.dist(path[-1], layout.counter(service.counter).approach) < 0.5, service.id


def test_an_unknown_counter_has_no_path(path_fn: Any) -> None:
    assert path_fn(999) is None
