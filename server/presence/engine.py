"""Server-authoritative presence: validated positions, hall instances, interest-managed deltas.

Pure and synchronous (no FastAPI, no DB, no clock of its own): the hub calls
``join/move/leave`` as frames arrive and ``tick(now)`` at 10 Hz, then sends
each viewer its one snapshot. Every time argument is the caller's monotonic
clock, which keeps the engine deterministic under test.

Wire choice (documented because the client depends on it): positions are
published rounded to 0.01 m and headings (degrees, Panda3D ``H``) to 0.1 deg,
``ts`` to 1 ms. An entity is re-published only when it moved >= ``eps_pos``
or turned >= ``eps_heading`` since its last published state, and a viewer's
``changed`` lists exactly the re-published entities it already had in view,
so its view always equals the published states.
:func:`encode_snapshot` turns a snapshot into compact JSON (same fields as
``PresenceSnapshot``, empty lists and ``full: false`` omitted) from per-entity
fragments cached once per tick, instead of re-serialising each entity for
each of its viewers.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from pydantic import Field

from protocol.messages import PresenceEntity, PresenceSnapshot
from server.presence.area import WalkableArea
from server.presence.grid import SpatialGrid, auto_cell_size

log = logging.getLogger(__name__)

HALL_PREFIX = "Aula"


def hall_name(number: int) -> str:
    return f"{HALL_PREFIX} {number}"


class WireEntity(PresenceEntity):
    """A published entity state that carries its own JSON, built once per publish.

    ``wire`` is a plain excluded field rather than a private attribute because
    pydantic's private-attribute machinery costs more than the whole entity.
    Serialising a snapshot through its declared ``PresenceEntity`` schema drops it.
    """

    wire: str = Field(default="", exclude=True, repr=False)


def _entity_json(ent: PresenceEntity) -> str:
    if isinstance(ent, WireEntity) and ent.wire:
        return ent.wire
    return json.dumps(
        {"id": ent.id, "name": ent.name, "x": ent.x, "y": ent.y, "heading": ent.heading, "ts": ent.ts},
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _entities_json(ents: list[PresenceEntity]) -> str:
    # getattr with a default reads WireEntity.wire straight from the instance dict; a plain
    # PresenceEntity (e.g. from a merge in a test) falls back to json.dumps.
    return ",".join([getattr(e, "wire", "") or _entity_json(e) for e in ents])


def encode_snapshot(snap: PresenceSnapshot) -> str:
    """Compact JSON for one snapshot; parses back (``protocol.messages.parse_server``) to an equal model."""
    head = f'{{"type":"presence.snapshot","tick":{snap.tick},"hall":{json.dumps(snap.hall, ensure_ascii=False)}'
    parts = [head]
    if snap.full:
        parts.append(',"full":true')
    if snap.entered:
        parts.append(f',"entered":[{_entities_json(snap.entered)}]')
    if snap.changed:
        parts.append(f',"changed":[{_entities_json(snap.changed)}]')
    if snap.left:
        parts.append(',"left":' + json.dumps(snap.left, ensure_ascii=False, separators=(",", ":")))
    parts.append("}")
    return "".join(parts)


def _trusted_factory(cls: type[Any], sample: dict[str, Any]) -> Callable[..., Any]:
    """A constructor that skips validation for values the engine built itself.

    Validation is ~70 % of a tick's pydantic cost and the engine only ever passes
    ints, strs, rounded floats and lists of its own entities. The shortcut fills
    the same four slots as ``model_construct`` (which is slower: it walks every
    field in Python). It is checked against a validated instance once at import,
    and the validated constructor is used instead if pydantic ever changes.
    """
    # One key per field in schema order: pydantic serialises in __dict__ order, and updating
    # existing keys keeps their position.
    template = {name: f.default for name, f in cls.model_fields.items()}
    factories = {name: f.default_factory for name, f in cls.model_fields.items() if f.default_factory is not None}
    new = object.__new__
    set_attr = object.__setattr__

    def build(**values: Any) -> Any:
        obj = new(cls)
        data = dict(template)
        data.update(values)
        for name, factory in factories.items():
            if name not in values:
                data[name] = factory()  # type: ignore[call-arg]
        set_attr(obj, "__dict__", data)
        set_attr(obj, "__pydantic_fields_set__", set(values))
        set_attr(obj, "__pydantic_extra__", None)
        set_attr(obj, "__pydantic_private__", None)
        return obj

    try:
        fast, slow = build(**sample), cls(**sample)
        if fast == slow and fast.model_dump() == slow.model_dump() and fast.model_dump_json() == slow.model_dump_json():
            return build
    except Exception:  # any surprise from pydantic internals: fall back to validation
        log.exception("presence: trusted constructor disabled for %s", cls.__name__)
    return cls


_new_entity = _trusted_factory(
    WireEntity, {"id": "a", "name": "A", "x": 1.25, "y": -2.5, "heading": 90.0, "ts": 3.5, "wire": "{}"}
)
_new_snapshot = _trusted_factory(
    PresenceSnapshot,
    {"tick": 1, "hall": "Aula 1", "entered": [_new_entity(id="b", name="B", x=0.0, y=0.0, heading=0.0, ts=0.0)]},
)


class MoveResult(NamedTuple):
    """The accepted position; ``clamped`` tells the hub the client's own view is now wrong."""

    x: float
    y: float
    heading: float
    clamped: bool


