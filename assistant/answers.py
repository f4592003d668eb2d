"""Grounded answers: text composed only from the catalogue fields for one service and aspect.

Nothing here invents a number. Every figure comes from the catalogue (fee
amounts, counter numbers, the checked date), and every answer ends with its
source and the date it was checked.
"""

from __future__ import annotations

from urllib.parse import urlparse

from protocol.catalog import Catalog, Localized, Service
from protocol.messages import Citation

ASPECT_LABELS: dict[str, Localized] = {
    "requirements": Localized(id="Syarat", en="Requirements"),
    "fee": Localized(id="Biaya", en="Fee"),
    "duration": Localized(id="Lama proses", en="Processing time"),
    "validity": Localized(id="Masa berlaku", en="Validity"),
    "location": Localized(id="Tempat", en="Where"),
    "procedure": Localized(id="Alur", en="Procedure"),
    "lost_damaged": Localized(id="Hilang/rusak", en="Lost/damaged"),
}


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
    word = "Counter" if lang == "en" else "Loket"
    return f"{word} {counter.number} ({counter.code}) – {counter.label.get(lang)}"


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


def office_hours(catalog: Catalog, lang: str) -> tuple[str, Citation]:
    office = catalog.office
    lines = [f"{h.days.get(lang)}: {h.open}–{h.close}" for h in office.hours]
    head = f"{office.name.get(lang)} opening hours:" if lang == "en" else f"Jam layanan {office.name.get(lang)}:"
    addr = ("Address: " if lang == "en" else "Alamat: ") + office.address
    host = urlparse(office.source_url).netloc or office.source_url
    checked = f"{office.checked:%Y-%m}"
    text = "\n".join([head, _bullets(lines), addr, office.note.get(lang), source_line(host, checked, lang)])
    return text, Citation(service_id=None, source=host, url=office.source_url, checked=checked)
