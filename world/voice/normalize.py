"""Speech normaliser: turns written counter text into what an officer would say aloud.

espeak-ng reads "08.00", "Rp30.000" or "SKCK" badly (as decimals, English digits or one
unpronounceable word), so elderly visitors in guided mode would mishear times, fees and
document names. We rewrite those forms into words before synthesis.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["normalize", "number_words", "number_words_en"]

_ID_DIGITS = ["nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan"]
_EN_DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_EN_TEENS = [
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_EN_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]

_ID_MONTHS = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
]
_EN_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_ID_LETTERS = dict(
    zip(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "a be ce de e ef ge ha i je ka el em en o pe ki er es te u ve we eks ye zet".split(),
        strict=True,
    )
)

# Officers' spoken forms. Order matters: longer/compound forms first.
_ID_ABBREV: list[tuple[str, str]] = [
    ("KTP-el", "ka te pe elektronik"),
    ("e-KTP", "e ka te pe"),
    ("KTP", "ka te pe"),
    ("SKCK", "es ka ce ka"),
    ("SKTM", "es ka te em"),
    ("STNK", "es te en ka"),
    ("BPJS", "be pe je es"),
    ("NPWP", "en pe we pe"),
    ("NIB", "en i be"),
    ("KIA", "ka i a"),
    ("PBB", "pe be be"),
    ("NIK", "nik"),
    ("MPP", "em pe pe"),
    ("SIM", "sim"),
    ("WIB", "we i be"),
    ("KK", "ka ka"),
    ("RT", "er te"),
    ("RW", "er we"),
]
_EN_ABBREV: list[tuple[str, str]] = [
    ("KTP-el", "K T P electronic"),
    ("e-KTP", "e K T P"),
    ("NIK", "N I K"),
    ("SIM", "S I M"),
    ("WIB", "Western Indonesia Time"),
]

_BIG_ID = [(10**12, "triliun"), (10**9, "miliar"), (10**6, "juta")]
_BIG_EN = [(10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand")]


def _id_below_1000(n: int) -> str:
    if n < 10:
        return _ID_DIGITS[n]
    if n == 10:
        return "sepuluh"
    if n == 11:
        return "sebelas"
    if n < 20:
        return f"{_ID_DIGITS[n - 10]} belas"
    if n < 100:
        tens, rest = divmod(n, 10)
        return f"{_ID_DIGITS[tens]} puluh" + (f" {_ID_DIGITS[rest]}" if rest else "")
    hundreds, rest = divmod(n, 100)
    head = "seratus" if hundreds == 1 else f"{_ID_DIGITS[hundreds]} ratus"
    return head + (f" {_id_below_1000(rest)}" if rest else "")


def number_words(n: int) -> str:
    """Indonesian cardinal: 1000 -> "seribu", 1_000_000 -> "satu juta" (officers say "satu juta")."""
    if n < 0:
        return "minus " + number_words(-n)
    if n < 1000:
        return _id_below_1000(n)
    parts: list[str] = []
    for value, name in _BIG_ID:
        if n >= value:
            count, n = divmod(n, value)
            parts.append(f"{number_words(count)} {name}")
    if n >= 1000:
        thousands, n = divmod(n, 1000)
        parts.append("seribu" if thousands == 1 else f"{_id_below_1000(thousands)} ribu")
    if n:
        parts.append(_id_below_1000(n))
    return " ".join(parts)


def _en_below_1000(n: int) -> str:
    if n < 10:
        return _EN_DIGITS[n]
    if n < 20:
        return _EN_TEENS[n - 10]
    if n < 100:
        tens, rest = divmod(n, 10)
        return _EN_TENS[tens] + (f"-{_EN_DIGITS[rest]}" if rest else "")
    hundreds, rest = divmod(n, 100)
    return f"{_EN_DIGITS[hundreds]} hundred" + (f" {_en_below_1000(rest)}" if rest else "")


def number_words_en(n: int) -> str:
    """English cardinal, no "and" (plain, as espeak reads it clearly)."""
    if n < 0:
        return "minus " + number_words_en(-n)
    if n < 1000:
        return _en_below_1000(n)
    parts: list[str] = []
    for value, name in _BIG_EN:
        if n >= value:
            count, n = divmod(n, value)
            parts.append(f"{number_words_en(count)} {name}")
    if n:
        parts.append(_en_below_1000(n))
    return " ".join(parts)


def _digits(s: str, lang: str) -> str:
    table = _ID_DIGITS if lang == "id" else _EN_DIGITS
    return " ".join(table[int(c)] for c in s if c.isdigit())


def _grouped_digits(s: str, lang: str, size: int = 4) -> str:
    return ", ".join(_digits(s[i : i + size], lang) for i in range(0, len(s), size))


def _spell(letters: str, lang: str) -> str:
    if lang == "id":
        return " ".join(_ID_LETTERS.get(c, c.lower()) for c in letters.upper())
    return " ".join(letters.upper())


def _num(lang: str) -> Callable[[int], str]:
    return number_words if lang == "id" else number_words_en


# ---------------------------------------------------------------- time


def _period_id(hour: int) -> str:
    if hour < 11:
        return "pagi"
    if hour < 15:
        return "siang"
    if hour < 18:
        return "sore"
    return "malam"


def _time_id(hour: int, minute: int) -> str:
    h12 = hour % 12 or 12
    period = "malam" if hour == 0 else _period_id(hour)
    if minute == 0:
        return f"jam {number_words(h12)} {period}"
    if minute == 30:
        return f"jam setengah {number_words(h12 % 12 + 1)} {period}"
    return f"jam {number_words(h12)} {period} lewat {number_words(minute)} menit"


def _time_en(hour: int, minute: int) -> str:
    h12 = hour % 12 or 12
    if hour == 0:
        period = "at night"
    elif hour < 12:
        period = "in the morning"
    elif hour < 18:
        period = "in the afternoon"
    else:
        period = "in the evening"
    if hour == 12 and minute == 0:
        return "twelve noon"
    if minute == 0:
        return f"{number_words_en(h12)} o'clock {period}"
    mins = f"oh {number_words_en(minute)}" if minute < 10 else number_words_en(minute)
    return f"{number_words_en(h12)} {mins} {period}"


_TIME = r"(?<![\d.,:])([01]?\d|2[0-3])[.:]([0-5]\d)(?![\d]|[.,:]\d)"
_CLOCK_WORD = r"(?:\b(?:[Jj]am|[Pp]ukul)\s+)?"  # "pukul 08.00" must not become "pukul jam delapan"
_TIME_RANGE_RE = re.compile(_CLOCK_WORD + _TIME + r"\s*(?:-|–|—|s\.?d\.?|s/d|sampai)\s*" + _CLOCK_WORD + _TIME)
_TIME_RE = re.compile(_CLOCK_WORD + _TIME)


# ---------------------------------------------------------------- dates


def _date_words(day: int, month: int, year: int, lang: str) -> str | None:
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    if lang == "id":
        return f"{number_words(day)} {_ID_MONTHS[month - 1]} {number_words(year)}"
    return f"{_EN_MONTHS[month - 1]} {number_words_en(day)}, {number_words_en(year)}"


_MONTH_INDEX = {m.lower(): i + 1 for i, m in enumerate(_ID_MONTHS)} | {
    m.lower(): i + 1 for i, m in enumerate(_EN_MONTHS)
}
_MONTH_INDEX |= {"agu": 8, "agt": 8, "okt": 10, "des": 12, "mei": 5, "peb": 2, "nop": 11}
_MONTH_ALT = "|".join(sorted(_MONTH_INDEX, key=len, reverse=True))
_WORD_DATE_RE = re.compile(rf"\b(\d{{1,2}})\s+({_MONTH_ALT})\.?\s+(\d{{4}})\b", re.IGNORECASE)
_ISO_DATE_RE = re.compile(r"(?<![\d-])(\d{4})-(\d{1,2})-(\d{1,2})(?![\d-])")
_DMY_DATE_RE = re.compile(r"(?<![\d/-])(\d{1,2})([-/.])(\d{1,2})\2(\d{4})(?![\d/-])")


def _sub_dates(text: str, lang: str) -> str:
    def word(m: re.Match[str]) -> str:
        month = _MONTH_INDEX.get(m.group(2).lower())
        out = _date_words(int(m.group(1)), month or 0, int(m.group(3)), lang)
        return out or m.group(0)

    def iso(m: re.Match[str]) -> str:
        out = _date_words(int(m.group(3)), int(m.group(2)), int(m.group(1)), lang)
        return out or m.group(0)

    def dmy(m: re.Match[str]) -> str:
        out = _date_words(int(m.group(1)), int(m.group(3)), int(m.group(4)), lang)
        return out or m.group(0)

    text = _WORD_DATE_RE.sub(word, text)
    text = _ISO_DATE_RE.sub(iso, text)
    return _DMY_DATE_RE.sub(dmy, text)


# ---------------------------------------------------------------- codes and money

_TRACKING_RE = re.compile(r"\b([A-Z]{2,5})-(\d{4})-(\d{3,8})\b")
_TICKET_RE = re.compile(r"\b([A-Z]{1,2})-(\d{1,4})\b")
_NIK_RE = re.compile(r"(?<![\d.,])(\d{16})(?![\d.,]|[.,]\d)")
# A NIK/KK number shown in groups for reading back ("3510 0112 0490 0001" or with dashes).
_GROUPED16_RE = re.compile(r"(?<![\d.,-])(\d{4})([ -])(\d{4})\2(\d{4})\2(\d{4})(?![\d]|[.,-]\d)")
_RUPIAH_RE = re.compile(r"\bRp\.?\s?(\d{1,3}(?:\.\d{3})+|\d+)(,-|,00)?", re.IGNORECASE)
_ORDINAL_RE = re.compile(r"\bke-?(\d{1,3})\b")
_DECIMAL_ID_RE = re.compile(r"(?<![\d.,])(\d+),(\d+)(?![\d,])")
_THOUSANDS_ID_RE = re.compile(r"(?<![\d.,])(\d{1,3}(?:\.\d{3})+)(?![\d]|[.,]\d)")
_THOUSANDS_EN_RE = re.compile(r"(?<![\d.,])(\d{1,3}(?:,\d{3})+)(?![\d]|[.,]\d)")
_DECIMAL_EN_RE = re.compile(r"(?<![\d.,])(\d+)\.(\d+)(?![\d.])")
_NUMBER_RE = re.compile(r"\d+")


def _read_number(digits: str, lang: str) -> str:
    """Plain number; leading zeros (phone numbers, codes) and very long runs are read digit by digit."""
    if len(digits) > 1 and digits.startswith("0"):
        return _grouped_digits(digits, lang) if len(digits) > 6 else _digits(digits, lang)
    if len(digits) > 15:
        return _grouped_digits(digits, lang)
    return _num(lang)(int(digits))


def _sub_codes(text: str, lang: str) -> str:
    def tracking(m: re.Match[str]) -> str:
        return f"{_spell(m.group(1), lang)}, {_num(lang)(int(m.group(2)))}, {_digits(m.group(3), lang)}"

    def ticket(m: re.Match[str]) -> str:
        return f"{_spell(m.group(1), lang)} {_digits(m.group(2), lang)}"

    text = _TRACKING_RE.sub(tracking, text)
    text = _GROUPED16_RE.sub(lambda m: _grouped_digits("".join(m.group(1, 3, 4, 5)), lang), text)
    text = _NIK_RE.sub(lambda m: _grouped_digits(m.group(1), lang), text)
    return _TICKET_RE.sub(ticket, text)


def _sub_rupiah(text: str, lang: str) -> str:
    def money(m: re.Match[str]) -> str:
        return f"{_num(lang)(int(m.group(1).replace('.', '')))} rupiah"

    return _RUPIAH_RE.sub(money, text)


def _sub_abbrev(text: str, lang: str) -> str:
    table = _ID_ABBREV if lang == "id" else _EN_ABBREV
    for written, spoken in table:
        text = re.sub(rf"(?<![\w-]){re.escape(written)}(?![\w-])", spoken, text)
    if lang == "en":
        # Other all-capital abbreviations (KK, SKCK, BPJS ...) are spelled letter by letter.
        text = re.sub(r"\b[A-Z]{2,5}\b", lambda m: " ".join(m.group(0)), text)
    return text


def _sub_numbers(text: str, lang: str) -> str:
    if lang == "id":
        text = _ORDINAL_RE.sub(lambda m: "pertama" if m.group(1) == "1" else f"ke{number_words(int(m.group(1)))}", text)
        text = _THOUSANDS_ID_RE.sub(lambda m: number_words(int(m.group(1).replace(".", ""))), text)
        text = _DECIMAL_ID_RE.sub(lambda m: f"{_read_number(m.group(1), lang)} koma {_digits(m.group(2), lang)}", text)
        text = text.replace("%", " persen")
    else:
        text = _THOUSANDS_EN_RE.sub(lambda m: number_words_en(int(m.group(1).replace(",", ""))), text)
        text = _DECIMAL_EN_RE.sub(lambda m: f"{_read_number(m.group(1), lang)} point {_digits(m.group(2), lang)}", text)
        text = text.replace("%", " percent")
    return _NUMBER_RE.sub(lambda m: _read_number(m.group(0), lang), text)


def _sub_times(text: str, lang: str) -> str:
    fmt = _time_id if lang == "id" else _time_en
    joiner = "sampai" if lang == "id" else "to"

    def rng(m: re.Match[str]) -> str:
        a = fmt(int(m.group(1)), int(m.group(2)))
        b = fmt(int(m.group(3)), int(m.group(4)))
        return f"{a} {joiner} {b}"

    text = _TIME_RANGE_RE.sub(rng, text)
    return _TIME_RE.sub(lambda m: fmt(int(m.group(1)), int(m.group(2))), text)


def normalize(text: str, lang: str = "id") -> str:
    """Rewrite written forms (times, money, dates, IDs, abbreviations, numbers) as spoken words.

    ``lang`` is "id" (default) or "en"; anything else is treated as "id" so bad input never fails.
    """
    lang = "en" if lang == "en" else "id"
    text = text.replace("\u00a0", " ")
    text = _sub_codes(text, lang)
    text = _sub_dates(text, lang)
    text = _sub_rupiah(text, lang)
    text = _sub_times(text, lang)
    text = _sub_abbrev(text, lang)
    text = _sub_numbers(text, lang)
    return re.sub(r"[ \t]+", " ", text).strip()
