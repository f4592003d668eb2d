"""The hall as data: floor plan from ``assets/hall/layout.yaml`` joined with the catalogue.

Pure python (no Panda3D), so the scene builder, the navigation grid, the tests
and a future guided mode all agree on where everything stands. Counter numbers,
agency names, colours and the services listed on a sign come from the catalogue:
adding a service to ``assets/catalog/services`` puts it on its counter's sign.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from protocol.catalog import Catalog, Localized, assets_dir, load_catalog

FACING_NORMAL: dict[str, tuple[float, float]] = {
    "south": (0.0, -1.0),
    "north": (0.0, 1.0),
    "east": (1.0, 0.0),
    "west": (-1.0, 0.0),
}
# Heading (degrees) that turns a Panda card (readable from -y) towards the visitors' side.
FACING_HEADING: dict[str, float] = {"south": 0.0, "east": 90.0, "north": 180.0, "west": -90.0}
TOTEM_GAP = 0.6  # the information desk's "i" totem: this far beside the desk's end, this wide
TOTEM_WIDTH = 0.8
ARCH_DEPTH_IN = 0.75  # how far the entrance arch's columns and lintel reach into the hall


class LayoutError(ValueError):
    """The floor plan cannot host the catalogue (e.g. more counters than slots)."""


def hex_color(value: str, alpha: float = 1.0) -> tuple[float, float, float, float]:
    v = value.lstrip("#")
    return (int(v[0:2], 16) / 255.0, int(v[2:4], 16) / 255.0, int(v[4:6], 16) / 255.0, alpha)


@dataclass(frozen=True)
class Rect:
    xmin: float
    ymin: float
    xmax: float
    ymax: float

    def contains(self, x: float, y: float) -> bool:
        return self.xmin <= x <= self.xmax and self.ymin <= y <= self.ymax

    @property
    def center(self) -> tuple[float, float]:
        return ((self.xmin + self.xmax) / 2, (self.ymin + self.ymax) / 2)

    # the names the world's interface notes use (x_min, ...); same values
    @property
    def x_min(self) -> float:
        return self.xmin

    @property
    def x_max(self) -> float:
        return self.xmax

    @property
    def y_min(self) -> float:
        return self.ymin

    @property
    def y_max(self) -> float:
        return self.ymax


def _footprint(x: float, y: float, width: float, depth: float, facing: str) -> Rect:
    """Axis-aligned footprint of a desk whose long side faces ``facing``."""
    if facing in ("south", "north"):
        return Rect(x - width / 2, y - depth / 2, x + width / 2, y + depth / 2)
    return Rect(x - depth / 2, y - width / 2, x + depth / 2, y + width / 2)


def _approach(x: float, y: float, depth: float, facing: str, gap: float = 1.0) -> tuple[float, float]:
    nx, ny = FACING_NORMAL[facing]
    d = depth / 2 + gap
    return (x + nx * d, y + ny * d)


@dataclass(frozen=True)
class CounterSpot:
    """One counter as it stands in the hall, with its sign's contents."""

    number: int
    code: str
    agency_id: str
    agency_name: Localized
    agency_short: str
    label: Localized
    color: str
    kind: str
    services: tuple[Localized, ...]
    service_ids: tuple[str, ...]
    x: float
    y: float
    facing: str
    width: float
    depth: float

    @property
    def heading(self) -> float:
        return FACING_HEADING[self.facing]

    @property
    def facing_deg(self) -> float:
        """Panda heading of the desk (0 = visitors stand to the south of it)."""
        return FACING_HEADING[self.facing]

    @property
    def footprint(self) -> Rect:
        return _footprint(self.x, self.y, self.width, self.depth, self.facing)

    @property
    def approach(self) -> tuple[float, float]:
        """Where a visitor stands to be served (also the autopilot's goal)."""
        return _approach(self.x, self.y, self.depth, self.facing)


@dataclass(frozen=True)
class Board:
    x: float
    y: float
    z: float
    facing: str
    width: float
    height: float
    counters: tuple[int, ...] = ()  # counters this board lists, in order; filled in by load_layout


@dataclass(frozen=True)
class Screen:
    x: float
    y: float
    z: float
    facing: str
    width: float
    height: float
    dataset: str

    @property
    def name(self) -> str:
        """The screen's name in node paths and ``set_dataset``: the dataset with underscores."""
        return self.dataset.replace("-", "_")


@dataclass(frozen=True)
class Bench:
    x: float
    y: float
    w: float
    d: float
    facing: str
    color: str

    @property
    def footprint(self) -> Rect:
        return Rect(self.x - self.w / 2, self.y - self.d / 2, self.x + self.w / 2, self.y + self.d / 2)


