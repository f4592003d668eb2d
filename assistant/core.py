"""The Assistant: one message in, one grounded Reply out, with dialogue state in an event log.

State is folded from the conversation's events (stored through the port), so
a reconnect or a server restart resumes a half-filled form where it stopped.
"""

from __future__ import annotations

import copy
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.answers import ASPECT_LABELS, compose, office_hours
from assistant.nlu import NLU, Understanding, detect_aspect
from assistant.ports import Caller, PortError, ServicePort
from assistant.slots import NIK_RE, TRACKING_RE, Slots, extract_name, parse_date_text
from assistant.text import detect_lang, normalize
from protocol.catalog import Catalog, FormField, Localized, Service, default_catalog
from protocol.messages import ChatReply, Citation, QuickReply, WorldAction

log = logging.getLogger(__name__)

MAX_TEXT = 2000
MODEL_ONLY_SERVICE_CONF = 0.5

_YES = re.compile(
    r"^(ya|iya|y|yes|yep|ok|oke|okay|benar|betul|sudah|sdh|udah|bawa|ada|lengkap|kirim|submit|setuju|sure)\b"
)
_NO = re.compile(r"^(tidak|no|nope|belum|ga|gak|nggak|enggak|tak|salah|ubah|change|ganti|bukan)\b")
_CANCEL = re.compile(r"^(batal|batalkan|cancel|stop|berhenti|keluar|quit|exit)\b")
_REPEAT = re.compile(r"^(ulangi|ulang|repeat|again|lagi|apa tadi)\b")
_BACK = re.compile(r"^(kembali|back|mundur|sebelumnya|previous)\b")
_SKIP = re.compile(r"^(lewati|lewat|skip|kosong|tidak ada|none|-)$")
_CORRECT = re.compile(r"^(bukan|salah|koreksi|ralat|maksud saya|maksudnya|not|no,|wrong|correction|sorry)\b[\s,:]*")
_COMPLETE = re.compile(r"\b(lengkap|kelengkapan|checklist|complete|cek dokumen|cek berkas)\b")

STATE_LABELS: dict[str, Localized] = {
    "draft": Localized(id="draf", en="draft"),
    "submitted": Localized(id="sudah diajukan, menunggu verifikasi", en="submitted, awaiting verification"),
    "verified": Localized(id="sudah diverifikasi", en="verified"),
    "in_process": Localized(id="sedang diproses", en="in process"),
    "ready": Localized(id="siap diambil", en="ready for pickup"),
    "completed": Localized(id="selesai", en="completed"),
    "needs_revision": Localized(id="perlu perbaikan dari Anda", en="needs a revision from you"),
    "rejected": Localized(id="ditolak", en="rejected"),
    "cancelled": Localized(id="dibatalkan", en="cancelled"),
}

# Words that point a correction at a field, by field name fragment.
_FIELD_HINTS: list[tuple[re.Pattern[str], tuple[str, ...]]] = [
    (re.compile(r"\bnama anak(nya)?\b|\bchild'?s name\b"), ("child_name",)),
    (re.compile(r"\bnama(nya)?\b|\bname\b"), ("full_name", "name")),
    (re.compile(r"\bnik(nya)?\b"), ("nik",)),
    (re.compile(r"\b(tanggal|tgl|date)(nya)?\b"), ("date",)),
    (re.compile(r"\b(hp|telepon|telp|nomor hp|phone|wa)(nya)?\b"), ("phone",)),
    (re.compile(r"\b(email|e-mail|surel)(nya)?\b"), ("email",)),
    (re.compile(r"\b(desa|kelurahan|village)(nya)?\b"), ("village",)),
    (re.compile(r"\b(alamat|address)(nya)?\b"), ("address",)),
    (re.compile(r"\b(kk|kartu keluarga)(nya)?\b"), ("kk_number",)),
]


def _t(lang: str, id_: str, en: str) -> str:
    return en if lang == "en" else id_


