"""Understanding one message: language, intent, service, case, slots, confidence.

The linear heads (sentence encoder + char n-grams) give intent, service and case-kind
probabilities; alias rules for names people actually use ("akte", "AK1", "STNK") and the aspect
cue rules are *features* of the case ranker (``assistant.retrieval``), which picks the case or
referral. Nothing here forces a confidence: a named alias no longer means "certainly this service"
(a building permit is not the land-and-building tax because both say "bangunan").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from assistant.dataset import ASPECTS, NONE_SERVICE, lexicon, surface_forms
from assistant.retrieval import CaseIndex, Ranking
from assistant.slots import Slots, extract
from assistant.text import detect_lang, normalize
from protocol.catalog import Catalog

_B = r"(?<![a-z0-9])"
_E = r"(?![a-z0-9])"

_OFFICER_RE = re.compile(
    r"\b(petugas|ptugas|officer|manusia|human|orang asli|orang beneran|real person|staff|operator|customer service|"
    r"cs|agent|admin)\b"
)
_STATUS_RE = re.compile(r"\b(status|lacak|track|sampai mana|progres|progress)\b")
_QUEUE_RE = re.compile(r"\b(antrean|queue|tiket antre|ticket)\b")
_CASE_CMD = re.compile(r"^/case\s+(\S+)\s*$")


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
    service_source: str = "model"  # model | rule (an alias named it) | context
    top_services: list[tuple[str, float]] = field(default_factory=list)
    ranking: Ranking | None = None
    forced_case: str | None = None  # "/case <id>" sent back from a clarifying question
    aliases: list[str] = field(default_factory=list)  # services named by an alias in the text

    @property
    def confidence(self) -> float:
        if self.intent == "ask_service" and self.service is not None:
            return round(min(self.intent_conf, self.service_conf), 4)
        return round(self.intent_conf, 4)


@lru_cache(maxsize=4)
def _aspect_rules() -> list[tuple[str, list[re.Pattern[str]], list[re.Pattern[str]]]]:
    lex = lexicon()
    strong, weak = lex["aspects"], lex.get("aspects_weak", {})
    order = [a for a in lex.get("aspect_priority", list(strong)) if a in ASPECTS]
    return [(a, [re.compile(p) for p in strong.get(a, [])], [re.compile(p) for p in weak.get(a, [])]) for a in order]


def detect_aspect(norm: str) -> str | None:
    """Each matching cue scores 1 (weak cues 0.5); the best score wins, ties by priority."""
    best, best_score = None, 0.0
    for aspect, strong, weak in _aspect_rules():
        score = sum(1.0 for rx in strong if rx.search(norm)) + sum(0.5 for rx in weak if rx.search(norm))
        if score > best_score:
            best, best_score = aspect, score
    return best


@lru_cache(maxsize=4)
def _hours_rule() -> re.Pattern[str]:
    return re.compile("|".join(lexicon()["office_hours_rules"]))


@lru_cache(maxsize=1)
def about_mpp_rule() -> re.Pattern[str]:
    """ "Apa itu MPP, ada layanan apa saja?": answered with the hours reply led by what the MPP holds."""
    return re.compile("|".join(lexicon()["about_mpp_rules"]))


def _damerau1(a: str, b: str) -> bool:
    """True when a and b differ by at most one edit (insert, delete, substitute, adjacent swap)."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    i = 0
    while i < min(la, lb) and a[i] == b[i]:
        i += 1
    if la == lb:
        if a[i + 1 :] == b[i + 1 :]:
            return True
        return i + 1 < la and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]
    if la > lb:
        return a[i + 1 :] == b[i:]
    return a[i:] == b[i + 1 :]


