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
            f"NIK hanya boleh berisi angka 0-9 biasa; karakter {c!r} adalah angka dari aksara lain atau lebar penuh.",
            f"NIK may only contain plain digits 0-9; {c!r} is a digit from another script or a full-width digit.",
        )
    raise NikError(
        "not_digits",
        f"NIK hanya boleh berisi angka; ditemukan karakter {c!r}.",
        f"NIK may only contain digits; found the character {c!r}.",
    )


def validate_nik(value: object, *, today: dt.date | None = None) -> NikInfo:
    """Check a NIK fully and decode it; raises NikError saying what is wrong."""
    if not isinstance(value, str):
        raise NikError(
            "not_string",
            "NIK harus dikirim sebagai teks/string, bukan angka.",
            "NIK must be sent as text (a string), not as a number.",
        )
    s = value.strip()
    if not s:
        raise NikError("empty", "NIK belum diisi.", "NIK is empty.")
    _check_chars(s)
    if len(s) != 16:
        raise NikError(
            "wrong_length",
            f"NIK harus tepat 16 digit; yang diterima {len(s)} digit.",
            f"NIK must be exactly 16 digits; got {len(s)}.",
        )
    prov, reg, dist = s[:2], s[2:4], s[4:6]
    provinces = _provinces()
    if prov not in provinces:
        raise NikError(
            "unknown_province",
            f"Kode provinsi {prov} pada NIK tidak dikenal.",
            f"Province code {prov} in the NIK is not a known province.",
        )
    regency_name: str | None = None
    district_name: str | None = None
    if prov == JATIM:
        regency = _jatim().get(prov + reg)
        if regency is None:
            raise NikError(
                "unknown_regency",
                f"Kode kabupaten/kota {prov}{reg} tidak ada di Jawa Timur.",
                f"Regency/city code {prov}{reg} does not exist in East Java.",
            )
        regency_name, n_districts = regency
        if not 1 <= int(dist) <= n_districts:
            raise NikError(
                "unknown_district",
                f"Kode kecamatan {dist} tidak ada di {regency_name} (hanya 01–{n_districts:02d}).",
                f"District code {dist} does not exist in {regency_name} (only 01–{n_districts:02d}).",
            )
        district_name = _district_names().get(prov + reg + dist)
    else:
        if reg == "00":
            raise NikError(
                "unknown_regency",
                "Kode kabupaten/kota pada NIK tidak boleh 00.",
                "The regency/city code in the NIK cannot be 00.",
            )
        if dist == "00":
            raise NikError(
                "unknown_district",
                "Kode kecamatan pada NIK tidak boleh 00.",
                "The district code in the NIK cannot be 00.",
            )
    day, month, yy = int(s[6:8]), int(s[8:10]), int(s[10:12])
    sex: Literal["F", "M"] = "M"
    if day > 40:
        sex, day = "F", day - 40
    born = _birth_date(day, month, yy, today or dt.date.today()) if 1 <= day <= 31 and 1 <= month <= 12 else None
    if born is None:
        raise NikError(
            "bad_birth_date",
            f"Tanggal lahir pada NIK ({s[6:12]}) tidak valid; format DDMMYY, perempuan tanggal ditambah 40.",
            f"The birth date in the NIK ({s[6:12]}) is not a valid date; format DDMMYY, women add 40 to the day.",
        )
    if s[12:] == "0000":
        raise NikError(
            "zero_serial",
            "Nomor urut pada NIK (4 digit terakhir) tidak boleh 0000.",
            "The serial number in the NIK (last 4 digits) cannot be 0000.",
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
