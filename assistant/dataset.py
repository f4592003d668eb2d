"""Training data generated from the catalogue and our own paraphrase templates.

Deterministic for a fixed seed, so ``mpp train`` can record (and CI can check)
the sha256 of exactly what the model saw.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from protocol.catalog import Catalog, default_catalog

DATA_DIR = Path(__file__).resolve().parent / "data"
NONE_SERVICE = "_none"
# Sample weight of a real train question in the service and kind heads' fit: ~250 real questions sit
# among ~16,000 generated sentences, and real wording (long, story-like, colloquial) is what the heads
# must learn to read.
REAL_WEIGHT = 4.0

INTENTS = (
    "ask_service",
    "start_application",
    "check_status",
    "take_queue",
    "office_hours",
    "talk_to_officer",
    "greeting",
    "thanks",
    "out_of_scope",
)
ASPECTS = ("requirements", "fee", "duration", "validity", "location", "procedure", "lost_damaged")

_ID_PREFIXES = ("", "", "", "min ", "kak ", "pak ", "bu ", "permisi ", "mau tanya ", "halo min ")
_ID_SUFFIXES = ("", "", "", "?", " ya", " dong", " kak", " min", " ??", " nih", " sih")
_EN_PREFIXES = ("", "", "", "hi ", "please ", "excuse me ", "quick question ")
_EN_SUFFIXES = ("", "", "", "?", " please", " ??", " thanks")


# The catalogue aspect of the v1 templates -> the case kind it asks about (None: the overview).
ASPECT_KIND: dict[str | None, str] = {
    None: "overview",
    "requirements": "requirements",
    "fee": "fee",
    "duration": "duration",
    "validity": "validity",
    "location": "location",
    "procedure": "procedure",
    "lost_damaged": "lost",
}
NONE_KIND = "_none"

_CUE_WRAP_ID = (
    "{cue}", "{cue}", "{cue} bagaimana", "mau tanya, {cue}", "kalau {cue} gimana caranya", "{cue} itu bagaimana ya",
    "tolong info {cue}", "saya mau tanya soal {cue}", "{cue}, harus bagaimana",
)  # fmt: skip
_CUE_WRAP_EN = (
    "{cue}", "{cue}", "what if {cue}", "question about {cue}", "{cue}, what should i do", "can you help: {cue}",
)  # fmt: skip


# A specific case asked about through one of the catalogue aspects ("dokumen apa untuk paspor hilang",
# "biaya akta terlambat"): the case decides the answer (its requirements, fee and time, or the
# service's), so these carriers are labelled with the case, not with the generic aspect case.
_GENERIC_KINDS = frozenset({"overview", "requirements", "fee", "duration", "validity", "location", "procedure",
                            "status"})  # fmt: skip
_ASPECT_WRAP_ID = (
    "syarat {cue} apa saja", "dokumen apa saja yang dibutuhkan untuk {cue}", "berapa biaya {cue}",
    "berapa lama proses {cue}", "bagaimana prosedur {cue}", "berkas yang harus dibawa kalau {cue}",
    "{cue} bayar berapa", "{cue} butuh waktu berapa hari",
)  # fmt: skip
_ASPECT_WRAP_EN = (
    "what documents do i need if {cue}", "how much does it cost when {cue}", "how long does it take if {cue}",
    "what is the procedure for {cue}",
)  # fmt: skip


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    service: str | None
    aspect: str | None
    lang: str
    case: str | None = None  # the case or referral id it asks about, when known
    weight: float = 1.0  # sample weight in the heads' fit (real questions count more than generated ones)


@lru_cache(maxsize=1)
def lexicon() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DATA_DIR / "lexicon.yaml").read_text(encoding="utf-8"))
    return data


@lru_cache(maxsize=1)
def templates() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DATA_DIR / "templates.yaml").read_text(encoding="utf-8"))
    return data


def surface_forms(catalog: Catalog, service_id: str, lang: str) -> list[str]:
    """Ways people name a service: our lexicon, the catalogue names, and (id) its keywords."""
    svc = catalog.service(service_id)
    forms: list[str] = list(lexicon()["services"].get(service_id, {}).get(lang, []))
    for loc in (svc.short_name, svc.name):
        text = loc.get(lang).lower()
        forms.append(re.sub(r"\s*\(.*?\)", "", text).strip())
    if lang == "id":
        forms.extend(k.lower() for k in svc.keywords)
    seen: dict[str, None] = {}
    for f in forms:
        if f and f not in seen:
            seen[f] = None
    return list(seen)


def typo(text: str, rng: random.Random) -> str:
    """One keyboard slip in one longer word: drop, swap, double or neighbour key."""
    words = text.split()
    idx = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not idx:
        return text
    i = rng.choice(idx)
    w = words[i]
    j = rng.randrange(1, len(w) - 1)
    op = rng.randrange(4)
    if op == 0:
        w = w[:j] + w[j + 1 :]
    elif op == 1:
        w = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    elif op == 2:
        w = w[:j] + w[j] + w[j:]
    else:
        near = {"a": "s", "s": "a", "e": "r", "r": "e", "i": "u", "u": "i", "o": "p", "n": "m", "m": "n", "k": "j"}
        w = w[:j] + near.get(w[j], w[j]) + w[j + 1 :]
    words[i] = w
    return " ".join(words)


def _decorate(text: str, lang: str, rng: random.Random) -> str:
    pre = _EN_PREFIXES if lang == "en" else _ID_PREFIXES
    suf = _EN_SUFFIXES if lang == "en" else _ID_SUFFIXES
    out = rng.choice(pre) + text + rng.choice(suf)
    r = rng.random()
    if r < 0.3:
        out = out.capitalize()
    elif r < 0.38:
        out = out.upper()
    return out


def _tracking(rng: random.Random) -> str:
    return f"BWI-{rng.choice([2025, 2026])}-{rng.randrange(1, 999999):06d}"


_MONTHS_ID = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
              "November", "Desember")  # fmt: skip
_NAMES = ("Siti Aminah", "Budi Santoso", "Dewi Lestari", "Agus Salim", "Rina Wati", "Made Putra")


def _with_values(catalog: Catalog, seed: int) -> list[Example]:
    """Application requests that carry their values ("mau daftar akta lahir, NIK saya ..., lahir ...").

    Forms skip what the opening message gives, so such openings are normal; without them the digits
    and dates of a long message pulled it towards a question. Own random stream, so adding these
    leaves the rest of the generated data (and its cached embeddings) unchanged.
    """
    rng = random.Random(seed + 2)
    tails: dict[str, list[str]] = yaml.safe_load((DATA_DIR / "valuetails.yaml").read_text(encoding="utf-8"))
    out: list[Example] = []
    for svc in catalog.services:
        for lang in ("id", "en"):
            for tail in tails[lang]:
                t = rng.choice(templates()["start_application"][lang])
                if "{svc}" not in t:
                    continue
                nik = "35" + "".join(str(rng.randrange(10)) for _ in range(14))
                day, month, year = rng.randrange(1, 29), rng.randrange(12), rng.randrange(1960, 2026)
                date = f"{day} {_MONTHS_ID[month]} {year}" if lang == "id" else f"{day}-{month + 1:02d}-{year}"
                text = t.replace("{svc}", rng.choice(surface_forms(catalog, svc.id, lang)))
                text += tail.format(nik=nik, date=date, name=rng.choice(_NAMES))
                out.append(Example(text, "start_application", svc.id, None, lang, None))
    return out


def generate(catalog: Catalog | None = None, seed: int = 13, forms_per_template: int = 2) -> list[Example]:
    """Every template, filled with a few surface forms per service, plus typo'd copies."""
    catalog = catalog or default_catalog()
    rng = random.Random(seed)
    tpl = templates()
    service_ids = [s.id for s in catalog.services]
    out: list[Example] = []

    def emit(text: str, intent: str, service: str | None, aspect: str | None, lang: str) -> None:
        text = _decorate(text, lang, rng)
        out.append(Example(text, intent, service, aspect, lang))
        if rng.random() < 0.35:
            out.append(Example(typo(text, rng), intent, service, aspect, lang))

    def fill(template: str, lang: str, intent: str, aspect: str | None, k: int) -> None:
        if "{svc}" not in template:
            for _ in range(3):
                emit(template.replace("{trk}", _tracking(rng)), intent, None, aspect, lang)
            return
        for sid in service_ids:
            forms = surface_forms(catalog, sid, lang)
            for form in rng.sample(forms, min(k, len(forms))):
                emit(template.replace("{svc}", form).replace("{trk}", _tracking(rng)), intent, sid, aspect, lang)

    for lang in ("id", "en"):
        for aspect, items in tpl["ask_service"][lang].items():
            for t in items:
                fill(t, lang, "ask_service", None if aspect == "none" else aspect, forms_per_template)
        for intent in INTENTS:
            if intent == "ask_service":
                continue
            for t in tpl[intent][lang]:
                if "{svc}" in t:
                    fill(t, lang, intent, None, 1)
                else:
                    reps = 3 if intent in ("check_status",) else 2
                    for _ in range(reps):
                        emit(t.replace("{trk}", _tracking(rng)), intent, None, None, lang)
    return out