def _catalog_words(catalog: Catalog) -> frozenset[str]:
    """Every word the catalogue's own texts use (both languages, normalised).

    A correctly spelt word is not a typo of a service name: "bagi" ("for") is one letter from the alias
    "bayi" and named the birth certificate in "Mengapa kartu ini penting bagi para pencari kerja?".
    """
    words: set[str] = set()

    def walk(v: Any) -> None:
        if isinstance(v, str):
            words.update(normalize(v).split())
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list | tuple):
            for x in v:
                walk(x)

    walk(catalog.model_dump(mode="json"))
    return frozenset(words)


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
        self._fuzzy_memo: tuple[str | None, tuple[tuple[int, int, int, str], ...]] = (None, ())
        self._by_first: dict[str, list[tuple[list[str], str]]] = {}
        for a, sid in pairs:
            toks = a.split()
            if len(toks) <= 3 and sum(len(t) for t in toks) >= 4:
                self._by_first.setdefault(toks[0][:1], []).append((toks, sid))
        self._known = _catalog_words(catalog)

    def _fuzzy_spans(self, norm: str) -> list[tuple[int, int, int, str]]:
        """(start, end, n_tokens, service) of aliases matched with at most one typo per longer word.

        ``find`` and ``fuzzy`` both ask about the same text in one turn: the last answer is kept.
        """
        memo = self._fuzzy_memo
        if memo[0] == norm:
            return list(memo[1])
        out = self._fuzzy_spans_uncached(norm)
        self._fuzzy_memo = (norm, tuple(out))
        return list(out)

    def _fuzzy_spans_uncached(self, norm: str) -> list[tuple[int, int, int, str]]:
        spans = [(m.start(), m.end(), m.group(0)) for m in re.finditer(r"\S+", norm)]
        toks = [t for _s, _e, t in spans]
        out: list[tuple[int, int, int, str]] = []
        for i, tok in enumerate(toks):
            for alias, sid in self._by_first.get(tok[:1], ()):
                n = len(alias)
                window = toks[i : i + n]
                if len(window) < n:
                    continue
                ok = all(
                    w == t or (len(t) >= 4 and w[:1] == t[:1] and w not in self._known and _damerau1(w, t))
                    for w, t in zip(window, alias, strict=True)
                )
                if ok:
                    out.append((spans[i][0], spans[i + n - 1][1], n, sid))
        return out

    def fuzzy(self, norm: str) -> list[str]:
        """Aliases matched with one typo per longer word ("akta kmatian", "sckk"); first letters must agree."""
        found: list[str] = []
        for _s, _e, _n, sid in sorted(self._fuzzy_spans(norm), key=lambda x: -x[2]):
            if sid not in found:
                found.append(sid)
        return found

    def _exact_spans(self, norm: str) -> list[tuple[int, int, int, str]]:
        taken: list[tuple[int, int, int, str]] = []
        for rx, alias, sid in self._rules:
            if alias not in norm:
                continue  # a plain substring test first: most aliases are not in a given text
            for m in rx.finditer(norm):
                s, e = m.span()
                if any(s < te and ts < e for ts, te, _n, _sid in taken):
                    continue
                taken.append((s, e, len(alias.split()), sid))
        return taken

    def find(self, norm: str) -> list[str]:
        """Services named in the text, longest alias first; an alias inside a longer one does not count.

        A longer alias with one typo ("akta kmatian") beats the shorter exact alias it contains ("akta").
        """
        exact = self._exact_spans(norm)
        for fs, fe, fn, fsid in sorted(self._fuzzy_spans(norm), key=lambda x: -x[2]):
            inside = [x for x in exact if fs <= x[0] and x[1] <= fe]
            if (
                inside
                and all(n < fn for _s, _e, n, _sid in inside)
                and not any(x[0] < fe and fs < x[1] and x not in inside for x in exact)
            ):
                exact = [x for x in exact if x not in inside] + [(fs, fe, fn, fsid)]
        found: list[str] = []
        for _s, _e, _n, sid in sorted(exact, key=lambda x: x[0]):
            if sid not in found:
                found.append(sid)
        return found


