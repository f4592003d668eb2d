"""Server-authoritative presence: validated positions, hall instances, interest-managed deltas.

Pure and synchronous (no FastAPI, no DB, no clock of its own): the hub calls
``join/move/leave`` as frames arrive and ``tick_wire(now)`` at 10 Hz, then sends
each viewer its one snapshot. Every time argument is the caller's monotonic
clock, which keeps the engine deterministic under test.

Wire choice (documented because the client depends on it): positions are
published in whole centimetres and headings (degrees, Panda3D ``H``) in 256
steps (``protocol.presence.quantize``). ``entered`` carries the whole entity
(id, name, position); ``changed`` carries a compact row ``[id, x_cm, y_cm,
heading_256]``. An entity is re-published only when it moved >= ``eps_pos`` or
turned >= ``eps_heading`` since its last published state. A viewer gets a
re-published entity it already had in view at a rate set by distance
(``rate_bands``: near every tick, farther every 2nd or 4th) and by rank in the
viewer's view (``rank_bands``; the server's default: the nearest 6 every tick, the
next 6 every 2nd, the rest every 4th), whichever is slower; a change it was not sent yet stays
pending until its turn, so its view always converges to the published states.
Every period is a power of two and a pair's turn is staggered by entity slot,
so a pending change goes out within the longest period even while its rank or
distance moves it between bands. With no bands (the default) every change goes
out at once and the view always equals the published states.

Bandwidth (1,000 walkers, 40 in view, 10 Hz): the v1 ``changed`` object was
~95 bytes (id, name, x, y, heading, ts); the row is ~34. Distance rates then
send far walkers 2.5 times a second instead of 10. In a crowd so dense that all
40 in view are within the near band, distance rates save nothing; rank rates
still cap a viewer at 6 + 6/2 + 28/4 = 16 rows a tick instead of 40. Measured on the
bench's crowd, engine alone (``mpp bench presence --in-process --clients 1000``):
distance rates only 13.2 KB/s per visitor; nearest 10/8/6 ranked: 8.7/8.0/7.4 KB/s.

Why the tick is array code: at 1,000 visitors one tick is 1,000 snapshots of
~40 entities. Every entity has a stable integer *slot*; every (viewer, entity)
pair in view is one int64 key ``viewer_slot << 20 | entity_slot``. The keys
of this tick and the last are two sorted arrays, so entered, left and changed
for every viewer at once are array operations (membership by a table of one flag
per possible pair while the slots are few, else binary searches). The
snapshot's JSON (same fields as ``PresenceSnapshot``; empty lists and
``full: false`` omitted) is cut from one string joined over the whole tick's
pieces (each entity's JSON fragment, made once per publish, and the brackets and
commas around them), placed by array arithmetic on the per-viewer counts: the
Python work per viewer is one slice (:meth:`PresenceEngine.tick_frames`). A
viewer's :class:`WireSnapshot` (its fragments, for a send queue that merges it)
is made only when its socket cannot take the text at once.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from protocol.messages import PresenceChange, PresenceEntity, PresenceSnapshot
from protocol.presence import HEADING_STEPS, heading_of, merge_deltas
from server.realtime.presence.area import WalkableArea
from server.realtime.presence.grid import tree_knn_d2

HALL_PREFIX = "Aula"
_SHIFT = 20  # entity slots per viewer slot in a pair key: up to ~1M avatars per node
_MASK = (1 << _SHIFT) - 1
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def hall_name(number: int) -> str:
    return f"{HALL_PREFIX} {number}"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _fragment_model(fragment: str) -> PresenceEntity:
    """The entity a published JSON fragment describes (merges and tests; never per tick)."""
    return PresenceEntity.model_validate_json(fragment)


def _fragment_id(fragment: str) -> str:
    return str(json.loads(fragment)["id"])


def _row_id(fragment: str) -> str:
    return str(json.loads(fragment)[0])


def _row_json(row: PresenceChange) -> str:
    return _dumps(list(row))


def _moved_fragment(fragment: str, row_fragment: str) -> str:
    """An ``entered`` fragment moved by a ``changed`` row (slow-connection merges only)."""
    ent = json.loads(fragment)
    _, xcm, ycm, h = json.loads(row_fragment)
    ent.update(x=xcm / 100, y=ycm / 100, heading=heading_of(h))
    return _dumps(ent)


def _entity_json(ent: PresenceEntity) -> str:
    return _dumps({"id": ent.id, "name": ent.name, "x": ent.x, "y": ent.y, "heading": ent.heading, "ts": ent.ts})


def _encode(tick: int, hall: str, full: bool, entered: list[str], changed: list[str], left: list[str]) -> str:
    """The compact snapshot JSON from ready fragments (``left`` holds JSON strings of ids)."""
    parts = [f'{{"type":"presence.snapshot","tick":{tick},"hall":{_dumps(hall)}']
    if full:
        parts.append(',"full":true')
    if entered:
        parts.append(',"entered":[' + ",".join(entered) + "]")
    if changed:
        parts.append(',"changed":[' + ",".join(changed) + "]")
    if left:
        parts.append(',"left":[' + ",".join(left) + "]")
    parts.append("}")
    return "".join(parts)


class WireSnapshot:
    """A snapshot as the tick makes it: each entity as its published JSON fragment, plus the frame text.

    No pydantic and no per-entity objects on the hot path; ``to_model()`` gives
    the protocol's :class:`PresenceSnapshot` (tests, merges), and ``text``
    parses back to exactly that model.
    """

    __slots__ = ("_text", "changed", "entered", "full", "hall", "left", "tick")

    def __init__(
        self,
        tick: int,
        hall: str,
        full: bool,
        entered: list[str],
        changed: list[str],
        left: list[str],
        text: str | None = None,
    ) -> None:
        self.tick, self.hall, self.full = tick, hall, full
        self.entered, self.changed, self.left = entered, changed, left  # fragments, fragments, ids
        self._text = text

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = _encode(
                self.tick, self.hall, self.full, self.entered, self.changed, [_dumps(i) for i in self.left]
            )
        return self._text

    def to_model(self) -> PresenceSnapshot:
        return PresenceSnapshot(
            tick=self.tick,
            hall=self.hall,
            full=self.full,
            entered=[_fragment_model(f) for f in self.entered],
            changed=[tuple(json.loads(f)) for f in self.changed],
            left=list(self.left),
        )

    def __repr__(self) -> str:
        return f"WireSnapshot(tick={self.tick}, hall={self.hall!r}, full={self.full}, text={self.text!r})"


def merge_wire(older: WireSnapshot, newer: WireSnapshot) -> WireSnapshot:
    """``protocol.presence.merge_snapshots`` for wire snapshots (same law; tested against it).

    Only a slow connection merges, so parsing each fragment's id here costs nothing per tick.
    """
    if newer.full:
        return newer
    if older.full:
        view = {_fragment_id(f): f for f in older.entered}
        for snap in (older, newer):
            if snap is newer:
                for gone in newer.left:
                    view.pop(gone, None)
                for f in newer.entered:
                    view[_fragment_id(f)] = f
            for f in snap.changed:
                key = _row_id(f)
                if key in view:
                    view[key] = _moved_fragment(view[key], f)
        return WireSnapshot(newer.tick, newer.hall, True, list(view.values()), [], [])
    entered, changed, left = merge_deltas(
        (older.entered, older.changed, older.left),
        (newer.entered, newer.changed, newer.left),
        _fragment_id,
        _row_id,
        _moved_fragment,
    )
    return WireSnapshot(newer.tick, newer.hall, False, entered, changed, left)


_ENTERED = '{}"x":{!r},"y":{!r},"heading":{!r},"ts":{!r}}}'  # after '{"id":...,"name":...,'
_OPEN_ENTERED, _OPEN_CHANGED, _OPEN_LEFT, _FULL = ',"entered":[', ',"changed":[', ',"left":[', ',"full":true'


class WireTick:
    """One tick's snapshots as :meth:`PresenceEngine.tick_frames` makes them: a frame text per viewer.

    ``ids[i]`` gets ``texts[i]``; :meth:`snapshot` gives that viewer's :class:`WireSnapshot`
    (its fragments, for a send queue that merges it), built only when asked: the tick's
    1,000 snapshots usually go straight to their sockets as text.
    """

    __slots__ = ("_bounds", "_changed", "_entered", "_fulls", "_halls", "_left", "ids", "texts", "tick")
    EMPTY: WireTick

    def __init__(
        self,
        tick: int,
        ids: list[str],
        texts: list[str],
        halls: list[str],
        fulls: list[bool],
        bounds: list[list[int]],
        entered: list[str],
        changed: npt.NDArray[np.object_],
        left: npt.NDArray[np.object_],
    ) -> None:
        self.tick, self.ids, self.texts = tick, ids, texts
        self._halls, self._fulls, self._bounds = halls, fulls, bounds
        self._entered, self._changed, self._left = entered, changed, left

    def __len__(self) -> int:
        return len(self.ids)

    def snapshot(self, i: int) -> WireSnapshot:
        """The ``i``-th viewer's snapshot; its text is ``texts[i]``."""
        e_lo, c_lo, l_lo, e_hi, c_hi, l_hi = (b[i] for b in self._bounds)
        return WireSnapshot(
            self.tick,
            self._halls[i],
            self._fulls[i],
            self._entered[e_lo:e_hi],
            self._changed[c_lo:c_hi].tolist(),
            self._left[l_lo:l_hi].tolist(),
            self.texts[i],
        )