@lru_cache(maxsize=4)
def data_file(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DATA_DIR / name).read_text(encoding="utf-8"))
    return data


def _cue_lang(cue: str) -> str:
    from assistant.text import detect_lang

    return detect_lang(cue, default="id")


def generate_v2(
    catalog: Catalog | None = None,
    knowledge: Any = None,
    seed: int = 13,
    real_train: Any = (),
) -> list[Example]:
    """The v1 templates (labelled with their default case) plus everyday wording, near misses,
    case and referral cues from the knowledge base, and the real-question ``train`` part.

    Only the ``train`` part of the real questions may be passed here (``mpp train`` refuses data that
    holds a held-out question).
    """
    from assistant.text import detect_lang

    catalog = catalog or default_catalog()
    rng = random.Random(seed + 1)
    out: list[Example] = []
    damaged = {c.service for c in knowledge.cases if c.kind == "damaged"} if knowledge is not None else set()
    for e in generate(catalog, seed=seed):
        case = f"{e.service}.{ASPECT_KIND[e.aspect]}" if e.intent == "ask_service" and e.service else None
        if case and e.aspect == "lost_damaged" and e.service in damaged and _DAMAGE_WORDS.search(e.text):
            # "KK saya sobek" is not "KK hilang": no police report, the damaged card is brought in
            case = f"{e.service}.damaged"
        out.append(Example(e.text, e.intent, e.service, e.aspect, e.lang, case))

    def emit(text: str, intent: str, service: str | None, lang: str, case: str | None) -> None:
        text = _decorate(text, lang, rng)
        out.append(Example(text, intent, service, None, lang, case))
        if rng.random() < 0.3:
            out.append(Example(typo(text, rng), intent, service, None, lang, case))

    service_ids = [s.id for s in catalog.services]
    every = data_file("everyday.yaml")
    for intent in sorted(every):
        for lang in ("id", "en"):
            for t in every[intent][lang]:
                if "{svc}" in t:
                    for sid in rng.sample(service_ids, 4):
                        form = rng.choice(surface_forms(catalog, sid, lang))
                        emit(t.replace("{svc}", form).replace("{trk}", _tracking(rng)), intent, sid, lang, None)
                else:
                    for _ in range(2):
                        emit(t.replace("{trk}", _tracking(rng)), intent, None, lang, None)
    ref_ids = {r.id for r in knowledge.referrals} if knowledge is not None else set()
    near = data_file("nearmiss.yaml")
    for key in sorted(near):
        case = key if key in ref_ids else None
        for lang in ("id", "en"):
            for t in near[key].get(lang, []):
                for _ in range(2):
                    emit(t, "out_of_scope", None, lang, case)
    if knowledge is not None:
        for c in knowledge.cases:
            for cue in c.cues:
                lang = _cue_lang(cue)
                wraps = _CUE_WRAP_EN if lang == "en" else _CUE_WRAP_ID
                for w in rng.sample(wraps, 2):
                    emit(w.replace("{cue}", cue), "ask_service", c.service, lang, c.id)
            if c.id.partition(".")[2] not in _GENERIC_KINDS:
                for cue in rng.sample(list(c.cues), min(3, len(c.cues))):
                    lang = _cue_lang(cue)
                    w = rng.choice(_ASPECT_WRAP_EN if lang == "en" else _ASPECT_WRAP_ID)
                    emit(w.replace("{cue}", cue), "ask_service", c.service, lang, c.id)
        for r in knowledge.referrals:
            for cue in r.cues:
                lang = _cue_lang(cue)
                wraps = _CUE_WRAP_EN if lang == "en" else _CUE_WRAP_ID
                for w in rng.sample(wraps, 2):
                    emit(w.replace("{cue}", cue), "out_of_scope", None, lang, r.id)
    for q in real_train:
        if q.split != "train":
            raise ValueError("only the real-question train part may be used for training")
        lang = q.lang or detect_lang(q.question)
        out.append(Example(q.question, q.intent, q.service, None, lang, q.expected, REAL_WEIGHT))
    out.extend(_with_values(catalog, seed))
    return out


