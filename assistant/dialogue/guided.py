"""The guided visit as a loop of the dialogue engine: one big step at a time, driven by the server.

The hall and the 2D page only draw the ``guided.step`` frames built here and send back the
visitor's ``guided.choose``; no flow and no strings live in either client. The visit is folded
from typed events in the conversation's event log (``LoopStarted("guided")``, ``GuidedChose``,
``GuidedOutcome``, ``Identified``, ``OfficerSaid``), so a reconnect resumes it exactly, and every
press is counted here: the press count a client shows is the server's.

From the entrance to a queue ticket for a lost KTP-el: 7 presses when the identity is known, 10
when it is not (NIK, name and KK number typed, then the second factor: a contact and the code),
with one read-back of everything typed. Effects (the code, the application, the ticket, the
officer) go through the ``ServicePort``; a failure the visitor cannot fix alone offers the officer.

Every user-facing string is a ``guided.*`` key of the one localizer (``l10n.t``, the gettext
catalogues in ``assets/locale``); officers' abbreviations are explained by ``guided.gloss.<abbr>``.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from assistant.dialogue.tracker import (
    ContextSet,
    GuidedChose,
    GuidedOutcome,
    Identified,
    LoopStarted,
    OfficerSaid,
    event_from_dict,
)
from assistant.ports import PortError
from l10n import N_, t
from protocol.catalog import Catalog, FormField, Localized, Service
from protocol.forms import FieldError, validate_field
from protocol.guided import GuidedChoice, GuidedField, GuidedStep

if TYPE_CHECKING:
    from assistant.core import Conversation

__all__ = ["ABBREVIATIONS", "TOP_SERVICES", "GuidedLoop", "GuidedRefused", "Visit", "expand_abbreviations"]

log = logging.getLogger(__name__)

TOP_SERVICES = ("ktp-el", "kartu-keluarga", "akta-kelahiran", "kia", "skck", "paspor")

# Select fields that say *why* someone comes (new, lost, damaged...): asked right after the
# service because the documents to bring depend on the answer.
PURPOSE_FIELDS = ("reason", "application_type", "request_type", "direction", "service_type")
IDENTITY_FIELDS = ("nik", "full_name")
CONTACT_FIELDS = ("phone", "email")

# Words of option labels too common to tell options apart ("Kartu", "pertama kali"...).
_WEAK_WORDS = frozenset({"kartu", "untuk", "pertama", "first", "card", "time", "baru", "data"})

# Officers' abbreviations; the plain words an elderly visitor understands are ``guided.gloss.<abbr>``
# in the catalogues ("KK" -> "Kartu Keluarga" / "family card").
ABBREVIATIONS = (
    "KTP-el", "e-KTP", "SKPWNI", "SPTJM", "SKCK", "SKTM", "STNK", "BPKB", "BPJS", "NPWP", "SPPT", "KTP", "NIK",
    "NIB", "KIA", "PBB", "MPP", "KK",
)  # fmt: skip

# Choices offered on every step, looked up by id (the keys are named here so extraction sees them).
TOOL_KEYS = {"repeat": N_("guided.repeat"), "back": N_("guided.back"), "officer": N_("guided.officer")}


def _gloss(abbr: str, lang: str) -> str:
    return t(f"guided.gloss.{abbr}", lang)


def expand_abbreviations(text: str, lang: str = "id") -> str:
    """Add the plain words after the first use of each abbreviation: "KK" -> "KK (Kartu Keluarga)".

    Skipped when the text already spells the words out (e.g. "Kartu Keluarga (KK)").
    """
    for abbr in ABBREVIATIONS:
        words = _gloss(abbr, lang)
        if words.lower() in text.lower():
            continue
        pattern = re.compile(rf"(?<![\w-]){re.escape(abbr)}(?![\w-])")
        text = pattern.sub(rf"\g<0> ({words})", text, count=1)
    return text


@lru_cache(maxsize=4)
def _gloss_paren(lang: str) -> re.Pattern[str]:
    words = [w for a in ABBREVIATIONS for w in (a, _gloss(a, lang))]
    return re.compile(r"\s*\((?:" + "|".join(re.escape(w) for w in words) + r")\)", re.IGNORECASE)


def for_speech(text: str, lang: str = "id") -> str:
    """What is said aloud: no written "(Kartu Keluarga)" glosses, no list bullets."""
    lines = [re.sub(r"^(•|\d+\.)\s*", "", line) for line in text.splitlines()]
    return _gloss_paren(lang).sub("", " ".join(x for x in lines if x))


def _tidy_typed(f: FormField, text: str) -> str:
    """Forgive the spaces and dashes people type inside long numbers ("3510 0112 ...")."""
    digits_only = f.pattern is not None and re.fullmatch(r"\^\[0-9\]\{\d+(,\d+)?\}\$", f.pattern)
    if f.type in ("nik", "kk", "phone") or digits_only:
        squeezed = re.sub(r"[\s.-]", "", text)
        if squeezed.isdigit():
            return squeezed
    return text.strip()


class GuidedRefused(Exception):
    """A ``guided.choose`` that does not fit the current step; answered with a protocol ``error``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Visit:
    """The folded state of one guided visit (never mutated outside ``GuidedLoop.fold``)."""

    lang: str = "id"
    started: bool = False
    stage: str = "greet"
    service: str | None = None
    purpose: str | None = None
    doc_index: int = 0
    have: dict[str, bool] = field(default_factory=dict)
    answers: dict[str, str] = field(default_factory=dict)
    typed: list[str] = field(default_factory=list)
    editing: str | None = None  # the field being changed from the read-back
    checking: bool = False  # after an edit, go straight back to the read-back
    known: dict[str, str] = field(default_factory=dict)  # the session's proven identity (prefill)
    identified: bool = False
    contact: str | None = None
    challenge: str | None = None
    tracking: str | None = None
    ticket: str | None = None
    note: str = ""
    problem: bool = False
    pending: str | None = None  # effect to run: handoff | request_code | verify | submit | ticket
    code_typed: str | None = None
    handoff_id: int | None = None
    officer: str | None = None
    officer_counter: int | None = None
    officer_text: str | None = None  # what the officer said (officer_says) or a system line
    repeat: bool = False
    presses: int = 0
    step_id: int = 0
    key: str = ""  # idempotency key of this visit's application: a retry never submits twice
    history: list[Visit] = field(default_factory=list, repr=False)