WireTick.EMPTY = WireTick(0, [], [], [], [], [[]] * 6, [], np.empty(0, dtype=object), np.empty(0, dtype=object))


def encode_snapshot(snap: PresenceSnapshot | WireSnapshot) -> str:
    """Compact JSON for one snapshot; parses back (``protocol.messages.parse_server``) to an equal model."""
    if isinstance(snap, WireSnapshot):
        return snap.text
    return _encode(
        snap.tick,
        snap.hall,
        snap.full,
        [_entity_json(e) for e in snap.entered],
        [_row_json(r) for r in snap.changed],
        [_dumps(i) for i in snap.left],
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
    slot: int
    ts: float = 0.0
    node: str | None = None  # None = local, else the node that owns it
    seen_at: float = 0.0  # remote: last refresh
    move_at: float | None = None  # local: time of the last accepted move
    budget: float = 0.0  # local: metres it may still move right now
    json_head: str = ""  # '{"id":...,"name":...,' cached until renamed ("" after a forced publish: rebuild)
    needs_full: bool = False  # local viewer: next snapshot is a full one


class _Interest(NamedTuple):
    structure: int  # PresenceEngine._structure when computed: stale once anyone joined, left or changed hall
    core: IntArray
    wide: IntArray
    viewers: list[_Entity]
    halls: list[str]
    rank_d2: FloatArray  # by viewer slot: squared distance of its n-th nearest, one column per rank band
    vslots: IntArray  # the viewers' slots, in ``viewers`` order


def _check_bands(name: str, bands: tuple[tuple[float, int], ...]) -> None:
    """Increasing bounds and power-of-two periods (so any mix of bands still sends within the longest)."""
    if (
        any(bound <= 0 or n < 1 or n & (n - 1) for bound, n in bands)
        or list(bands) != sorted(bands)
        or len({b for b, _ in bands}) != len(bands)
    ):
        raise ValueError(f"{name}: increasing (bound > 0, every n ticks, n a power of two)")


_TABLE_MAX = 1 << 22  # pair tables up to 4 MB (2,048 slots): above that, binary search


def _in_sorted(values: IntArray, sorted_ref: IntArray, slots: int = 0) -> npt.NDArray[np.bool_]:
    """For each pair key, whether it occurs in the sorted array ``sorted_ref``.

    With ``slots`` (every viewer and entity slot in the keys is below it) and a table of
    ``slots**2`` flags within ``_TABLE_MAX``: one scatter and one gather over a flag per
    possible pair, ~5x faster than a binary search per value on 40,000 pairs (0.16 vs
    0.8 ms), and the tick asks this three times. Else one binary search each.
    """
    if len(sorted_ref) == 0:
        return np.zeros(len(values), dtype=bool)
    if 0 < slots and slots * slots <= _TABLE_MAX:
        table = np.zeros(slots * slots, dtype=bool)
        table[(sorted_ref >> _SHIFT) * slots + (sorted_ref & _MASK)] = True
        return np.asarray(table.take((values >> _SHIFT) * slots + (values & _MASK)))
    pos = np.searchsorted(sorted_ref, values)
    np.minimum(pos, len(sorted_ref) - 1, out=pos)
    return np.asarray(sorted_ref.take(pos) == values)  # take: several times faster than fancy indexing


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
        rate_bands: tuple[tuple[float, int], ...] = (),
        rank_bands: tuple[tuple[int, int], ...] = (),
        interest_every: int = 1,
    ) -> None:
        if capacity < 1 or k < 1 or radius <= 0 or max_speed <= 0 or burst_seconds < 0:
            raise ValueError("capacity, k, radius and max_speed must be positive")
        if keep_extra_k < 0 or keep_extra_m < 0:
            raise ValueError("hysteresis must not be negative")
        if interest_every < 1:
            raise ValueError("interest_every must be at least 1")
        # :meth:`prepare` chooses the nearest K afresh every ``interest_every`` calls and hands the
        # tick the last choice in between (a join, leave or hall change always chooses afresh).
        self.interest_every = interest_every
        self._chosen: _Interest | None = None
        self._chosen_uses = 0
        # Hysteresis (off by default, which keeps "exactly the nearest K within R"): someone
        # enters a view as one of the nearest ``k`` within ``radius`` but only leaves once
        # outside the nearest ``k + keep_extra_k`` within ``radius + keep_extra_m``, so
        # avatars at the edge of a crowd do not pop in and out every tick.
        self.keep_extra_k = keep_extra_k
        self.keep_extra_m = keep_extra_m
        # Distance rates: ((metres, every_n_ticks), ...) by increasing distance; beyond the last
        # band, every ``2 * last`` ticks. () sends every change at once.
        _check_bands("rate_bands", rate_bands)
        self.rate_bands = rate_bands
        # Rank rates: ((n nearest, every_n_ticks), ...): the nearest n in a viewer's view (by
        # distance, ties alike) go at that rate; beyond the last, every ``2 * last`` ticks. A pair
        # goes at the slower of its distance and rank rates, so a dense crowd costs no more than
        # a spread one. () ranks nobody.
        _check_bands("rank_bands", tuple((float(r), n) for r, n in rank_bands))
        self.rank_bands = rank_bands
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
        self._hall_count: dict[str, int] = {}
        self._force: set[str] = set()  # ids that must be re-published (joined, renamed, teleported)
        # Slots: a freed slot waits one tick before reuse, so this tick's "left" still names its
        # old owner; the same id coming back within that tick gets its old slot again.
        self._free: list[int] = []
        self._released: dict[str, int] = {}
        self._next_slot = 0
        self._ids: npt.NDArray[np.object_] = np.empty(64, dtype=object)
        self._id_json: npt.NDArray[np.object_] = np.empty(64, dtype=object)
        self._wires: npt.NDArray[np.object_] = np.empty(64, dtype=object)  # entered fragments
        self._rows: npt.NDArray[np.object_] = np.empty(64, dtype=object)  # changed rows
        self._xy: npt.NDArray[np.float64] = np.zeros((64, 2))  # positions by slot, for distance rates
        self._row_len: IntArray = np.zeros(64, dtype=np.int64)  # len() of each slot's changed row
        # last published x, y, heading (nan: never published) and the raw ts then, by slot
        self._pub: FloatArray = np.full((64, 4), np.nan)
        self._id_len: IntArray = np.zeros(64, dtype=np.int64)  # len() of each slot's id as JSON
        self._keys: IntArray = np.zeros(0, dtype=np.int64)  # pairs in view after the last tick, sorted
        self._pending: IntArray = np.zeros(0, dtype=np.int64)  # pairs with a change not sent yet, sorted
        self._structure = 0  # bumped by every join, leave and hall change (voids a prepared interest)
        self._prepared: _Interest | None = None

    # ------------------------------------------------------------------ slots

    def _take_slot(self, entity_id: str) -> int:
        slot = self._released.pop(entity_id, None)
        if slot is None:
            if self._free:
                slot = self._free.pop()
            else:
                slot = self._next_slot
                self._next_slot += 1
                if slot > _MASK:
                    raise RuntimeError("presence: too many avatars on one node")
                if slot >= len(self._ids):
                    grow = len(self._ids)
                    for name in ("_ids", "_id_json", "_wires", "_rows"):
                        old = getattr(self, name)
                        setattr(self, name, np.concatenate([old, np.empty(grow, dtype=object)]))
                    self._xy = np.concatenate([self._xy, np.zeros((grow, 2))])
                    self._row_len = np.concatenate([self._row_len, np.zeros(grow, dtype=np.int64)])
                    self._pub = np.concatenate([self._pub, np.full((grow, 4), np.nan)])
                    self._id_len = np.concatenate([self._id_len, np.zeros(grow, dtype=np.int64)])
        self._ids[slot] = entity_id
        self._pub[slot] = np.nan  # a reused slot: never published (its entity is forced anyway)
        self._id_json[slot] = id_json = _dumps(entity_id)
        self._id_len[slot] = len(id_json)
        return slot

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
        self._structure += 1
        ent = self._ents.get(entity_id)
        if ent is not None and ent.node is not None:
            self._remove(entity_id)  # the visitor moved to this node: the local copy wins
            ent = None
        if ent is None:
            hall = self._assign_hall()
            ent = _Entity(entity_id, name, x, y, float(heading) % 360.0, hall, self._take_slot(entity_id))
            self._ents[entity_id] = ent
            self._occupy(hall, 1)
        else:
            ent.name, ent.x, ent.y, ent.heading = name, x, y, float(heading) % 360.0
        ent.move_at = now
        ent.budget = self.max_budget
        ent.needs_full = True
        self._force.add(entity_id)
        return ent.hall

    def move(self, entity_id: str, x: float, y: float, heading: float, ts: float, now: float) -> MoveResult | None:
        """Accept a move as far as speed and walls allow; None for an unknown visitor or a non-finite frame."""
        ent = self._ents.get(entity_id)
        if ent is None or ent.node is not None:
            return None
        try:  # _finite, inlined (10,000 moves a second): the same sum, from 0.0, left to right
            if not math.isfinite(0.0 + x + y + heading + ts + now):
                return None
        except TypeError:
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
        box = self.area._single  # WalkableArea.clamp's one-rectangle case, inlined
        if box is not None:
            cx, cy = min(max(nx, box[0]), box[2]), min(max(ny, box[1]), box[3])
        else:
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
        self._structure += 1
        ent = self._ents.pop(entity_id, None)
        if ent is not None:
            self._occupy(ent.hall, -1)
            self._released[entity_id] = ent.slot
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
            ent = _Entity(
                entity_id, name, x, y, float(heading) % 360.0, target, self._take_slot(entity_id), node=node_id
            )
            self._ents[entity_id] = ent
            self._occupy(target, 1)
            self._force.add(entity_id)
            self._structure += 1
        else:
            if hall is not None and hall != ent.hall:
                self._structure += 1
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

    def _refresh_published(self) -> npt.NDArray[np.bool_]:
        """Re-publish entities that moved beyond epsilon; returns a dirty flag per slot.

        Array code except for reading the entities and formatting the rows: the epsilon
        test, quantising (``protocol.presence.quantize`` and ``heading_of``: ``np.rint`` rounds
        half to even like ``round``, ``np.mod`` is Python's ``%`` for floats) and the
        published state, kept by slot in ``_pub``. Positions are inside the walkable area
        (moves and remote states are clamped to it), so centimetres fit an int64. Per entity
        only the ``changed`` row is built here (every walker is dirty every tick); its
        ``entered`` fragment is built when a viewer first needs it (:meth:`_entered_wires`),
        which is a few hundred entities a tick, not all of them.
        """
        dirty = np.zeros(len(self._ids), dtype=bool)
        force = self._force
        n = len(self._ents)
        if not n:
            force.clear()
            return dirty
        ents = self._ents.values()
        state = np.fromiter((v for e in ents for v in (e.x, e.y, e.heading, e.ts)), np.float64, 4 * n).reshape(n, 4)
        slots = np.fromiter((e.slot for e in ents), np.int64, n)
        self._xy[slots] = state[:, :2]
        pub = self._pub.take(slots, axis=0)
        eps, eps_h = self.eps_pos, self.eps_heading
        dh = np.abs(state[:, 2] - pub[:, 2])
        # nan (never published) fails every comparison, so it publishes
        quiet = np.abs(state[:, 0] - pub[:, 0]) < eps
        quiet &= np.abs(state[:, 1] - pub[:, 1]) < eps
        quiet &= np.minimum(dh, 360.0 - dh) < eps_h
        if force:
            forced = []
            for entity_id in force:
                ent = self._ents.get(entity_id)
                if ent is not None:
                    ent.json_head = ""
                    forced.append(ent.slot)
            force.clear()
            quiet &= ~np.isin(slots, forced)
        moved = np.flatnonzero(~quiet)
        if not len(moved):
            return dirty
        slots = slots.take(moved)
        state = state.take(moved, axis=0)
        steps = HEADING_STEPS
        xcm = np.rint(state[:, 0] * 100) + 0.0  # + 0.0: round() gives int 0 where rint gives -0.0 (then "x":-0.0)
        ycm = np.rint(state[:, 1] * 100) + 0.0
        h = np.rint(np.mod(state[:, 2], 360.0) * steps / 360.0) % steps
        self._pub[slots] = np.stack((xcm / 100, ycm / 100, h * 360.0 / steps, state[:, 3]), axis=1)
        self._wires[slots] = None
        rows = list(
            map(
                "[{},{},{},{}]".format,
                self._id_json.take(slots).tolist(),
                xcm.astype(np.int64).tolist(),
                ycm.astype(np.int64).tolist(),
                h.astype(np.int64).tolist(),
            )
        )
        self._rows[slots] = rows
        self._row_len[slots] = np.fromiter(map(len, rows), np.int64, len(rows))
        dirty[slots] = True
        return dirty

    def published(self, entity_id: str) -> tuple[float, float, float] | None:
        """The position and heading last published for this visitor (None: unknown, or never published)."""
        ent = self._ents.get(entity_id)
        if ent is None or math.isnan(self._pub[ent.slot, 0]):
            return None
        x, y, heading, _ = self._pub[ent.slot].tolist()
        return x, y, heading

    def _entered_wires(self, slots: IntArray) -> list[str]:
        """The ``entered`` fragments of these slots, as last published (built on first use after a publish).

        The ones to build are formatted in one ``map`` over their published state (a few hundred
        a tick: walkers publish every tick, so a fragment lasts one tick).
        """
        wires = self._wires
        out: list[str] = wires.take(slots).tolist()
        if None not in out:
            return out
        build = np.unique(slots[wires.take(slots) == None])  # noqa: E711 - elementwise on an object array
        heads = []
        for slot in build.tolist():
            ent = self._ents[self._ids[slot]]
            if not ent.json_head:
                ent.json_head = f'{{"id":{_dumps(ent.id)},"name":{_dumps(ent.name)},'
            heads.append(ent.json_head)
        pub = self._pub.take(build, axis=0)
        wires[build] = list(
            map(
                _ENTERED.format,
                heads,
                pub[:, 0].tolist(),
                pub[:, 1].tolist(),
                pub[:, 2].tolist(),
                map(round, pub[:, 3].tolist(), itertools.repeat(3)),
            )
        )
        return list(wires.take(slots).tolist())

    def interest(self, viewer_id: str) -> set[str]:
        """What ``viewer_id`` was shown at the last tick (for tests and diagnostics)."""
        ent = self._ents.get(viewer_id)
        if ent is None or ent.node is not None:
            return set()
        lo, hi = np.searchsorted(self._keys, [ent.slot << _SHIFT, (ent.slot + 1) << _SHIFT])
        return set(self._ids[self._keys[lo:hi] & _MASK].tolist())

    def _hall_keys(self, ents: list[_Entity], viewer_idx: list[int]) -> tuple[IntArray, IntArray, IntArray, FloatArray]:
        """This hall's (viewer, entity) pairs: the nearest K within R, and the wider hysteresis ring.

        Also each viewer's slot and, per rank band, the squared distance of its n-th nearest
        in view (inf when fewer are in view), for :meth:`_due`.
        """
        n = len(ents)
        xy = np.fromiter((c for e in ents for c in (e.x, e.y)), dtype=np.float64, count=2 * n).reshape(n, 2)
        slots = np.fromiter((e.slot for e in ents), dtype=np.int64, count=n)
        slots_pad = np.append(slots, -1)  # index -1 (no neighbour) maps to slot -1
        vslot = slots[viewer_idx]
        viewer_idx = [viewer_idx[i] for i in np.argsort(vslot).tolist()]  # keys come out sorted by viewer
        vshift = (slots[viewer_idx] << _SHIFT)[:, None]
        wide_keys = np.zeros(0, dtype=np.int64)
        if self.keep_extra_k or self.keep_extra_m:
            wide, wide_d2 = tree_knn_d2(xy, viewer_idx, self.k + self.keep_extra_k, self.radius + self.keep_extra_m)
            order = np.argsort(wide_d2, axis=1, kind="stable")
            wide = np.take_along_axis(wide, order, axis=1)
            wide_d2 = np.take_along_axis(wide_d2, order, axis=1)
            inside = wide_d2[:, : self.k] <= self.radius * self.radius
            core = np.where(inside, wide[:, : self.k], -1)
            core_d2 = np.where(inside, wide_d2[:, : self.k], np.inf)
            wslots = np.sort(slots_pad[wide], axis=1)
            wide_keys = (vshift | wslots)[wslots >= 0]
        else:
            core, core_d2 = tree_knn_d2(xy, viewer_idx, self.k, self.radius)
        # Sorting each viewer's row (K entries) is enough: rows are already in viewer-slot order.
        cslots = np.sort(slots_pad[core], axis=1)
        rank_d2 = np.full((len(viewer_idx), len(self.rank_bands)), np.inf)
        nth = [n - 1 for n, _ in self.rank_bands]
        cols = [j for j, i in enumerate(nth) if i < core_d2.shape[1]]
        if cols:
            # a full sort of K=40 per row is cheaper in numpy than a partition at two points (~0.1 vs 0.6 ms)
            rank_d2[:, cols] = np.sort(core_d2, axis=1)[:, [nth[j] for j in cols]]
        return (vshift | cslots)[cslots >= 0], wide_keys, vshift[:, 0] >> _SHIFT, rank_d2

    def _due(self, changed: IntArray, rank_d2: FloatArray) -> IntArray:
        """The changed pairs whose turn it is by distance and rank; the rest wait in ``_pending``.

        ``np.take`` rather than fancy indexing throughout: on 40,000 pairs it is ~10x faster
        for the (n, 2) position rows (0.07 vs 0.75 ms), and this runs every tick.
        """
        xy = self._xy
        viewer = changed >> _SHIFT
        entity = changed & _MASK
        d = np.take(xy, viewer, axis=0)
        d -= np.take(xy, entity, axis=0)
        dist2 = np.einsum("ij,ij->i", d, d)
        every = np.ones(len(changed), dtype=np.int64)
        if self.rate_bands:
            every[:] = 2 * self.rate_bands[-1][1]
            for metres, n in reversed(self.rate_bands):
                every[dist2 < metres * metres] = n
        if self.rank_bands:
            by_rank = np.full(len(changed), 2 * self.rank_bands[-1][1], dtype=np.int64)
            for j in range(len(self.rank_bands) - 1, -1, -1):
                by_rank[dist2 <= np.ascontiguousarray(rank_d2[:, j]).take(viewer)] = self.rank_bands[j][1]
            np.maximum(every, by_rank, out=every)
        # staggered by entity slot, so a far crowd is spread over the ticks, not sent in one;
        # every period is a power of two (_check_bands), so "% every == 0" is a mask test
        entity += self.tick_no
        entity &= every - 1
        due = np.flatnonzero(entity == 0)
        self._pending = np.delete(changed, due)
        return changed.take(due)

    def tick(self, now: float) -> dict[str, PresenceSnapshot]:
        """:meth:`tick_wire` as protocol models (tests and tools; the server sends the wire form)."""
        return {vid: snap.to_model() for vid, snap in self.tick_wire(now).items()}

    def _interest(self) -> _Interest:
        """Every local viewer's nearest K within R (and the hysteresis ring), as sorted pair keys."""
        by_hall: dict[str, list[_Entity]] = {}
        for ent in self._ents.values():
            by_hall.setdefault(ent.hall, []).append(ent)
        core_parts: list[IntArray] = []
        wide_parts: list[IntArray] = []
        viewers: list[_Entity] = []
        rank_d2 = np.full((len(self._ids) if self.rank_bands else 0, len(self.rank_bands)), np.inf)
        for ents in by_hall.values():
            viewer_idx = [i for i, e in enumerate(ents) if e.node is None]
            if not viewer_idx:
                continue
            viewers.extend(ents[i] for i in viewer_idx)
            core, wide, vslots, cuts = self._hall_keys(ents, viewer_idx)
            if self.rank_bands:
                rank_d2[vslots] = cuts
            core_parts.append(core)
            wide_parts.append(wide)
        if len(core_parts) == 1:
            core_keys = core_parts[0]  # one hall: already sorted
        else:
            core_keys = np.sort(np.concatenate(core_parts)) if core_parts else np.zeros(0, dtype=np.int64)
        wide_keys = np.sort(np.concatenate(wide_parts)) if wide_parts else np.zeros(0, dtype=np.int64)
        vslots = np.fromiter((v.slot for v in viewers), dtype=np.int64, count=len(viewers))
        return _Interest(self._structure, core_keys, wide_keys, viewers, list(by_hall), rank_d2, vslots)

    def prepare(self) -> None:
        """Choose everyone's area of interest now, ahead of the tick, from the current positions.

        The interest query is most of a tick's cost, and every millisecond of it is
        latency for every visitor. The service runs it a few ms before the tick;
        the tick then only publishes the latest positions and builds the deltas.
        Membership is thus decided on positions at most that lead old (centimetres
        at walking speed); the values sent are always the tick's. A join, leave or
        hall change in between voids it, and the tick computes afresh.

        With ``interest_every`` N > 1, only every N-th call chooses afresh; the calls in
        between reuse the last choice, so membership (and the rank cut-offs) may be up
        to N - 1 ticks older still (at 1.4 m/s, 14 cm a tick). The query is ~8 ms of
        every tick at 1,000 visitors; rows, distances and due tests stay per tick.
        """
        chosen = self._chosen
        if chosen is None or chosen.structure != self._structure or self._chosen_uses >= self.interest_every:
            chosen = self._chosen = self._interest()
            self._chosen_uses = 0
        self._chosen_uses += 1
        self._prepared = chosen

    def tick_wire(self, now: float) -> dict[str, WireSnapshot]:
        """One snapshot per local viewer whose view changed (always one, ``full``, right after joining)."""
        frames = self.tick_frames(now)
        return {frames.ids[i]: frames.snapshot(i) for i in range(len(frames.ids))}

    def tick_frames(self, now: float) -> WireTick:
        """:meth:`tick_wire` as one :class:`WireTick`: every frame's text, a viewer's WireSnapshot only on demand."""
        self.tick_no += 1
        dirty = self._refresh_published()
        interest, self._prepared = self._prepared, None
        if interest is None or interest.structure != self._structure:
            interest = self._chosen = self._interest()
            self._chosen_uses = 1
        viewers = interest.viewers
        prev = self._keys
        fresh_viewers = [v for v in viewers if v.needs_full]
        fresh = [v.slot for v in fresh_viewers]
        if fresh and len(prev):
            prev = prev[~np.isin(prev >> _SHIFT, fresh)]  # a (re)joined viewer starts from nothing
        new = interest.core
        if self.keep_extra_k or self.keep_extra_m:
            new = np.union1d(new, prev[_in_sorted(prev, interest.wide)])
        released, self._released = self._released, {}
        self._free.extend(released.values())
        self._keys = new
        if not viewers:
            return WireTick.EMPTY
        slots = len(self._ids)
        was_in = _in_sorted(new, prev, slots)
        entered = new[~was_in]
        changed = new[was_in & (dirty.take(new & _MASK) | _in_sorted(new, self._pending, slots))]
        if self.rate_bands or self.rank_bands:
            changed = self._due(changed, interest.rank_d2)
        left = prev[~_in_sorted(prev, new, slots)]
        for v in fresh_viewers:
            v.needs_full = False
        return self._frames(viewers, interest.vslots, fresh, entered, changed, left, interest.halls)

    def _frames(
        self,
        viewers: list[_Entity],
        vslots: IntArray,
        fresh: list[int],
        entered: IntArray,
        changed: IntArray,
        left: IntArray,
        halls: list[str],
    ) -> WireTick:
        """Every viewer's snapshot text from one join over the tick's fragments, cut per viewer.

        Each viewer's frame is ``head [full] [entered] [changed] [left] }`` where a part is
        ``opener frag , frag , ... ]``. Where each piece goes in one list for all viewers is
        array arithmetic on the per-viewer counts; the pieces' lengths (kept per slot for rows
        and ids) give where each viewer's text starts and ends in the joined string. So the
        Python work per viewer is one slice, not a dozen list slices, joins and concatenations
        (~4 ms of a 1,000-visitor tick before).
        """
        nv = len(viewers)
        # fragments come in key order, viewer slot first: work in that order (None: it is the viewers' own)
        order: IntArray | None = np.argsort(vslots, kind="stable")
        if order is not None and (order[1:] < order[:-1]).any():
            viewers = [viewers[i] for i in order.tolist()]
            vslots = vslots.take(order)
        else:
            order = None
        full = np.isin(vslots, fresh) if fresh else np.zeros(nv, dtype=bool)
        # "left" only for viewers still here, and none in a full snapshot
        keep = _in_sorted(left >> _SHIFT, vslots)
        if fresh:
            keep &= ~np.isin(left >> _SHIFT, fresh)
        left = left[keep]
        tick = self.tick_no
        heads = {hall: f'{{"type":"presence.snapshot","tick":{tick},"hall":{_dumps(hall)}' for hall in halls}
        hall_of = ""
        e_wire = self._entered_wires(entered & _MASK)
        c_wire = self._rows.take(changed & _MASK)
        parts = (
            (entered, np.fromiter(map(len, e_wire), dtype=np.int64, count=len(e_wire)), _OPEN_ENTERED),
            (changed, self._row_len.take(changed & _MASK), _OPEN_CHANGED),
            (left, self._id_len.take(left & _MASK), _OPEN_LEFT),
        )
        lo, hi, count, span = [], [], [], []
        for keys, _, _ in parts:
            owner = keys >> _SHIFT
            a, b = np.searchsorted(owner, vslots), np.searchsorted(owner, vslots, "right")
            lo.append(a)
            hi.append(b)
            count.append(b - a)
            span.append(np.where(b > a, 2 * (b - a) + 1, 0))  # opener, n fragments, n - 1 commas, closer
        active = full | (count[0] > 0) | (count[1] > 0) | (count[2] > 0)
        pieces_of = np.where(active, 2 + full, 0) + span[0] + span[1] + span[2]  # + head, [full,] close
        ends = np.cumsum(pieces_of)
        base = ends - pieces_of
        total = int(ends[-1]) if nv else 0
        pieces = np.full(total, ",", dtype=object)
        sizes = np.ones(total, dtype=np.int64)
        at = base[active]
        if len(heads) == 1:
            (hall_of,) = halls
            (head,) = heads.values()
            pieces[at] = head
            sizes[at] = len(head)
        else:
            vheads = np.array([heads[v.hall] for v in viewers], dtype=object)
            pieces[at] = vheads[active]
            sizes[at] = np.array([len(h) for h in vheads.tolist()], dtype=np.int64)[active]
        at = base[full] + 1
        pieces[at] = _FULL
        sizes[at] = len(_FULL)
        start = base + 1 + full
        for (keys, frag_len, opener), a, n, width, frags in zip(
            parts, lo, count, span, (e_wire, c_wire, None), strict=True
        ):
            has = n > 0
            at = start[has]
            pieces[at] = opener
            sizes[at] = len(opener)
            at = (start + 2 * n)[has]
            pieces[at] = "]"
            if len(keys):
                owner_idx = np.repeat(np.arange(nv), n)
                at = start.take(owner_idx) + 1 + 2 * (np.arange(len(keys)) - a.take(owner_idx))
                if frags is None:
                    frags = self._id_json.take(keys & _MASK)
                pieces[at] = frags
                sizes[at] = frag_len
            start = start + width
        pieces[ends[active] - 1] = "}"
        big = "".join(pieces.tolist())
        offsets = np.concatenate(([0], np.cumsum(sizes)))
        if order is None:
            idx = np.flatnonzero(active)
        else:  # out in the viewers' own order (the position in slot order of each, kept if active)
            inv = np.argsort(order)
            idx = inv[active.take(inv)]
        first, stop = offsets.take(base.take(idx)).tolist(), offsets.take(ends.take(idx)).tolist()
        texts = [big[i:j] for i, j in zip(first, stop, strict=True)]
        return WireTick(
            tick,
            self._ids.take(vslots.take(idx)).tolist(),
            texts,
            [hall_of] * len(idx) if len(heads) == 1 else [viewers[i].hall for i in idx.tolist()],
            full.take(idx).tolist(),
            [x.take(idx).tolist() for x in (*lo, *hi)],
            e_wire,
            c_wire,
            self._ids.take(left & _MASK),
        )


__all__ = [
    "HALL_PREFIX",
    "LocalState",
    "MoveResult",
    "PresenceEngine",
    "WireSnapshot",
    "WireTick",
    "encode_snapshot",
    "hall_name",
    "merge_wire",
]
