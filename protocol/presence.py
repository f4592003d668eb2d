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

from collections.abc import Mapping

from protocol.messages import PresenceEntity, PresenceSnapshot

PresenceView = dict[str, PresenceEntity]


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
    # Per id a snapshot either keeps, deletes (-> left) or sets a value; the later one wins.
    # A value that arrived through ``entered`` in either snapshot stays "entered" so the
    # client still spawns (rather than slides) that avatar.
    effect: dict[str, tuple[str, PresenceEntity | None]] = {}
    for snap in (older, newer):
        for gone in snap.left:
            effect[gone] = ("left", None)
        for ent in snap.entered:
            effect[ent.id] = ("entered", ent)
        for ent in snap.changed:
            prior = effect.get(ent.id, ("", None))[0]
            effect[ent.id] = ("entered" if prior == "entered" else "changed", ent)
    entered: list[PresenceEntity] = []
    changed: list[PresenceEntity] = []
    left: list[str] = []
    for key, (kind, value) in effect.items():
        if value is None:
            left.append(key)
        elif kind == "entered":
            entered.append(value)
        else:
            changed.append(value)
    return PresenceSnapshot(tick=newer.tick, hall=newer.hall, entered=entered, changed=changed, left=left)


__all__ = ["PresenceView", "apply_snapshot", "merge_snapshots"]
