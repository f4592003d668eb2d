"""Client-side algebra of presence snapshots, shared by the world and the server.

The world may import only ``protocol``, so the one definition of "what a
snapshot does to the view" lives here; the server's tests and its send queue
(which merges deltas when it drops stale snapshots) use the same functions, so
the server can never encode something the client would rebuild differently.

Rules of :func:`apply_snapshot`, in this order:

1. ``full``: start from an empty view;
2. ``left``: remove those ids (unknown ids are ignored);
3. ``entered``: upsert each entity;
4. ``changed``: move each known entity to its row's position (a row for an
   unknown id is ignored: it has no name to show).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from protocol.messages import PresenceChange, PresenceEntity, PresenceSnapshot

PresenceView = dict[str, PresenceEntity]
E = TypeVar("E")
C = TypeVar("C")
HEADING_STEPS = 256  # one byte of heading: 1.4 degrees, finer than a walking figure shows


def quantize(x: float, y: float, heading: float) -> tuple[int, int, int]:
    """Centimetres and a heading byte: what the wire carries, and so what every view holds."""
    return round(x * 100), round(y * 100), round((heading % 360.0) * HEADING_STEPS / 360.0) % HEADING_STEPS


def heading_of(h: int) -> float:
    return h * 360.0 / HEADING_STEPS


def apply_change(ent: PresenceEntity, row: PresenceChange) -> PresenceEntity:
    """The entity after a compact ``changed`` row (name and everything else kept)."""
    _, xcm, ycm, h = row
    return ent.model_copy(update={"x": xcm / 100, "y": ycm / 100, "heading": heading_of(h)})


def apply_snapshot(state: Mapping[str, PresenceEntity], snapshot: PresenceSnapshot) -> PresenceView:
    """Return the view after ``snapshot``; ``state`` is not modified."""
    view: PresenceView = {} if snapshot.full else dict(state)
    for gone in snapshot.left:
        view.pop(gone, None)
    for ent in snapshot.entered:
        view[ent.id] = ent
    for row in snapshot.changed:
        known = view.get(row[0])
        if known is not None:  # a row carries no name: it can only move someone already shown
            view[row[0]] = apply_change(known, row)
    return view


def merge_snapshots(older: PresenceSnapshot, newer: PresenceSnapshot) -> PresenceSnapshot:
    """One snapshot with the effect of ``older`` then ``newer``.

    For every view ``s``: ``apply(s, merge(a, b)) == apply(apply(s, a), b)``.
    That lets a slow connection drop stale snapshots without the client ever
    missing an ``entered`` or a ``left``.
    """
    if newer.full:
        return newer
    if older.full:
        rebuilt = apply_snapshot(apply_snapshot({}, older), newer)
        return PresenceSnapshot(tick=newer.tick, hall=newer.hall, full=True, entered=list(rebuilt.values()))
    entered, changed, left = merge_deltas(
        (older.entered, older.changed, older.left),
        (newer.entered, newer.changed, newer.left),
        lambda e: e.id,
        lambda r: r[0],
        apply_change,
    )
    return PresenceSnapshot(tick=newer.tick, hall=newer.hall, entered=entered, changed=changed, left=left)


def merge_deltas(
    older: tuple[Sequence[E], Sequence[C], Sequence[str]],
    newer: tuple[Sequence[E], Sequence[C], Sequence[str]],
    entity_id: Callable[[E], str],
    change_id: Callable[[C], str],
    moved: Callable[[E, C], E],
) -> tuple[list[E], list[C], list[str]]:
    """The (entered, changed, left) of two non-full deltas applied in turn, for any entity form.

    Shared with the server, whose send queue merges snapshots it holds as JSON fragments.
    Per id the later delta wins, except that a change only moves: after ``entered`` it
    moves the entered value (so the client still spawns, rather than slides, that avatar),
    and after ``left`` it is void, as it is on the client.
    """
    effect: dict[str, tuple[str, E | C | None]] = {}
    for entered_in, changed_in, left_in in (older, newer):
        for gone in left_in:
            effect[gone] = ("left", None)
        for ent in entered_in:
            effect[entity_id(ent)] = ("entered", ent)
        for row in changed_in:
            key = change_id(row)
            kind, prior = effect.get(key, ("", None))
            if kind == "entered":
                effect[key] = ("entered", moved(prior, row))  # type: ignore[arg-type]
            elif kind != "left":
                effect[key] = ("changed", row)
    entered: list[E] = []
    changed: list[C] = []
    left: list[str] = []
    for key, (kind, value) in effect.items():
        if kind == "left":
            left.append(key)
        elif kind == "entered":
            entered.append(value)  # type: ignore[arg-type]
        else:
            changed.append(value)  # type: ignore[arg-type]
    return entered, changed, left


__all__ = [
    "HEADING_STEPS",
    "PresenceView",
    "apply_change",
    "apply_snapshot",
    "heading_of",
    "merge_deltas",
    "merge_snapshots",
    "quantize",
]