@dataclass
class HallLayout:
    name: Localized
    bounds: Rect
    height: float
    colors: dict[str, str]
    entrance: tuple[float, float, float]
    spawn: tuple[float, float, float]
    info_desk: dict[str, Any]
    counters: list[CounterSpot]
    counter_height: float
    boards: list[Board]
    lounge_name: Localized
    lounge: Rect
    lounge_color: str
    screens: list[Screen]
    benches: list[Bench]
    plants: list[tuple[float, float]]
    pillars: list[tuple[float, float]]
    light_spacing: float
    light_color: str
    obstacles: list[Rect] = field(default_factory=list)

    def counter(self, number: int) -> CounterSpot:
        for c in self.counters:
            if c.number == number:
                return c
        raise KeyError(number)

    @property
    def info_desk_rect(self) -> Rect:
        d = self.info_desk
        return _footprint(d["x"], d["y"], d["width"], d["depth"], d["facing"])

    @property
    def info_totem_rect(self) -> Rect:
        """The tall "i" totem beside the information desk (0.8 x 0.3 m, ``world.scene`` builds it here)."""
        d = self.info_desk
        w = float(d["width"])
        rad = math.radians(FACING_HEADING[d["facing"]])
        c, s = math.cos(rad), math.sin(rad)
        pts = [(lx, ly) for lx in (w / 2 + TOTEM_GAP, w / 2 + TOTEM_GAP + TOTEM_WIDTH) for ly in (-0.15, 0.15)]
        xs = [float(d["x"]) + lx * c - ly * s for lx, ly in pts]
        ys = [float(d["y"]) + lx * s + ly * c for lx, ly in pts]
        return Rect(min(xs), min(ys), max(xs), max(ys))

    @property
    def entrance_columns(self) -> list[Rect]:
        """The entrance arch's two columns (with their capitals), which reach 0.75 m into the hall."""
        ex, _, ew = self.entrance
        y0 = self.bounds.ymin
        out = []
        for side in (-1, 1):
            x = ex + side * (ew / 2 + 0.35)
            out.append(Rect(x - 0.45, y0 - 1.05, x + 0.45, y0 + ARCH_DEPTH_IN))
        return out

    @property
    def info_approach(self) -> tuple[float, float]:
        d = self.info_desk
        return _approach(d["x"], d["y"], d["depth"], d["facing"], gap=1.3)

    @property
    def avatar_home(self) -> tuple[float, float]:
        a = self.info_desk["avatar"]
        return (float(a["x"]), float(a["y"]))

    @property
    def ai_avatar_home(self) -> tuple[float, float]:
        return self.avatar_home

    @property
    def counter_map(self) -> dict[int, CounterSpot]:
        """Counters by number (``counters`` itself is a list in counter-number order)."""
        return {c.number: c for c in self.counters}

    @property
    def screen_names(self) -> list[str]:
        """Lounge screens by dataset name with underscores (village_progress, budget, poverty)."""
        return [s.name for s in self.screens]

    @property
    def furniture(self) -> list[tuple[str, float, float, float, float, float]]:
        """(kind, x, y, w, d, rotation) of everything a walker must go around, besides counters."""
        out: list[tuple[str, float, float, float, float, float]] = []
        d = self.info_desk
        r = self.info_desk_rect
        out.append(("desk", d["x"], d["y"], r.xmax - r.xmin, r.ymax - r.ymin, FACING_HEADING[d["facing"]]))
        out += [("seating", b.x, b.y, b.w, b.d, 0.0) for b in self.benches]
        out += [("plant", x, y, 0.9, 0.9, 0.0) for x, y in self.plants]
        out += [("pillar", x, y, 1.0, 1.0, 0.0) for x, y in self.pillars]
        return out

    @property
    def lights(self) -> list[tuple[float, float, float]]:
        """Ceiling light panel centres (x, y, z) on the configured grid."""
        b, s = self.bounds, self.light_spacing
        pts: list[tuple[float, float, float]] = []
        x = b.xmin + s / 2
        while x < b.xmax:
            y = b.ymin + s / 2
            while y < b.ymax:
                pts.append((x, y, self.height - 0.02))
                y += s
            x += s
        return pts


