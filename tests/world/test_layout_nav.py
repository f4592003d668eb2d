"""The hall plan joins the catalogue; navigation avoids furniture (no rendering)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
import yaml

from protocol.catalog import load_catalog
from world.layout import LayoutError, load_layout
from world.nav import NavGrid, path_length

ASSETS = Path(__file__).resolve().parents[2] / "assets"


@pytest.fixture(scope="module")
def layout():
    return load_layout()


@pytest.fixture(scope="module")
def grid(layout):
    return NavGrid.from_layout(layout)


def test_every_catalogue_counter_has_a_spot(layout) -> None:
    cat = load_catalog()
    numbers = sorted(c.number for a in cat.agencies for c in a.counters)
    assert sorted(c.number for c in layout.counters) == numbers
    assert len(layout.counters) >= 10
    for spot in layout.counters:
        agency, counter = cat.counter(spot.number)
        assert spot.code == counter.code and spot.color == agency.color
        assert set(spot.service_ids) == {s.id for s in cat.services if s.counter == spot.number}


def test_village_counter_stands_at_the_smart_kampung_desk(layout) -> None:
    village = [c for c in layout.counters if c.kind == "village"]
    assert village and (village[0].x, village[0].y) == (-17.0, -14.0)


def test_counters_do_not_overlap_and_fit_in_the_hall(layout) -> None:
    rects = [c.footprint for c in layout.counters]
    for i, a in enumerate(rects):
        assert layout.bounds.contains(a.xmin, a.ymin) and layout.bounds.contains(a.xmax, a.ymax)
        for b in rects[i + 1 :]:
            assert a.xmax <= b.xmin or b.xmax <= a.xmin or a.ymax <= b.ymin or b.ymax <= a.ymin


def test_a_new_service_appears_on_its_counter_sign(tmp_path: Path) -> None:
    root = tmp_path / "assets"
    shutil.copytree(ASSETS / "catalog", root / "catalog")
    shutil.copytree(ASSETS / "hall", root / "hall")
    svc = yaml.safe_load((root / "catalog/services/skck.yaml").read_text(encoding="utf-8"))
    svc["id"] = "skck-perpanjangan"
    svc["short_name"] = {"id": "Perpanjang SKCK", "en": "SKCK renewal"}
    (root / "catalog/services/skck-perpanjangan.yaml").write_text(yaml.safe_dump(svc), encoding="utf-8")
    spot = load_layout(root=root).counter(svc["counter"])
    assert "Perpanjang SKCK" in [s.id for s in spot.services]


def test_too_few_slots_is_a_clear_error(tmp_path: Path) -> None:
    root = tmp_path / "assets"
    shutil.copytree(ASSETS / "catalog", root / "catalog")
    shutil.copytree(ASSETS / "hall", root / "hall")
    raw = yaml.safe_load((root / "hall/layout.yaml").read_text(encoding="utf-8"))
    raw["counter_slots"] = raw["counter_slots"][:3]
    (root / "hall/layout.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(LayoutError, match="no free counter slot"):
        load_layout(root=root)


def test_every_counter_is_reachable_from_the_entrance(layout, grid) -> None:
    start = layout.spawn[:2]
    for spot in layout.counters:
        path = grid.find_path(start, spot.approach)
        assert path is not None, spot.number
        assert path[0] == start and path[-1] == spot.approach
        straight = math.dist(start, spot.approach)
        assert straight - 1e-6 <= path_length(path) < straight * 1.8


def test_paths_never_cross_furniture(layout, grid) -> None:
    for a, b in [(layout.spawn[:2], layout.counter(1).approach), (layout.avatar_home, layout.counter(14).approach)]:
        path = grid.find_path(a, b)
        assert path is not None
        for p, q in zip(path, path[1:], strict=False):
            for k in range(21):
                x = p[0] + (q[0] - p[0]) * k / 20
                y = p[1] + (q[1] - p[1]) * k / 20
                for r in layout.obstacles:
                    assert not r.contains(x, y), (x, y, r)


def test_goal_inside_a_counter_snaps_to_the_nearest_free_spot(layout, grid) -> None:
    spot = layout.counter(3)
    path = grid.find_path(layout.spawn[:2], (spot.x, spot.y))
    assert path is not None
    end = path[-1]
    assert grid.walkable(end) and not spot.footprint.contains(*end)
    assert math.dist(end, (spot.x, spot.y)) < 2.0


def test_walled_in_goal_is_unreachable() -> None:
    from world.layout import Rect

    box = Rect(-10, -10, 10, 10)
    walls = [Rect(2, -10, 2.5, 10)]
    g = NavGrid(box, walls, cell=0.5, radius=0.3)
    assert g.find_path((-5, 0), (5, 0)) is None
    assert g.find_path((-5, 0), (-5, 5)) is not None
    assert not g.walkable((2.2, 0)) and not g.walkable((50, 0))


def test_interface_names_match_the_data(layout, grid) -> None:
    """The names other world modules use (x_min, counter_map, approach_point, ...) read the same plan."""
    assert (layout.bounds.x_min, layout.bounds.x_max, layout.bounds.y_min, layout.bounds.y_max) == (-30, 30, -20, 25)
    assert layout.ai_avatar_home == layout.avatar_home
    assert set(layout.counter_map) == {c.number for c in layout.counters}
    assert 16 in layout.counter_map and layout.counter_map[16].kind == "village"
    assert sorted(layout.screen_names) == ["budget", "poverty", "village_progress"]
    kinds = {f[0] for f in layout.furniture}
    assert {"desk", "seating", "plant"} <= kinds
    assert layout.lights and all(z > 6 for _, _, z in layout.lights)
    for spot in layout.counters:
        p = grid.approach_point(spot.number)
        assert grid.is_walkable(*p) and not spot.footprint.contains(*p)
        assert math.dist(p, (spot.x, spot.y)) < spot.depth + 1.5
    assert not grid.is_walkable(layout.counter(1).x, layout.counter(1).y)
    with pytest.raises(KeyError):
        grid.approach_point(99)


def test_load_layout_reads_another_plan_file(tmp_path: Path) -> None:
    raw = yaml.safe_load((ASSETS / "hall/layout.yaml").read_text(encoding="utf-8"))
    raw["info_desk"]["x"] = 3.0
    plan = tmp_path / "plan.yaml"
    plan.write_text(yaml.safe_dump(raw), encoding="utf-8")
    assert load_layout(path=plan).info_desk["x"] == 3.0
    assert load_layout(plan).info_desk["x"] == 3.0
    assert load_layout().info_desk["x"] == 0.0


def test_a_random_walk_never_finds_a_path_through_furniture(layout, grid) -> None:
    import random

    rng = random.Random(7)
    b = layout.bounds
    checked = 0
    while checked < 15:
        a = (rng.uniform(b.xmin, b.xmax), rng.uniform(b.ymin, b.ymax))
        z = (rng.uniform(b.xmin, b.xmax), rng.uniform(b.ymin, b.ymax))
        if not (grid.is_walkable(*a) and grid.is_walkable(*z)):
            continue
        path = grid.find_path(a, z)
        assert path is not None and path[0] == a and path[-1] == z
        for p, q in zip(path, path[1:], strict=False):
            n = max(2, int(math.dist(p, q) / 0.1))
            for k in range(n + 1):
                x, y = p[0] + (q[0] - p[0]) * k / n, p[1] + (q[1] - p[1]) * k / n
                assert all(not r.contains(x, y) for r in layout.obstacles), (a, z, x, y)
        checked += 1


def test_boards_cover_all_counters_unless_the_plan_names_some(tmp_path: Path, layout) -> None:
    numbers = tuple(c.number for c in layout.counters)
    assert layout.boards and all(b.counters == numbers for b in layout.boards)
    root = tmp_path / "assets"
    shutil.copytree(ASSETS / "catalog", root / "catalog")
    shutil.copytree(ASSETS / "hall", root / "hall")
    raw = yaml.safe_load((root / "hall/layout.yaml").read_text(encoding="utf-8"))
    raw["boards"][1]["counters"] = [16, 1]
    (root / "hall/layout.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    assert load_layout(root=root).boards[1].counters == (16, 1)
    raw["boards"][1]["counters"] = [1, 77]
    (root / "hall/layout.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(LayoutError, match="77"):
        load_layout(root=root)


def test_line_free_agrees_with_walkable_samples(layout, grid) -> None:
    """line_free is an inlined fast path of walkable(); both must say the same for any segment."""
    import random

    rng = random.Random(3)
    b = layout.bounds
    for _ in range(300):
        a = (rng.uniform(b.xmin - 2, b.xmax + 2), rng.uniform(b.ymin - 2, b.ymax + 2))
        z = (a[0] + rng.uniform(-8, 8), a[1] + rng.uniform(-8, 8))
        steps = max(1, int(math.dist(a, z) / (grid.cell * 0.25)))
        ref = all(
            grid.walkable((a[0] + (z[0] - a[0]) * k / steps, a[1] + (z[1] - a[1]) * k / steps))
            for k in range(steps + 1)
        )
        assert grid.line_free(a, z) == ref, (a, z)
