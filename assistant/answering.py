"""The question-answering path: one function the dialogue calls for any question.

The turn loop (``assistant.core``) and every dialogue loop hand a question here and get a
Reply back; how a question is understood and grounded can change without touching them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from assistant.answers import ASPECT_LABELS, agency_aspect, compose
from assistant.dataset import ASPECT_KIND, lexicon
from assistant.nlu import Understanding, detect_aspect
from assistant.reply import Reply, qr_officer
from assistant.retrieval import Candidate, Ranking
from assistant.text import normalize
from l10n import t
from protocol.catalog import Catalog, Service
from protocol.knowledge import Case
from protocol.messages import QuickReply

_WORD = re.compile(r"[a-z0-9]+")

MODEL_ONLY_SERVICE_CONF = 0.5
# Under the answer threshold, a top case this far ahead of the runner-up may still be answered when the
# thresholds carry a "margin" (off unless the trained metadata sets it; see README, session 9).
MARGIN_FLOOR = 0.25
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
    """Answer a question (or say honestly that it cannot), never starting an action.

    With a case ranking: above the answer threshold, the specific case (or a referral); between the
    top two or three cases, one clarifying question whose quick replies are those cases; below,
    "I don't know this detail", the service overview when the service is clear, and an officer.
    """
    if u.ranking is not None and u.ranking.index is not None:
        return answer_ranked(ctx, u, u.ranking, lang)
    return answer_v1(ctx, u, lang)


def answer_v1(ctx: AnswerContext, u: Understanding, lang: str) -> Reply:
    """Service x aspect answers, for a model without a case ranker."""
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


def answer_ranked(ctx: AnswerContext, u: Understanding, ranking: Ranking, lang: str) -> Reply:
    index = ranking.index
    assert index is not None
    if u.forced_case and u.forced_case in index.by_id:
        return answer_candidate(ctx, index.by_id[u.forced_case], lang, 1.0)
    th = index.thresholds
    top = ranking.candidate(0)
    if ctx.last_service and not u.aliases and top.service != ctx.last_service and not index.referral_hits(u.norm):
        # A follow-up that names no service ("kalau hilang bagaimana?"): the conversation's service
        # holds unless the question points clearly elsewhere (a long question, a sure other service).
        mass = ranking.service_probs(index)
        other = max((p for s, p in mass.items() if s not in ("_none", ctx.last_service)), default=0.0)
        if len(u.norm.split()) <= 6 and other < 0.5:
            ranking = ranking.restrict(ctx.last_service)
            top = ranking.candidate(0)
            u.intent, u.service = "ask_service", ctx.last_service
    elif len(u.aliases) == 1 and top.service not in (None, u.aliases[0]) and not index.referral_hits(u.norm):
        # "Apakah ada denda jika telat buat KTP?" names one service; a kind it lacks (no ktp-el.late) must
        # not carry the answer to another service's case: its own cases, a referral or "I don't know".
        ranking = ranking.restrict(u.aliases[0], others=True)
        top = ranking.candidate(0)
        u.service = top.service
    p1 = ranking.probs[0]
    if not u.forced_case and (top.service is None or p1 < th["answer"] or len(u.aliases) >= 2):
        # "Berapa biaya dokumen kependudukan (KK, KTP, KIA)?": the agency's services together, from the
        # catalogue, not one of them guessed.
        asked = agency_question(ctx, u)
        if asked is not None:
            return agency_reply(ctx, u, *asked, lang)
    if top.kind == "oos" and p1 >= th["option"]:
        u.intent, u.service = "out_of_scope", None
        return dont_know(ctx, u, lang, ranking)
    if p1 >= th["answer"]:
        return answer_candidate(ctx, top, lang, p1)
    p2 = ranking.probs[1] if len(ranking.probs) > 1 else 0.0
    if "margin" in th and p1 >= th.get("margin_floor", MARGIN_FLOOR) and p1 >= th["margin"] * p2:
        return answer_candidate(ctx, top, lang, p1)
    options = [(ranking.candidate(i), p) for i, p in enumerate(ranking.probs[:3]) if p >= th["option"]]
    options = [(c, p) for c, p in options if c.kind != "oos"]
    if len(options) >= 2 and sum(p for _, p in options) >= th["clarify_mass"]:
        return clarify(ctx, u, options, lang)
    return unknown_detail(ctx, u, ranking, lang)


def answer_candidate(ctx: AnswerContext, cand: Candidate, lang: str, confidence: float) -> Reply:
    """The specific case (composed from its data), a catalogue default, or a referral."""
    from assistant.answers import compose_case, compose_referral

    if cand.referral is not None:
        text, cite = compose_referral(cand.referral, lang)
        text += "\n" + t("assistant.anything_else_or_shall_i_connect", lang)  # fmt: skip
        return Reply(
            text, lang=lang, intent="out_of_scope", confidence=confidence, quick_replies=[qr_officer(lang)],
            citations=[cite], case=cand.id, offer="officer",
        )  # fmt: skip
    assert cand.service is not None
    svc = ctx.catalog.service(cand.service)
    if cand.case is None:
        reply = answer(ctx, svc, cand.default_aspect, lang, confidence)
        reply.case = cand.id
        return reply
    if cand.case.kind == "status":
        return status_case(ctx, cand.case, lang, confidence)
    text, cite = compose_case(ctx.catalog, cand.case, lang)
    qrs = [
        QuickReply(label=t("assistant.apply_now", lang), payload=f"/apply {svc.id}"),
        QuickReply(label=t("assistant.take_a_ticket", lang), payload=f"/queue {svc.id}"),
    ]
    return Reply(
        text, lang=lang, intent="ask_service", service=svc.id, aspect=cand.default_aspect, confidence=confidence,
        quick_replies=qrs, citations=[cite], case=cand.id,
    )  # fmt: skip


def status_how(ctx: AnswerContext, u: Understanding, lang: str) -> Reply | None:
    """A status question with no tracking number: how this service's progress is checked (its case).

    "Bagaimana cara mengetahui status paspor saya?" asks *how* to check; the service's ``status`` case
    says where (an agency's app, the counter), and the reply still invites a BWI number for an
    application made through the MPP. Only when the text names the service and no referral.
    """

    if u.service is None or u.service_source != "rule":
        return None  # the model's guess alone ("melacak laporan polisi" -> SKCK?) is not enough here
    index = u.ranking.index if u.ranking is not None else None
    if index is not None and index.referral_hits(u.norm):
        return None
    cand = index.by_id.get(f"{u.service}.status") if index is not None else None
    case = cand.case if cand is not None else None
    if case is None:
        return None
    return status_case(ctx, case, lang, u.confidence)


def status_case(ctx: AnswerContext, case: Case, lang: str, confidence: float) -> Reply:
    """A service's ``status`` case: where its progress is checked, and an invitation to send a BWI number.

    The same reply whether the text named the service outright (``status_how``) or the ranker chose
    the case ("SKCK saya belum terbit juga"): a question about progress is a status request.
    """
    from assistant.answers import compose_case

    text, cite = compose_case(ctx.catalog, case, lang)
    ask = t("assistant.if_you_applied_through_the_mpp", lang)  # fmt: skip
    return Reply(
        f"{text}\n{ask}", lang=lang, intent="check_status", service=case.service, confidence=confidence,
        quick_replies=[qr_officer(lang)], citations=[cite], case=case.id,
    )  # fmt: skip


def clarify(ctx: AnswerContext, u: Understanding, options: list[tuple[Candidate, float]], lang: str) -> Reply:
    """One question whose quick replies are the competing cases (payload ``/case <id>``)."""
    qrs = [QuickReply(label=(c.title.get(lang) if c.title else c.id)[:60], payload=f"/case {c.id}") for c, _ in options]
    qrs.append(qr_officer(lang))
    services = {c.service for c, _ in options}
    service = next(iter(services)) if len(services) == 1 else None
    return Reply(
        t("assistant.which_of_these_do_you_mean", lang), lang=lang, intent="ask_service",
        service=service, confidence=options[0][1], quick_replies=qrs, fallback=True,
    )  # fmt: skip


def unknown_detail(ctx: AnswerContext, u: Understanding, ranking: Ranking, lang: str) -> Reply:
    """Honest "I don't know this detail": the service overview when the service is clear, and an officer."""
    index = ranking.index
    assert index is not None
    mass = ranking.service_probs(index)
    best = max((s for s in mass if s != "_none"), key=lambda s: mass[s], default=None)
    if best is None or mass[best] < 0.5:
        return dont_know(ctx, u, lang, ranking)
    svc = ctx.catalog.service(best)
    body, cite = compose(ctx.catalog, svc, None, lang)
    lead = t("assistant.sorry_i_don_t_have_that", lang)
    tail = t("assistant.shall_i_connect_you_to_an", lang)
    qrs = [
        QuickReply(label=ASPECT_LABELS[a].get(lang), payload=f"/ask {svc.id} {a}")
        for a in ("requirements", "fee", "procedure")
    ]
    qrs.append(qr_officer(lang))
    return Reply(
        f"{lead}\n{body}\n{tail}", lang=lang, intent="ask_service", service=svc.id, confidence=mass[best],
        quick_replies=qrs, citations=[cite], fallback=True, offer="officer",
    )  # fmt: skip


def answer(ctx: AnswerContext, svc: Service, aspect: str | None, lang: str, confidence: float) -> Reply:
    text, cite = compose(ctx.catalog, svc, aspect, lang)
    qrs = []
    if aspect is None:
        for a in ("requirements", "fee", "duration", "procedure"):
            qrs.append(QuickReply(label=ASPECT_LABELS[a].get(lang), payload=f"/ask {svc.id} {a}"))
    qrs.append(QuickReply(label=t("assistant.apply_now", lang), payload=f"/apply {svc.id}"))
    qrs.append(QuickReply(label=t("assistant.take_a_ticket", lang), payload=f"/queue {svc.id}"))
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


@lru_cache(maxsize=1)
def _topicless() -> tuple[str, ...]:
    from assistant.dataset import data_file, lexicon

    words = set(lexicon()["topicless_words"])
    for by_lang in data_file("casecues.yaml").values():
        for texts in by_lang.values():
            for text in texts:
                words.update(w for w in _WORD.findall(text.replace("{svc}", " ")) if len(w) >= 4)
    return tuple(sorted(words))


def content_words(norm: str) -> set[str]:
    """The words of a normalised text that say what it is about (4+ letters, no question or aspect word)."""
    stop = _topicless()
    return {w for w in _WORD.findall(norm) if len(w) >= 4 and not w.startswith(stop)}


def _shares_topic(words: set[str], docs: tuple[str, ...]) -> bool:
    """A content word of the question and one of the documents' overlap ("perceraian" / "cerai")."""
    theirs = set().union(*(content_words(d) for d in docs)) if docs else set()
    return any(a in b or b in a for a in words for b in theirs)


def referral_offers(r: Ranking | None, norm: str, lang: str) -> list[QuickReply]:
    """Referrals among the ranker's top three that reach the option threshold but not the answer one.

    Why: "mau adopsi anak, syaratnya apa?" ranks the adoption referral first at ~0.2, ahead of "none
    of ours", but ~50 referrals share the mass, so it never reaches the answer threshold; one press
    away is better than a bare "I don't know".
    """
    if r is None or r.index is None:
        return []
    floor = r.index.thresholds["option"]
    words = content_words(norm)
    out = []
    for cid, p in r.top(3):
        c = r.index.by_id[cid]
        # "berapa biayanya?" also ranks some referral at the floor: only one the question is about.
        if c.referral is not None and p >= floor and _shares_topic(words, c.docs):
            out.append(QuickReply(label=(c.title.get(lang) if c.title else cid)[:60], payload=f"/case {cid}"))
    return out


def dont_know(ctx: AnswerContext, u: Understanding, lang: str, ranking: Ranking | None = None) -> Reply:
    qrs = [qr_officer(lang)]
    if u.intent != "out_of_scope" and u.top_services:
        for sid, _p in u.top_services[:2]:
            svc = ctx.catalog.service(sid)
            qrs.insert(0, QuickReply(label=svc.short_name.get(lang), payload=f"/ask {sid}"))
        text = t("assistant.sorry_i_am_not_sure_what", lang)
    elif offers := referral_offers(ranking or u.ranking, u.norm, lang):
        qrs = [*offers, *qrs]
        text = t("assistant.not_sure_maybe_one_of_these", lang)
    else:
        text = t("assistant.sorry_i_don_t_know_that", lang)
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
    text = t("assistant.which_service_do_you_mean", lang)
    return Reply(
        text, lang=lang, intent=u.intent, aspect=aspect, confidence=u.confidence, quick_replies=qrs,
        fallback=True,
    )  # fmt: skip


def agency_services(ctx: AnswerContext, norm: str) -> list[str]:
    """Services of an agency named in the text (Dukcapil, Samsat, Imigrasi...)."""
    return named_agency(ctx, norm)[1]


def named_agency(ctx: AnswerContext, norm: str) -> tuple[str | None, list[str]]:
    """The agency the text names, by its name or a phrase for its services together ("dokumen
    kependudukan" is Dukcapil's, ``agency_phrases`` in the lexicon), and its services."""
    phrases = agency_phrases()
    best: tuple[int, str] | None = None
    for agency in ctx.catalog.agencies:
        names = {normalize(agency.short), normalize(agency.id.replace("-", " ")), *phrases.get(agency.id, ())}
        longest = max((len(n) for n in names if n and _phrase_re(n).search(norm)), default=0)
        if longest and (best is None or longest > best[0]):
            best = (longest, agency.id)  # "layanan non perizinan" is the village's, not "perizinan"'s
    if best is None:
        return None, []
    return best[1], [s.id for s in ctx.catalog.services if s.agency == best[1]]


@lru_cache(maxsize=256)
def _phrase_re(phrase: str) -> re.Pattern[str]:
    """``phrase`` as whole words of a normalised text."""
    return re.compile(rf"(?<![a-z0-9]){re.escape(phrase)}(?![a-z0-9])")


@lru_cache(maxsize=1)
def agency_phrases() -> dict[str, tuple[str, ...]]:
    return {a: tuple(normalize(p) for p in ps) for a, ps in lexicon().get("agency_phrases", {}).items()}


def agency_question(ctx: AnswerContext, u: Understanding) -> tuple[str, str] | None:
    """(agency, aspect) for a fee or duration question about an agency's services together.

    "Berapa biaya pengurusan dokumen kependudukan (KK, KTP, KIA, akta)?" names no single service, or
    several of one agency; the aspect is read without the agency's phrase, whose "dokumen" is not
    a question about documents. "Apakah perizinan dikenakan biaya?" names the DPMPTSP, whose one
    catalogue service answers for it, unless a referral's permit is named.
    """
    agency, named = named_agency(ctx, u.norm)
    if agency is None or not named:
        return None
    if len(named) == 1:
        # One catalogue service stands for the agency only where a phrase for its services is used
        # ("perizinan"), not its name: Bapenda also collects BPHTB, the police also issue the SIM.
        if not any(_phrase_re(p).search(u.norm) for p in agency_phrases().get(agency, ())):
            return None
        index = u.ranking.index if u.ranking is not None else None
        if index is not None and index.referral_hits(u.norm):
            return None  # "biaya izin keramaian": a referral's permit, not the DPMPTSP's one service
    if u.aliases and (len(u.aliases) < 2 or not set(u.aliases) <= set(named)):
        return None
    rest = u.norm
    for p in agency_phrases().get(agency, ()):
        rest = _phrase_re(p).sub(" ", rest)
    aspect = detect_aspect(rest)
    if aspect not in ("fee", "duration"):
        return None
    return agency, aspect


def agency_reply(ctx: AnswerContext, u: Understanding, agency: str, aspect: str, lang: str) -> Reply:
    services = [s.id for s in ctx.catalog.services if s.agency == agency]
    index = u.ranking.index if u.ranking is not None else None
    if len(services) == 1 and index is not None:
        # The agency's one service answers for it: its own case, not a table of one row.
        cand = index.by_id.get(f"{services[0]}.{ASPECT_KIND[aspect]}")
        if cand is not None:
            u.intent, u.service = "ask_service", services[0]
            return answer_candidate(ctx, cand, lang, u.intent_conf)
    text, cites = agency_aspect(ctx.catalog, agency, aspect, lang)
    qrs = [
        QuickReply(label=s.short_name.get(lang), payload=f"/ask {s.id} {aspect}")
        for s in ctx.catalog.services
        if s.agency == agency
    ]
    u.intent, u.service = "ask_service", None
    return Reply(
        text, lang=lang, intent="ask_service", aspect=aspect, confidence=u.intent_conf, quick_replies=qrs,
        citations=cites,
    )  # fmt: skip
