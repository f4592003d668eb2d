"""Grounded answers: text composed only from the catalogue fields for one service and aspect.

Nothing here invents a number. Every figure comes from the catalogue (fee
amounts, counter numbers, the checked date), and every answer ends with its
source and the date it was checked.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

from l10n import t
from protocol.catalog import Catalog, Fee, Localized, Service
from protocol.knowledge import Case, Referral, Source
from protocol.messages import Citation


def _labels(*names: str) -> dict[str, Localized]:
    """Section headings from the catalogue (``assistant.aspect_<name>``), both languages kept together."""
    return {n: Localized(id=t(f"assistant.aspect_{n}", "id"), en=t(f"assistant.aspect_{n}", "en")) for n in names}


ASPECT_LABELS = _labels("requirements", "fee", "duration", "validity", "location", "procedure", "lost_damaged")


def format_rupiah(amount: int) -> str:
    return "Rp" + f"{amount:,}".replace(",", ".")


def _bullets(items: list[str]) -> str:
    return "\n".join(f"• {i}" for i in items)


def source_line(basis: str, checked: str, lang: str) -> str:
    if lang == "en":
        return f"Source: {basis} · checked {checked}"
    return f"Sumber: {basis} · diperiksa {checked}"


def service_citation(svc: Service, basis: str | None = None) -> Citation:
    return Citation(
        service_id=svc.id, source=basis or svc.legal_basis[0], url=svc.source_url, checked=f"{svc.checked:%Y-%m}"
    )


def counter_label(catalog: Catalog, svc: Service, lang: str) -> str:
    _agency, counter = catalog.counter(svc.counter)
    return t("assistant.counter_label", lang, n=counter.number, code=counter.code, label=counter.label.get(lang))


def compose(catalog: Catalog, svc: Service, aspect: str | None, lang: str) -> tuple[str, Citation]:
    """The answer body for one aspect, plus the source line; None aspect gives the overview."""
    name = svc.short_name.get(lang)
    basis = svc.legal_basis[0]
    en = lang == "en"
    if aspect == "requirements":
        head = f"Requirements for {name}:" if en else f"Syarat {name}:"
        body = head + "\n" + _bullets([r.get(lang) for r in svc.requirements])
    elif aspect == "fee":
        basis = svc.fee.legal_basis
        if svc.fee.free:
            body = f"{name} is free of charge." if en else f"{name} gratis, tidak dipungut biaya."
        else:
            head = f"Fees for {name}:" if en else f"Biaya {name}:"
            body = head + "\n" + _bullets([f"{i.label.get(lang)}: {format_rupiah(i.amount)}" for i in svc.fee.items])
        if svc.fee.note:
            body += "\n" + svc.fee.note.get(lang)
    elif aspect == "duration":
        body = (f"Processing time for {name}: " if en else f"Lama proses {name}: ") + svc.processing_time.get(lang)
    elif aspect == "validity":
        body = (f"Validity of {name}: " if en else f"Masa berlaku {name}: ") + svc.validity.get(lang)
    elif aspect == "location":
        body = (
            (f"Where to apply for {name}: " if en else f"Tempat mengurus {name}: ")
            + svc.where_note.get(lang)
            + "\n"
            + counter_label(catalog, svc, lang)
        )
    elif aspect == "procedure":
        head = f"How to apply for {name}:" if en else f"Alur pengurusan {name}:"
        body = head + "\n" + _bullets([p.get(lang) for p in svc.procedure])
    elif aspect == "lost_damaged":
        if svc.lost_or_damaged is not None:
            body = (f"{name} lost or damaged: " if en else f"{name} hilang atau rusak: ") + svc.lost_or_damaged.get(
                lang
            )
        else:
            lead = (
                f"The catalogue has no special rule for a lost or damaged {name}; the usual requirements are:"
                if en
                else f"Katalog tidak memuat ketentuan khusus untuk {name} yang hilang atau rusak; syarat umumnya:"
            )
            body = lead + "\n" + _bullets([r.get(lang) for r in svc.requirements])
    else:
        body = f"{svc.name.get(lang)}: {svc.description.get(lang)}"
    text = body + "\n" + source_line(basis, f"{svc.checked:%Y-%m}", lang)
    return text, service_citation(svc, basis)


def office_hours(catalog: Catalog, lang: str, about: bool = False) -> tuple[str, Citation]:
    """Opening hours and address; ``about``: led by the agencies in the building and the services handled here."""
    office = catalog.office
    lines = [f"{h.days.get(lang)}: {h.open}–{h.close}" for h in office.hours]
    head = t("assistant.opening_hours", lang, office=office.name.get(lang))
    addr = t("assistant.address", lang, address=office.address)
    host = urlparse(office.source_url).netloc or office.source_url
    checked = f"{office.checked:%Y-%m}"
    lead: list[str] = []
    if about:
        agencies = [a.short for a in catalog.agencies]
        services = ", ".join(s.short_name.get(lang) for s in catalog.services)
        lead = [
            t("assistant.about_the_mpp", lang, office=office.name.get(lang), count=len(agencies),
              agencies=", ".join(agencies)),
            t("assistant.services_handled_here", lang, services=services),
        ]  # fmt: skip
    text = "\n".join([*lead, head, _bullets(lines), addr, office.note.get(lang), source_line(host, checked, lang)])
    return text, Citation(service_id=None, source=host, url=office.source_url, checked=checked)


def agency_aspect(catalog: Catalog, agency_id: str, aspect: str, lang: str) -> tuple[str, list[Citation]]:
    """One aspect (fee or duration) of every service of an agency, from the catalogue alone.

    "Berapa biaya pengurusan dokumen kependudukan?" names Dukcapil's documents together: a table of
    its services answers it, where any single service's answer would be a guess.
    """
    agency = catalog.agency(agency_id)
    services = [s for s in catalog.services if s.agency == agency_id]
    lines: list[str] = []
    notes: list[str] = []
    bases: list[str] = []
    for svc in services:
        name = svc.short_name.get(lang)
        if aspect == "fee":
            if svc.fee.free:
                lines.append(t("assistant.agency_item_free", lang, name=name))
            else:
                items = "; ".join(f"{i.label.get(lang)} {format_rupiah(i.amount)}" for i in svc.fee.items)
                lines.append(f"{name}: {items}")
            if svc.fee.note and not svc.fee.free and svc.fee.note.get(lang) not in notes:
                notes.append(svc.fee.note.get(lang))
            basis = svc.fee.legal_basis
        else:
            lines.append(f"{name}: {svc.processing_time.get(lang)}")
            basis = svc.legal_basis[0]
        if basis not in bases:
            bases.append(basis)
    if aspect == "fee" and all(svc.fee.free for svc in services):
        notes.append(t("assistant.agency_all_free", lang, agency=agency.short, basis="; ".join(bases)))
    if aspect == "fee":
        head = t("assistant.agency_fees_head", lang, agency=agency.short)
    else:
        head = t("assistant.agency_durations_head", lang, agency=agency.short)
    checked = max(f"{s.checked:%Y-%m}" for s in services)
    text = "\n".join([head, _bullets(lines), *notes, source_line("; ".join(bases), checked, lang)])
    return text, [service_citation(s, s.fee.legal_basis if aspect == "fee" else None) for s in services]


# ---------------------------------------------------------------------------- cases and referrals

_KIND_FIELD = {
    "requirements": "requirements",
    "fee": "fee",
    "duration": "duration",
    "validity": "validity",
    "location": "location",
    "procedure": "procedure",
    "overview": "overview",
    "status": "duration",  # "is it ready yet?": how long it takes, not the requirements again
}
_LABEL = _labels("requirements", "fee", "duration", "validity", "location", "steps", "not_for")


def _fee_text(fee: Fee, name: str, lang: str) -> str:
    if fee.free:
        body = t("assistant.free_of_charge", lang, name=name)
    else:
        body = "\n" + _bullets([f"{i.label.get(lang)}: {format_rupiah(i.amount)}" for i in fee.items])
    if fee.note:
        body += "\n" + fee.note.get(lang)
    return body


def case_source_line(source: Source, lang: str) -> tuple[str, Citation]:
    basis = source.legal_basis or (urlparse(source.url).netloc or source.url)
    checked = f"{source.checked:%Y-%m}"
    return source_line(basis, checked, lang), Citation(service_id=None, source=basis, url=source.url, checked=checked)


def compose_case(catalog: Catalog, case: Case, lang: str) -> tuple[str, Citation]:
    """A case's answer: its prose, then the facts of its kind — the case's own where it has them, the
    service defaults where it has None — ending with the case's source line.

    Every fee, duration and requirement comes from the case or service fields; the prose explains.
    """
    svc = catalog.service(case.service)
    name = svc.short_name.get(lang)
    en = lang == "en"
    parts = [case.answer.get(lang).strip()]
    field = _KIND_FIELD.get(case.kind)
    reqs = case.requirements if case.requirements is not None else svc.requirements
    fee = case.fee if case.fee is not None else svc.fee
    ptime = case.processing_time if case.processing_time is not None else svc.processing_time
    where = case.where_note if case.where_note is not None else svc.where_note

    def label(key: str) -> str:
        return _LABEL[key].get(lang) + ":"

    if field == "overview":
        parts.append(f"{svc.name.get(lang)}: {svc.description.get(lang)}")
    if field in (None, "requirements"):
        parts.append(label("requirements") + "\n" + _bullets([r.get(lang) for r in reqs]))
    if field in (None, "fee"):
        parts.append(label("fee") + ("" if not fee.free else " ") + _fee_text(fee, name, lang))
    if field in (None, "duration"):
        parts.append(label("duration") + " " + ptime.get(lang))
    if field == "validity":
        parts.append(label("validity") + " " + (case.validity or svc.validity).get(lang))
    if field == "location" or (field is None and case.where_note is not None):
        parts.append(label("location") + " " + where.get(lang) + "\n" + counter_label(catalog, svc, lang))
    steps = case.steps if case.steps is not None else (svc.procedure if field == "procedure" else None)
    if steps:
        parts.append(label("steps") + "\n" + _bullets([s.get(lang) for s in steps]))
    if case.not_for is not None:
        parts.append(label("not_for") + " " + case.not_for.get(lang))
    line, cite = case_source_line(case.source, lang)
    cite = Citation(service_id=svc.id, source=cite.source, url=cite.url, checked=cite.checked)
    _ = en
    return "\n".join(p for p in parts if p) + "\n" + line, cite


def compose_referral(ref: Referral, lang: str) -> tuple[str, Citation]:
    """Where to go instead and why, with the referral's source: a service we don't provide."""
    head = t("assistant.referral_not_ours", lang, title=ref.title.get(lang))
    where = t("assistant.referral_where", lang, where=ref.where.get(lang))
    why = t("assistant.referral_why", lang, why=ref.why.get(lang))
    line, cite = case_source_line(ref.source, lang)
    return "\n".join([head, where, why, line]), cite


# ---------------------------------------------------------------------------- facts check

_RP_RE = re.compile(r"rp\.?\s?(\d{1,3}(?:[.,]\d{3})+|\d+)", re.IGNORECASE)
_DUR_RE = re.compile(
    r"(\d+)\s*(hari kerja|working days?|hari|days?|minggu|weeks?|bulan|months?|tahun|years?|jam|hours?)",
    re.IGNORECASE,
)
_UNIT = {
    "hari": "day", "hari kerja": "day", "day": "day", "days": "day", "working day": "day", "working days": "day",
    "minggu": "week", "week": "week", "weeks": "week", "bulan": "month", "month": "month", "months": "month",
    "tahun": "year", "year": "year", "years": "year", "jam": "hour", "hour": "hour", "hours": "hour",
}  # fmt: skip


def figures(text: str) -> set[tuple[str, int, str]]:
    """Rupiah amounts and durations stated in a text: ("rp", 350000, "") and ("dur", 14, "day")."""
    out: set[tuple[str, int, str]] = set()
    for m in _RP_RE.finditer(text):
        out.add(("rp", int(re.sub(r"[.,]", "", m.group(1))), ""))
    for m in _DUR_RE.finditer(text):
        out.add(("dur", int(m.group(1)), _UNIT[m.group(2).lower()]))
    return out


def _loc_texts(items: object) -> list[str]:
    if items is None:
        return []
    if isinstance(items, Localized):
        return [items.id, items.en]
    if isinstance(items, (list, tuple)):
        return [t for i in items for t in _loc_texts(i)]
    return []


def data_figures(svc: Service, case: Case | None = None, referral: Referral | None = None) -> set[tuple[str, int, str]]:
    """Every figure the structured data of a service (and a case or referral) states."""
    texts: list[str] = []
    amounts: set[int] = set()
    fees = [svc.fee] + ([case.fee] if case is not None and case.fee is not None else [])
    for fee in fees:
        amounts.update(i.amount for i in fee.items)
        texts += _loc_texts(fee.note) + _loc_texts([i.label for i in fee.items])
    texts += _loc_texts([svc.requirements, svc.processing_time, svc.validity, svc.where_note, svc.procedure,
                         svc.lost_or_damaged, svc.description, svc.name])  # fmt: skip
    texts += [svc.fee.legal_basis, *svc.legal_basis]
    if case is not None:
        texts += _loc_texts([case.requirements, case.processing_time, case.where_note, case.steps, case.not_for,
                             case.answer, case.title, case.validity])  # fmt: skip
        texts.append(case.source.legal_basis or "")
    if referral is not None:
        texts += _loc_texts([referral.where, referral.why, referral.title]) + [referral.source.legal_basis or ""]
    out = set().union(*(figures(t) for t in texts)) if texts else set()
    out |= {("rp", a, "") for a in amounts}
    out.add(("dur", svc.processing_days, "day"))
    if case is not None and case.processing_days is not None:
        out.add(("dur", case.processing_days, "day"))
    return out


def untraceable(answer: str, allowed: set[tuple[str, int, str]]) -> list[tuple[str, int, str]]:
    """Figures in an answer that no data states (should always be empty)."""
    return sorted(f for f in figures(answer) if f not in allowed)
