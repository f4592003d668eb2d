"""Case retrieval and ranking: which case (or referral) of the knowledge base a question is about.

Every case and referral is a small set of documents (its cues and titles). A question is scored
against each candidate with a handful of features — character n-gram TF-IDF similarity, sentence
encoder similarity, the service and kind classifiers' probabilities, alias hits, the aspect cue
rules — and one linear score per candidate is turned into probabilities by a softmax over all
candidates (a conditional logit, its weights fitted by ``mpp train``). Aliases are features, not
verdicts: "BPJS Ketenagakerjaan" names "bpjs" but the near-miss training data teaches the ranker
that the referral wins.

Candidates that the knowledge base does not have come from the catalogue: every service has its
default cases ``<service>.<aspect kind>`` (overview, requirements, fee, ...), answered from the
catalogue fields, and one ``oos`` candidate stands for "none of our services, no referral".
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assistant.dataset import ASPECT_KIND, NONE_KIND, NONE_SERVICE, case_kind, data_file
from assistant.text import normalize
from protocol.catalog import Catalog, Localized
from protocol.knowledge import Case, KnowledgeBase, Referral

OOS_ID = "oos"
# Default kinds answered from the catalogue when the knowledge base has no such case.
DEFAULT_KINDS: dict[str, str | None] = {
    "overview": None,
    "requirements": "requirements",
    "fee": "fee",
    "duration": "duration",
    "validity": "validity",
    "location": "location",
    "procedure": "procedure",
    "lost": "lost_damaged",
}
# The v1 aspect a case kind answers (reported as the reply's aspect).
KIND_ASPECT: dict[str, str] = {
    "requirements": "requirements", "fee": "fee", "duration": "duration", "validity": "validity",
    "location": "location", "procedure": "procedure", "lost": "lost_damaged", "damaged": "lost_damaged",
}  # fmt: skip
FEATURES: tuple[str, ...] = (
    "svc_logp",  # log P(service of the candidate | question); referrals and oos: log P(none)
    "kind_logp",  # log P(kind of the candidate | question); referrals and oos: log P(kind none)
    "intent_logp",  # log P(ask_service) for cases, log P(out_of_scope) for referrals and oos
    "lex",  # best char n-gram cosine against the candidate's cues and titles
    "emb",  # best sentence-encoder cosine against them
    "alias",  # a service alias of the candidate's service is in the text / a referral cue is
    "aspect",  # the aspect cue rules point at this kind
    "is_default",  # a catalogue default case (not written in the knowledge base)
    "is_referral",
    "is_oos",
)
_B, _E = r"(?<![a-z0-9])", r"(?![a-z0-9])"
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Candidate:
    id: str
    kind: str  # a case kind, "referral" or "oos"
    service: str | None
    docs: tuple[str, ...]  # normalised cue and title texts
    title: Localized | None = None
    case: Case | None = None
    referral: Referral | None = None
    default_aspect: str | None = None  # catalogue aspect of a default case

    @property
    def is_default(self) -> bool:
        return self.case is None and self.referral is None and self.id != OOS_ID


def _aspect_title(kind: str, svc_name: Localized) -> Localized:
    from assistant.answers import ASPECT_LABELS

    if kind == "overview":
        return Localized(id=f"Tentang {svc_name.id}", en=f"About {svc_name.en}")
    label = ASPECT_LABELS[DEFAULT_KINDS[kind] or "requirements"]
    return Localized(id=f"{label.id} {svc_name.id}", en=f"{label.en}: {svc_name.en}")


def build_candidates(catalog: Catalog, kb: KnowledgeBase) -> list[Candidate]:
    """Knowledge-base cases, catalogue defaults where the base has none, referrals, and ``oos``."""
    cues = data_file("casecues.yaml")
    out: list[Candidate] = []
    have = {c.id for c in kb.cases}
    for c in kb.cases:
        docs = [normalize(x) for x in (*c.cues, c.title.id, c.title.en)]
        out.append(Candidate(c.id, c.kind, c.service, tuple(dict.fromkeys(d for d in docs if d)), c.title, case=c,
                             default_aspect=KIND_ASPECT.get(c.kind)))  # fmt: skip
    for svc in catalog.services:
        for kind, aspect in DEFAULT_KINDS.items():
            cid = f"{svc.id}.{kind}"
            if cid in have or (kind == "lost" and svc.lost_or_damaged is None):
                continue
            docs = []
            for lang in ("id", "en"):
                for t in cues[kind][lang]:
                    docs.append(normalize(t.replace("{svc}", svc.short_name.get(lang))))
            out.append(
                Candidate(cid, kind, svc.id, tuple(dict.fromkeys(docs)), _aspect_title(kind, svc.short_name),
                          default_aspect=aspect)
            )  # fmt: skip
    for r in kb.referrals:
        docs = [normalize(x) for x in (*r.cues, r.title.id, r.title.en)]
        out.append(Candidate(r.id, "referral", None, tuple(dict.fromkeys(d for d in docs if d)), r.title, referral=r))
    out.append(Candidate(OOS_ID, "oos", None, ()))
    return out


def _cache_key(encoder: str, text: str) -> str:
    return hashlib.sha256(f"{encoder}|{text}".encode()).hexdigest()[:20]


class DocEmbeddings:
    """Sentence embeddings of candidate documents, saved next to the model and keyed by text.

    ``mpp train`` writes them; a knowledge-base edit after training only costs the new cues at
    load time (a few ms each), never a stale vector.
    """

    FILE = "docs.npz"

    def __init__(self, encoder: str, table: dict[str, np.ndarray] | None = None) -> None:
        self.encoder = encoder
        self.table = dict(table or {})

    @classmethod
    def load(cls, model_dir: Path, encoder: str) -> DocEmbeddings:
        path = model_dir / cls.FILE
        if not path.exists():
            return cls(encoder)
        with np.load(path, allow_pickle=False) as z:
            keys = [str(k) for k in z["keys"]]
            vecs = np.asarray(z["vecs"], dtype=np.float32)
        return cls(encoder, dict(zip(keys, vecs, strict=True)))

    def vectors(self, texts: Sequence[str], embedder: Any) -> np.ndarray:
        keys = [_cache_key(self.encoder, t) for t in texts]
        missing = sorted({t for t, k in zip(texts, keys, strict=True) if k not in self.table})
        if missing:
            vecs = embedder.encode(missing)
            for t, v in zip(missing, vecs, strict=True):
                self.table[_cache_key(self.encoder, t)] = np.asarray(v, dtype=np.float32)
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([self.table[k] for k in keys])

    def to_bytes(self, texts: Sequence[str]) -> bytes:
        from assistant.model import _npz_bytes

        keys = sorted({_cache_key(self.encoder, t) for t in texts})
        vecs = np.stack([self.table[k] for k in keys]).astype(np.float16) if keys else np.zeros((0, 384), np.float16)
        return _npz_bytes({"keys": np.array(keys), "vecs": vecs})


class _Postings:
    """Char n-gram TF-IDF rows of the documents, inverted by feature, for a fast sparse dot."""

    def __init__(self, rows: list[tuple[np.ndarray, np.ndarray]], n_features: int) -> None:
        feats = np.concatenate([i for i, _ in rows]) if rows else np.zeros(0, np.int64)
        vals = np.concatenate([v for _, v in rows]) if rows else np.zeros(0, np.float32)
        docs = np.concatenate([np.full(len(i), d, np.int64) for d, (i, _) in enumerate(rows)]) if rows else feats
        order = np.argsort(feats, kind="stable")
        self.docs, self.vals = docs[order], vals[order]
        self.ptr = np.searchsorted(feats[order], np.arange(n_features + 1))
        self.n_docs = len(rows)

    def dot(self, idx: np.ndarray, vals: np.ndarray) -> np.ndarray:
        """Scores of every document against one sparse query row, gathered without a Python loop."""
        idx = np.asarray(idx, dtype=np.int64)
        starts, ends = self.ptr[idx], self.ptr[idx + 1]
        lengths = ends - starts
        total = int(lengths.sum())
        if total == 0:
            return np.zeros(self.n_docs, dtype=np.float32)
        offsets = np.cumsum(lengths) - lengths
        pos = np.arange(total) - np.repeat(offsets, lengths) + np.repeat(starts, lengths)
        weights = self.vals[pos] * np.repeat(np.asarray(vals, dtype=np.float32), lengths)
        return np.bincount(self.docs[pos], weights=weights, minlength=self.n_docs).astype(np.float32)


@dataclass
class Ranking:
    """Candidates best first, with probabilities that sum to one over all candidates."""

    ids: list[str]
    probs: list[float]
    features: dict[str, list[float]] = field(default_factory=dict)
    index: CaseIndex | None = None
    by_candidate: np.ndarray | None = None  # the probabilities in the index's candidate order (full rankings)

    def candidate(self, i: int = 0) -> Candidate:
        assert self.index is not None
        return self.index.by_id[self.ids[i]]

    def restrict(self, service: str, *, others: bool = False) -> Ranking:
        """Only the cases of one service, renormalised (a follow-up that keeps the conversation's service);
        ``others``: referrals and "none of ours" stay too, and the probabilities are kept as they were (a
        question that names that service: the mass the ranker gave elsewhere is doubt, not confidence)."""
        assert self.index is not None
        keep = [
            (c, p)
            for c, p in zip(self.ids, self.probs, strict=True)
            if self.index.by_id[c].service == service or (others and self.index.by_id[c].service is None)
        ]
        total = 1.0 if others else (sum(p for _, p in keep) or 1.0)
        return Ranking([c for c, _ in keep], [p / total for _, p in keep], index=self.index)

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        return list(zip(self.ids[:k], self.probs[:k], strict=True))

    def service_probs(self, index: CaseIndex) -> dict[str, float]:
        """Probability mass per catalogue service (None: none of ours)."""
        if self.by_candidate is not None and index is self.index:
            sums = np.bincount(index.svc_group, weights=self.by_candidate, minlength=len(index.svc_keys))
            return {index.svc_keys[g]: float(sums[g]) for g in np.argsort(-sums, kind="stable")}
        out: dict[str, float] = {}
        for cid, p in zip(self.ids, self.probs, strict=True):
            svc = index.by_id[cid].service or NONE_SERVICE
            out[svc] = out.get(svc, 0.0) + p
        return out


class CaseIndex:
    """The candidates with their documents' n-gram postings and embeddings, and the ranker weights."""

    def __init__(
        self,
        candidates: list[Candidate],
        heads: Any,
        embedder: Any,
        doc_emb: DocEmbeddings,
        weights: dict[str, float] | None = None,
        thresholds: dict[str, float] | None = None,
    ) -> None:
        self.candidates = candidates
        self.thresholds = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
        self.by_id = {c.id: c for c in candidates}
        self.heads = heads
        self.embedder = embedder
        self.weights = np.array([float((weights or DEFAULT_WEIGHTS).get(f, 0.0)) for f in FEATURES])
        self.doc_texts: list[str] = []
        owner: list[int] = []
        for ci, c in enumerate(candidates):
            for d in c.docs:
                self.doc_texts.append(d)
                owner.append(ci)
        self.doc_owner = np.array(owner, dtype=np.int64)
        self.postings = _Postings(heads.ngrams.sparse_rows(self.doc_texts), len(heads.ngrams.idf))
        self.doc_vecs = doc_emb.vectors(self.doc_texts, embedder)
        self.doc_emb = doc_emb
        self.svc_col = {s: i for i, s in enumerate(heads.service.labels)}
        self.int_col = {s: i for i, s in enumerate(heads.intent.labels)}
        self.kind_col = {s: i for i, s in enumerate(heads.kind.labels)} if heads.kind is not None else {}
        self._ref_rx = [
            (ci, re.compile("|".join(_B + re.escape(normalize(q)) + _E for q in c.referral.cues)))
            for ci, c in enumerate(candidates)
            if c.referral is not None and c.referral.cues
        ]
        n = len(candidates)
        self.is_case = np.array([c.kind not in ("referral", "oos") for c in candidates])
        self._ref_cues = {ci: [normalize(q) for q in c.referral.cues] for ci, c in enumerate(candidates)
                          if c.referral is not None and c.referral.cues}  # fmt: skip
        self._ref_memo: tuple[str, list[int]] = ("\0", [])
        # A cue can only match where its first word is a word of the text (cues match on word boundaries).
        self._ref_first = {ci: {m.group(0) for q in qs if (m := _WORD.match(q))} for ci, qs in self._ref_cues.items()}
        self._ref_always = {ci for ci, qs in self._ref_cues.items() if any(not _WORD.match(q) for q in qs)}
        # Per-candidate columns of the heads' outputs (-1: not a label), so one question's features are
        # a few array gathers rather than a loop over hundreds of candidates.
        self.cand_svc_col = np.array([self.svc_col.get(c.service, -1) if c.service else -1 for c in candidates])
        self.cand_kind_col = np.array([self.kind_col.get(c.kind, -1) for c in candidates])
        self.cand_ids = np.array([c.id for c in candidates], dtype=object)
        services = {c.service for c in candidates if c.service}
        self._service_mask = {s: self.is_case & np.array([c.service == s for c in candidates]) for s in services}
        self._kind_mask = {
            k: self.is_case & np.array([c.kind == k for c in candidates]) for k in {c.kind for c in candidates}
        }  # fmt: skip
        self.svc_keys = sorted({c.service or NONE_SERVICE for c in candidates})
        key_pos = {k: i for i, k in enumerate(self.svc_keys)}
        self.svc_group = np.array([key_pos[c.service or NONE_SERVICE] for c in candidates], dtype=np.int64)
        # Documents are stored candidate by candidate: one segment per candidate that has any.
        owners, starts = np.unique(self.doc_owner, return_index=True)
        self._seg_owner, self._seg_start = owners, starts
        self.static = np.zeros((n, len(FEATURES)), dtype=np.float64)
        for ci, c in enumerate(candidates):
            self.static[ci, FEATURES.index("is_default")] = float(c.is_default)
            self.static[ci, FEATURES.index("is_referral")] = float(c.kind == "referral")
            self.static[ci, FEATURES.index("is_oos")] = float(c.kind == "oos")

    def _referral_rows(self, norm: str) -> list[int]:
        """Candidate rows of referrals one of whose cues is in the text word for word.

        A plain substring test screens each referral before its word-boundary regex; the last text's
        answer is kept because the answering path asks again about the same text.
        """
        memo = self._ref_memo
        if memo[0] == norm:
            return memo[1]
        words = set(_WORD.findall(norm))
        first, always = self._ref_first, self._ref_always
        maybe = [(ci, rx) for ci, rx in self._ref_rx if ci in always or not words.isdisjoint(first[ci])]
        rows = [ci for ci, rx in maybe if rx.search(norm)]
        self._ref_memo = (norm, rows)
        return rows

    def referral_hits(self, norm: str) -> list[str]:
        """Referrals one of whose cues is in the text word for word."""
        return [self.candidates[ci].id for ci in self._referral_rows(norm)]

    # ------------------------------------------------------------------ features

    def feature_matrix(
        self,
        norm: str,
        emb: np.ndarray,
        pi: np.ndarray,
        ps: np.ndarray,
        pk: np.ndarray,
        alias_services: Sequence[str],
        aspect: str | None,
        exclude_docs: Sequence[int] = (),
    ) -> np.ndarray:
        """(n_candidates, n_features) for one question; ``exclude_docs`` hides documents (leave-one-out)."""
        f = self.static.copy()
        eps = 1e-6
        none_p = ps[self.svc_col[NONE_SERVICE]] if NONE_SERVICE in self.svc_col else eps
        kind_none = pk[self.kind_col[NONE_KIND]] if NONE_KIND in self.kind_col else 1.0
        p_ask = pi[self.int_col["ask_service"]]
        p_oos = pi[self.int_col["out_of_scope"]]
        rows = self.heads.ngrams.sparse_rows([norm])[0]
        lex_doc = self.postings.dot(*rows)
        emb_doc = (self.doc_vecs @ emb).astype(np.float32) if len(self.doc_vecs) else np.zeros(0, np.float32)
        if len(exclude_docs):
            lex_doc[list(exclude_docs)] = -1.0
            emb_doc[list(exclude_docs)] = -1.0
        n = len(self.candidates)
        lex = np.zeros(n, dtype=np.float64)
        embs = np.zeros(n, dtype=np.float64)
        if len(lex_doc):
            lex[self._seg_owner] = np.maximum(np.maximum.reduceat(lex_doc, self._seg_start), 0.0)
            best = np.maximum.reduceat(emb_doc, self._seg_start).astype(np.float64)
            embs[self._seg_owner] = np.where(best > -1.0, best, 0.0)
        case = self.is_case
        i_svc, i_kind, i_int = FEATURES.index("svc_logp"), FEATURES.index("kind_logp"), FEATURES.index("intent_logp")
        i_alias, i_aspect = FEATURES.index("alias"), FEATURES.index("aspect")
        svc_lp = np.where(self.cand_svc_col >= 0, np.log(ps[np.maximum(self.cand_svc_col, 0)] + eps), np.log(eps))
        kind_lp = np.where(self.cand_kind_col >= 0, np.log(pk[np.maximum(self.cand_kind_col, 0)] + eps), 0.0)
        f[:, i_svc] = np.where(case, svc_lp, np.log(none_p + eps))
        f[:, i_kind] = np.where(case, kind_lp, np.log(kind_none + eps) if self.kind_col else 0.0)
        f[:, i_int] = np.where(case, np.log(p_ask + eps), np.log(p_oos + eps))
        for s in set(alias_services):
            mask = self._service_mask.get(s)
            if mask is not None:
                f[mask, i_alias] = 1.0
        aspect_kind = ASPECT_KIND.get(aspect) if aspect else None
        if aspect_kind is not None and aspect_kind in self._kind_mask:
            f[self._kind_mask[aspect_kind], i_aspect] = 1.0
        for ci in self._referral_rows(norm):
            f[ci, i_alias] = 1.0
        f[:, FEATURES.index("lex")] = lex
        f[:, FEATURES.index("emb")] = embs
        return f

    def rank_features(self, f: np.ndarray, k_features: bool = False) -> Ranking:
        scores = f @ self.weights
        scores -= scores.max()
        p = np.exp(scores)
        p /= p.sum()
        order = np.argsort(-p, kind="stable")
        feats = {}
        if k_features:
            feats = {self.candidates[i].id: f[i].round(3).tolist() for i in order[:5]}
        return Ranking(self.cand_ids[order].tolist(), p[order].tolist(), feats, self, by_candidate=p)


# answer: top probability to answer outright; option: a clarifying option's least probability;
# clarify_mass: the options together must hold this much, else "I don't know".
DEFAULT_THRESHOLDS: dict[str, float] = {"answer": 0.5, "option": 0.08, "clarify_mass": 0.5}

# Hand-set starting weights (used until ``mpp train`` fits them).
DEFAULT_WEIGHTS: dict[str, float] = {
    "svc_logp": 1.0,
    "kind_logp": 1.0,
    "intent_logp": 0.5,
    "lex": 4.0,
    "emb": 10.0,
    "alias": 1.0,
    "aspect": 1.0,
    "is_default": 0.0,
    "is_referral": 0.0,
    "is_oos": -2.0,
}


def fit_weights(
    groups: Sequence[tuple[np.ndarray, int]], l2: float = 0.001, init: dict[str, float] | None = None
) -> dict[str, float]:
    """Conditional logit: maximise sum log softmax(F w)[gold] over questions, with a small L2 penalty.

    Features are scaled to unit spread first (e5 cosines live in a narrow band; a penalty on raw
    weights would silence them), and the weights scaled back.
    """
    from scipy.optimize import minimize

    stack = np.concatenate([g for g, _ in groups])
    scale = stack.std(axis=0)
    scale[scale < 1e-9] = 1.0
    mats = [g / scale for g, _ in groups]
    gold = np.array([y for _, y in groups])
    w0 = np.array([float((init or DEFAULT_WEIGHTS).get(f, 0.0)) for f in FEATURES]) * scale

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.0, np.zeros_like(w)
        for f, y in zip(mats, gold, strict=True):
            s = f @ w
            s -= s.max()
            e = np.exp(s)
            z = e.sum()
            p = e / z
            total -= s[y] - np.log(z)
            grad -= f[y] - p @ f
        n = len(mats)
        return total / n + l2 * float(w @ w), grad / n + 2 * l2 * w

    res = minimize(loss, w0, jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return {f: round(float(v), 4) for f, v in zip(FEATURES, res.x / scale, strict=True)}


def knowledge_digest(kb: KnowledgeBase) -> str:
    """Hash of the knowledge base as the ranker sees it (recorded next to the model)."""
    blob = json.dumps([c.model_dump(mode="json") for c in kb.cases] + [r.model_dump(mode="json") for r in kb.referrals],
                      sort_keys=True, ensure_ascii=False)  # fmt: skip
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def kind_of(case_id: str) -> str | None:
    return case_kind(case_id)
