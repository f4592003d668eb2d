"""Table-driven checks of the speech normaliser (what an officer would say aloud)."""

from __future__ import annotations

import pytest

from world.voice.normalize import normalize, number_words, number_words_en

NUMBERS_ID = [
    (0, "nol"),
    (1, "satu"),
    (10, "sepuluh"),
    (11, "sebelas"),
    (12, "dua belas"),
    (19, "sembilan belas"),
    (20, "dua puluh"),
    (21, "dua puluh satu"),
    (100, "seratus"),
    (101, "seratus satu"),
    (111, "seratus sebelas"),
    (250, "dua ratus lima puluh"),
    (1000, "seribu"),
    (1001, "seribu satu"),
    (1500, "seribu lima ratus"),
    (2026, "dua ribu dua puluh enam"),
    (11000, "sebelas ribu"),
    (100000, "seratus ribu"),
    (350000, "tiga ratus lima puluh ribu"),
    (1000000, "satu juta"),
    (2500000, "dua juta lima ratus ribu"),
    (1000000000, "satu miliar"),
    (1001000, "satu juta seribu"),
]

NUMBERS_EN = [
    (0, "zero"),
    (11, "eleven"),
    (21, "twenty-one"),
    (100, "one hundred"),
    (1000, "one thousand"),
    (2026, "two thousand twenty-six"),
    (30000, "thirty thousand"),
    (1000000, "one million"),
]


@pytest.mark.parametrize(("n", "words"), NUMBERS_ID)
def test_number_words_id(n: int, words: str) -> None:
    assert number_words(n) == words


@pytest.mark.parametrize(("n", "words"), NUMBERS_EN)
def test_number_words_en(n: int, words: str) -> None:
    assert number_words_en(n) == words


ID_ROWS = [
    # times
    ("08.00", "jam delapan pagi"),
    ("08:00", "jam delapan pagi"),
    ("7.15", "jam tujuh pagi lewat lima belas menit"),
    ("10.30", "jam setengah sebelas pagi"),
    ("11.00", "jam sebelas siang"),
    ("12.00", "jam dua belas siang"),
    ("14.30", "jam setengah tiga siang"),
    ("14:15", "jam dua siang lewat lima belas menit"),
    ("15.00", "jam tiga sore"),
    ("17.45", "jam lima sore lewat empat puluh lima menit"),
    ("19.00", "jam tujuh malam"),
    ("00.00", "jam dua belas malam"),
    ("Buka 08.00 - 15.00", "Buka jam delapan pagi sampai jam tiga sore"),
    ("08.00–12.00 WIB", "jam delapan pagi sampai jam dua belas siang we i be"),
    # rupiah
    ("Rp30.000", "tiga puluh ribu rupiah"),
    ("Rp 1.000.000", "satu juta rupiah"),
    ("Rp350.000,-", "tiga ratus lima puluh ribu rupiah"),
    ("Rp10.000,00", "sepuluh ribu rupiah"),
    ("Rp. 5.000", "lima ribu rupiah"),
    ("Rp0", "nol rupiah"),
    ("biaya Rp100.000.", "biaya seratus ribu rupiah."),
    # dates
    ("12 Januari 2026", "dua belas Januari dua ribu dua puluh enam"),
    ("12-01-2026", "dua belas Januari dua ribu dua puluh enam"),
    ("12/1/2026", "dua belas Januari dua ribu dua puluh enam"),
    ("2026-11-22", "dua puluh dua November dua ribu dua puluh enam"),
    ("1 Agustus 1945", "satu Agustus seribu sembilan ratus empat puluh lima"),
    ("31/12/2025", "tiga puluh satu Desember dua ribu dua puluh lima"),
    # NIK and tracking numbers
    ("3510012345670001", "tiga lima satu nol, nol satu dua tiga, empat lima enam tujuh, nol nol nol satu"),
    (
        "NIK 3510999988887777",
        "nik tiga lima satu nol, sembilan sembilan sembilan sembilan, "
        "delapan delapan delapan delapan, tujuh tujuh tujuh tujuh",
    ),
    ("BWI-2026-000123", "be we i, dua ribu dua puluh enam, nol nol nol satu dua tiga"),
    ("BWI-2025-004560", "be we i, dua ribu dua puluh lima, nol nol empat lima enam nol"),
    # a NIK read back in groups (guided mode shows it that way)
    (
        "NIK Anda 3510 0112 0490 0001, benar?",
        "nik Anda tiga lima satu nol, nol satu satu dua, nol empat sembilan nol, nol nol nol satu, benar?",
    ),
    ("3510-0101-0120-0001", "tiga lima satu nol, nol satu nol satu, nol satu dua nol, nol nol nol satu"),
    ("2026 2027", "dua ribu dua puluh enam dua ribu dua puluh tujuh"),
    # ticket codes
    ("A-012", "a nol satu dua"),
    ("Nomor antrean B-105", "Nomor antrean be satu nol lima"),
    ("loket C-7", "loket ce tujuh"),
    # abbreviations
    ("KTP-el", "ka te pe elektronik"),
    ("e-KTP", "e ka te pe"),
    ("KK", "ka ka"),
    ("SKCK", "es ka ce ka"),
    ("NIB", "en i be"),
    ("KIA", "ka i a"),
    ("BPJS", "be pe je es"),
    ("PBB", "pe be be"),
    ("SKTM", "es ka te em"),
    ("NIK", "nik"),
    ("MPP", "em pe pe"),
    ("STNK", "es te en ka"),
    ("fotokopi KK dan KTP-el", "fotokopi ka ka dan ka te pe elektronik"),
    ("KKN", "KKN"),  # not an abbreviation we know: left to espeak
    # plain numbers
    ("3 syarat", "tiga syarat"),
    ("11 hari kerja", "sebelas hari kerja"),
    ("1.500 warga", "seribu lima ratus warga"),
    ("2,5%", "dua koma lima persen"),
    ("antrean ke-2", "antrean kedua"),
    ("ke-1", "pertama"),
    ("telepon 0333 424", "telepon nol tiga tiga tiga empat ratus dua puluh empat"),
    ("tanpa angka", "tanpa angka"),
    ("", ""),
]

