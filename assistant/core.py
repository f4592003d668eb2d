"""The Assistant: one message in, one grounded Reply out, with dialogue state in an event log.

State is folded from the conversation's events (stored through the port), so
a reconnect or a server restart resumes a half-filled form where it stopped.
This module is the turn loop only: questions go to ``assistant.answering``, deeds to
``assistant.actions``, and forms and checklists to the loops in ``assistant.dialogue``.
"""

from __future__ import annotations

import copy
import logging
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
    which_service,
    with_context,
)
from assistant.answering import agency_services as _agency_services
from assistant.answers import ASPECT_LABELS, office_hours
from assistant.dialogue.checklist import ChecklistLoop
from assistant.dialogue.form import FormLoop
from assistant.dialogue.words import NO, YES
from assistant.nlu import NLU, Understanding, detect_aspect
from assistant.ports import Caller, PortError, ServicePort
from assistant.reply import Reply, qr_officer
from assistant.reply import t as _t
from assistant.slots import TRACKING_RE
from assistant.text import detect_lang, normalize
from protocol.catalog import Catalog, default_catalog

__all__ = ["MAX_TEXT", "Assistant", "Conversation", "Reply", "aspect_of"]

log = logging.getLogger(__name__)

MAX_TEXT = 2000


def _initial_state() -> dict[str, Any]:
    return {
        "lang": None,
        "last_service": None,
        "last_aspect": None,
        "mode": None,
        "form": None,
        "checklist": None,
        "pending": None,
        "forms_started": 0,
        "identity": None,
    }


