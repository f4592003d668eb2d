"""The Assistant: one message in, one grounded Reply out, with dialogue state in an event log.

State is folded from the conversation's events (stored through the port), so
a reconnect or a server restart resumes a half-filled form where it stopped.
This module is the turn loop only: questions go to ``assistant.answering``, deeds to
``assistant.actions``, and forms and checklists to the loops in ``assistant.dialogue``.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from typing import Any

from assistant import actions
from assistant.answering import (
    COMPLETE,
    AnswerContext,
    answer,
    answer_question,
    confident,
    popular,
    status_how,
    which_service,
    with_context,
)
from assistant.answering import agency_services as _agency_services
from assistant.answers import ASPECT_LABELS, office_hours
from assistant.dialogue.checklist import ChecklistLoop
from assistant.dialogue.form import FormLoop
from assistant.dialogue.tracker import ContextSet, HandoffStarted, LoopEnded, Tracker, UserSaid
from assistant.dialogue.words import CANCEL, NO, YES
from assistant.nlu import NLU, Understanding, about_mpp_rule, detect_aspect
from assistant.ports import Caller, PortError, ServicePort
from assistant.reply import Reply, qr_officer
from assistant.slots import TRACKING_RE
from assistant.text import detect_lang, normalize
from l10n import t
from protocol.catalog import Catalog, default_catalog
from protocol.messages import WorldAction

__all__ = ["MAX_TEXT", "Assistant", "Conversation", "Reply", "aspect_of"]

log = logging.getLogger(__name__)

MAX_TEXT = 2000


class Conversation:
    """One chat thread: its id, who is talking, and its event log held by the port.

    ``tracker`` is the state folded from the log; the events a turn adds are written in one
    call at the end of the turn (``commit``).
    """

    def __init__(self, id: str, caller: Caller, port: ServicePort) -> None:
        self.id = id
        self.caller = caller
        self.port = port
        self.events: list[dict[str, Any]] = list(port.load_conversation(id))
        self.tracker = Tracker.from_events(self.events)
        ident = self.tracker.identity
        if ident and caller.citizen_id is None:
            self.caller = Caller(
                session_id=caller.session_id, citizen_id=ident.get("citizen_id"), nik=ident.get("nik"),
                name=ident.get("name"),
            )  # fmt: skip

    def commit(self, extra: list[dict[str, Any]] | None = None) -> None:
        """Persist this turn's events (and ``extra`` rows, e.g. the reply) in one port call."""
        rows = [*self.tracker.take_new(), *(extra or [])]
        if rows:
            self.port.append_conversation_events(self.id, self.caller, rows)
            self.events.extend(rows)

    def transcript(self) -> list[dict[str, Any]]:
        rows = [*self.events, *self.tracker.pending_rows()]
        return [
            {
                "role": "citizen" if e["kind"] == "user" else "assistant",
                "text": e.get("text", ""),
                "service": e.get("service"),
            }
            for e in rows
            if e.get("kind") in ("user", "assistant")
        ]