EN_ROWS = [
    ("08:00", "eight o'clock in the morning"),
    ("14.30", "two thirty in the afternoon"),
    ("09:05", "nine oh five in the morning"),
    ("12:00", "twelve noon"),
    ("19.00", "seven o'clock in the evening"),
    ("08.00 - 15.00", "eight o'clock in the morning to three o'clock in the afternoon"),
    ("Rp30.000", "thirty thousand rupiah"),
    ("Rp 1.000.000", "one million rupiah"),
    ("Rp350.000,-", "three hundred fifty thousand rupiah"),
    ("12 January 2026", "January twelve, two thousand twenty-six"),
    ("12 Januari 2026", "January twelve, two thousand twenty-six"),
    ("2026-11-22", "November twenty-two, two thousand twenty-six"),
    ("12/1/2026", "January twelve, two thousand twenty-six"),
    ("3510012345670001", "three five one zero, zero one two three, four five six seven, zero zero zero one"),
    ("BWI-2026-000123", "B W I, two thousand twenty-six, zero zero zero one two three"),
    ("A-012", "A zero one two"),
    ("3510 0112 0490 0001", "three five one zero, zero one one two, zero four nine zero, zero zero zero one"),
    ("KTP-el", "K T P electronic"),
    ("e-KTP", "e K T P"),
    ("SKCK", "S K C K"),
    ("KK", "K K"),
    ("BPJS", "B P J S"),
    ("3 documents", "three documents"),
    ("1,500 people", "one thousand five hundred people"),
    ("2.5 percent", "two point five percent"),
]


@pytest.mark.parametrize(("text", "spoken"), ID_ROWS)
def test_normalize_id(text: str, spoken: str) -> None:
    assert normalize(text, "id") == spoken


@pytest.mark.parametrize(("text", "spoken"), EN_ROWS)
def test_normalize_en(text: str, spoken: str) -> None:
    assert normalize(text, "en") == spoken


def test_default_language_is_indonesian_and_unknown_falls_back() -> None:
    assert normalize("08.00") == "jam delapan pagi"
    assert normalize("08.00", "xx") == "jam delapan pagi"


def test_invalid_dates_and_times_are_not_mangled_into_words() -> None:
    # Month 13 and hour 25 are not dates/times; they are read as plain numbers instead.
    assert "Januari" not in normalize("12-13-2026")
    assert "jam" not in normalize("25.00")


def test_output_has_no_digits_left_for_a_typical_prompt() -> None:
    text = (
        "Antrean A-012, loket 3. Biaya Rp30.000, selesai 12 Januari 2026 jam 14.30. "
        "Nomor BWI-2026-000123 untuk NIK 3510012345670001."
    )
    assert not any(c.isdigit() for c in normalize(text))


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("jam 14.30", "jam setengah tiga siang"),
        ("pukul 08.00", "jam delapan pagi"),
        ("Pukul 08.00 sampai pukul 12.00", "jam delapan pagi sampai jam dua belas siang"),
    ],
)
def test_clock_word_is_not_doubled(text: str, spoken: str) -> None:
    assert normalize(text) == spoken
