"""The application state machine, as data, so the API, console and tests agree."""

from __future__ import annotations

from dataclasses import dataclass

from l10n import N_, pair

STATES = (
    "draft",
    "submitted",
    "verified",
    "in_process",
    "ready",
    "completed",
    "needs_revision",
    "rejected",
    "cancelled",
)
FINAL = frozenset({"completed", "rejected", "cancelled"})


@dataclass(frozen=True)
class Transition:
    source: str
    target: str
    by: str  # "citizen" or "officer"
    needs_note: bool = False


TRANSITIONS: tuple[Transition, ...] = (
    Transition("draft", "submitted", "citizen"),
    Transition("needs_revision", "submitted", "citizen"),
    Transition("draft", "cancelled", "citizen"),
    Transition("submitted", "cancelled", "citizen"),
    Transition("needs_revision", "cancelled", "citizen"),
    Transition("submitted", "verified", "officer"),
    Transition("submitted", "needs_revision", "officer", needs_note=True),
    Transition("verified", "needs_revision", "officer", needs_note=True),
    Transition("verified", "in_process", "officer"),
    Transition("in_process", "ready", "officer"),
    Transition("ready", "completed", "officer"),
    Transition("submitted", "rejected", "officer", needs_note=True),
    Transition("verified", "rejected", "officer", needs_note=True),
    Transition("in_process", "rejected", "officer", needs_note=True),
)
_BY_PAIR = {(t.source, t.target): t for t in TRANSITIONS}


class TransitionError(Exception):
    def __init__(self, code: str, message_id: str, message_en: str) -> None:
        super().__init__(message_en)
        self.code = code
        self.message_id = message_id
        self.message_en = message_en


def check(source: str, target: str, by: str, note: str | None) -> Transition:
    if target not in STATES:
        raise TransitionError("unknown_state", *pair("error.unknown_state", state=target))
    t = _BY_PAIR.get((source, target))
    if t is None:
        raise TransitionError("invalid_transition", *pair("error.invalid_transition", source=source, target=target))
    if t.by != by:
        only = N_("error.transition_officer_only") if t.by == "officer" else N_("error.transition_citizen_only")
        raise TransitionError("invalid_transition", *pair(only, source=source, target=target))
    if t.needs_note and not (note and note.strip()):
        raise TransitionError("reason_required", *pair("error.transition_reason_required"))
    return t


def allowed_targets(source: str, by: str) -> list[str]:
    return [t.target for t in TRANSITIONS if t.source == source and t.by == by]
