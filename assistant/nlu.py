"""Understanding one message: language, intent, service, aspect, slots, confidence.

An ensemble: the linear heads (MiniLM + char n-grams) vote, alias rules for
names people actually use ("akte", "AK1", "STNK") settle the service when they
fire, and regex rules pick the aspect, because an aspect is a handful of words
and a rule can be read and fixed by a non-programmer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from assistant.dataset import ASPECTS, NONE_SERVICE, lexicon, surface_forms
from assistant.slots import Slots, extract
from assistant.text import detect_lang, normalize
from protocol.catalog import Catalog

_B = r"(?<![a-z0-9])"
_E = r"(?![a-z0-9])"

_OFFICER_RE = re.compile(
    r"\b(petugas|officer|manusia|human|orang asli|real person|staff|operator|customer service|cs|agent|admin)\b"
)
_STATUS_RE = re.compile(r"\b(status|lacak|track|sampai mana|progres|progress)\b")
_QUEUE_RE = re.compile(r"\b(antrean|queue|tiket antre|ticket)\b")


class EmbedderLike(Protocol):
    def encode(self, texts: Any, batch_size: int = ...) -> np.ndarray: ...


@dataclass
class Understanding:
    text: str
    norm: str
    lang: str
    intent: str
    intent_conf: float
    service: str | None
    service_conf: float
    aspect: str | None
    slots: Slots
    service_source: str = "model"  # model | rule | context
    top_services: list[tuple[str, float]] = field(default_factory=list)

    @property
    def confidence(self) -> float:
        if self.intent == "ask_service" and self.service is not None:
            return round(min(self.intent_conf, self.service_conf), 4)
        return round(self.intent_conf, 4)


@lru_cache(maxsize=4)
def _aspect_rules() -> list[tuple[str, re.Pattern[str]]]:
    rules = lexicon()["aspects"]
    return [(a, re.compile("|".join(rules[a]))) for a in rules if a in ASPECTS]


def detect_aspect(norm: str) -> str | None:
    for aspect, rx in _aspect_rules():
        if rx.search(norm):
            return aspect
    return None


class AliasRules:
    """Longest-match alias lookup over normalised text."""

    def __init__(self, catalog: Catalog) -> None:
        pairs: list[tuple[str, str]] = []
        for svc in catalog.services:
            forms: set[str] = set()
            for lang in ("id", "en"):
                forms.update(surface_forms(catalog, svc.id, lang))
            for f in forms:
                n = normalize(f)
                if len(n) >= 2:
                    pairs.append((n, svc.id))
        pairs.sort(key=lambda p: -len(p[0]))
        self._rules = [(re.compile(_B + re.escape(a) + _E), a, sid) for a, sid in pairs]

    def find(self, norm: str) -> list[str]:
        """Services named in the text; an alias inside a longer matched alias does not count."""
        taken: list[tuple[int, int]] = []
        found: list[str] = []
        for rx, _alias, sid in self._rules:
            for m in rx.finditer(norm):
                s, e = m.span()
                if any(s < te and ts < e for ts, te in taken):
                    continue
                taken.append((s, e))
                if sid not in found:
                    found.append(sid)
        return found


class NLU:
    def __init__(self, heads: Any, embedder: EmbedderLike, catalog: Catalog) -> None:
        self.heads = heads
        self.embedder = embedder
        self.catalog = catalog
        self.aliases = AliasRules(catalog)
        self.service_ids = {s.id for s in catalog.services}

    @classmethod
    def load(cls, catalog: Catalog, model_dir: Path | None = None) -> NLU:
        from assistant.model import Embedder, load_heads

        return cls(load_heads(model_dir), Embedder(), catalog)

    def understand(self, text: str, lang_prior: str = "id") -> Understanding:
        norm = normalize(text)
        lang = detect_lang(text, default=lang_prior)
        emb = self.embedder.encode([norm])
        pi, ps = self.heads.predict(emb, [text])
        intent_probs = dict(zip(self.heads.intent.labels, pi[0].tolist(), strict=True))
        service_probs = dict(zip(self.heads.service.labels, ps[0].tolist(), strict=True))
        slots = extract(text)
        aspect = detect_aspect(norm)

        intent = max(intent_probs, key=lambda k: intent_probs[k])
        intent_conf = intent_probs[intent]
        if slots.tracking_number and intent != "start_application":
            intent, intent_conf = "check_status", max(intent_conf, 0.95)
        elif _OFFICER_RE.search(norm) and intent in ("out_of_scope", "ask_service", "greeting"):
            if intent_probs.get("talk_to_officer", 0) > 0.1:
                intent, intent_conf = "talk_to_officer", max(intent_conf, intent_probs["talk_to_officer"])

        ranked = sorted(
            ((s, p) for s, p in service_probs.items() if s != NONE_SERVICE and s in self.service_ids),
            key=lambda kv: -kv[1],
        )
        hits = [s for s in self.aliases.find(norm) if s in self.service_ids]
        service: str | None
        source = "model"
        if hits:
            service = max(hits, key=lambda s: service_probs.get(s, 0.0))
            service_conf = max(service_probs.get(service, 0.0), 0.9)
            source = "rule"
        else:
            best = max(service_probs, key=lambda k: service_probs[k])
            service = None if best == NONE_SERVICE else best
            service_conf = service_probs[best]
        if service is not None and intent in ("greeting", "thanks", "office_hours"):
            service = None
        if intent == "out_of_scope" and hits:
            # A catalogue service was named explicitly: the question is about it after all.
            intent, intent_conf = "ask_service", max(intent_probs.get("ask_service", 0.0), 0.6)
        return Understanding(
            text=text,
            norm=norm,
            lang=lang,
            intent=intent,
            intent_conf=float(intent_conf),
            service=service,
            service_conf=float(service_conf),
            aspect=aspect,
            slots=slots,
            service_source=source,
            top_services=[(s, float(p)) for s, p in ranked[:3]],
        )
