"""NIK validation: every rejection says what is wrong, in both languages."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import BaseModel, ValidationError

from protocol.nik import NikError, NikStr, check_nik, mask_nik, validate_nik

TODAY = dt.date(2026, 11, 22)

VALID = [
    # nik, birth date, sex, district code, district name
    ("3510181508900001", dt.date(1990, 8, 15), "M", "351018", "Banyuwangi"),
    ("3510105508950002", dt.date(1995, 8, 15), "F", "351010", "Genteng"),
    ("3510250101200003", dt.date(2020, 1, 1), "M", "351025", "Blimbingsari"),
    ("3510012512300001", dt.date(1930, 12, 25), "M", "351001", "Pesanggaran"),  # 2030 would be in the future
    ("3510016912000004", dt.date(2000, 12, 29), "F", "351001", "Pesanggaran"),
    ("3510012902000005", dt.date(2000, 2, 29), "M", "351001", "Pesanggaran"),  # 2000 is a leap year
    ("3510012911260006", dt.date(1926, 11, 29), "M", "351001", "Pesanggaran"),  # 2026-11-29 is after TODAY
    ("3578311508900001", dt.date(1990, 8, 15), "M", "357831", None),  # Surabaya has 31 kecamatan
    ("3171011508900001", dt.date(1990, 8, 15), "M", "317101", None),
    ("9401011508900001", dt.date(1990, 8, 15), "M", "940101", None),  # Papua Tengah
]


@pytest.mark.parametrize(("nik", "born", "sex", "district", "district_name"), VALID)
def test_valid_niks_decode(nik: str, born: dt.date, sex: str, district: str, district_name: str | None) -> None:
    info = validate_nik(nik, today=TODAY)
    assert info.nik == nik
    assert info.birth_date == born
    assert info.sex == sex
    assert info.district_code == district
    assert info.district_name == district_name
    assert info.province_code == nik[:2] and info.regency_code == nik[:4]


def test_banyuwangi_names() -> None:
    info = validate_nik("3510181508900001", today=TODAY)
    assert info.province_name == "Jawa Timur"
    assert info.regency_name == "Kabupaten Banyuwangi"
    assert info.masked == "3510********0001"


def test_surrounding_whitespace_is_trimmed() -> None:
    assert validate_nik("  3510181508900001\n", today=TODAY).nik == "3510181508900001"


INVALID: list[tuple[object, str, str]] = [
    # value, error code, a fragment the Indonesian message must contain
    (3510181508900001, "not_string", "teks/string"),
    (None, "not_string", "teks/string"),
    ("", "empty", "belum diisi"),
    ("351018150890001", "wrong_length", "16 digit"),
    ("35101815089000011", "wrong_length", "17 digit"),
    ("35101815089000A1", "not_digits", "'A'"),
    ("3510-18150890001", "not_digits", "'-'"),
    ("3510 181508900001", "not_digits", "' '"),
    ("３５１０181508900001", "non_ascii_digit", "lebar penuh"),  # full-width digits
    ("٣٥١٠181508900001", "non_ascii_digit", "aksara lain"),  # Arabic-Indic digits
    ("३५१०181508900001", "non_ascii_digit", "aksara lain"),  # Devanagari digits
    ("9901011508900001", "unknown_province", "99"),
    ("2001011508900001", "unknown_province", "20"),
    ("3530011508900001", "unknown_regency", "3530"),
    ("3580011508900001", "unknown_regency", "3580"),
    ("3500011508900001", "unknown_regency", "3500"),
    ("3510261508900001", "unknown_district", "26"),
    ("3510001508900001", "unknown_district", "00"),
    ("3579041508900001", "unknown_district", "04"),  # Kota Batu has 3 kecamatan
    ("3100011508900001", "unknown_regency", "00"),
    ("3171001508900001", "unknown_district", "00"),
    ("3510183208900001", "bad_birth_date", "320890"),  # day 32
    ("3510187208900001", "bad_birth_date", "720890"),  # woman, day 32
    ("3510183102900001", "bad_birth_date", "310290"),  # 31 February
    ("3510187102900001", "bad_birth_date", "710290"),  # woman, 31 February
    ("3510184008900001", "bad_birth_date", "400890"),  # day 0 for a woman
    ("3510180008900001", "bad_birth_date", "000890"),
    ("3510181513900001", "bad_birth_date", "151390"),  # month 13
    ("3510181500900001", "bad_birth_date", "150090"),  # month 0
    ("3510181508900000", "zero_serial", "0000"),
]


@pytest.mark.parametrize(("value", "code", "fragment"), INVALID)
def test_invalid_niks_say_why(value: object, code: str, fragment: str) -> None:
    with pytest.raises(NikError) as err:
        validate_nik(value, today=TODAY)
    assert err.value.code == code
    assert fragment in err.value.message_id
    assert err.value.message_en and err.value.message_en != err.value.message_id
    assert err.value.message("en") == err.value.message_en
    assert err.value.message("id") == err.value.message_id
    assert isinstance(err.value, ValueError)


def test_str_isdigit_would_have_accepted_full_width() -> None:
    nik = "３５１０181508900001"
    assert nik.isdigit() and len(nik) == 16
    with pytest.raises(NikError):
        validate_nik(nik, today=TODAY)


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("3510181508900001", "3510********0001"),
        ("9401011508909999", "9401********9999"),
        ("12345", "*****"),
        ("", ""),
    ],
)
def test_masking(raw: str, masked: str) -> None:
    assert mask_nik(raw) == masked


class _Form(BaseModel):
    nik: NikStr


def test_pydantic_field_accepts_and_normalises() -> None:
    assert _Form(nik=" 3510181508900001 ").nik == "3510181508900001"
    assert check_nik("3510181508900001") == "3510181508900001"


@pytest.mark.parametrize(("value", "fragment"), [(3510181508900001, "teks/string"), ("3510261508900001", "26")])
def test_pydantic_field_rejects_with_message(value: object, fragment: str) -> None:
    with pytest.raises(ValidationError) as err:
        _Form(nik=value)
    assert fragment in str(err.value)
    assert err.value.errors()[0]["loc"] == ("nik",)