def load_layout(
    catalog: Catalog | str | Path | None = None, root: Path | None = None, *, path: str | Path | None = None
) -> HallLayout:
    """Join the floor plan with the catalogue; raises LayoutError when they do not fit.

    ``path`` (or a path given first) names another layout.yaml; the catalogue then
    still comes from ``root`` (default: the shipped assets).
    """
    if isinstance(catalog, str | Path):
        path, catalog = catalog, None
    base = root or assets_dir()
    plan = Path(path) if path is not None else base / "hall" / "layout.yaml"
    raw = yaml.load(plan.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    cat = catalog or load_catalog(root)
    hall = raw["hall"]
    bounds = Rect(*[float(v) for v in hall["bounds"]])
    cdef = raw["counter"]
    slots = list(raw["counter_slots"])
    village = raw["smart_kampung"]
    counters: list[CounterSpot] = []
    services_at: dict[int, list[tuple[str, Localized]]] = {}
    for s in cat.services:
        services_at.setdefault(s.counter, []).append((s.id, s.short_name))
    entries = sorted(((a, c) for a in cat.agencies for c in a.counters), key=lambda ac: ac[1].number)
    village_used = False
    for agency, ctr in entries:
        svcs = services_at.get(ctr.number, [])
        common: dict[str, Any] = {
            "number": ctr.number,
            "code": ctr.code,
            "agency_id": agency.id,
            "agency_name": agency.name,
            "agency_short": agency.short,
            "label": ctr.label,
            "color": agency.color,
            "kind": agency.kind,
            "services": tuple(name for _, name in svcs),
            "service_ids": tuple(sid for sid, _ in svcs),
        }
        if agency.kind == "village" and not village_used:
            village_used = True
            counters.append(
                CounterSpot(
                    **common,
                    x=float(village["x"]),
                    y=float(village["y"]),
                    facing=village["facing"],
                    width=float(village["width"]),
                    depth=float(village["depth"]),
                )
            )
            continue
        if not slots:
            raise LayoutError(f"no free counter slot in layout.yaml for counter {ctr.number} ({agency.id})")
        slot = slots.pop(0)
        counters.append(
            CounterSpot(
                **common,
                x=float(slot["x"]),
                y=float(slot["y"]),
                facing=slot["facing"],
                width=float(cdef["width"]),
                depth=float(cdef["depth"]),
            )
        )
    lounge = raw["lounge"]
    layout = HallLayout(
        name=Localized(**hall["name"]),
        bounds=bounds,
        height=float(hall["height"]),
        colors={k: v for k, v in hall.items() if k.endswith("_color") or k.endswith("_accent")},
        entrance=(float(raw["entrance"]["x"]), float(raw["entrance"]["y"]), float(raw["entrance"]["width"])),
        spawn=(float(raw["spawn"]["x"]), float(raw["spawn"]["y"]), float(raw["spawn"]["heading"])),
        info_desk=dict(raw["info_desk"]),
        counters=counters,
        counter_height=float(cdef["height"]),
        boards=[_board(b, [c.number for c in counters]) for b in raw["boards"]],
        lounge_name=Localized(**lounge["name"]),
        lounge=Rect(*[float(v) for v in lounge["rect"]]),
        lounge_color=lounge["carpet_color"],
        screens=[
            Screen(
                x=float(s["x"]),
                y=float(s["y"]),
                z=float(s["z"]),
                facing=s["facing"],
                width=float(s["width"]),
                height=float(s["height"]),
                dataset=s["dataset"],
            )
            for s in lounge["screens"]
        ],
        benches=[Bench(**b) for b in raw.get("seating", [])],
        plants=[(float(p[0]), float(p[1])) for p in raw.get("plants", [])],
        pillars=[(float(p[0]), float(p[1])) for p in raw.get("pillars", [])],
        light_spacing=float(raw["lights"]["spacing"]),
        light_color=raw["lights"]["color"],
    )
    obstacles = [c.footprint for c in counters] + [layout.info_desk_rect, layout.info_totem_rect]
    obstacles += layout.entrance_columns
    obstacles += [b.footprint for b in layout.benches]
    obstacles += [Rect(x - 0.45, y - 0.45, x + 0.45, y + 0.45) for x, y in layout.plants]
    obstacles += [Rect(x - 0.5, y - 0.5, x + 0.5, y + 0.5) for x, y in layout.pillars]
    layout.obstacles = obstacles
    return layout


__all__ = ["CounterSpot", "HallLayout", "LayoutError", "Rect", "hex_color", "load_layout"]


def _board(b: dict[str, Any], numbers: list[int]) -> Board:
    """A board lists the counters named in layout.yaml (``counters:``) or, by default, all of them."""
    wanted = b.get("counters")
    if wanted is None:
        covered = tuple(numbers)
    else:
        unknown = [n for n in wanted if n not in numbers]
        if unknown:
            raise LayoutError(f"board at ({b['x']}, {b['y']}) lists counters not in the catalogue: {unknown}")
        covered = tuple(int(n) for n in wanted)
    return Board(
        counters=covered,
        x=float(b["x"]),
        y=float(b["y"]),
        z=float(b["z"]),
        facing=str(b["facing"]),
        width=float(b["width"]),
        height=float(b["height"]),
    )
