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


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    service: str | None
    aspect: str | None
    lang: str


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