class GuidedLoop:
    """Builds steps from the visit and folds the visitor's choices; effects go through the port."""

    def __init__(self, catalog: Catalog, top_services: Sequence[str] = TOP_SERVICES) -> None:
        self.catalog = catalog
        known = {s.id for s in catalog.services}
        self.top_services = tuple(s for s in top_services if s in known)

    # ------------------------------------------------------------------ entry points

    def visit(self, conv: Conversation) -> Visit:
        """The visit folded from the conversation's stored events."""
        v = Visit()
        for raw in conv.events:
            ev = event_from_dict(raw)
            if ev is not None:
                self.fold(v, ev)
        return v

    def start(self, conv: Conversation, lang: str | None = None) -> GuidedStep:
        """Begin the visit, or resume it where it stopped (the log holds it)."""
        v = self.visit(conv)
        if not v.started:
            self._apply(conv, v, ContextSet(lang="en" if lang == "en" else "id"))
            self._apply(conv, v, LoopStarted("guided", ""))
        self._sync_identity(conv, v)
        conv.commit()
        return self.render(conv.id, v)

    def choose(
        self, conv: Conversation, step_id: int, choice: str | None, value: str | None, auto: bool = False
    ) -> GuidedStep:
        """The visitor's answer to step ``step_id``; raises ``GuidedRefused`` when it does not fit."""
        v = self.visit(conv)
        if not v.started:
            raise GuidedRefused("guided_not_started", "Send guided.start first.")
        if step_id != v.step_id:
            raise GuidedRefused("guided_out_of_order", f"Step {step_id} is not the current step ({v.step_id}).")
        if (choice is None) == (value is None):
            raise GuidedRefused("guided_bad_choice", "Send exactly one of choice or value.")
        self._sync_identity(conv, v)
        step = self.render(conv.id, v)
        if choice is not None:
            offered = {c.id for c in step.choices} | {c.id for c in step.tools}
            if choice not in offered:
                raise GuidedRefused("guided_unknown_choice", f"{choice!r} is not offered on step {step.kind}.")
            if auto and not (choice == "arrived" and v.stage == "walk"):
                raise GuidedRefused("guided_bad_choice", "Only the end of the walk happens without a press.")
        else:
            if step.field is None:
                raise GuidedRefused("guided_no_field", f"Step {step.kind} has nothing to type.")
            if auto:
                raise GuidedRefused("guided_bad_choice", "A typed value is always a press.")
            if not str(value).strip():
                raise GuidedRefused("guided_empty_value", "The typed value is empty.")
        self._apply(conv, v, GuidedChose(choice, value.strip() if value is not None else None, auto))
        self._run_effects(conv, v)
        conv.commit()
        return self.render(conv.id, v)

    def officer_connected(self, conv: Conversation, who: str | None, counter: int | None) -> GuidedStep:
        """ "Connected to officer X at counter N": a large spoken step of its own."""
        v = self.visit(conv)
        self._apply(conv, v, GuidedOutcome("connected", True, {"who": who, "counter": counter}))
        conv.commit()
        return self.render(conv.id, v)

    def officer_said(self, conv: Conversation, text: str, who: str | None = None) -> GuidedStep:
        """The officer's words: a large spoken step, never an error."""
        v = self.visit(conv)
        self._apply(conv, v, OfficerSaid(text.strip()[:2000], who))
        conv.commit()
        return self.render(conv.id, v)

    def officer_closed(self, conv: Conversation) -> GuidedStep:
        v = self.visit(conv)
        self._apply(conv, v, GuidedOutcome("closed", True, {}))
        conv.commit()
        return self.render(conv.id, v)

    def document_ready(self, conv: Conversation, tracking: str) -> GuidedStep:
        v = self.visit(conv)
        self._apply(conv, v, GuidedOutcome("document", True, {"tracking": tracking}))
        conv.commit()
        return self.render(conv.id, v)

    # ------------------------------------------------------------------ events

    def _apply(self, conv: Conversation, v: Visit, ev: Any) -> None:
        conv.tracker.apply(ev)
        self.fold(v, ev)

    def _sync_identity(self, conv: Conversation, v: Visit) -> None:
        """A session identified elsewhere (the page's identity card) is known to the visit from now on."""
        c = conv.caller
        if c.citizen_id is not None and not v.identified:
            self._apply(conv, v, Identified(c.citizen_id, c.nik, c.name))

    def fold(self, v: Visit, ev: Any) -> None:
        """The one transition function: the visit after ``ev`` (pure; replaying the log rebuilds it)."""
        if isinstance(ev, ContextSet):
            v.lang = "en" if ev.lang == "en" else "id"
            return
        if isinstance(ev, LoopStarted) and ev.loop == "guided":
            v.started = True
        elif isinstance(ev, Identified):
            v.identified = ev.citizen_id is not None
            v.known = {k: str(x) for k, x in (("nik", ev.nik), ("full_name", ev.name)) if x}
        elif isinstance(ev, GuidedChose):
            self._fold_choice(v, ev)
        elif isinstance(ev, GuidedOutcome):
            self._fold_outcome(v, ev)
        elif isinstance(ev, OfficerSaid):
            self._to_officer(v)
            v.stage, v.officer_text = "officer_says", ev.text
            v.officer = ev.who or v.officer
        else:
            return
        v.step_id += 1

    def _push(self, v: Visit) -> None:
        snap = copy.copy(v)
        snap.history = []
        snap.have, snap.answers, snap.typed = dict(v.have), dict(v.answers), list(v.typed)
        snap.known = dict(v.known)
        v.history.append(snap)
        del v.history[:-60]

    def _restore(self, v: Visit, snap: Visit) -> None:
        """Back to ``snap``, keeping what is true for the whole visit (presses, identity, results)."""
        keep = {
            "presses": v.presses, "step_id": v.step_id, "history": v.history, "known": v.known,
            "identified": v.identified, "tracking": v.tracking, "ticket": v.ticket, "key": v.key,
            "handoff_id": v.handoff_id, "officer": v.officer, "contact": v.contact, "lang": v.lang,
            "started": v.started, "officer_counter": v.officer_counter,
        }  # fmt: skip
        for name in Visit.__dataclass_fields__:
            setattr(v, name, keep.get(name, getattr(snap, name)))
        v.note, v.problem, v.repeat, v.pending = "", False, False, None

    def _to_officer(self, v: Visit) -> None:
        """Officer steps stack on the visit: "back to where I was" skips all of them."""
        if v.stage not in ("officer", "officer_says"):
            self._push(v)
        v.note, v.problem, v.repeat = "", False, False

    def _fold_choice(self, v: Visit, ev: GuidedChose) -> None:
        if not ev.auto:
            v.presses += 1
        choice, value = ev.choice, ev.value
        v.repeat = False
        if choice == "repeat":
            v.repeat = True
            return
        if choice == "doc:print":
            return  # printing happens on the visitor's device; the step stays
        if choice == "back":
            while v.history:
                snap = v.history.pop()
                if snap.stage not in ("walk", "officer", "officer_says"):
                    self._restore(v, snap)
                    break
            return
        if choice == "back_to_step":
            while v.history and v.stage in ("officer", "officer_says", "document"):
                self._restore(v, v.history.pop())
            return
        if choice == "officer":
            self._to_officer(v)
            v.stage = "officer"
            v.officer_text = None
            if v.handoff_id is None:
                v.pending = "handoff"
            return
        stage = v.stage
        if stage in ("failed", "mismatch", "code", "contact"):
            pass  # a retry replaces the failure; "Kembali" still leads to the read-back
        else:
            self._push(v)
        v.note, v.problem = "", False
        if choice is not None and choice.startswith("service:"):
            self._choose_service(v, choice.split(":", 1)[1])
        elif choice == "more":
            v.stage = "more"
        elif stage == "greet" and value is not None:
            self._from_text(v, value)
        elif stage == "purpose" and choice is not None and choice.startswith("option:"):
            pf = self._purpose_field(self._svc(v))
            if pf is not None:
                v.purpose = choice.split(":", 1)[1]
                v.answers[pf.name] = v.purpose
            v.stage = "requirements"
        elif stage == "requirements" and choice == "next":
            v.stage = "documents" if self._checklist(v) else "walk"
        elif stage == "documents" and choice == "all_docs":
            v.have = {d.id: True for d in self._checklist(v)}
            v.note = t("guided.all_present", v.lang)
            v.stage = "walk"
        elif stage == "documents" and choice == "each_doc":
            v.stage, v.doc_index, v.have = "doc", 0, {}
        elif stage == "doc" and choice in ("have", "havenot"):
            docs = self._checklist(v)
            v.have[docs[v.doc_index].id] = choice == "have"
            v.doc_index += 1
            if v.doc_index >= len(docs):
                if any(v.have.get(d.id) is False for d in docs):
                    v.stage = "missing"
                else:
                    v.note = t("guided.all_present", v.lang)
                    v.stage = "walk"
        elif stage == "missing" and choice == "next":
            v.stage = "walk"
        elif stage == "walk" and choice == "arrived":
            if self._prefill(v) and not all(n in v.answers for n in self._prefill(v)):
                v.stage = "identity"
            else:
                self._after_field(v)
        elif stage == "identity" and choice == "yes":
            v.answers.update(self._prefill(v))
            self._after_field(v)
        elif stage == "identity" and choice == "no":
            v.stage = "field"
        elif stage == "field":
            self._fold_field(v, choice, value)
        elif stage in ("check", "review", "failed", "mismatch") and choice is not None and choice.startswith("edit:"):
            name = choice.split(":", 1)[1]
            v.editing, v.checking, v.stage = name, True, "field"
        elif stage in ("check", "review", "failed") and choice in ("submit", "retry"):
            self._start_send(v)
        elif stage == "contact" and value is not None:
            v.contact = value
            v.pending = "request_code"
        elif stage == "code" and choice == "code_again":
            v.pending = "request_code"
        elif stage == "code" and value is not None:
            v.code_typed = re.sub(r"\s+", "", value)
            v.pending = "verify"
        elif stage == "ticket" and choice == "next":
            v.stage = "remind"
        elif stage in ("remind", "document") and choice == "done":
            v.stage = "done"

    def _fold_field(self, v: Visit, choice: str | None, value: str | None) -> None:
        f = self._current_field(v)
        if f is None:
            self._after_field(v)
            return
        if choice is not None and choice.startswith("option:"):
            picked = choice.split(":", 1)[1]
            v.answers[f.name] = picked
            v.note = t("guided.chosen", v.lang, choice=self._option_label(f, picked, v.lang))
        elif value is not None:
            text = _tidy_typed(f, value)
            try:
                cleaned = validate_field(f, text)
            except FieldError as exc:
                self._restore_same(v)
                v.note, v.problem = f"{exc.message.get(v.lang)} {t('guided.retype', v.lang)}", True
                return
            # A village is sent as typed (the server resolves it again); the rest as cleaned.
            v.answers[f.name] = text if f.type == "village" else str(cleaned)
            if f.name not in v.typed:
                v.typed.append(f.name)
        if v.editing == f.name:
            v.editing = None
        self._after_field(v)

    @staticmethod
    def _restore_same(v: Visit) -> None:
        """A refused typed value: the same step again with the reason (no history entry)."""
        if v.history:
            v.history.pop()

    def _fold_outcome(self, v: Visit, ev: GuidedOutcome) -> None:
        data, lang = ev.data or {}, v.lang
        err = Localized(
            id=ev.message_id or t("guided.failed_generic", "id"), en=ev.message_en or t("guided.failed_generic", "en")
        )
        v.pending = None
        v.repeat = False
        if ev.effect == "handoff":
            v.handoff_id = int(data["handoff_id"]) if ev.ok and data.get("handoff_id") else None
            v.stage, v.officer_text = "officer", None if ev.ok else t("guided.officer_failed", lang)
        elif ev.effect == "connected":
            self._to_officer(v)
            v.stage = "officer"
            v.officer = str(data.get("who")) if data.get("who") else None
            v.officer_counter = int(data["counter"]) if data.get("counter") else None
            who, n = v.officer, v.officer_counter or (self._svc(v).counter if v.service else "-")
            v.officer_text = (
                t("guided.officer_connected", lang, who=who, n=n) if who else t("guided.officer_connected_plain", lang)
            )
        elif ev.effect == "closed":
            self._to_officer(v)
            v.stage, v.officer_text = "officer", t("guided.officer_closed", lang)
            v.handoff_id = None
        elif ev.effect == "document":
            self._to_officer(v)
            v.stage, v.officer_text = "document", None
            v.tracking = v.tracking or data.get("tracking")
        elif ev.effect == "request_code":
            if ev.ok:
                v.challenge, v.stage = str(data.get("challenge_id")), "code"
            elif ev.code == "invalid_contact":
                v.stage, v.note, v.problem = "contact", err.get(lang), True
            elif ev.code == "invalid_nik":
                v.answers.pop("nik", None)
                v.editing, v.checking, v.stage = "nik", True, "field"
                v.note, v.problem = err.get(lang), True
            else:
                v.stage, v.note, v.problem = "failed", err.get(lang), True
        elif ev.effect == "verify":
            if ev.ok:
                v.pending = "submit"
            elif ev.code == "code_invalid":
                spaced = " ".join(v.code_typed or "")
                v.stage, v.problem = "code", True
                v.note = f"{err.get(lang)} {t('guided.code_readback', lang, code=spaced)}"
            else:
                v.stage, v.note, v.problem = "mismatch", err.get(lang), True
        elif ev.effect == "submit":
            if ev.ok:
                v.tracking, v.pending = str(data.get("tracking_number")), "ticket"
            elif ev.code in ("identity_mismatch", "forbidden", "verify_first"):
                v.stage, v.note, v.problem = "mismatch", err.get(lang), True
            else:
                v.stage, v.note, v.problem = "failed", err.get(lang), True
        elif ev.effect == "ticket":
            if ev.ok or data.get("ticket"):
                v.ticket, v.stage = str(data.get("code") or data.get("ticket")), "ticket"
            else:
                v.stage, v.note, v.problem = "failed", err.get(lang), True

    # ------------------------------------------------------------------ effects (through the port)

    def _run_effects(self, conv: Conversation, v: Visit) -> None:
        for _ in range(4):  # verify -> submit -> ticket at most
            kind = v.pending
            if kind is None:
                return
            try:
                data = self._effect(conv, v, kind)
            except PortError as exc:
                out = GuidedOutcome(kind, False, dict(exc.extra), exc.code, exc.message_id, exc.message_en)
                self._apply(conv, v, out)
                continue
            self._apply(conv, v, GuidedOutcome(kind, True, data))

    def _effect(self, conv: Conversation, v: Visit, kind: str) -> dict[str, Any]:
        port, caller = conv.port, conv.caller
        if kind == "handoff":
            svc = self._svc(v) if v.service else None
            said = [
                {"role": "assistant", "text": f"{s.title}: {s.text}", "service": s.service_id} for s in self._said(v)
            ]
            if svc is not None:
                said.append({"role": "citizen", "text": t("guided.officer", v.lang), "service": svc.id})
            h = port.request_handoff(caller, conv.id, said)
            return {"handoff_id": h.handoff_id, "state": h.state}
        if kind == "request_code":
            contact = v.contact or next((v.answers[n] for n in CONTACT_FIELDS if v.answers.get(n)), None)
            ch = port.request_code(caller, v.answers.get("nik", ""), v.answers.get("full_name", ""), contact)
            return {"challenge_id": ch.challenge_id, "expires_in": ch.expires_in}
        if kind == "verify":
            who = port.verify_code(caller, v.challenge or "", v.code_typed or "")
            conv.caller = who
            self._apply(conv, v, Identified(who.citizen_id, who.nik, who.name))
            return {}
        if kind == "submit":
            svc = self._svc(v)
            res = port.submit_application(caller, svc.id, dict(v.answers), f"{conv.id}:{v.key}")
            return {"tracking_number": res.tracking_number, "state": res.state}
        if kind == "ticket":
            tk = port.take_ticket(caller, self._svc(v).counter)
            return {"code": tk.code, "counter": tk.counter}
        raise PortError("unknown_effect", "Langkah tidak dikenal.", "Unknown step.")

    def _said(self, v: Visit) -> list[GuidedStep]:
        """The last steps the guide showed (for the officer's transcript)."""
        return [self.render("-", s) for s in [*v.history[-8:], v]]

    def _start_send(self, v: Visit) -> None:
        if v.tracking is not None:
            v.pending = "ticket"
        elif not v.identified and v.answers.get("nik"):
            has_contact = v.contact or any(v.answers.get(n) for n in CONTACT_FIELDS)
            if has_contact:
                v.pending = "request_code"
            else:
                v.stage = "contact"
        else:
            v.pending = "submit"

    # ------------------------------------------------------------------ catalogue helpers

    def _svc(self, v: Visit) -> Service:
        if v.service is None:
            raise KeyError("service")
        return self.catalog.service(v.service)

    def _choose_service(self, v: Visit, service_id: str) -> None:
        try:
            svc = self.catalog.service(service_id)
        except KeyError:
            v.note, v.problem = t("guided.not_understood", v.lang), True
            return
        v.service, v.purpose, v.answers, v.have, v.typed = svc.id, None, {}, {}, []
        v.tracking, v.ticket, v.editing, v.checking = None, None, None, False
        v.key = f"s{v.step_id}"  # deterministic: replaying the log gives the same key
        v.stage = "purpose" if self._purpose_field(svc) is not None else "requirements"

    def _from_text(self, v: Visit, text: str) -> None:
        """Typed request at the greeting: pick the service (and the purpose when it is named)."""
        low = text.lower().strip()
        best: tuple[int, Service] | None = None
        for svc in self.catalog.services:
            for kw in (*svc.keywords, svc.short_name.id, svc.short_name.en, svc.id):
                k = kw.lower()
                if k and re.search(rf"(?<!\w){re.escape(k)}(?!\w)", low) and (best is None or len(k) > best[0]):
                    best = (len(k), svc)
        if best is None:
            self._restore_same(v)
            v.note, v.problem = t("guided.not_understood", v.lang), True
            return
        self._choose_service(v, best[1].id)
        pf = self._purpose_field(best[1])
        if pf is None:
            return
        for o in pf.options:
            names = {o.value.replace("_", " "), o.label.id.lower(), o.label.en.lower()}
            if any(re.search(rf"(?<!\w){re.escape(n)}(?!\w)", low) for n in names):
                v.purpose = o.value
                v.answers[pf.name] = o.value
                v.stage = "requirements"
                break

    @staticmethod
    def _purpose_field(svc: Service) -> FormField | None:
        for name in PURPOSE_FIELDS:
            for f in svc.form:
                if f.name == name and f.type == "select" and f.required:
                    return f
        return None

    def _options_of(self, v: Visit, text: Localized) -> set[str]:
        """The purpose options a requirement or document line is about ("Untuk KTP-el hilang" -> {hilang}).

        Whole option labels count first; only when none is named do distinctive single words of a
        label ("menikah", "marriage") count. A phrase inside a longer matched one is ignored, so
        "lima tahunan" is not also taken for "tahunan". Empty means "for everyone".
        """
        svc = self._svc(v)
        pf = self._purpose_field(svc)
        if pf is None:
            return set()
        hay = f"{text.id} || {text.en}".lower()

        def words(*texts: str) -> set[str]:
            return {w for t in texts for w in re.findall(r"\w+", t.lower())}

        per_option = {o.value: words(o.label.id, o.label.en) for o in pf.options}
        common = {
            w for val, ws in per_option.items() for w in ws if any(w in o for k, o in per_option.items() if k != val)
        }
        weak = _WEAK_WORDS | common | words(svc.name.id, svc.name.en, svc.short_name.id, svc.short_name.en)
        for level in ("phrase", "word"):
            found: list[tuple[str, str]] = []
            for o in pf.options:
                if level == "phrase":
                    cands = {o.value.replace("_", " "), o.label.id.lower(), o.label.en.lower()}
                else:
                    cands = {w for w in per_option[o.value] - weak if len(w) >= 5}
                found += [(c, o.value) for c in cands if c and re.search(rf"(?<!\w){re.escape(c)}(?!\w)", hay)]
            kept = {val for c, val in found if not any(c != c2 and c in c2 for c2, _ in found)}
            if kept:
                return kept
        return set()

    def _checklist(self, v: Visit) -> list[Any]:
        """Required documents plus the optional ones that belong to the chosen purpose."""
        if v.service is None:
            return []
        svc = self._svc(v)
        chosen = v.purpose
        if chosen is None:
            return [d for d in svc.documents if d.required]
        # Requirement lines about the chosen purpose may name an optional document ("Perubahan KK: KK lama ...").
        specific = " ".join(r.id.lower() for r in svc.requirements if chosen in self._options_of(v, r))

        def wanted(d: Any) -> bool:
            if d.required or chosen in self._options_of(v, d.label):
                return True
            name = re.sub(r"\s*\(.*?\)", "", d.label.id).strip().lower()
            return bool(name) and name in specific

        return [d for d in svc.documents if wanted(d)]

    def _doc_label(self, doc: Any, lang: str) -> str:
        label = re.sub(r"\s*\((bila|if|untuk|for)\b[^)]*\)", "", doc.label.get(lang)).strip()
        return expand_abbreviations(label, lang)

    def _missing(self, v: Visit) -> list[str]:
        return [self._doc_label(d, v.lang) for d in self._checklist(v) if v.have.get(d.id) is False]

    def _requirements(self, v: Visit) -> list[str]:
        svc = self._svc(v)
        out = []
        for req in svc.requirements:
            about = self._options_of(v, req)
            if about and v.purpose is not None and v.purpose not in about:
                continue  # a line for another purpose (e.g. "for a damaged card" when the card was lost)
            out.append(expand_abbreviations(req.get(v.lang), v.lang))
        return out

    def _prefill(self, v: Visit) -> dict[str, str]:
        """Identity values from the session that are valid for this form (invalid ones are typed instead)."""
        out: dict[str, str] = {}
        if v.service is None:
            return out
        for f in self._svc(v).form:
            if f.name in v.known:
                try:
                    out[f.name] = str(validate_field(f, v.known[f.name]))
                except FieldError:
                    continue
        return out

    def _current_field(self, v: Visit) -> FormField | None:
        if v.service is None:
            return None
        form = self._svc(v).form
        if v.editing is not None:
            for f in form:
                if f.name == v.editing:
                    return f
        for f in form:
            if f.required and f.name not in v.answers:
                return f
        return None

    def _after_field(self, v: Visit) -> None:
        if v.checking and v.editing is None and self._current_field(v) is None:
            v.stage = "check" if v.typed else "review"
            return
        v.stage = "field" if self._current_field(v) is not None else ("check" if v.typed else "review")

    @staticmethod
    def _option_label(f: FormField, value: str, lang: str) -> str:
        for o in f.options:
            if o.value == value:
                return o.label.get(lang)
        return value

    def _shown_value(self, f: FormField, value: str, lang: str) -> str:
        """How a value is shown and read back: long numbers in groups of four, dates in words."""
        if re.fullmatch(r"\d{16}", value) or f.type == "phone":
            return " ".join(value[i : i + 4] for i in range(0, len(value), 4))
        if f.type == "date":
            try:
                d = dt.date.fromisoformat(value)
            except ValueError:
                return value
            return f"{d.day:02d}-{d.month:02d}-{d.year}"
        if f.type == "select":
            return self._option_label(f, value, lang)
        if f.type == "village":
            from protocol.regions import find_village

            vil = find_village(value)
            if vil is not None:
                return f"{vil.name}, {t('guided.district', lang)} {vil.kecamatan_name}"
        return value

    def _fee_line(self, svc: Service, lang: str) -> str:
        if svc.fee.free:
            return t("guided.fee_free", lang)
        total = sum(i.amount for i in svc.fee.items)
        return t("guided.fee", lang, amount=f"Rp{total:,}".replace(",", "."))

    # ------------------------------------------------------------------ rendering

    def render(self, conversation_id: str, v: Visit) -> GuidedStep:
        """The step the visitor sees now: everything the client draws and says."""
        lang = v.lang
        svc = self._svc(v) if v.service else None
        kind = v.stage
        title = ""
        lines: list[str] = []
        choices: list[GuidedChoice] = []
        fld: GuidedField | None = None
        tone = "normal"

        def ch(cid: str, label: str, primary: bool = False) -> GuidedChoice:
            return GuidedChoice(id=cid, label=label, primary=primary)

        if kind == "greet":
            title, lines = t("guided.greet_title", lang), [t("guided.greet_text", lang)]
            for sid in self.top_services:
                s = self.catalog.service(sid)
                choices.append(ch(f"service:{sid}", expand_abbreviations(s.short_name.get(lang), lang)))
            choices.append(ch("more", t("guided.other", lang)))
            fld = GuidedField(
                name="request", label=t("guided.greet_field", lang), hint=t("guided.greet_hint", lang), optional=True
            )
        elif kind == "more":
            title, lines = t("guided.more_title", lang), [t("guided.more_text", lang)]
            rest = [s for s in self.catalog.services if s.id not in self.top_services]
            for s in sorted(rest, key=lambda s: s.name.get(lang)):
                choices.append(ch(f"service:{s.id}", expand_abbreviations(s.short_name.get(lang), lang)))
        elif kind == "purpose" and svc is not None:
            pf = self._purpose_field(svc)
            title, lines = expand_abbreviations(svc.short_name.get(lang), lang), [t("guided.purpose_text", lang)]
            choices = [ch(f"option:{o.value}", o.label.get(lang)) for o in (pf.options if pf else ())]
        elif kind == "requirements" and svc is not None:
            title = t("guided.req_title", lang)
            lines = [t("guided.req_intro", lang, service=expand_abbreviations(svc.short_name.get(lang), lang))]
            lines += [f"• {r}" if r.endswith(".") else f"• {r}." for r in self._requirements(v)]
            lines.append(self._fee_line(svc, lang))
            choices = [ch("next", t("guided.next", lang), True)]
        elif kind == "documents" and svc is not None:
            title = t("guided.docs_title", lang)
            docs = self._checklist(v)
            lines = [t("guided.docs_text", lang)] + [f"{i}. {self._doc_label(d, lang)}" for i, d in enumerate(docs, 1)]
            choices = [ch("all_docs", t("guided.all_docs", lang), True), ch("each_doc", t("guided.each_doc", lang))]
        elif kind == "doc" and svc is not None:
            docs = self._checklist(v)
            title = f"{t('guided.docs_title', lang)} {v.doc_index + 1}/{len(docs)}"
            lines = [t("guided.doc_text", lang, doc=self._doc_label(docs[v.doc_index], lang))]
            choices = [ch("have", t("guided.have", lang), True), ch("havenot", t("guided.havenot", lang))]
        elif kind == "missing":
            title = t("guided.missing_title", lang)
            lines = [t("guided.missing_text", lang, docs="; ".join(self._missing(v))), t("guided.missing_hint", lang)]
            choices = [ch("next", t("guided.go_anyway", lang), True)]
        elif kind == "walk" and svc is not None:
            agency = self.catalog.agency(svc.agency).short
            title = t("guided.walk_title", lang)
            lines = [t("guided.walk_text", lang, counter=svc.counter, agency=agency)]
            choices = [ch("arrived", t("guided.arrived", lang), True)]
        elif kind == "identity" and svc is not None:
            title, lines = t("guided.identity_title", lang), [t("guided.identity_text", lang)]
            pre = self._prefill(v)
            for f in svc.form:
                if f.name in pre:
                    label = expand_abbreviations(f.label.get(lang), lang)
                    lines.append(f"{label}: {self._shown_value(f, pre[f.name], lang)}.")
            lines.append(t("guided.identity_ask", lang))
            choices = [ch("yes", t("guided.yes", lang), True), ch("no", t("guided.no", lang))]
        elif kind == "field" and svc is not None:
            cur = self._current_field(v)
            if cur is not None:
                f = cur
                label = expand_abbreviations(f.label.get(lang), lang)
                title = label
                if f.type == "select":
                    lines = [t("guided.field_choose", lang, label=label.lower() if lang == "en" else label)]
                    choices = [ch(f"option:{o.value}", o.label.get(lang)) for o in f.options]
                else:
                    lines = [t("guided.field_type", lang, label=label)]
                    hint = f.help.get(lang) if f.help else ""
                    if hint:
                        lines.append(hint)
                    numeric = f.type in ("nik", "kk", "phone") or bool(f.pattern and f.pattern.startswith("^[0-9]"))
                    prefill = v.answers.get(f.name) or v.known.get(f.name, "")
                    fld = GuidedField(
                        name=f.name, label=label, kind=f.type, hint=hint, prefill=prefill, numeric=numeric,
                        autocomplete="name" if f.name == "full_name" else "off",
                    )  # fmt: skip
        elif kind in ("check", "review") and svc is not None:
            typed = [f for f in svc.form if f.name in v.typed and f.name in v.answers]
            if kind == "check":
                title, lines = t("guided.check_title", lang), [t("guided.check_text", lang)]
                for f in typed:
                    shown = self._shown_value(f, str(v.answers[f.name]), lang)
                    lines.append(f"{expand_abbreviations(f.label.get(lang), lang)}: {shown}.")
            else:
                title = t("guided.review_title", lang)
            short = expand_abbreviations(svc.short_name.get(lang), lang)
            lines.append(t("guided.review_text", lang, service=short, counter=svc.counter))
            choices = [ch("submit", t("guided.submit", lang), True)]
            choices += [ch(f"edit:{f.name}", t("guided.change", lang, label=f.label.get(lang))) for f in typed]
        elif kind == "contact":
            title, lines = t("guided.contact_title", lang), [t("guided.contact_text", lang)]
            fld = GuidedField(
                name="contact", label=t("guided.contact_label", lang), kind="contact", prefill=v.contact or ""
            )
        elif kind == "code":
            title, lines = t("guided.code_title", lang), [t("guided.code_text", lang)]
            fld = GuidedField(
                name="code", label=t("guided.code_label", lang), kind="code", numeric=True, autocomplete="one-time-code"
            )
            choices = [ch("code_again", t("guided.code_again", lang))]
        elif kind == "failed":
            title, lines = t("guided.failed_title", lang), [t("guided.failed_text", lang)]
            choices = [ch("retry", t("guided.retry", lang), True), ch("officer", t("guided.officer_help", lang))]
        elif kind == "mismatch":
            title, lines = t("guided.mismatch_title", lang), [t("guided.mismatch_text", lang)]
            choices = [ch("officer", t("guided.officer_help", lang), True)]
            if svc is not None:
                choices += [
                    ch(f"edit:{f.name}", t("guided.change", lang, label=f.label.get(lang)))
                    for f in svc.form
                    if f.name in IDENTITY_FIELDS
                ]
        elif kind in ("officer", "officer_says"):
            tone = "officer"
            who = v.officer
            title = t("guided.officer_title_who", lang, who=who) if who else t("guided.officer_title", lang)
            if kind == "officer_says":
                lines = [v.officer_text or ""]
            else:
                lines = [v.officer_text or t("guided.officer_called", lang)]
            choices = [ch("back_to_step", t("guided.back_to_step", lang))]
        elif kind == "document":
            tone = "officer"
            title, lines = t("guided.doc_ready_title", lang), [t("guided.doc_ready", lang)]
            choices = [
                ch("doc:print", t("guided.doc_print", lang), True),
                ch("back_to_step", t("guided.back_to_step", lang)),
                ch("done", t("guided.done", lang)),
            ]
        elif kind == "ticket" and svc is not None:
            agency = self.catalog.agency(svc.agency).short
            title = t("guided.ticket_title", lang)
            text = t(
                "guided.ticket_text", lang, ticket=v.ticket, counter=svc.counter, agency=agency, tracking=v.tracking
            )
            lines = [text]
            choices = [ch("next", t("guided.next", lang), True)]
        elif kind == "remind" and svc is not None:
            title = t("guided.remind_title", lang)
            have = [self._doc_label(d, lang) for d in self._checklist(v) if v.have.get(d.id) is not False]
            if have:
                lines.append(t("guided.remind_text", lang, docs="; ".join(have)))
            if self._missing(v):
                lines.append(t("guided.remind_missing", lang, docs="; ".join(self._missing(v))))
            lines.append(t("guided.remind_ticket", lang, ticket=v.ticket))
            choices = [ch("done", t("guided.done", lang), True)]
        elif kind == "done":
            title, lines = t("guided.done_title", lang), [t("guided.done_text", lang)]
        if v.problem and kind not in ("officer", "officer_says", "document"):
            tone = "problem"
        text = "\n".join(lines)
        note = v.note if kind not in ("officer", "officer_says", "document") else ""
        return GuidedStep(
            conversation_id=conversation_id,
            step_id=v.step_id,
            kind=kind,
            title=title,
            text=text,
            speak=for_speech(f"{note}\n{text}" if note else text, lang),
            note=note,
            tone=tone,  # type: ignore[arg-type]
            choices=choices,
            tools=self._tools(v),
            field=fld,
            presses=v.presses,
            ticket=v.ticket if kind in ("ticket", "remind") else None,
            tracking=v.tracking if kind in ("ticket", "remind", "document") else None,
            counter=svc.counter if svc else None,
            service_id=svc.id if svc else None,
            handoff_id=v.handoff_id,
            repeat=v.repeat,
            final=kind == "done",
        )

    def _tools(self, v: Visit) -> list[GuidedChoice]:
        """Ulangi and Panggil Petugas always; Kembali while there is somewhere to go back to."""
        names = ["repeat", "back", "officer"]
        no_back = ("greet", "ticket", "remind", "done", "officer", "officer_says", "document")
        if v.stage in no_back or not any(s.stage not in ("walk", "officer", "officer_says") for s in v.history):
            names.remove("back")
        return [GuidedChoice(id=n, label=t(TOOL_KEYS[n], v.lang)) for n in names]