class Assistant:
    """Loaded once at server start; ``respond`` is thread-safe for different conversations."""

    def __init__(self, nlu: NLU, catalog: Catalog, meta: dict[str, Any] | None = None) -> None:
        self.nlu = nlu
        self.catalog = catalog
        meta = meta or {}
        self.intent_threshold = float(meta.get("intent_threshold", 0.4))
        self.service_threshold = float(meta.get("service_threshold", 0.3))
        self.forms = FormLoop(catalog, self.ask_in_loop)
        self.checklists = ChecklistLoop(catalog, self.ask_in_loop)

    @classmethod
    def load(cls, model_dir: Path | None = None, catalog: Catalog | None = None) -> Assistant:
        cat = catalog or default_catalog()
        nlu = NLU.load(cat, model_dir)
        return cls(nlu, cat, nlu.heads.meta)

    def context(self, tr: Tracker, service: str | None = None) -> AnswerContext:
        return AnswerContext(
            self.catalog, self.intent_threshold, self.service_threshold,
            service or tr.last_service, tr.last_aspect,
        )  # fmt: skip

    def ask_in_loop(self, text: str, lang: str, service_id: str) -> Reply:
        """A question asked inside a loop, answered about the loop's service (never starting anything)."""
        u = self.nlu.understand(text, lang)
        ctx = AnswerContext(self.catalog, self.intent_threshold, self.service_threshold, service_id, None)
        if u.intent not in ("ask_service", "out_of_scope"):
            u.intent = "ask_service"
        if u.service is None and u.aspect is None:
            u.aspect = detect_aspect(u.norm)
        return answer_question(ctx, u, lang)

    # ------------------------------------------------------------------ entry point

    def respond(self, conversation: Conversation, text: str, lang: str | None = None) -> Reply:
        """Answer one message. ``lang`` (the client's UI language) is only a prior for short messages."""
        tr = conversation.tracker
        text = (text or "").strip()
        clipped = len(text) > MAX_TEXT
        if clipped:
            text = _tail(text)
        tr.apply(UserSaid(text, round(time.time(), 3)))
        if lang in ("id", "en") and not tr.lang:
            tr.lang = lang
        expecting, tr.expecting = tr.expecting, None
        try:
            reply = self._dispatch(conversation, tr, text, expecting, clipped)
        except PortError as exc:
            lang = tr.lang or "id"
            reply = Reply(exc.message(lang), lang=lang, intent="talk_to_officer", quick_replies=[qr_officer(lang)])
        except (KeyError, IndexError, TypeError, ValueError, AssertionError, StopIteration):
            # A stored state that no longer fits the catalogue (e.g. a service was removed while a
            # form was open) must not break the chat: start the dialogue afresh and say so.
            log.warning("conversation %s: state reset after an inconsistent event log", conversation.id, exc_info=True)
            lang = tr.lang or "id"
            if tr.loop is not None:
                tr.apply(LoopEnded(tr.loop.loop, "cancelled"))
            tr.last_service = tr.last_aspect = None
            reply = Reply(
                t("assistant.sorry_i_had_to_restart_our", lang),
                lang=lang,
                quick_replies=[qr_officer(lang)],
                fallback=True,
            )  # fmt: skip
        if reply.offer == "officer" and tr.loop is None and tr.expecting is None:
            tr.expecting = "offer_officer"
        if not reply.quick_replies and not reply.actions:
            reply.quick_replies = [*popular(self.context(tr), reply.lang), qr_officer(reply.lang)]
        tr.apply(ContextSet(reply.lang, reply.service or tr.last_service, reply.aspect or tr.last_aspect, tr.expecting))
        tr.record(reply.to_event())
        conversation.commit()
        return reply

    def understand(self, text: str, lang_prior: str = "id") -> Understanding:
        return self.nlu.understand(text, lang_prior)

    # ------------------------------------------------------------------ routing

    def _dispatch(
        self, conv: Conversation, tr: Tracker, text: str, expecting: str | None = None, clipped: bool = False
    ) -> Reply:
        prior = tr.lang or "id"
        if not text:
            return Reply(t("assistant.please_type_your_question", prior), lang=prior)
        if clipped:
            if tr.loop is not None:
                # Inside a form the end of a long message is not a safe answer: refuse clearly.
                lang = detect_lang(text, prior)
                reply = (
                    self.forms.again(tr, self.catalog.service(tr.loop.service), lang)
                    if tr.loop.loop == "form"
                    else self.checklists.question(tr, self.catalog.service(tr.loop.service), lang)
                )
                reply.text = _too_long(lang, answered=False) + "\n" + reply.text
                return reply
            reply = self._dispatch(conv, tr, text, expecting)
            reply.text = _too_long(reply.lang, answered=True) + "\n" + reply.text
            return reply
        if text.startswith("/"):
            cmd = self._command(conv, tr, text, prior)
            if cmd is not None:
                return cmd
        loop = tr.loop
        if loop is not None and loop.loop == "form":
            return self.forms.turn(conv, tr, text)
        if loop is not None and loop.loop == "checklist":
            return self.checklists.turn(conv, tr, text)
        norm = normalize(text)
        if expecting == "tracking_number" and TRACKING_RE.search(text):
            return actions.status(self.catalog, conv, text, prior)
        if expecting == "offer_officer":
            # The last reply asked "shall I connect you to an officer?": a bare yes/no answers it.
            if YES.match(norm) and len(norm.split()) <= 3:
                return self._handoff(conv, tr, detect_lang(text, prior))
            if NO.match(norm) and len(norm.split()) <= 3:
                lang = detect_lang(text, prior)
                return Reply(
                    t("assistant.all_right_any_other_question", lang),
                    lang=lang,
                    quick_replies=popular(self.context(tr), lang),
                )
        if CANCEL.match(norm) and len(norm.split()) <= 2 and tr.last_submitted is not None:
            # "Batal" after a submission: nothing is open any more, and something *was* sent.
            lang = detect_lang(text, prior)
            sub = tr.last_submitted
            return Reply(
                t("assistant.nothing_is_open_to_cancel_application", lang, tracking_number=sub.tracking_number),
                lang=lang,
                service=sub.service,
                quick_replies=[qr_officer(lang)],
                actions=[WorldAction(kind="show_application", data={"tracking_number": sub.tracking_number})],
            )
        u = self.nlu.understand(text, prior)
        return self._route(conv, tr, u)

    def _handoff(self, conv: Conversation, tr: Tracker, lang: str, confidence: float = 1.0) -> Reply:
        reply = actions.handoff(conv, lang, confidence)
        for a in reply.actions:
            if a.kind == "handoff":
                tr.apply(HandoffStarted(int(a.data["handoff_id"]), str(a.data.get("state") or "pending")))
        return reply

    def _command(self, conv: Conversation, tr: Tracker, text: str, lang: str) -> Reply | None:
        parts = text[1:].split()
        if not parts:
            return None
        cmd, args = parts[0].lower(), parts[1:]
        sid = args[0] if args and args[0] in {s.id for s in self.catalog.services} else None
        if cmd == "ask" and sid:
            aspect = args[1] if len(args) > 1 and args[1] in ASPECT_LABELS else None
            if tr.loop is not None:
                return None if not aspect else self._in_loop(conv, tr, aspect, sid, lang)
            return answer(self.context(tr), self.catalog.service(sid), aspect, lang, 1.0)
        if cmd == "submitted" and len(args) >= 2:
            # The form panel or the page submitted the application (REST): the chat must know.
            return self.forms.submitted_elsewhere(conv, tr, args[0], args[1], lang)
        if tr.loop is not None and cmd in ("apply", "queue", "ticket") and sid:
            tr.apply(LoopEnded(tr.loop.loop, "cancelled"))  # a new choice from a button replaces the open loop
        if cmd == "apply" and sid:
            return self.forms.start(conv, tr, self.catalog.service(sid), lang)
        if cmd == "queue" and sid:
            return self.checklists.start(conv, tr, self.catalog.service(sid), lang, then="ticket")
        if cmd == "ticket" and sid:
            return actions.ticket(self.catalog, conv, self.catalog.service(sid), lang)
        if cmd == "officer":
            return self._handoff(conv, tr, lang)
        if cmd == "hours":
            hours, c = office_hours(self.catalog, lang)
            return Reply(hours, lang=lang, intent="office_hours", citations=[c])
        if cmd == "edit" and args and tr.loop is not None:
            edited = self.forms.edit(tr, args[0], lang)
            if edited is not None:
                return edited
        if cmd in ("yes", "no", "cancel", "skip", "back", "repeat"):
            word = {"yes": "ya", "no": "tidak", "cancel": "batal", "skip": "lewati", "back": "kembali"}.get(
                cmd, "ulangi"
            )
            if lang == "en":
                word = {"ya": "yes", "tidak": "no", "batal": "cancel", "lewati": "skip", "kembali": "back"}.get(
                    word, "repeat"
                )
            return self._dispatch(conv, tr, word)
        return None

    def _in_loop(self, conv: Conversation, tr: Tracker, aspect: str, sid: str, lang: str) -> Reply:
        """An aspect button (``/ask SERVICE ASPECT``) pressed while a loop is open: answer, stay in the loop."""
        assert tr.loop is not None
        text, _cite = answer(self.context(tr), self.catalog.service(sid), aspect, lang, 1.0).text, None
        svc = self.catalog.service(tr.loop.service)
        if tr.loop.loop == "form":
            again = self.forms.again(tr, svc, lang)
        else:
            again = self.checklists.question(tr, svc, lang)
        again.text = text + "\n\n" + again.text
        return again

    def _route(self, conv: Conversation, tr: Tracker, u: Understanding) -> Reply:
        reply = self._route_understood(conv, tr, u)
        reply.confidence = min(reply.confidence, u.confidence)
        return reply

    def _route_understood(self, conv: Conversation, tr: Tracker, u: Understanding) -> Reply:
        """Small talk and deeds here; every question goes to ``answer_question``."""
        lang = u.lang
        ctx = self.context(tr)
        intent, service_id = with_context(ctx, u)
        svc = self.catalog.service(service_id) if service_id else None
        last = tr.last_service
        target = svc or (self.catalog.service(last) if last else None)
        if COMPLETE.search(u.norm) and not u.slots.tracking_number and target is not None:
            # "Apakah dokumen saya sudah lengkap?": run the documents checklist of that service.
            return self.checklists.start(conv, tr, target, lang, then="offer")
        if intent == "greeting":
            return Reply(
                t("assistant.hello_i_am_the_mpp_banyuwangi", lang),
                lang=lang,
                intent=intent,
                confidence=u.confidence,
                quick_replies=popular(ctx, lang),
            )
        if intent == "thanks":
            return Reply(
                t("assistant.you_are_welcome_anything_else_i", lang),
                lang=lang,
                intent=intent,
                confidence=u.confidence,
            )
        if intent == "office_hours":
            hours, c = office_hours(self.catalog, lang, about=bool(about_mpp_rule().search(u.norm)))
            return Reply(hours, lang=lang, intent=intent, confidence=u.confidence, citations=[c])
        if intent == "talk_to_officer":
            return self._handoff(conv, tr, lang, confidence=u.confidence)
        if intent == "check_status":
            if not TRACKING_RE.search(u.text):
                tr.expecting = "tracking_number"
                how = status_how(ctx, u, lang)
                if how is not None:
                    return how
            reply = actions.status(self.catalog, conv, u.text, lang, confidence=u.confidence)
            reply.service = reply.service or u.service
            return reply
        if intent in ("take_queue", "start_application") and confident(ctx, u):
            if intent == "take_queue":
                if svc is None or (u.service_source == "model" and _agency_services(ctx, u.norm)):
                    # No service, or only the model's guess while an agency was named outright: ask.
                    return which_service(ctx, u, lang, "queue")
                return self.checklists.start(conv, tr, svc, lang, then="ticket")
            if svc is None:
                return which_service(ctx, u, lang, "apply")
            return self.forms.start(conv, tr, svc, lang, u.slots)
        reply = answer_question(ctx, u, lang)
        if reply.intent == "check_status":
            tr.expecting = "tracking_number"  # a status case asks for the BWI number: the next message may be it
        return reply


def _tail(text: str) -> str:
    """The end of a long message, where the question is: from the last sentence that asks something,
    or else its last sentences (at most a few hundred characters)."""
    sentences = [x.strip() for x in re.split(r"(?<=[.!?\n])\s+", text[-MAX_TEXT:]) if x.strip()]
    for i in range(len(sentences) - 1, -1, -1):
        if sentences[i].endswith("?"):
            return " ".join(sentences[i:])[:MAX_TEXT]
    out: list[str] = []
    for sent in reversed(sentences):
        if out and sum(len(x) for x in out) + len(sent) > 400:
            break
        out.insert(0, sent)
    return " ".join(out)[-MAX_TEXT:]


def _too_long(lang: str, answered: bool) -> str:
    if answered:
        return t("assistant.your_message_is_over_max_text_2", lang, MAX_TEXT=MAX_TEXT)
    return t("assistant.your_message_is_over_max_text", lang, MAX_TEXT=MAX_TEXT)


def aspect_of(text: str) -> str | None:
    """Exposed for tests and tools: the rule-based aspect of a raw question."""
    return detect_aspect(normalize(text))
