"""NIK (Nomor Induk Kependudukan) checks shared by server, assistant and forms.

A NIK is personal data and always travels as a string; a number would lose
leading zeros and invite arithmetic. Structure: PP RR DD DDMMYY SSSS, where
PP/RR/DD are the province, regency and district codes, DDMMYY the birth date
(women add 40 to the day) and SSSS a serial that is never 0000. Regions are
read once from ``assets/regions`` so the check works offline.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator

from l10n import pair
from protocol.catalog import assets_dir

ASCII_DIGITS = frozenset("0123456789")
JATIM = "35"


class NikError(ValueError):
    """A NIK that cannot be accepted, with a reason a citizen can act on."""

    def __init__(self, code: str, message_id: str, message_en: str) -> None:
        super().__init__(f"{message_id} / {message_en}")
        self.code = code
        self.message_id = message_id
        self.message_en = message_en

    def message(self, lang: str) -> str:
        return self.message_en if lang == "en" else self.message_id


@dataclass(frozen=True)
class NikInfo:
    """What a valid NIK says about its holder (names only where we know them)."""

    nik: str
    province_code: str
    province_name: str
    regency_code: str
    regency_name: str | None
    district_code: str
    district_name: str | None
    birth_date: dt.date
    sex: Literal["F", "M"]
    serial: str

    @property
    def masked(self) -> str:
        return mask_nik(self.nik)


def _read(name: str) -> Any:
    return json.loads((assets_dir() / "regions" / name).read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _provinces() -> dict[str, str]:
    return {p["code"]: p["name"] for p in _read("provinces.json")["provinces"]}


@lru_cache(maxsize=1)
def _jatim() -> dict[str, tuple[str, int]]:
    """Regency code (4 digits) -> (name, number of districts)."""
    return {r["code"]: (r["name"], int(r["districts"])) for r in _read("jatim.json")["regencies"]}


@lru_cache(maxsize=1)
def _district_names() -> dict[str, str]:
    """District code (6 digits) -> name, for the regencies we ship detail for."""
    return {k["code"]: k["name"] for k in _read("banyuwangi.json")["kecamatan"]}


def mask_nik(nik: str) -> str:
    """Log-safe form, e.g. 3510********0001; anything malformed is fully starred."""
    s = str(nik)
    if len(s) != 16:
        return "*" * min(len(s), 16)
    return f"{s[:4]}{'*' * 8}{s[-4:]}"


def _birth_date(day: int, month: int, yy: int, today: dt.date) -> dt.date | None:
    # Two-digit year: prefer the 2000s unless that lies in the future; the
    # 1900s candidate is then at most 100 years back.
    for year in (2000 + yy, 1900 + yy):
        try:
            d = dt.date(year, month, day)
        except ValueError:
            continue
        if d <= today:
            return d
    return None


def _check_chars(s: str) -> None:
    bad = [c for c in s if c not in ASCII_DIGITS]
    if not bad:
        return
    c = bad[0]
    if c.isdigit() or c.isdecimal() or c.isnumeric():
        raise NikError(
            "non_ascii_digit",
            *pair("protocol.nik_non_ascii_digit", c=c),
        )
    raise NikError(
        "not_digits",
        *pair("protocol.nik_not_digits", c=c),
    )


def validate_nik(value: object, *, today: dt.date | None = None) -> NikInfo:
    """Check a NIK fully and decode it; raises NikError saying what is wrong."""
    if not isinstance(value, str):
        raise NikError(
            "not_string",
            *pair("protocol.nik_not_string"),
        )
    s = value.strip()
    if not s:
        raise NikError("empty", *pair("protocol.nik_empty"))
    _check_chars(s)
    if len(s) != 16:
        raise NikError(
            "wrong_length",
            *pair("protocol.nik_wrong_length", count=len(s)),
        )
    prov, reg, dist = s[:2], s[2:4], s[4:6]
    provinces = _provinces()
    if prov not in provinces:
        raise NikError(
            "unknown_province",
            *pair("protocol.nik_unknown_province", prov=prov),
        )
    regency_name: str | None = None
    district_name: str | None = None
    if prov == JATIM:
        regency = _jatim().get(prov + reg)
        if regency is None:
            raise NikError(
                "unknown_regency",
                *pair("protocol.nik_unknown_regency", prov=prov, reg=reg),
            )
        regency_name, n_districts = regency
        if not 1 <= int(dist) <= n_districts:
            raise NikError(
                "unknown_district",
                *pair("protocol.nik_unknown_district", dist=dist, regency_name=regency_name, n_districts=n_districts),
            )
        district_name = _district_names().get(prov + reg + dist)
    else:
        if reg == "00":
            raise NikError(
                "unknown_regency",
                *pair("protocol.nik_unknown_regency_2"),
            )
        if dist == "00":
            raise NikError(
                "unknown_district",
                *pair("protocol.nik_unknown_district_2"),
            )
    day, month, yy = int(s[6:8]), int(s[8:10]), int(s[10:12])
    sex: Literal["F", "M"] = "M"
    if day > 40:
        sex, day = "F", day - 40
    born = _birth_date(day, month, yy, today or dt.date.today()) if 1 <= day <= 31 and 1 <= month <= 12 else None
    if born is None:
        raise NikError(
            "bad_birth_date",
            *pair("protocol.nik_bad_birth_date", digits=s[6:12]),
        )
    if s[12:] == "0000":
        raise NikError(
            "zero_serial",
            *pair("protocol.nik_zero_serial"),
        )
    return NikInfo(
        nik=s,
        province_code=prov,
        province_name=provinces[prov],
        regency_code=prov + reg,
        regency_name=regency_name,
        district_code=prov + reg + dist,
        district_name=district_name,
        birth_date=born,
        sex=sex,
        serial=s[12:],
    )


def check_nik(value: object) -> str:
    """Field-validator form: returns the normalised NIK string or raises NikError."""
    return validate_nik(value).nik


NikStr = Annotated[str, BeforeValidator(check_nik)]
"""Use as a pydantic field type: ``nik: NikStr``; a bad value becomes a ValidationError."""