class Conversation:
    """One chat thread: its id, who is talking, and its event log held by the port."""

    def __init__(self, id: str, caller: Caller, port: ServicePort) -> None:
        self.id = id
        self.caller = caller
        self.port = port
        self.events: list[dict[str, Any]] = list(port.load_conversation(id))
        self.state: dict[str, Any] = _initial_state()
        for ev in self.events:
            if ev.get("kind") == "assistant" and isinstance(ev.get("state"), dict):
                self.state = {**_initial_state(), **copy.deepcopy(ev["state"])}
        ident = self.state.get("identity")
        if ident and caller.citizen_id is None:
            self.caller = Caller(
                session_id=caller.session_id, citizen_id=ident.get("citizen_id"), nik=ident.get("nik"),
                name=ident.get("name"),
            )  # fmt: skip

    def append(self, event: dict[str, Any]) -> None:
        self.port.append_conversation(self.id, self.caller, event)
        self.events.append(event)

    def transcript(self) -> list[dict[str, Any]]:
        return [
            {
                "role": "citizen" if e["kind"] == "user" else "assistant",
                "text": e.get("text", ""),
                "service": e.get("service"),
            }
            for e in self.events
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
        self.forms = FormLoop(catalog)
        self.checklists = ChecklistLoop(catalog)

    @classmethod
    def load(cls, model_dir: Path | None = None, catalog: Catalog | None = None) -> Assistant:
        cat = catalog or default_catalog()
        nlu = NLU.load(cat, model_dir)
        return cls(nlu, cat, nlu.heads.meta)

    def context(self, state: dict[str, Any]) -> AnswerContext:
        return AnswerContext(
            self.catalog, self.intent_threshold, self.service_threshold,
            state.get("last_service"), state.get("last_aspect"),
        )  # fmt: skip

    # ------------------------------------------------------------------ entry point

    def respond(self, conversation: Conversation, text: str, lang: str | None = None) -> Reply:
        """Answer one message. ``lang`` (the client's UI language) is only a prior for short messages."""
        text = (text or "").strip()[:MAX_TEXT]
        conversation.append({"kind": "user", "text": text, "ts": round(time.time(), 3)})
        state = conversation.state
        if lang in ("id", "en") and not state.get("lang"):
            state["lang"] = lang
        try:
            reply = self._dispatch(conversation, state, text)
        except PortError as exc:
            lang = state.get("lang") or "id"
            reply = Reply(exc.message(lang), lang=lang, intent="talk_to_officer", quick_replies=[qr_officer(lang)])
        except (KeyError, IndexError, TypeError, ValueError):
            # A stored state that no longer fits the catalogue (e.g. a service was removed while a
            # form was open) must not break the chat: start the dialogue afresh and say so.
            log.warning("conversation %s: state reset after an inconsistent event log", conversation.id, exc_info=True)
            lang = state.get("lang") or "id"
            state.clear()
            state.update(_initial_state())
            reply = Reply(
                _t(lang, "Maaf, percakapan saya mulai ulang. Silakan ulangi pertanyaan Anda.",
                   "Sorry, I had to restart our conversation. Please ask again."),
                lang=lang,
                quick_replies=[qr_officer(lang)],
                fallback=True,
            )  # fmt: skip
        state["lang"] = reply.lang
        if reply.service:
            state["last_service"] = reply.service
        if reply.aspect:
            state["last_aspect"] = reply.aspect
        event = reply.to_event()
        event["state"] = copy.deepcopy(state)
        conversation.append(event)
        return reply

    def understand(self, text: str, lang_prior: str = "id") -> Understanding:
        return self.nlu.understand(text, lang_prior)

    # ------------------------------------------------------------------ routing

    def _dispatch(self, conv: Conversation, state: dict[str, Any], text: str) -> Reply:
        prior = state.get("lang") or "id"
        if not text:
            return Reply(_t(prior, "Silakan ketik pertanyaan Anda.", "Please type your question."), lang=prior)
        if text.startswith("/"):
            cmd = self._command(conv, state, text, prior)
            if cmd is not None:
                return cmd
        mode = state.get("mode")
        if mode in ("form", "confirm"):
            return self.forms.turn(conv, state, text)
        if mode == "checklist":
            return self.checklists.turn(conv, state, text)
        if mode == "await_tracking" and TRACKING_RE.search(text):
            state["mode"] = None
            return actions.status(self.catalog, conv, text, prior)
        if mode == "offer_officer":
            # The last reply asked "shall I connect you to an officer?": a bare yes/no answers it.
            state["mode"] = None
            norm = normalize(text)
            if YES.match(norm) and len(norm.split()) <= 3:
                return actions.handoff(conv, detect_lang(text, prior))
            if NO.match(norm) and len(norm.split()) <= 3:
                lang = detect_lang(text, prior)
                return Reply(
                    _t(lang, "Baik. Ada pertanyaan lain tentang layanan MPP?", "All right. Any other question?"),
                    lang=lang,
                    quick_replies=popular(self.context(state), lang),
                )
        state["mode"] = None
        u = self.nlu.understand(text, prior)
        return self._route(conv, state, u)

    def _command(self, conv: Conversation, state: dict[str, Any], text: str, lang: str) -> Reply | None:
        parts = text[1:].split()
        if not parts:
            return None
        cmd, args = parts[0].lower(), parts[1:]
        sid = args[0] if args and args[0] in {s.id for s in self.catalog.services} else None
        if cmd == "ask" and sid:
            aspect = args[1] if len(args) > 1 and args[1] in ASPECT_LABELS else None
            return answer(self.context(state), self.catalog.service(sid), aspect, lang, 1.0)
        if cmd == "apply" and sid:
            return self.forms.start(conv, state, self.catalog.service(sid), lang)
        if cmd == "queue" and sid:
            return self.checklists.start(state, self.catalog.service(sid), lang, then="ticket")
        if cmd == "ticket" and sid:
            state["mode"], state["checklist"] = None, None
            return actions.ticket(self.catalog, conv, self.catalog.service(sid), lang)
        if cmd == "officer":
            return actions.handoff(conv, lang)
        if cmd == "hours":
            t, c = office_hours(self.catalog, lang)
            return Reply(t, lang=lang, intent="office_hours", citations=[c])
        if cmd == "edit" and args and state.get("form"):
            edited = self.forms.edit(state, args[0], lang)
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
            return self._dispatch(conv, state, word)
        return None

    def _route(self, conv: Conversation, state: dict[str, Any], u: Understanding) -> Reply:
        reply = self._route_understood(conv, state, u)
        reply.confidence = min(reply.confidence, u.confidence)
        if reply.offer == "officer" and state.get("mode") is None:
            state["mode"] = "offer_officer"
        return reply

    def _route_understood(self, conv: Conversation, state: dict[str, Any], u: Understanding) -> Reply:
        """Small talk and deeds here; every question goes to ``answer_question``."""
        lang = u.lang
        ctx = self.context(state)
        intent, service_id = with_context(ctx, u)
        svc = self.catalog.service(service_id) if service_id else None
        last = state.get("last_service")
        target = svc or (self.catalog.service(last) if last else None)
        if COMPLETE.search(u.norm) and not u.slots.tracking_number and target is not None:
            # "Apakah dokumen saya sudah lengkap?": run the documents checklist of that service.
            return self.checklists.start(state, target, lang, then="offer")
        if intent == "greeting":
            return Reply(
                _t(
                    lang,
                    "Halo! Saya asisten virtual MPP Banyuwangi. Tanyakan syarat, biaya, atau cara mengurus layanan.",
                    "Hello! I am the MPP Banyuwangi virtual assistant. Ask me about requirements, fees or procedures.",
                ),
                lang=lang,
                intent=intent,
                confidence=u.confidence,
                quick_replies=popular(ctx, lang),
            )
        if intent == "thanks":
            return Reply(
                _t(
                    lang, "Sama-sama! Ada lagi yang bisa saya bantu?", "You are welcome! Anything else I can help with?"
                ),
                lang=lang,
                intent=intent,
                confidence=u.confidence,
            )
        if intent == "office_hours":
            t, c = office_hours(self.catalog, lang)
            return Reply(t, lang=lang, intent=intent, confidence=u.confidence, citations=[c])
        if intent == "talk_to_officer":
            return actions.handoff(conv, lang, confidence=u.confidence)
        if intent == "check_status":
            if not TRACKING_RE.search(u.text):
                state["mode"] = "await_tracking"
            reply = actions.status(self.catalog, conv, u.text, lang, confidence=u.confidence)
            reply.service = reply.service or u.service
            return reply
        if intent in ("take_queue", "start_application") and confident(ctx, u):
            if intent == "take_queue":
                if svc is None or (u.service_source == "model" and _agency_services(ctx, u.norm)):
                    # No service, or only the model's guess while an agency was named outright: ask.
                    return which_service(ctx, u, lang, "queue")
                return self.checklists.start(state, svc, lang, then="ticket")
            if svc is None:
                return which_service(ctx, u, lang, "apply")
            return self.forms.start(conv, state, svc, lang, u.slots)
        return answer_question(ctx, u, lang)


def aspect_of(text: str) -> str | None:
    """Exposed for tests and tools: the rule-based aspect of a raw question."""
    return detect_aspect(normalize(text))