class LocalState(NamedTuple):
    """What this node publishes about its own visitors (for the multi-node bridge)."""

    id: str
    name: str
    x: float
    y: float
    heading: float
    ts: float
    hall: str


@dataclass(slots=True, eq=False)
class _Entity:
    id: str
    name: str
    x: float
    y: float
    heading: float
    hall: str
    ts: float = 0.0
    node: str | None = None  # None = local, else the node that owns it
    seen_at: float = 0.0  # remote: last refresh
    move_at: float | None = None  # local: time of the last accepted move
    budget: float = 0.0  # local: metres it may still move right now
    published: WireEntity | None = None
    json_head: str = ""  # '{"id":...,"name":...,' cached until renamed


@dataclass(slots=True, eq=False)
class _Viewer:
    interest: set[str] = field(default_factory=set)
    needs_full: bool = True


class PresenceEngine:
    """All presence state of one server node; see the module docstring for the wire rules."""

    def __init__(
        self,
        *,
        area: WalkableArea | None = None,
        capacity: int = 1000,
        k: int = 40,
        radius: float = 15.0,
        max_speed: float = 6.0,
        burst_seconds: float = 0.5,
        eps_pos: float = 0.02,
        eps_heading: float = 0.5,
        keep_extra_k: int = 0,
        keep_extra_m: float = 0.0,
    ) -> None:
        if capacity < 1 or k < 1 or radius <= 0 or max_speed <= 0 or burst_seconds < 0:
            raise ValueError("capacity, k, radius and max_speed must be positive")
        if keep_extra_k < 0 or keep_extra_m < 0:
            raise ValueError("hysteresis must not be negative")
        # Hysteresis (off by default, which keeps "exactly the nearest K within R"): someone
        # enters a view as one of the nearest ``k`` within ``radius`` but only leaves once
        # outside the nearest ``k + keep_extra_k`` within ``radius + keep_extra_m``, so
        # avatars at the edge of a crowd do not pop in and out every tick.
        self.keep_extra_k = keep_extra_k
        self.keep_extra_m = keep_extra_m
        self.area = area or WalkableArea.default()
        self.capacity = capacity
        self.k = k
        self.radius = radius
        self.max_speed = max_speed
        # The "small allowance": a client may bank up to this many metres of unused movement,
        # which absorbs network jitter but caps any single jump.
        self.max_budget = max_speed * burst_seconds
        self.eps_pos = eps_pos
        self.eps_heading = eps_heading
        self.tick_no = 0
        self._ents: dict[str, _Entity] = {}
        self._viewers: dict[str, _Viewer] = {}
        self._hall_count: dict[str, int] = {}
        self._force: set[str] = set()  # ids that must be re-published (joined, renamed, teleported)

    # ------------------------------------------------------------------ halls

    def _assign_hall(self) -> str:
        number = 1
        while self._hall_count.get(hall_name(number), 0) >= self.capacity:
            number += 1
        return hall_name(number)

    def _occupy(self, hall: str, delta: int) -> None:
        left = self._hall_count.get(hall, 0) + delta
        if left > 0:
            self._hall_count[hall] = left
        else:
            self._hall_count.pop(hall, None)

    def hall_of(self, entity_id: str) -> str | None:
        ent = self._ents.get(entity_id)
        return ent.hall if ent is not None else None

    def hall_for(self, entity_id: str) -> str:
        """The hall a (possibly not yet joined) visitor is or would be in; for the welcome frame."""
        return self.hall_of(entity_id) or self._assign_hall()

    def occupancy(self) -> dict[str, int]:
        return dict(self._hall_count)

    def __len__(self) -> int:
        return len(self._ents)

    def __contains__(self, entity_id: object) -> bool:
        return entity_id in self._ents

    # ------------------------------------------------------------------ local visitors

    @staticmethod
    def _finite(*values: float) -> bool:
        """All real and finite. One C-level sum: inf/nan propagate, a non-number raises."""
        try:
            return math.isfinite(sum(values, 0.0))
        except TypeError:
            return False

    def join(
        self, entity_id: str, name: str, x: float, y: float, heading: float = 0.0, *, now: float | None = None
    ) -> str:
        """Place a local visitor (clamped into the walkable area); returns its hall. Re-joining keeps the hall."""
        if not self._finite(x, y, heading):
            x, y, heading = 0.0, 0.0, 0.0
        x, y = self.area.clamp(float(x), float(y))
        ent = self._ents.get(entity_id)
        if ent is not None and ent.node is not None:
            self._remove(entity_id)  # the visitor moved to this node: the local copy wins
            ent = None
        if ent is None:
            hall = self._assign_hall()
            ent = _Entity(entity_id, name, x, y, float(heading) % 360.0, hall)
            self._ents[entity_id] = ent
            self._occupy(hall, 1)
        else:
            ent.name, ent.x, ent.y, ent.heading = name, x, y, float(heading) % 360.0
        ent.move_at = now
        ent.budget = self.max_budget
        self._viewers[entity_id] = _Viewer()
        self._force.add(entity_id)
        return ent.hall

    def move(self, entity_id: str, x: float, y: float, heading: float, ts: float, now: float) -> MoveResult | None:
        """Accept a move as far as speed and walls allow; None for an unknown visitor or a non-finite frame."""
        ent = self._ents.get(entity_id)
        if ent is None or ent.node is not None or not self._finite(x, y, heading, ts, now):
            return None
        if ent.move_at is not None:
            elapsed = max(0.0, now - ent.move_at)
            ent.budget = min(self.max_budget, ent.budget + self.max_speed * elapsed)
        ent.move_at = now if ent.move_at is None else max(ent.move_at, now)
        dx, dy = float(x) - ent.x, float(y) - ent.y
        dist = math.hypot(dx, dy)
        clamped = False
        if dist > ent.budget:
            scale = ent.budget / dist
            nx, ny = ent.x + dx * scale, ent.y + dy * scale
            clamped = True
            ent.budget = 0.0
        else:
            nx, ny = float(x), float(y)
            ent.budget -= dist
        cx, cy = self.area.clamp(nx, ny)
        clamped = clamped or (cx, cy) != (nx, ny)
        ent.x, ent.y, ent.heading, ent.ts = cx, cy, float(heading) % 360.0, float(ts)
        return MoveResult(cx, cy, ent.heading, clamped)

    def leave(self, entity_id: str) -> bool:
        ent = self._ents.get(entity_id)
        if ent is None or ent.node is not None:
            return False
        self._remove(entity_id)
        return True

    def _remove(self, entity_id: str) -> None:
        ent = self._ents.pop(entity_id, None)
        if ent is not None:
            self._occupy(ent.hall, -1)
        self._viewers.pop(entity_id, None)
        self._force.discard(entity_id)

    def local_states(self) -> list[LocalState]:
        return [
            LocalState(e.id, e.name, e.x, e.y, e.heading, e.ts, e.hall) for e in self._ents.values() if e.node is None
        ]

    # ------------------------------------------------------------------ remote visitors (other nodes)

    def upsert_remote(
        self,
        node_id: str,
        entity_id: str,
        name: str,
        x: float,
        y: float,
        heading: float,
        ts: float,
        now: float,
        *,
        hall: str | None = None,
    ) -> bool:
        """Mirror a visitor owned by another node; ignored if it is (also) local here. The owner validated speed."""
        if not self._finite(x, y, heading, ts, now):
            return False
        ent = self._ents.get(entity_id)
        if ent is not None and ent.node is None:
            return False
        x, y = self.area.clamp(float(x), float(y))
        if ent is None:
            target = hall or self._assign_hall()
            ent = _Entity(entity_id, name, x, y, float(heading) % 360.0, target, node=node_id)
            self._ents[entity_id] = ent
            self._occupy(target, 1)
            self._force.add(entity_id)
        else:
            if hall is not None and hall != ent.hall:
                self._occupy(ent.hall, -1)
                self._occupy(hall, 1)
                ent.hall = hall
                self._force.add(entity_id)
            if name != ent.name:
                self._force.add(entity_id)
            ent.node, ent.name, ent.x, ent.y, ent.heading = node_id, name, x, y, float(heading) % 360.0
        ent.ts = float(ts)
        ent.seen_at = now
        return True

    def remove_remote(self, entity_id: str) -> bool:
        ent = self._ents.get(entity_id)
        if ent is None or ent.node is None:
            return False
        self._remove(entity_id)
        return True

    def expire_remote(self, now: float, ttl: float = 3.0) -> list[str]:
        """Drop remote visitors not refreshed within ``ttl`` seconds (their node is presumed dead)."""
        dead = [e.id for e in self._ents.values() if e.node is not None and now - e.seen_at > ttl]
        for entity_id in dead:
            self._remove(entity_id)
        return dead

    def drop_node(self, node_id: str) -> list[str]:
        gone = [e.id for e in self._ents.values() if e.node == node_id]
        for entity_id in gone:
            self._remove(entity_id)
        return gone

    # ------------------------------------------------------------------ tick

    def _publish(self, ent: _Entity) -> WireEntity:
        x, y, heading, ts = round(ent.x, 2), round(ent.y, 2), round(ent.heading, 1), round(ent.ts, 3)
        if not ent.json_head or ent.id in self._force:
            ent.json_head = (
                f'{{"id":{json.dumps(ent.id, ensure_ascii=False)},"name":{json.dumps(ent.name, ensure_ascii=False)},'
            )
        wire = f'{ent.json_head}"x":{x!r},"y":{y!r},"heading":{heading!r},"ts":{ts!r}}}'
        pub: WireEntity = _new_entity(id=ent.id, name=ent.name, x=x, y=y, heading=heading, ts=ts, wire=wire)
        ent.published = pub
        return pub

    def _refresh_published(self) -> set[str]:
        """Re-publish entities that moved beyond epsilon; returns their ids."""
        dirty: set[str] = set()
        eps, eps_h, force = self.eps_pos, self.eps_heading, self._force
        for ent in self._ents.values():
            pub = ent.published
            if pub is not None and ent.id not in force:
                dh = abs(ent.heading - pub.heading)
                if abs(ent.x - pub.x) < eps and abs(ent.y - pub.y) < eps and min(dh, 360.0 - dh) < eps_h:
                    continue
            self._publish(ent)
            dirty.add(ent.id)
        force.clear()
        return dirty

    def interest(self, viewer_id: str) -> set[str]:
        """What ``viewer_id`` was shown at the last tick (for tests and diagnostics)."""
        viewer = self._viewers.get(viewer_id)
        return set(viewer.interest) if viewer is not None else set()

    def tick(self, now: float) -> dict[str, PresenceSnapshot]:
        """One snapshot per local viewer whose view changed (always one, ``full``, right after joining)."""
        self.tick_no += 1
        dirty = self._refresh_published()
        by_hall: dict[str, list[_Entity]] = {}
        for ent in self._ents.values():
            by_hall.setdefault(ent.hall, []).append(ent)
        out: dict[str, PresenceSnapshot] = {}
        for hall, ents in by_hall.items():
            viewer_idx = [i for i, e in enumerate(ents) if e.node is None]
            if not viewer_idx:
                continue
            n = len(ents)
            xy = np.fromiter((c for e in ents for c in (e.x, e.y)), dtype=np.float64, count=2 * n).reshape(n, 2)
            grid = SpatialGrid(xy, auto_cell_size(xy, self.k, self.radius))
            # Index -1 (padding) maps to the trailing None, so whole rows convert to id sets in C.
            names = np.empty(n + 1, dtype=object)
            names[:n] = [e.id for e in ents]
            pub = {e.id: e.published for e in ents}
            if self.keep_extra_k or self.keep_extra_m:
                wide, wide_d2 = grid.knn_d2(viewer_idx, self.k + self.keep_extra_k, self.radius + self.keep_extra_m)
                order = np.argsort(wide_d2, axis=1, kind="stable")
                wide = np.take_along_axis(wide, order, axis=1)
                wide_d2 = np.take_along_axis(wide_d2, order, axis=1)
                core = np.where(wide_d2[:, : self.k] <= self.radius * self.radius, wide[:, : self.k], -1)
                core_rows = names[core].tolist()
                keep_rows = names[wide].tolist()
            else:
                core_rows = names[grid.knn(viewer_idx, self.k, self.radius)].tolist()
                keep_rows = []
            for pos, vi in enumerate(viewer_idx):
                new = set(core_rows[pos])
                new.discard(None)
                vid = ents[vi].id
                viewer = self._viewers[vid]
                if keep_rows and viewer.interest:
                    new |= viewer.interest.intersection(keep_rows[pos])
                snap = self._delta(viewer, new, dirty, hall, pub)
                if snap is not None:
                    out[vid] = snap
        return out

    def _delta(
        self, viewer: _Viewer, new: set[str], dirty: set[str], hall: str, pub: dict[str, WireEntity | None]
    ) -> PresenceSnapshot | None:
        if viewer.needs_full:
            viewer.needs_full = False
            viewer.interest = new
            return _new_snapshot(  # type: ignore[no-any-return]
                tick=self.tick_no, hall=hall, full=True, entered=[pub[i] for i in new], changed=[], left=[]
            )
        prev = viewer.interest
        viewer.interest = new
        if new == prev:
            changed_ids = new & dirty
            if not changed_ids:
                return None
            return _new_snapshot(  # type: ignore[no-any-return]
                tick=self.tick_no, hall=hall, full=False, entered=[], changed=[pub[i] for i in changed_ids], left=[]
            )
        return _new_snapshot(  # type: ignore[no-any-return]
            tick=self.tick_no,
            hall=hall,
            full=False,
            entered=[pub[i] for i in new - prev],
            changed=[pub[i] for i in (new & prev) & dirty],
            left=list(prev - new),
        )


__all__ = ["HALL_PREFIX", "LocalState", "MoveResult", "PresenceEngine", "WireEntity", "encode_snapshot", "hall_name"]
