"""The v1 assistant's question path, frozen as the baseline ``mpp eval assistant`` compares with.

v1 classified a question into a catalogue service and one of seven aspects (heads on the English
MiniLM + char n-grams, kept in ``assets/model/assistant/v1``), let an alias force the service at
confidence >= 0.9, and stopped a hand-written list of out-of-scope topics. Its answer was the
catalogue field of that service and aspect; for right-case scoring, (service, aspect) is mapped to
the generic case ``<service>.<aspect kind>``. Nothing else uses this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.answers import compose
from assistant.dataset import ASPECT_KIND, NONE_SERVICE
from assistant.model import MODEL_DIR
from assistant.nlu import _OFFICER_RE, AliasRules, _hours_rule, detect_aspect
from assistant.slots import extract
from assistant.text import detect_lang, normalize
from protocol.catalog import Catalog

V1_DIR = MODEL_DIR / "v1"
# v1's block list of out-of-scope topics, exactly as it shipped.
V1_OUT_OF_SCOPE = re.compile(
    r"\bsim\b|\bsim [abc]\b|\bnikah\b|\bpernikahan\b|\bkua\b|\bmarriage\b|\bmarry\b|\bvisa\b|\bdriving licen|\bpln\b|"
    r"\blistrik\b|\belectricity\b|\bsertifikat tanah\b|\bland certificate\b|\bcpns\b|\bloker\b|\blowongan\b|"
    r"\bpinjam\b|\bpinjaman\b|\bhaji\b|\bumrah\b|\bpdam\b|\btilang\b|\bcuaca\b|\bweather\b|\bpresiden\b|\bresep\b|"
    r"\brecipe\b"
)
MODEL_ONLY_SERVICE_CONF = 0.5


@dataclass
class V1Result:
    intent: str
    service: str | None
    case: str | None  # the generic case its answer corresponds to
    outcome: str  # answer | clarify | dont_know | other
    text: str
    confidence: float


class V1:
    def __init__(self, catalog: Catalog, model_dir: Path | None = None) -> None:
        from assistant.model import Embedder, load_heads

        self.catalog = catalog
        self.heads = load_heads(model_dir or V1_DIR)
        self.embedder = Embedder()
        self.aliases = AliasRules(catalog)
        self.service_ids = {s.id for s in catalog.services}
        self.intent_threshold = float(self.heads.meta.get("intent_threshold", 0.4))
        self.service_threshold = float(self.heads.meta.get("service_threshold", 0.3))

    def ask(self, text: str) -> V1Result:
        norm = normalize(text)
        lang = detect_lang(text, default="id")
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
        elif _OFFICER_RE.search(norm) and intent in ("out_of_scope", "ask_service", "greeting", "start_application"):
            intent, intent_conf = "talk_to_officer", max(intent_conf, intent_probs.get("talk_to_officer", 0.0), 0.6)
        hits = [s for s in self.aliases.find(norm) if s in self.service_ids]
        if not hits:
            hits = [s for s in self.aliases.fuzzy(norm) if s in self.service_ids]
        if not hits and not slots.tracking_number:
            if _hours_rule().search(norm) and intent in ("out_of_scope", "ask_service", "greeting"):
                intent, intent_conf = "office_hours", max(intent_conf, 0.8)
            elif V1_OUT_OF_SCOPE.search(norm) and intent != "talk_to_officer":
                intent, intent_conf = "out_of_scope", max(intent_conf, 0.8)
        service: str | None
        if hits:
            service = max(hits, key=lambda s: service_probs.get(s, 0.0))
            service_conf, rule = max(service_probs.get(service, 0.0), 0.9), True
        else:
            best = max(service_probs, key=lambda k: service_probs[k])
            service = None if best == NONE_SERVICE else best
            service_conf, rule = service_probs[best], False
        if service is not None and intent in ("greeting", "thanks", "office_hours"):
            service = None
        if intent == "out_of_scope" and hits:
            intent, intent_conf = "ask_service", max(intent_probs.get("ask_service", 0.0), 0.6)
        conf = min(intent_conf, service_conf) if intent == "ask_service" and service else intent_conf
        if intent != "ask_service" and intent != "out_of_scope":
            return V1Result(intent, service, None, "other", "", conf)
        confident = intent_conf >= self.intent_threshold or rule
        if intent == "ask_service" and service is None and aspect is None:
            return V1Result("out_of_scope", None, None, "dont_know", "", conf)
        if intent == "out_of_scope" or not confident:
            return V1Result(intent, None if intent == "out_of_scope" else service, None, "dont_know", "", conf)
        if service is None:
            return V1Result(intent, None, None, "clarify", "", conf)
        if not rule and min(service_conf, intent_conf) < max(self.service_threshold, MODEL_ONLY_SERVICE_CONF):
            return V1Result(intent, service, None, "clarify", "", conf)
        svc = self.catalog.service(service)
        body, _cite = compose(self.catalog, svc, aspect, lang)
        return V1Result(intent, service, f"{service}.{ASPECT_KIND[aspect]}", "answer", body, conf)


def load(catalog: Catalog) -> Any:
    return V1(catalog)
