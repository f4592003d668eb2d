"""Client-side algebra of presence snapshots, shared by the world and the server.

The world may import only ``protocol``, so the one definition of "what a
snapshot does to the view" lives here; the server's tests and its send queue
(which merges deltas when it drops stale snapshots) use the same functions, so
the server can never encode something the client would rebuild differently.

Rules of :func:`apply_snapshot`, in this order:

1. ``full``: start from an empty view;
2. ``left``: remove those ids (unknown ids are ignored);
3. ``entered`` then ``changed``: upsert each entity (``changed`` for an unknown
   id is an upsert too, so a reordered or merged delta can never lose anyone).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from protocol.messages import PresenceEntity, PresenceSnapshot

PresenceView = dict[str, PresenceEntity]
T = TypeVar("T")


def apply_snapshot(state: Mapping[str, PresenceEntity], snapshot: PresenceSnapshot) -> PresenceView:
    """Return the view after ``snapshot``; ``state`` is not modified."""
    view: PresenceView = {} if snapshot.full else dict(state)
    for gone in snapshot.left:
        view.pop(gone, None)
    for ent in snapshot.entered:
        view[ent.id] = ent
    for ent in snapshot.changed:
        view[ent.id] = ent
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
        (older.entered, older.changed, older.left), (newer.entered, newer.changed, newer.left), lambda e: e.id
    )
    return PresenceSnapshot(tick=newer.tick, hall=newer.hall, entered=entered, changed=changed, left=left)


def merge_deltas(
    older: tuple[Sequence[T], Sequence[T], Sequence[str]],
    newer: tuple[Sequence[T], Sequence[T], Sequence[str]],
    key: Callable[[T], str],
) -> tuple[list[T], list[T], list[str]]:
    """The (entered, changed, left) of two non-full deltas applied in turn, for any entity form.

    Shared with the server, whose send queue merges snapshots it holds as JSON fragments.
    Per id a delta either keeps, deletes (-> left) or sets a value, and the later one wins;
    a value that arrived through ``entered`` in either stays "entered" so the client still
    spawns (rather than slides) that avatar.
    """
    effect: dict[str, tuple[str, T | None]] = {}
    for entered_in, changed_in, left_in in (older, newer):
        for gone in left_in:
            effect[gone] = ("left", None)
        for ent in entered_in:
            effect[key(ent)] = ("entered", ent)
        for ent in changed_in:
            ent_id = key(ent)
            prior = effect.get(ent_id, ("", None))[0]
            effect[ent_id] = ("entered" if prior == "entered" else "changed", ent)
    entered: list[T] = []
    changed: list[T] = []
    left: list[str] = []
    for ent_id, (kind, value) in effect.items():
        if value is None:
            left.append(ent_id)
        elif kind == "entered":
            entered.append(value)
        else:
            changed.append(value)
    return entered, changed, left


__all__ = ["PresenceView", "apply_snapshot", "merge_deltas", "merge_snapshots"]
