from __future__ import annotations

import datetime as dt

import pytest

from assistant.slots import extract, parse_date_text
from assistant.text import detect_lang, normalize


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lahir 12 Januari 2020", dt.date(2020, 1, 12)),
        ("tgl 12-01-2020", dt.date(2020, 1, 12)),
        ("12/1/20", dt.date(2020, 1, 12)),
        ("3 Agustus 1985", dt.date(1985, 8, 3)),
        ("2019-07-30", dt.date(2019, 7, 30)),
        ("31 Februari 2020", None),
        ("tidak ada tanggal", None),
    ],
)
def test_dates_in_indonesian_forms(text: str, expected: dt.date | None) -> None:
    assert parse_date_text(text) == expected


def test_slots_nik_tracking_ticket_name_places() -> None:
    s = extract("nama saya Siti Aminah, NIK 3510011201900001, cek BWI-2026-000123 tiket A-012 desa Kemiren kec. Glagah")
    assert s.nik == "3510011201900001"
    assert s.tracking_number == "BWI-2026-000123"
    assert s.ticket_code == "A-012"
    assert s.name == "Siti Aminah"
    assert s.village == "Kemiren"
    assert s.kecamatan == "Glagah"


def test_tracking_number_spacing_is_normalised() -> None:
    assert extract("status bwi 2026 000777 dong").tracking_number == "BWI-2026-000777"


def test_unknown_village_is_not_invented() -> None:
    assert extract("desa Atlantis").village is None


def test_colloquial_normalisation() -> None:
    assert normalize("brp biaya bikin akte?") == "berapa biaya buat akta"
    assert "e-ktp" in normalize("syarat E-KTP gimana")
    # chat shorthand: "kpan", "krn", "hrs", "ortu"
    assert normalize("kpan paspor hrs diperpanjang krn mau umroh sm ortu") == (
        "kapan paspor harus diperpanjang karena mau umroh sm orang tua"
    )


def test_yang_dibutuhkan_asks_for_the_requirements() -> None:
    from assistant.nlu import detect_aspect

    assert detect_aspect(normalize("apa saja yang dibutuhkan untuk urus NIB?")) == "requirements"
    assert detect_aspect(normalize("dokumen yang diperlukan untuk paspor anak")) == "requirements"


@pytest.mark.parametrize(
    ("text", "lang"),
    [("syarat bikin KTP apa aja?", "id"), ("how much does a passport cost", "en"), ("KTP", "id")],
)
def test_language_detection(text: str, lang: str) -> None:
    assert detect_lang(text) == lang