# A lost_damaged template about damage, not loss (v1's one aspect is two cases where the base has both).
_DAMAGE_WORDS = re.compile(r"\b(?:rusak|sobek|robek|patah|pudar|luntur|damaged|broken|torn)\b")


def kind_label(e: Example) -> str:
    """The kind head's label: the case kind of a question about a service, else ``_none``."""
    if e.intent != "ask_service" or not e.service or not e.case or e.case.startswith("ref."):
        return NONE_KIND
    return case_kind(e.case) or NONE_KIND


def case_kind(case_id: str) -> str | None:
    """``paspor.lost-abroad`` -> ``lost``; ``kk.data-change`` -> ``data-change`` (kinds may hold a hyphen)."""
    from protocol.knowledge import CASE_KINDS

    rest = case_id.partition(".")[2]
    return max((k for k in CASE_KINDS if rest == k or rest.startswith(k + "-")), key=len, default=None)


def to_jsonl(examples: Iterable[Example]) -> bytes:
    lines = [json.dumps(asdict(e), ensure_ascii=False, sort_keys=True) for e in examples]
    return ("\n".join(lines) + "\n").encode("utf-8")


def data_hash(examples: Iterable[Example]) -> str:
    return hashlib.sha256(to_jsonl(examples)).hexdigest()


def load_dev(path: Path | None = None) -> list[dict[str, Any]]:
    from protocol.catalog import assets_dir

    p = path or assets_dir() / "assistant" / "dev.jsonl"
    rows = []
    for line in p.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("//"):
            rows.append(json.loads(line))
    return rows
