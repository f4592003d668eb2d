"""The question-answering path: one function the dialogue calls for any question.

The turn loop (``assistant.core``) and every dialogue loop hand a question here and get a
Reply back; how a question is understood and grounded can change without touching them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.answers import ASPECT_LABELS, compose
from assistant.nlu import Understanding
from assistant.reply import Reply, qr_officer
from assistant.reply import t as _t
from assistant.text import normalize
from protocol.catalog import Catalog, Service
from protocol.messages import QuickReply

MODEL_ONLY_SERVICE_CONF = 0.5
COMPLETE = re.compile(r"\b(lengkap|kelengkapan|checklist|complete|cek dokumen|cek berkas)\b")


@dataclass
class AnswerContext:
    """What the answering path may know about the conversation (read only)."""

    catalog: Catalog
    intent_threshold: float = 0.4
    service_threshold: float = 0.3
    last_service: str | None = None
    last_aspect: str | None = None


def with_context(ctx: AnswerContext, u: Understanding) -> tuple[str, str | None]:
    """The intent and service once the conversation's context is taken into account.

    A follow-up ("kalau hilang bagaimana?") names an aspect but no service: keep the last one.
    """
    intent, service_id, last = u.intent, u.service, ctx.last_service
    if service_id is None and last and u.aspect and intent in ("ask_service", "out_of_scope", "start_application"):
        if intent == "out_of_scope" or u.intent_conf < 0.9 or intent == "ask_service":
            intent = "ask_service"
            service_id = last
            u.service_source = "context"
    if service_id is None and last and intent in ("start_application", "take_queue") and not u.slots.nik:
        service_id = last  # "mau ajukan" right after a question about a service means that service
        u.service_source = "context"
    return intent, service_id


def confident(ctx: AnswerContext, u: Understanding) -> bool:
    return u.intent_conf >= ctx.intent_threshold or u.service_source == "rule"


def answer_question(ctx: AnswerContext, u: Understanding, lang: str) -> Reply:
    """Answer a question (or say honestly that it cannot), never starting an action."""
    intent, service_id = with_context(ctx, u)
    svc = ctx.catalog.service(service_id) if service_id else None
    if intent == "ask_service" and svc is None and u.aspect is None and not COMPLETE.search(u.norm):
        # No service, no aspect, no context: nothing in the catalogue to ground an answer on.
        u.intent = "out_of_scope"
        return dont_know(ctx, u, lang)
    if intent == "out_of_scope" or not confident(ctx, u):
        return dont_know(ctx, u, lang)
    if svc is None:
        return which_service(ctx, u, lang, "ask", aspect=u.aspect)
    if u.service_source == "model" and min(u.service_conf, u.intent_conf) < max(
        ctx.service_threshold, MODEL_ONLY_SERVICE_CONF
    ):
        # No alias named the service and the model alone is unsure: ask rather than guess.
        return which_service(ctx, u, lang, "ask", aspect=u.aspect)
    aspect = u.aspect
    if aspect is None and u.service_source == "rule" and len(u.norm.split()) <= 3 and ctx.last_aspect:
        aspect = ctx.last_aspect  # "kalau paspor?" after a fee question: same aspect
    return answer(ctx, svc, aspect, lang, u.confidence)


def answer(ctx: AnswerContext, svc: Service, aspect: str | None, lang: str, confidence: float) -> Reply:
    text, cite = compose(ctx.catalog, svc, aspect, lang)
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


def popular(ctx: AnswerContext, lang: str) -> list[QuickReply]:
    out = []
    for sid in ("ktp-el", "akta-kelahiran", "paspor", "skck"):
        try:
            svc = ctx.catalog.service(sid)
        except KeyError:
            continue
        out.append(QuickReply(label=svc.short_name.get(lang), payload=f"/ask {sid}"))
    return out


def dont_know(ctx: AnswerContext, u: Understanding, lang: str) -> Reply:
    qrs = [qr_officer(lang)]
    if u.intent != "out_of_scope" and u.top_services:
        for sid, _p in u.top_services[:2]:
            svc = ctx.catalog.service(sid)
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


def which_service(ctx: AnswerContext, u: Understanding, lang: str, action: str, aspect: str | None = None) -> Reply:
    qrs = []
    candidates = [sid for sid, _p in u.top_services[:3]]
    named = agency_services(ctx, u.norm)
    if named:
        # "antre loket dukcapil": the agency narrows the choice to its own services.
        candidates = sorted(named, key=lambda s: -dict(u.top_services).get(s, 0.0))[:5]
    for sid in candidates:
        svc = ctx.catalog.service(sid)
        payload = f"/{action} {sid}" + (f" {aspect}" if aspect and action == "ask" else "")
        qrs.append(QuickReply(label=svc.short_name.get(lang), payload=payload))
    qrs.append(qr_officer(lang))
    text = _t(lang, "Layanan mana yang Anda maksud?", "Which service do you mean?")
    return Reply(
        text, lang=lang, intent=u.intent, aspect=aspect, confidence=u.confidence, quick_replies=qrs,
        fallback=True,
    )  # fmt: skip


def agency_services(ctx: AnswerContext, norm: str) -> list[str]:
    """Services of an agency named in the text (Dukcapil, Samsat, Imigrasi...)."""
    for agency in ctx.catalog.agencies:
        names = {normalize(agency.short), normalize(agency.id.replace("-", " "))}
        if any(n and re.search(rf"(?<![a-z0-9]){re.escape(n)}(?![a-z0-9])", norm) for n in names):
            return [s.id for s in ctx.catalog.services if s.agency == agency.id]
    return []
