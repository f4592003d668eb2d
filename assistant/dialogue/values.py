"""Reading a loop's answers loosely: choices by words, synonyms, numbers and codes (never by a
piece of another word), relative dates, and telling a question from an answer."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from protocol.catalog import Option as FormOption
from protocol.clock import office_today

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "saya aku mau ingin untuk buat yang dan atau di ke dari itu ini dong ya nya sih kok the a an to for my i want "
    "it is of keperluan pilih pilihan nomor no option choose".split()
)
_PREFIXES = ("meng", "meny", "mem", "men", "me", "peng", "peny", "pem", "pen", "per", "pe", "ber", "be", "di", "ter")
_SUFFIXES = ("nya", "kan", "an")
# Everyday words for the words of option labels (after stemming), id and en.
_SYNONYMS = {
    "kerja": "kerja", "job": "kerja", "work": "kerja", "working": "kerja", "lamar": "kerja", "loker": "kerja",
    "sekolah": "didik", "kuliah": "didik", "belajar": "didik", "study": "didik", "school": "didik",
    "education": "didik", "beasiswa": "didik",
    "lost": "hilang", "ilang": "hilang", "hilangkan": "hilang",
    "damaged": "rusak", "broken": "rusak", "patah": "rusak",
    "new": "baru", "first": "baru",
    "married": "nikah", "kawin": "nikah", "divorce": "cerai",
    "male": "laki", "pria": "laki", "cowok": "laki", "man": "laki", "boy": "laki",
    "female": "perempuan", "wanita": "perempuan", "cewek": "perempuan", "woman": "perempuan", "girl": "perempuan",
    "abroad": "luar", "other": "lain", "others": "lain", "else": "lain",
    "motorcycle": "motor", "car": "mobil", "tourism": "wisata", "holiday": "wisata", "liburan": "wisata",
    "i": "1", "ii": "2", "iii": "3", "satu": "1", "dua": "2", "tiga": "3", "pertama": "1", "kedua": "2",
    "ketiga": "3", "one": "1", "two": "2", "three": "3",
}  # fmt: skip
_ORDINALS = {
    "satu": 1, "pertama": 1, "first": 1, "one": 1, "dua": 2, "kedua": 2, "second": 2, "two": 2,
    "tiga": 3, "ketiga": 3, "third": 3, "three": 3, "empat": 4, "keempat": 4, "fourth": 4, "four": 4,
    "lima": 5, "kelima": 5, "fifth": 5, "five": 5,
}  # fmt: skip


def stem(word: str) -> str:
    """A light Indonesian stemmer: enough that "pekerjaan", "bekerja" and "kerja" meet."""
    w = word
    for suf in _SUFFIXES:
        if w.endswith(suf) and len(w) - len(suf) >= 4:
            w = w[: -len(suf)]
            break
    for pre in _PREFIXES:
        if w.startswith(pre) and len(w) - len(pre) >= 4:
            w = w[len(pre) :]
            break
    return w


def _terms(text: str) -> set[str]:
    out: set[str] = set()
    for w in _WORD.findall(text.lower()):
        if w in _STOP:
            continue
        out.add(_SYNONYMS.get(w, _SYNONYMS.get(stem(w), stem(w))))
    return out


def _near(a: str, b: str) -> bool:
    """One typo in a long word ("hilng", "pekrjaan")."""
    if a == b:
        return True
    if min(len(a), len(b)) < 5 or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]])
    short, long_ = sorted((a, b), key=len)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def match_option(options: Sequence[FormOption], text: str) -> str | None:
    """The option a visitor means, or None when nothing (or more than one option) fits."""
    raw = text.strip().lower().strip(" .!")
    if not raw or not options:
        return None
    plain = re.sub(r"\s+", " ", raw)
    for o in options:
        names = {o.value.lower(), o.value.replace("_", " ").lower(), o.label.id.lower(), o.label.en.lower()}
        names |= {re.sub(r"\s*\(.*?\)", "", n).strip() for n in names}
        if plain in names:
            return o.value
    m = re.fullmatch(r"(?:no\.?|nomor|pilihan|option|number|#)?\s*(\d+|[a-z]+)", plain)
    if m:
        n = int(m.group(1)) if m.group(1).isdigit() else _ORDINALS.get(m.group(1))
        if n is not None and 1 <= n <= len(options) and not any(o.value == m.group(1) for o in options):
            return options[n - 1].value
    said = _terms(plain)
    if not said:
        return None
    scores: list[tuple[int, str]] = []
    for o in options:
        have = _terms(f"{o.label.id} {o.label.en} {o.value.replace('_', ' ')}")
        score = sum(1 for w in said if any(_near(w, h) for h in have))
        scores.append((score, o.value))
    scores.sort(key=lambda s: -s[0])
    best = scores[0]
    if best[0] == 0 or (len(scores) > 1 and scores[1][0] == best[0]):
        return None
    return best[1]


_REL_DAYS = {"hari ini": 0, "today": 0, "sekarang": 0, "kemarin": 1, "kemaren": 1, "yesterday": 1,
             "kemarin lusa": 2, "day before yesterday": 2}  # fmt: skip
_AGO = re.compile(
    r"\b(\d+|satu|dua|tiga|empat|lima|enam|tujuh|a|one|two|three|four|five|six|seven)\s*"
    r"(hari|minggu|pekan|bulan|tahun|days?|weeks?|months?|years?)\s*(yang\s*)?(lalu|ago|kemarin)\b"
)
_NUM = {"satu": 1, "dua": 2, "tiga": 3, "empat": 4, "lima": 5, "enam": 6, "tujuh": 7, "a": 1, "one": 1, "two": 2,
        "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}  # fmt: skip


def relative_date(text: str, today: dt.date | None = None) -> dt.date | None:
    """ "kemarin", "hari ini", "2 hari lalu", "minggu lalu", "yesterday", "3 days ago" -> a date."""
    low = re.sub(r"\s+", " ", text.lower()).strip(" .!")
    today = today or office_today()  # the citizen's "hari ini" is WIB's, not the machine's UTC date
    for phrase in sorted(_REL_DAYS, key=len, reverse=True):
        if re.search(rf"\b{phrase}\b", low):
            return today - dt.timedelta(days=_REL_DAYS[phrase])
    if re.search(r"\b(minggu lalu|pekan lalu|last week)\b", low):
        return today - dt.timedelta(days=7)
    m = _AGO.search(low)
    if not m:
        return None
    n = int(m.group(1)) if m.group(1).isdigit() else _NUM[m.group(1)]
    unit = m.group(2)
    if unit.startswith(("hari", "day")):
        return today - dt.timedelta(days=n)
    if unit.startswith(("minggu", "pekan", "week")):
        return today - dt.timedelta(days=7 * n)
    months = n if unit.startswith(("bulan", "month")) else 12 * n
    y, mo = divmod(today.year * 12 + today.month - 1 - months, 12)
    day = today.day
    while True:
        try:
            return dt.date(y, mo + 1, day)
        except ValueError:
            day -= 1


_QUESTION_WORDS = re.compile(
    r"\b(apa|apakah|berapa|bagaimana|gimana|gmn|kapan|dimana|di mana|mana|siapa|kenapa|mengapa|bisakah|bolehkah"
    r"|how|what|where|when|why|which|who|can|could|do|does|is|are)\b"
)
_QUESTION_TOPICS = re.compile(
    r"\b(syarat\w*|biaya\w*|bayar|harga|tarif|dokumen\w*|berkas\w*|lama\w*|berapa lama|prosedur\w*|cara\w*"
    r"|jadwal|jam buka|requirements?|fees?|cost|price|documents?|how long|procedure|steps?)\b"
)


def looks_like_question(text: str, norm: str) -> bool:
    """A question asked in the middle of a loop ("syaratnya apa aja?", "berapa biayanya?")."""
    if not norm:
        return False
    asks = text.rstrip().endswith("?") or bool(_QUESTION_WORDS.search(norm))
    return asks and bool(_QUESTION_TOPICS.search(norm) or _QUESTION_WORDS.match(norm))