@dataclass
class Reply:
    text: str
    lang: str = "id"
    intent: str | None = None
    service: str | None = None
    aspect: str | None = None
    confidence: float = 1.0
    quick_replies: list[QuickReply] = field(default_factory=list)
    actions: list[WorldAction] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    fallback: bool = False
    offer: str | None = None  # a yes/no offer the next message may answer (e.g. "officer")

    def to_frame(self, conversation_id: str, ref: str | None = None) -> ChatReply:
        return ChatReply(
            conversation_id=conversation_id,
            text=self.text,
            lang="en" if self.lang == "en" else "id",
            quick_replies=list(self.quick_replies),
            actions=list(self.actions),
            citations=list(self.citations),
            intent=self.intent,
            service=self.service,
            ref=ref,
        )

    def to_event(self) -> dict[str, Any]:
        return {
            "kind": "assistant",
            "text": self.text,
            "lang": self.lang,
            "intent": self.intent,
            "service": self.service,
            "aspect": self.aspect,
            "confidence": round(self.confidence, 4),
            "fallback": self.fallback,
            "quick_replies": [q.model_dump() for q in self.quick_replies],
            "actions": [a.model_dump() for a in self.actions],
        }


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

    @classmethod
    def load(cls, model_dir: Path | None = None, catalog: Catalog | None = None) -> Assistant:
        cat = catalog or default_catalog()
        nlu = NLU.load(cat, model_dir)
        return cls(nlu, cat, nlu.heads.meta)

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
            reply = Reply(
                exc.message(lang), lang=lang, intent="talk_to_officer", quick_replies=[self._qr_officer(lang)]
            )
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
                quick_replies=[self._qr_officer(lang)],
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
            return self._form_turn(conv, state, text)
        if mode == "checklist":
            return self._checklist_turn(conv, state, text)
        if mode == "await_tracking" and TRACKING_RE.search(text):
            state["mode"] = None
            return self._status(conv, state, text, prior)
        if mode == "offer_officer":
            # The last reply asked "shall I connect you to an officer?": a bare yes/no answers it.
            state["mode"] = None
            norm = normalize(text)
            if _YES.match(norm) and len(norm.split()) <= 3:
                return self._handoff(conv, detect_lang(text, prior))
            if _NO.match(norm) and len(norm.split()) <= 3:
                lang = detect_lang(text, prior)
                return Reply(
                    _t(lang, "Baik. Ada pertanyaan lain tentang layanan MPP?", "All right. Any other question?"),
                    lang=lang,
                    quick_replies=self._popular(lang),
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
            return self._answer(self.catalog.service(sid), aspect, lang, 1.0)
        if cmd == "apply" and sid:
            return self._start_form(conv, state, self.catalog.service(sid), lang)
        if cmd == "queue" and sid:
            return self._start_checklist(state, self.catalog.service(sid), lang, then="ticket")
        if cmd == "ticket" and sid:
            state["mode"], state["checklist"] = None, None
            return self._ticket(conv, self.catalog.service(sid), lang)
        if cmd == "officer":
            return self._handoff(conv, lang)
        if cmd == "hours":
            t, c = office_hours(self.catalog, lang)
            return Reply(t, lang=lang, intent="office_hours", citations=[c])
        if cmd == "edit" and args and state.get("form"):
            form = state["form"]
            names = [f.name for f in self.catalog.service(form["service"]).form]
            if args[0] in names:
                form["idx"] = names.index(args[0])
                form["return_to_confirm"] = True
                state["mode"] = "form"
                return self._ask_field(state, lang)
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
        lang = u.lang
        intent = u.intent
        last = state.get("last_service")
        service_id = u.service
        # A follow-up ("kalau hilang bagaimana?") names an aspect but no service: keep the context.
        if service_id is None and last and u.aspect and intent in ("ask_service", "out_of_scope", "start_application"):
            if intent == "out_of_scope" or u.intent_conf < 0.9 or intent == "ask_service":
                intent = "ask_service"
                service_id = last
                u.service_source = "context"
        if service_id is None and last and intent in ("start_application", "take_queue") and not u.slots.nik:
            service_id = last  # "mau ajukan" right after a question about a service means that service
            u.service_source = "context"
        svc = self.catalog.service(service_id) if service_id else None
        target = svc or (self.catalog.service(last) if last else None)
        if _COMPLETE.search(u.norm) and not u.slots.tracking_number and target is not None:
            # "Apakah dokumen saya sudah lengkap?": run the documents checklist of that service.
            return self._start_checklist(state, target, lang, then="offer")
        confident = u.intent_conf >= self.intent_threshold or u.service_source == "rule"

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
                quick_replies=self._popular(lang),
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
            return self._handoff(conv, lang, confidence=u.confidence)
        if intent == "check_status":
            reply = self._status(conv, state, u.text, lang, confidence=u.confidence)
            reply.service = reply.service or u.service
            return reply
        if intent == "ask_service" and svc is None and u.aspect is None and not _COMPLETE.search(u.norm):
            # No service, no aspect, no context: nothing in the catalogue to ground an answer on.
            u.intent = "out_of_scope"
            return self._dont_know(u, lang)
        if intent == "out_of_scope" or not confident:
            return self._dont_know(u, lang)
        if svc is not None and _COMPLETE.search(u.norm) and intent in ("ask_service", "take_queue"):
            return self._start_checklist(state, svc, lang, then="offer")
        if intent == "take_queue":
            if svc is None or (u.service_source == "model" and self._agency_services(u.norm)):
                # No service, or only the model's guess while an agency was named outright: ask.
                return self._which_service(state, u, lang, "queue")
            return self._start_checklist(state, svc, lang, then="ticket")
        if intent == "start_application":
            if svc is None:
                return self._which_service(state, u, lang, "apply")
            return self._start_form(conv, state, svc, lang, u.slots)
        # ask_service
        if svc is None:
            return self._which_service(state, u, lang, "ask", aspect=u.aspect)
        if u.service_source == "model" and min(u.service_conf, u.intent_conf) < max(
            self.service_threshold, MODEL_ONLY_SERVICE_CONF
        ):
            # No alias named the service and the model alone is unsure: ask rather than guess.
            return self._which_service(state, u, lang, "ask", aspect=u.aspect)
        aspect = u.aspect
        if aspect is None and u.service_source == "rule" and len(u.norm.split()) <= 3 and state.get("last_aspect"):
            aspect = state["last_aspect"]  # "kalau paspor?" after a fee question: same aspect
        return self._answer(svc, aspect, lang, u.confidence)

    # ------------------------------------------------------------------ answers

    def _answer(self, svc: Service, aspect: str | None, lang: str, confidence: float) -> Reply:
        text, cite = compose(self.catalog, svc, aspect, lang)
        qrs = []
        if aspect is None:
            for a in ("requirements", "fee", "duration", "procedure"):
                qrs.append(QuickReply(label=ASPECT_LABELS[a].get(lang), payload=f"/ask {svc.id} {a}"))
        qrs.append(QuickReply(label=_t(lang, "Ajukan sekarang", "Apply now"), payload=f"/apply {svc.id}"))
        qrs.append(QuickReply(label=_t(lang, "Ambil antrean", "Take a ticket"), payload=f"/queue {svc.id}"))
        return Reply(
            text, lang=lang, intent="ask_service", service=svc.id, aspect=aspect, confidence=confidence,
            quick_replies=qrs, citations=[cite],
        )  # fmt: skip

    def _popular(self, lang: str) -> list[QuickReply]:
        out = []
        for sid in ("ktp-el", "akta-kelahiran", "paspor", "skck"):
            try:
                svc = self.catalog.service(sid)
            except KeyError:
                continue
            out.append(QuickReply(label=svc.short_name.get(lang), payload=f"/ask {sid}"))
        return out

    def _qr_officer(self, lang: str) -> QuickReply:
        return QuickReply(label=_t(lang, "Bicara dengan petugas", "Talk to an officer"), payload="/officer")

    def _dont_know(self, u: Understanding, lang: str) -> Reply:
        qrs = [self._qr_officer(lang)]
        if u.intent != "out_of_scope" and u.top_services:
            for sid, _p in u.top_services[:2]:
                svc = self.catalog.service(sid)
                qrs.insert(0, QuickReply(label=svc.short_name.get(lang), payload=f"/ask {sid}"))
            text = _t(
                lang,
                "Maaf, saya belum yakin maksud Anda. Apakah tentang salah satu layanan ini? "
                "Atau saya hubungkan dengan petugas.",
                "Sorry, I am not sure what you mean. Is it about one of these services? Or I can connect you "
                "to an officer.",
            )
        else:
            text = _t(
                lang,
                "Maaf, saya tidak tahu jawabannya: pertanyaan itu di luar layanan yang ada di katalog MPP. "
                "Mau saya hubungkan dengan petugas?",
                "Sorry, I don't know: that is outside the services in the MPP catalogue. "
                "Shall I connect you to an officer?",
            )
        return Reply(
            text, lang=lang, intent=u.intent, confidence=u.confidence, quick_replies=qrs, fallback=True,
            offer="officer",
        )  # fmt: skip

    def _which_service(
        self, state: dict[str, Any], u: Understanding, lang: str, action: str, aspect: str | None = None
    ) -> Reply:
        qrs = []
        candidates = [sid for sid, _p in u.top_services[:3]]
        named = self._agency_services(u.norm)
        if named:
            # "antre loket dukcapil": the agency narrows the choice to its own services.
            candidates = sorted(named, key=lambda s: -dict(u.top_services).get(s, 0.0))[:5]
        for sid in candidates:
            svc = self.catalog.service(sid)
            payload = f"/{action} {sid}" + (f" {aspect}" if aspect and action == "ask" else "")
            qrs.append(QuickReply(label=svc.short_name.get(lang), payload=payload))
        qrs.append(self._qr_officer(lang))
        text = _t(lang, "Layanan mana yang Anda maksud?", "Which service do you mean?")
        return Reply(
            text, lang=lang, intent=u.intent, aspect=aspect, confidence=u.confidence, quick_replies=qrs,
            fallback=True,
        )  # fmt: skip

    def _agency_services(self, norm: str) -> list[str]:
        """Services of an agency named in the text (Dukcapil, Samsat, Imigrasi...)."""
        for agency in self.catalog.agencies:
            names = {normalize(agency.short), normalize(agency.id.replace("-", " "))}
            if any(n and re.search(rf"(?<![a-z0-9]){re.escape(n)}(?![a-z0-9])", norm) for n in names):
                return [s.id for s in self.catalog.services if s.agency == agency.id]
        return []

    # ------------------------------------------------------------------ status, ticket, handoff

    def _status(
        self, conv: Conversation, state: dict[str, Any], text: str, lang: str, confidence: float = 1.0
    ) -> Reply:
        m = TRACKING_RE.search(text)
        if not m:
            state["mode"] = "await_tracking"
            return Reply(
                _t(
                    lang,
                    "Sebutkan nomor pelacakan permohonan Anda (contoh: BWI-2026-000123).",
                    "Please give your application's tracking number (for example BWI-2026-000123).",
                ),
                lang=lang,
                intent="check_status",
                confidence=confidence,
            )
        tracking = f"BWI-{m.group(2)}-{m.group(3)}"
        try:
            st = conv.port.application_status(conv.caller, tracking)
        except PortError as exc:
            if exc.code != "not_found":
                raise
            return Reply(
                exc.message(lang), lang=lang, intent="check_status", confidence=confidence,
                quick_replies=[self._qr_officer(lang)],
            )  # fmt: skip
        label = STATE_LABELS.get(st.state)
        state_text = label.get(lang) if label else st.state
        try:
            svc_name = self.catalog.service(st.service_id).short_name.get(lang)
        except KeyError:
            svc_name = st.service_id
        return Reply(
            _t(
                lang,
                f"Status permohonan {st.tracking_number} ({svc_name}): {state_text}.",
                f"Status of application {st.tracking_number} ({svc_name}): {state_text}.",
            ),
            lang=lang,
            intent="check_status",
            service=st.service_id,
            confidence=confidence,
            actions=[WorldAction(kind="show_application", data={"tracking_number": st.tracking_number})],
        )

    def _ticket(self, conv: Conversation, svc: Service, lang: str) -> Reply:
        ticket = conv.port.take_ticket(conv.caller, svc.counter)
        _agency, counter = self.catalog.counter(ticket.counter)
        return Reply(
            _t(
                lang,
                f"Nomor antrean Anda {ticket.code} untuk loket {counter.number} ({counter.label.id}). "
                f"Perkiraan menunggu {ticket.estimated_wait_min} menit.",
                f"Your ticket is {ticket.code} for counter {counter.number} ({counter.label.en}). "
                f"Estimated wait {ticket.estimated_wait_min} minutes.",
            ),
            lang=lang,
            intent="take_queue",
            service=svc.id,
            actions=[
                WorldAction(kind="show_ticket", data={"code": ticket.code, "counter": ticket.counter}),
                WorldAction(kind="walk_to_counter", data={"counter": ticket.counter}),
            ],
        )

    def _handoff(self, conv: Conversation, lang: str, confidence: float = 1.0) -> Reply:
        result = conv.port.request_handoff(conv.caller, conv.id, conv.transcript())
        return Reply(
            _t(
                lang,
                "Baik, saya hubungkan Anda dengan petugas. Mohon tunggu sebentar; riwayat percakapan ini ikut dikirim.",
                "All right, I am connecting you to an officer. Please wait a moment; this conversation is passed on.",
            ),
            lang=lang,
            intent="talk_to_officer",
            confidence=confidence,
            actions=[WorldAction(kind="handoff", data={"handoff_id": result.handoff_id, "state": result.state})],
        )

    # ------------------------------------------------------------------ documents checklist

    def _start_checklist(self, state: dict[str, Any], svc: Service, lang: str, then: str) -> Reply:
        state["mode"] = "checklist"
        state["checklist"] = {"service": svc.id, "idx": 0, "missing": [], "then": then}
        intro = _t(
            lang,
            f"Sebelum ke loket, mari cek kelengkapan dokumen {svc.short_name.id}. Ketik 'lewati' untuk melewati.",
            f"Before you go to the counter, let's check your documents for {svc.short_name.en}. Type 'skip' to skip.",
        )
        return self._checklist_question(state, svc, lang, intro)

    def _checklist_question(self, state: dict[str, Any], svc: Service, lang: str, intro: str = "") -> Reply:
        cl = state["checklist"]
        doc = svc.documents[cl["idx"]]
        q = _t(lang, f"Apakah Anda sudah membawa: {doc.label.id}?", f"Do you have: {doc.label.en}?")
        return Reply(
            (intro + "\n" if intro else "") + q,
            lang=lang,
            intent="take_queue" if cl["then"] == "ticket" else "ask_service",
            service=svc.id,
            quick_replies=[
                QuickReply(label=_t(lang, "Ya", "Yes"), payload="/yes"),
                QuickReply(label=_t(lang, "Tidak", "No"), payload="/no"),
                QuickReply(label=_t(lang, "Lewati", "Skip"), payload="/skip"),
            ],
        )

    def _checklist_turn(self, conv: Conversation, state: dict[str, Any], text: str) -> Reply:
        lang = detect_lang(text, state.get("lang") or "id")
        cl = state["checklist"]
        svc = self.catalog.service(cl["service"])
        norm = normalize(text)
        if _CANCEL.match(norm):
            state["mode"], state["checklist"] = None, None
            return Reply(_t(lang, "Baik, dibatalkan.", "All right, cancelled."), lang=lang, intent="take_queue")
        if _SKIP.match(norm) or norm in ("lewati", "skip"):
            state["mode"], state["checklist"] = None, None
            if cl["then"] == "ticket":
                return self._ticket(conv, svc, lang)
            return Reply(_t(lang, "Baik.", "All right."), lang=lang, service=svc.id)
        if _REPEAT.match(norm):
            return self._checklist_question(state, svc, lang)
        if _YES.match(norm):
            pass
        elif _NO.match(norm):
            doc = svc.documents[cl["idx"]]
            if doc.required:
                cl["missing"].append(doc.id)
        else:
            return self._checklist_question(
                state, svc, lang, _t(lang, "Mohon jawab ya atau tidak.", "Please answer yes or no.")
            )
        cl["idx"] += 1
        if cl["idx"] < len(svc.documents):
            return self._checklist_question(state, svc, lang)
        state["mode"], state["checklist"] = None, None
        missing = [d for d in svc.documents if d.id in cl["missing"]]
        if missing:
            lines = "\n".join(f"• {d.label.get(lang)}" for d in missing)
            return Reply(
                _t(
                    lang,
                    "Dokumen Anda belum lengkap. Yang masih kurang:\n",
                    "Your documents are not complete. Missing:\n",
                )
                + lines,
                lang=lang,
                intent="take_queue",
                service=svc.id,
                quick_replies=[
                    QuickReply(
                        label=_t(lang, "Tetap ambil antrean", "Take a ticket anyway"), payload=f"/ticket {svc.id}"
                    ),
                    QuickReply(
                        label=_t(lang, "Lihat syarat", "See requirements"), payload=f"/ask {svc.id} requirements"
                    ),
                ],
            )
        if cl["then"] == "ticket":
            reply = self._ticket(conv, svc, lang)
            reply.text = _t(lang, "Dokumen lengkap. ", "Your documents are complete. ") + reply.text
            return reply
        return Reply(
            _t(lang, "Dokumen Anda sudah lengkap.", "Your documents are complete."),
            lang=lang,
            intent="ask_service",
            service=svc.id,
            quick_replies=[QuickReply(label=_t(lang, "Ambil antrean", "Take a ticket"), payload=f"/ticket {svc.id}")],
        )

    # ------------------------------------------------------------------ application form

    def _start_form(
        self, conv: Conversation, state: dict[str, Any], svc: Service, lang: str, slots: Slots | None = None
    ) -> Reply:
        state["forms_started"] = int(state.get("forms_started") or 0) + 1
        state["mode"] = "form"
        state["form"] = {"service": svc.id, "idx": 0, "data": {}, "seq": state["forms_started"]}
        intro = _t(
            lang,
            f"Baik, kita isi permohonan {svc.short_name.id} satu per satu. "
            "Ketik 'batal' untuk membatalkan, 'kembali' untuk pertanyaan sebelumnya, 'ulangi' untuk mengulang.",
            f"All right, let's fill in the {svc.short_name.en} application one question at a time. "
            "Type 'cancel' to stop, 'back' for the previous question, 'repeat' to hear it again.",
        )
        form = state["form"]
        known: dict[str, str | None] = {"nik": conv.caller.nik, "full_name": conv.caller.name}
        prefilled = []
        for f in svc.form:
            value = known.get(f.name)
            if value and self._validate(f, value)[1] is None:
                form["data"][f.name] = value
                prefilled.append(f.label.get(lang))
        if prefilled:
            # An identified citizen is not asked again; the read-back still shows it for correction.
            intro += (
                "\n" + _t(lang, "Dari identitas sesi Anda: ", "From your session identity: ") + ", ".join(prefilled)
            )
        taken = self._prefill_from_slots(svc, form["data"], slots)
        if taken:
            intro += (
                "\n"
                + _t(lang, "Dari pesan Anda: ", "From your message: ")
                + ", ".join(f.label.get(lang) for f in taken)
            )
        while form["idx"] < len(svc.form) and svc.form[form["idx"]].name in form["data"]:
            form["idx"] += 1
        if form["idx"] >= len(svc.form):
            reply = self._read_back(state, svc, lang, intro)
        else:
            reply = self._ask_field(state, lang, intro)
        reply.actions.insert(0, WorldAction(kind="open_form", data={"service_id": svc.id}))
        return reply

    def _prefill_from_slots(self, svc: Service, data: dict[str, Any], slots: Slots | None) -> list[FormField]:
        """Values already given in the opening message ("... NIK 3510..., lahir 12 Januari 2024")."""
        if slots is None:
            return []
        taken: list[FormField] = []
        dates = [f for f in svc.form if f.type == "date"]
        for f in svc.form:
            if f.name in data:
                continue
            raw: str | None = None
            if f.type == "nik" and f.name == "nik":
                raw = slots.nik
            elif f.name == "full_name":
                raw = slots.name
            elif f.type == "date" and len(dates) == 1 and slots.date is not None:
                raw = slots.date.isoformat()
            elif f.type == "village":
                raw = slots.village
            if raw:
                value, err, _err_en = self._validate(f, raw)
                if err is None:
                    data[f.name] = value
                    taken.append(f)
        return taken

    def _field_prompt(self, f: FormField, lang: str) -> str:
        q = f.label.get(lang)
        if f.type == "select":
            q += "? " + _t(lang, "Pilih: ", "Choose: ") + ", ".join(o.label.get(lang) for o in f.options)
        elif f.type == "date":
            q += "? " + _t(lang, "(contoh: 12 Januari 2020 atau 12-01-2020)", "(e.g. 12 January 2020 or 12-01-2020)")
        else:
            q += "?"
        if not f.required:
            q += _t(lang, " (boleh dilewati: ketik 'lewati')", " (optional: type 'skip')")
        if f.help is not None:
            q += " " + f.help.get(lang)
        return q

    def _ask_field(self, state: dict[str, Any], lang: str, intro: str = "") -> Reply:
        form = state["form"]
        svc = self.catalog.service(form["service"])
        f = svc.form[form["idx"]]
        qrs = [QuickReply(label=o.label.get(lang), payload=o.value) for o in f.options]
        if not f.required:
            qrs.append(QuickReply(label=_t(lang, "Lewati", "Skip"), payload="/skip"))
        if form["idx"] > 0:
            qrs.append(QuickReply(label=_t(lang, "Kembali", "Back"), payload="/back"))
        qrs.append(QuickReply(label=_t(lang, "Batal", "Cancel"), payload="/cancel"))
        step = f"({form['idx'] + 1}/{len(svc.form)}) "
        return Reply(
            (intro + "\n" if intro else "") + step + self._field_prompt(f, lang),
            lang=lang,
            intent="start_application",
            service=svc.id,
            quick_replies=qrs,
        )

    def _prepare_value(self, f: FormField, text: str) -> str:
        """Pull the value out of a sentence: 'NIK saya 3510...' -> the digits, '12 Januari 2020' -> ISO."""
        raw = text.strip()
        if f.type == "nik":
            m = NIK_RE.search(raw)
            return m.group(1) if m else re.sub(r"[\s.\-]", "", raw)
        if f.type == "date":
            d = parse_date_text(raw)
            return d.isoformat() if d else raw
        if f.type == "select":
            norm = raw.lower().strip(" .")
            if norm.isdigit() and 1 <= int(norm) <= len(f.options):
                return f.options[int(norm) - 1].value
            for o in f.options:
                if norm in (o.value, o.label.id.lower(), o.label.en.lower()):
                    return o.value
            for o in f.options:
                lid, len_ = o.label.id.lower(), o.label.en.lower()
                if norm and (norm in lid or norm in len_ or lid.split(" (")[0] in norm or len_.split(" (")[0] in norm):
                    return o.value
            return raw
        if f.type == "number":
            m = re.search(r"\d+", raw)
            return m.group(0) if m else raw
        if f.type == "text" and "name" in f.name:
            name = extract_name(raw)
            return name or raw
        return raw

    def _validate(self, f: FormField, text: str) -> tuple[Any, str | None, str | None]:
        from protocol.forms import FieldError, validate_field

        value = self._prepare_value(f, text)
        try:
            cleaned = validate_field(f, value)
        except FieldError as exc:
            return None, exc.message.id, exc.message.en
        # A village is stored as typed: the server validates the submitted form again, and the
        # cleaned village id would not be found by name a second time.
        return (value.strip() if f.type == "village" else cleaned), None, None

    def _correction_field(self, svc: Service, text: str, form: dict[str, Any]) -> tuple[FormField | None, str]:
        """Which field a correction targets and the new value text."""
        body = _CORRECT.sub("", text.strip(), count=1)
        low = body.lower()
        for rx, frags in _FIELD_HINTS:
            m = rx.search(low)
            if not m:
                continue
            for f in svc.form:
                if any(fr == f.name or (fr in f.name and fr != "name") or (fr == "name" and f.name == "full_name")
                       for fr in frags) or (frags in (("date",), ("village",)) and f.type == frags[0]):  # fmt: skip
                    value = body[m.end() :]
                    value = re.sub(r"^(nya)?\s*(saya|anak|adalah|is|should be|harusnya|seharusnya)?\s*[:=]?\s*", "",
                                   value, flags=re.IGNORECASE)  # fmt: skip
                    return f, value.strip() or body
        names = [f.name for f in svc.form]
        answered = [n for n in names if n in form["data"]]
        if answered:
            prev = answered[-1] if form["idx"] >= len(names) else names[max(0, form["idx"] - 1)]
            return svc.form[names.index(prev)], body
        return None, body

    def _form_turn(self, conv: Conversation, state: dict[str, Any], text: str) -> Reply:
        form = state["form"]
        svc = self.catalog.service(form["service"])
        lang = detect_lang(text, state.get("lang") or "id")
        norm = normalize(text)
        if _CANCEL.match(norm):
            state["mode"], state["form"] = None, None
            return Reply(
                _t(lang, "Permohonan dibatalkan. Tidak ada yang dikirim.", "Application cancelled. Nothing was sent."),
                lang=lang,
                intent="start_application",
                service=svc.id,
            )
        if state["mode"] == "confirm":
            return self._confirm_turn(conv, state, svc, text, norm, lang)
        if _REPEAT.match(norm):
            return self._ask_field(state, lang)
        if _BACK.match(norm):
            form["idx"] = max(0, form["idx"] - 1)
            return self._ask_field(state, lang)
        if _CORRECT.match(norm) and (form["data"] or form["idx"] > 0):
            return self._apply_correction(state, svc, text, lang)
        f = svc.form[form["idx"]]
        if not f.required and (_SKIP.match(norm) or norm in ("lewati", "skip")):
            form["data"].pop(f.name, None)
            return self._advance(state, svc, lang)
        value, err_id, err_en = self._validate(f, text)
        if err_id is not None:
            again = self._ask_field(state, lang)
            again.text = _t(lang, f"Maaf, {err_id}", f"Sorry, {err_en}") + "\n" + again.text
            return again
        form["data"][f.name] = value
        return self._advance(state, svc, lang)

    def _apply_correction(self, state: dict[str, Any], svc: Service, text: str, lang: str) -> Reply:
        form = state["form"]
        f, value_text = self._correction_field(svc, text, form)
        if f is None:
            return self._ask_field(state, lang)
        value, err_id, err_en = self._validate(f, value_text)
        if err_id is not None:
            return Reply(
                _t(lang, f"Maaf, {err_id} Coba lagi.", f"Sorry, {err_en} Please try again."),
                lang=lang,
                intent="start_application",
                service=svc.id,
            )
        form["data"][f.name] = value
        note = _t(lang, f"Baik, {f.label.id} diubah.", f"OK, {f.label.en} updated.")
        if state["mode"] == "confirm" or form["idx"] >= len(svc.form):
            return self._read_back(state, svc, lang, note)
        reply = self._ask_field(state, lang)
        reply.text = note + "\n" + reply.text
        return reply

    def _advance(self, state: dict[str, Any], svc: Service, lang: str) -> Reply:
        form = state["form"]
        if form.pop("return_to_confirm", False):
            return self._read_back(state, svc, lang)
        form["idx"] += 1
        while form["idx"] < len(svc.form) and svc.form[form["idx"]].name in form["data"]:
            form["idx"] += 1  # already answered (e.g. through a correction): don't ask twice
        if form["idx"] < len(svc.form):
            return self._ask_field(state, lang)
        return self._read_back(state, svc, lang)

    def _display(self, f: FormField, value: Any, lang: str) -> str:
        if value is None:
            return "-"
        if f.type == "nik":
            from protocol.nik import mask_nik

            return mask_nik(str(value))
        if f.type == "select":
            for o in f.options:
                if o.value == value:
                    return o.label.get(lang)
        if f.type == "village":
            from protocol.regions import find_village

            v = find_village(str(value))
            if v is not None:
                return f"{v.name}, {v.kecamatan_name}"
        return str(value)

    def _read_back(self, state: dict[str, Any], svc: Service, lang: str, note: str = "") -> Reply:
        form = state["form"]
        state["mode"] = "confirm"
        form["idx"] = len(svc.form)
        lines = [f"• {f.label.get(lang)}: {self._display(f, form['data'].get(f.name), lang)}" for f in svc.form]
        head = _t(
            lang,
            f"Mohon periksa permohonan {svc.short_name.id}:",
            f"Please check your {svc.short_name.en} application:",
        )
        tail = _t(
            lang,
            "Sudah benar? Jawab 'ya' untuk mengirim, atau koreksi mis. 'bukan, namanya Siti Aminah'.",
            "Is this correct? Answer 'yes' to submit, or correct it, e.g. 'no, the name is Siti Aminah'.",
        )
        qrs = [
            QuickReply(label=_t(lang, "Ya, kirim", "Yes, submit"), payload="/yes"),
            QuickReply(label=_t(lang, "Ubah", "Change"), payload="/no"),
            QuickReply(label=_t(lang, "Batal", "Cancel"), payload="/cancel"),
        ]
        text = "\n".join(x for x in (note, head, "\n".join(lines), tail) if x)
        return Reply(text, lang=lang, intent="start_application", service=svc.id, quick_replies=qrs)

    def _confirm_turn(
        self, conv: Conversation, state: dict[str, Any], svc: Service, text: str, norm: str, lang: str
    ) -> Reply:
        form = state["form"]
        if _CORRECT.match(norm) and len(norm.split()) > 1:
            return self._apply_correction(state, svc, text, lang)
        if _YES.match(norm):
            return self._submit(conv, state, svc, lang)
        if _NO.match(norm):
            qrs = [QuickReply(label=f.label.get(lang), payload=f"/edit {f.name}") for f in svc.form]
            return Reply(
                _t(lang, "Bagian mana yang ingin diubah?", "Which answer do you want to change?"),
                lang=lang,
                intent="start_application",
                service=svc.id,
                quick_replies=qrs,
            )
        if _REPEAT.match(norm):
            return self._read_back(state, svc, lang)
        # A bare value while confirming: treat it as a correction of the field it fits.
        for rx, _frags in _FIELD_HINTS:
            if rx.search(norm):
                return self._apply_correction(state, svc, text, lang)
        _ = form
        return self._read_back(
            state, svc, lang, _t(lang, "Mohon jawab 'ya' atau koreksi.", "Please answer 'yes' or correct it.")
        )

    def _submit(self, conv: Conversation, state: dict[str, Any], svc: Service, lang: str) -> Reply:
        form = state["form"]
        data = dict(form["data"])
        if conv.caller.citizen_id is None and data.get("nik") and data.get("full_name"):
            try:
                conv.caller = conv.port.identify(conv.caller, str(data["nik"]), str(data["full_name"]))
                c = conv.caller
                state["identity"] = {"citizen_id": c.citizen_id, "nik": c.nik, "name": c.name}
            except PortError as exc:
                return Reply(exc.message(lang), lang=lang, intent="start_application", service=svc.id)
        key = f"{conv.id}:form:{form['seq']}"
        try:
            result = conv.port.submit_application(conv.caller, svc.id, data, key)
        except PortError as exc:
            return Reply(
                exc.message(lang), lang=lang, intent="start_application", service=svc.id,
                quick_replies=[self._qr_officer(lang)],
            )  # fmt: skip
        state["mode"], state["form"] = None, None
        _agency, counter = self.catalog.counter(svc.counter)
        return Reply(
            _t(
                lang,
                f"Permohonan {svc.short_name.id} terkirim. Nomor pelacakan: {result.tracking_number}. "
                f"Bawa dokumen asli ke loket {counter.number} saat dipanggil.",
                f"Your {svc.short_name.en} application was submitted. Tracking number: {result.tracking_number}. "
                f"Bring the original documents to counter {counter.number} when called.",
            ),
            lang=lang,
            intent="start_application",
            service=svc.id,
            actions=[
                WorldAction(kind="show_application", data={"tracking_number": result.tracking_number}),
                WorldAction(kind="walk_to_counter", data={"counter": svc.counter}),
            ],
            quick_replies=[QuickReply(label=_t(lang, "Ambil antrean", "Take a ticket"), payload=f"/queue {svc.id}")],
        )


def aspect_of(text: str) -> str | None:
    """Exposed for tests and tools: the rule-based aspect of a raw question."""
    return detect_aspect(normalize(text))