class NLU:
    def __init__(self, heads: Any, embedder: EmbedderLike, catalog: Catalog, index: CaseIndex | None = None) -> None:
        self.heads = heads
        self.embedder = embedder
        self.catalog = catalog
        self.aliases = AliasRules(catalog)
        self.service_ids = {s.id for s in catalog.services}
        self.index = index

    @classmethod
    def load(cls, catalog: Catalog, model_dir: Path | None = None, knowledge: Any = None) -> NLU:
        from assistant.model import MODEL_DIR, load_heads, make_embedder
        from assistant.retrieval import CaseIndex, DocEmbeddings, build_candidates
        from protocol.knowledge import default_knowledge

        d = model_dir or MODEL_DIR
        heads = load_heads(d)
        encoder = str(heads.meta.get("encoder", "minilm"))
        embedder = make_embedder(encoder)
        index = None
        if "ranker_weights" in heads.meta:
            kb = knowledge if knowledge is not None else default_knowledge()
            index = CaseIndex(
                build_candidates(catalog, kb), heads, embedder, DocEmbeddings.load(d, encoder),
                heads.meta["ranker_weights"], heads.meta.get("case_thresholds"),
            )  # fmt: skip
        return cls(heads, embedder, catalog, index)

    def alias_hits(self, norm: str) -> list[str]:
        hits = [s for s in self.aliases.find(norm) if s in self.service_ids]
        return hits or [s for s in self.aliases.fuzzy(norm) if s in self.service_ids]

    def understand(self, text: str, lang_prior: str = "id") -> Understanding:
        norm = normalize(text)
        lang = detect_lang(text, default=lang_prior)
        forced = _CASE_CMD.match(text.strip())
        if forced and self.index is not None and forced.group(1) in self.index.by_id:
            cand = self.index.by_id[forced.group(1)]
            intent = "ask_service" if cand.service else "out_of_scope"
            return Understanding(
                text=text, norm=norm, lang=lang, intent=intent, intent_conf=1.0, service=cand.service,
                service_conf=1.0, aspect=cand.default_aspect, slots=Slots(), service_source="rule",
                forced_case=cand.id, ranking=Ranking([cand.id], [1.0], index=self.index),
            )  # fmt: skip
        emb = self.embedder.encode([norm])
        pi, ps, pk = self.heads.predict_all(emb, [text])
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
        hits = self.alias_hits(norm)
        if not hits and not slots.tracking_number and intent in ("out_of_scope", "ask_service", "greeting") and (
            _hours_rule().search(norm) or about_mpp_rule().search(norm)
        ):
            intent, intent_conf = "office_hours", max(intent_conf, 0.8)

        ranking: Ranking | None = None
        if self.index is not None:
            f = self.index.feature_matrix(norm, emb[0], pi[0], ps[0], pk[0], hits, aspect)
            ranking = self.index.rank_features(f)
            mass = ranking.service_probs(self.index)
        else:
            mass = dict(service_probs)
        ranked = sorted(
            ((s, p) for s, p in mass.items() if s != NONE_SERVICE and s in self.service_ids), key=lambda kv: -kv[1]
        )
        service: str | None = None
        service_conf = mass.get(NONE_SERVICE, 0.0)
        if ranking is not None and intent in ("ask_service", "out_of_scope"):
            top = self.index.by_id[ranking.ids[0]] if self.index is not None else None
            if top is not None and top.service is None:
                intent, intent_conf = "out_of_scope", max(intent_conf if intent == "out_of_scope" else 0.0,
                                                          ranking.probs[0])  # fmt: skip
            elif top is not None:
                service, service_conf = top.service, mass.get(top.service or "", 0.0)
                if intent == "out_of_scope":
                    intent, intent_conf = "ask_service", max(intent_probs.get("ask_service", 0.0), ranking.probs[0])
        else:
            # A deed (queue, application, status): the service it names, else the service head's pick.
            if hits:
                service = max(hits, key=lambda s: service_probs.get(s, 0.0))
                service_conf = service_probs.get(service, 0.0)
            else:
                best = max(service_probs, key=lambda k: service_probs[k])
                service = None if best == NONE_SERVICE else best
                service_conf = service_probs[best]
            ranked = sorted(
                ((s, p) for s, p in service_probs.items() if s != NONE_SERVICE and s in self.service_ids),
                key=lambda kv: -kv[1],
            )
        if service is not None and intent in ("greeting", "thanks", "office_hours"):
            service = None
        source = "rule" if service is not None and service in hits else "model"
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
            ranking=ranking,
            aliases=hits,
        )
