"""Slot extraction: NIK, names, dates, places, tracking numbers and ticket codes.

Rules, not a model: these values have fixed shapes, and a wrong digit must
never be "guessed" by a classifier.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

NIK_RE = re.compile(r"(?<!\d)(\d{16})(?!\d)")
TRACKING_RE = re.compile(r"\b(BWI)[\s\-]?(\d{4})[\s\-]?(\d{6})\b", re.IGNORECASE)
TICKET_RE = re.compile(r"\b([A-HJ-NP-Z])[\s\-]?(\d{3})\b")

MONTHS: dict[str, int] = {
    "januari": 1, "jan": 1, "january": 1,
    "februari": 2, "feb": 2, "pebruari": 2, "february": 2,
    "maret": 3, "mar": 3, "march": 3,
    "april": 4, "apr": 4,
    "mei": 5, "may": 5,
    "juni": 6, "jun": 6, "june": 6,
    "juli": 7, "jul": 7, "july": 7,
    "agustus": 8, "agu": 8, "agt": 8, "aug": 8, "august": 8,
    "september": 9, "sep": 9, "sept": 9,
    "oktober": 10, "okt": 10, "oct": 10, "october": 10,
    "november": 11, "nov": 11, "nopember": 11,
    "desember": 12, "des": 12, "dec": 12, "december": 12,
}  # fmt: skip

_MONTH_ALT = "|".join(sorted(MONTHS, key=len, reverse=True))
_DATE_WORDS_RE = re.compile(rf"\b(\d{{1,2}})\s+({_MONTH_ALT})\.?\s+(\d{{4}})\b", re.IGNORECASE)
_DATE_NUM_RE = re.compile(r"\b(\d{1,2})[\-/.](\d{1,2})[\-/.](\d{4}|\d{2})\b")
_DATE_ISO_RE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")

_NAME_RE = re.compile(
    r"\b(?:nama(?:nya)?(?:\s+(?:saya|lengkap|anak|ibu|ayah|bapak))?(?:\s+(?:adalah|ialah))?|my name is|name is|"
    r"namaku|saya bernama|atas nama|a\.n\.?)\s*[:=]?\s*"
    r"([A-Za-z][A-Za-z'.\-]*(?:\s+[A-Za-z][A-Za-z'.\-]*){0,5})",
    re.IGNORECASE,
)
_KEC_RE = re.compile(r"\bkec(?:amatan|\.)?\s+([A-Za-z][A-Za-z\s]{2,30})", re.IGNORECASE)
_DESA_RE = re.compile(r"\b(?:desa|kelurahan|kel\.|ds\.)\s+([A-Za-z][A-Za-z\s]{2,30})", re.IGNORECASE)
_STOP_AFTER_NAME = re.compile(r"\s+(?:dan|lahir|tanggal|tgl|nik|dari|di|yang|born|and|with|dengan)\b.*$", re.IGNORECASE)


def parse_date_text(text: str) -> dt.date | None:
    """Parse '12 Januari 2020', '12-01-2020', '12/1/20' or ISO; None when absent or impossible."""
    m = _DATE_WORDS_RE.search(text)
    try:
        if m:
            return dt.date(int(m.group(3)), MONTHS[m.group(2).lower()], int(m.group(1)))
        m = _DATE_ISO_RE.search(text)
        if m:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        m = _DATE_NUM_RE.search(text)
        if m:
            year = int(m.group(3))
            if year < 100:
                # Two-digit years: not in the future, so '20' is 2020 and '85' is 1985.
                this = dt.date.today().year % 100
                year += 2000 if year <= this else 1900
            return dt.date(year, int(m.group(2)), int(m.group(1)))
    except ValueError:
        return None
    return None


def _clean_place(raw: str) -> str:
    words = []
    for w in raw.strip().split():
        if w.lower() in {"dan", "and", "di", "yang", "kabupaten", "kab", "banyuwangi", "kecamatan", "kec", "nik"}:
            break
        words.append(w)
    return " ".join(words[:3])


@dataclass
class Slots:
    nik: str | None = None
    name: str | None = None
    date: dt.date | None = None
    village: str | None = None
    kecamatan: str | None = None
    tracking_number: str | None = None
    ticket_code: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in ("nik", "name", "village", "kecamatan", "tracking_number", "ticket_code"):
            val = getattr(self, key)
            if val:
                out[key] = val
        if self.date:
            out["date"] = self.date.isoformat()
        return out


def extract_name(text: str) -> str | None:
    m = _NAME_RE.search(text)
    if not m:
        return None
    name = _STOP_AFTER_NAME.sub("", m.group(1)).strip(" .,'-")
    return name.title() if len(name) >= 2 else None


def _lookup_region(kind: str, raw: str) -> str | None:
    """Resolve a place through protocol.regions when the gazetteer is present."""
    try:
        from protocol import regions
    except ImportError:
        return raw.title() if raw else None
    finder = getattr(regions, "find_village" if kind == "village" else "find_kecamatan", None)
    if finder is None:
        return raw.title()
    try:
        found = finder(raw)
    except (ValueError, LookupError):
        found = None
    if found is None:
        return None
    return str(getattr(found, "name", raw)).title()


def extract(text: str) -> Slots:
    slots = Slots()
    m = NIK_RE.search(text)
    if m:
        slots.nik = m.group(1)
    m = TRACKING_RE.search(text)
    if m:
        slots.tracking_number = f"BWI-{m.group(2)}-{m.group(3)}"
    scrubbed = TRACKING_RE.sub(" ", text)
    m = TICKET_RE.search(scrubbed)
    if m:
        slots.ticket_code = f"{m.group(1)}-{m.group(2)}"
    slots.date = parse_date_text(scrubbed)
    slots.name = extract_name(text)
    m = _KEC_RE.search(text)
    if m:
        place = _clean_place(m.group(1))
        if place:
            slots.kecamatan = _lookup_region("kecamatan", place)
    m = _DESA_RE.search(text)
    if m:
        place = _clean_place(m.group(1))
        if place:
            slots.village = _lookup_region("village", place)
    return slots
