"""The conversation's state, folded from typed events kept in the conversation event log.

Each turn appends events (what the visitor said, slots set, loops started and ended, a
submission, a handoff, what the assistant answered); loading a conversation folds them
again, so a restart resumes a half-filled form exactly where it stopped. The model is a
form-filling loop in the manner of Rasa's forms: a loop owns required slots, asks for the
next one, validates, and ends by submitting or being cancelled.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

CONFIRM = "__confirm__"  # the slot a form loop "requests" while it reads the answers back


@dataclass(frozen=True)
class Event:
    kind: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **dataclasses.asdict(self)}


@dataclass(frozen=True)
class UserSaid(Event):
    kind: ClassVar[str] = "user"
    text: str
    ts: float = 0.0


@dataclass(frozen=True)
class BotSaid(Event):
    """The assistant's reply (stored in the reply's own event shape, see ``Reply.to_event``)."""

    kind: ClassVar[str] = "assistant"
    text: str
    lang: str = "id"
    service: str | None = None
    aspect: str | None = None


@dataclass(frozen=True)
class OfficerSaid(Event):
    kind: ClassVar[str] = "officer"
    text: str
    who: str | None = None


@dataclass(frozen=True)
class ContextSet(Event):
    """What the next message may refer to: the language, the last service and aspect, an open offer."""

    kind: ClassVar[str] = "context"
    lang: str | None = None
    last_service: str | None = None
    last_aspect: str | None = None
    expecting: str | None = None  # "offer_officer" | "tracking_number" | None


@dataclass(frozen=True)
class LoopStarted(Event):
    kind: ClassVar[str] = "loop_started"
    loop: str  # "form" | "checklist"
    service: str
    seq: int = 0
    then: str | None = None  # checklist: "ticket" | "offer"


@dataclass(frozen=True)
class LoopEnded(Event):
    kind: ClassVar[str] = "loop_ended"
    loop: str
    outcome: str  # "submitted" | "cancelled" | "done" | "skipped"


@dataclass(frozen=True)
class SlotRequested(Event):
    """The slot the active loop is asking for (a field name, a document id, or CONFIRM)."""

    kind: ClassVar[str] = "slot_requested"
    slot: str
    return_to_confirm: bool = False


@dataclass(frozen=True)
class SlotSet(Event):
    """A value for the active loop; None records an optional field skipped (or a document missing)."""

    kind: ClassVar[str] = "slot_set"
    slot: str
    value: Any = None


@dataclass(frozen=True)
class Submitted(Event):
    kind: ClassVar[str] = "submitted"
    service: str
    tracking_number: str
    via: str = "chat"  # "chat" | "form" (the panel or the page submitted the same application)


@dataclass(frozen=True)
class Identified(Event):
    kind: ClassVar[str] = "identified"
    citizen_id: int | None
    nik: str | None
    name: str | None


@dataclass(frozen=True)
class HandoffStarted(Event):
    kind: ClassVar[str] = "handoff_started"
    handoff_id: int
    state: str = "pending"


@dataclass(frozen=True)
class GuidedChose(Event):
    """A guided-mode press: a choice id offered on the step, or a typed value; ``auto`` is not a press."""

    kind: ClassVar[str] = "guided_chose"
    choice: str | None = None
    value: str | None = None
    auto: bool = False


@dataclass(frozen=True)
class GuidedOutcome(Event):
    """What an effect of the guided loop came back with (code sent, application, ticket, officer...)."""

    kind: ClassVar[str] = "guided_outcome"
    effect: str
    ok: bool
    data: dict[str, Any] = field(default_factory=dict)
    code: str | None = None
    message_id: str | None = None
    message_en: str | None = None


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        UserSaid, BotSaid, OfficerSaid, ContextSet, LoopStarted, LoopEnded, SlotRequested, SlotSet, Submitted,
        Identified, HandoffStarted, GuidedChose, GuidedOutcome,
    )
}  # fmt: skip


def event_from_dict(raw: dict[str, Any]) -> Event | None:
    """The typed event of a stored row; None for rows of other kinds (kept, but not folded)."""
    cls = EVENT_TYPES.get(str(raw.get("kind")))
    if cls is None:
        return None
    names = {f.name for f in dataclasses.fields(cls)}
    try:
        return cls(**{k: v for k, v in raw.items() if k in names})
    except TypeError:
        return None


@dataclass
class LoopState:
    loop: str
    service: str
    seq: int = 0
    then: str | None = None
    slots: dict[str, Any] = field(default_factory=dict)
    requested: str | None = None
    return_to_confirm: bool = False


@dataclass
class Tracker:
    """Folded state. Mutate it only through ``apply`` so every change is an event in the log."""

    lang: str | None = None
    last_service: str | None = None
    last_aspect: str | None = None
    expecting: str | None = None
    loop: LoopState | None = None
    forms_started: int = 0
    identity: dict[str, Any] | None = None
    last_submitted: Submitted | None = None
    handoff_id: int | None = None
    new: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @classmethod
    def from_events(cls, rows: list[dict[str, Any]]) -> Tracker:
        tr = cls()
        for raw in rows:
            if raw.get("kind") == "assistant" and isinstance(raw.get("state"), dict):
                tr.fold_legacy(raw["state"])  # written before typed events: the snapshot is the state
                continue
            ev = event_from_dict(raw)
            if ev is not None:
                tr.fold(ev)
        return tr

    def apply(self, ev: Event) -> None:
        """Record a new event (persisted at the end of the turn) and fold it."""
        self.new.append(ev.to_dict())
        self.fold(ev)

    def record(self, row: dict[str, Any]) -> None:
        """Record a stored row that is not built here (the assistant's reply) and fold what it says."""
        self.new.append(row)
        ev = event_from_dict(row)
        if ev is not None:
            self.fold(ev)

    def pending_rows(self) -> list[dict[str, Any]]:
        return list(self.new)

    def take_new(self) -> list[dict[str, Any]]:
        rows, self.new = self.new, []
        return rows

    def fold(self, ev: Event) -> None:
        if isinstance(ev, ContextSet):
            self.lang = ev.lang or self.lang
            self.last_service = ev.last_service
            self.last_aspect = ev.last_aspect
            self.expecting = ev.expecting
        elif isinstance(ev, LoopStarted):
            if ev.loop == "form":
                self.forms_started = max(self.forms_started, ev.seq)
            self.loop = LoopState(ev.loop, ev.service, ev.seq, ev.then)
            self.expecting = None
        elif isinstance(ev, LoopEnded):
            self.loop = None
        elif isinstance(ev, SlotRequested) and self.loop is not None:
            self.loop.requested = ev.slot
            self.loop.return_to_confirm = ev.return_to_confirm
        elif isinstance(ev, SlotSet) and self.loop is not None:
            self.loop.slots[ev.slot] = ev.value
        elif isinstance(ev, Submitted):
            self.last_submitted = ev
        elif isinstance(ev, Identified):
            self.identity = {"citizen_id": ev.citizen_id, "nik": ev.nik, "name": ev.name}
        elif isinstance(ev, HandoffStarted):
            self.handoff_id = ev.handoff_id
        elif isinstance(ev, BotSaid):
            self.lang = ev.lang or self.lang

    def fold_legacy(self, state: dict[str, Any]) -> None:
        """Conversations stored before typed events kept a state snapshot in each reply."""
        self.lang = state.get("lang") or self.lang
        self.last_service = state.get("last_service")
        self.last_aspect = state.get("last_aspect")
        self.forms_started = int(state.get("forms_started") or 0)
        self.identity = state.get("identity") or self.identity
        mode = state.get("mode")
        self.expecting = {"offer_officer": "offer_officer", "await_tracking": "tracking_number"}.get(str(mode))
        self.loop = None
        form, cl = state.get("form"), state.get("checklist")
        if mode in ("form", "confirm") and isinstance(form, dict):
            lp = LoopState("form", str(form["service"]), int(form.get("seq") or 0))
            lp.slots = dict(form.get("data") or {})
            lp.requested = CONFIRM if mode == "confirm" else None
            lp.return_to_confirm = bool(form.get("return_to_confirm"))
            self.loop = lp
        elif mode == "checklist" and isinstance(cl, dict):
            # The checklist asks its questions again from the first document.
            self.loop = LoopState("checklist", str(cl["service"]), then=cl.get("then"))
