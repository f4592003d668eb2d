"""Leave-site-out cross-validation over the real-question train and dev parts (never test).

Why: real/train questions are in the training data verbatim (train figures are optimistic) and
dev has few questions. Here the sites of train+dev are dealt into folds (``source_key``: all
questions of one site in one fold); for each fold the model is retrained without that fold's
questions and the fold is scored with the whole answer path, as ``mpp eval assistant`` does.

Two modes:
- ``light`` (default): only the heads are refitted without the fold; the ranker weights and the
  thresholds are the committed model's (ten weights and three thresholds, fitted with the fold's
  train questions among ~2,000 others: a small optimism);
- ``full``: ``mpp train`` itself per fold (stacking, ranker, thresholds), ~4 min a fold.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

FOLDS = 5


def folds(rows: Sequence[Any], k: int = FOLDS) -> list[list[int]]:
    """Row indices per fold: whole sites, biggest first, each to the fold with the fewest questions."""
    from assistant.realset import source_key

    sites: dict[str, list[int]] = {}
    for i, q in enumerate(rows):
        sites.setdefault(source_key(q.source_url), []).append(i)
    order = sorted(sites, key=lambda s: (-len(sites[s]), hashlib.sha256(s.encode()).hexdigest()))
    out: list[list[int]] = [[] for _ in range(k)]
    for s in order:
        min(out, key=len).extend(sites[s])
    return [sorted(f) for f in out]


def _light_model(examples: list[Any], norm: list[str], emb: np.ndarray, keep: np.ndarray, out: Path) -> None:
    from assistant.model import MODEL_DIR, save_heads
    from assistant.train import SEED, fit_heads

    heads = fit_heads(examples, norm, emb, keep, SEED)
    meta = json.loads((MODEL_DIR / "metadata.json").read_text(encoding="utf-8"))
    for key in ("intent_labels", "service_labels", "kind_labels", "weights_sha256", "emb_weight"):
        meta.pop(key, None)
    heads.meta = meta
    save_heads(heads, out)
    shutil.copy(MODEL_DIR / "docs.npz", out / "docs.npz")


def run(
    k: int = FOLDS,
    mode: str = "light",
    progress: bool = True,
    log: Callable[[str], None] | None = None,
    sweep: Sequence[float] = (),
    sweep_key: str = "answer",
) -> dict[str, Any]:
    """Pooled scores over the folds (and per part), plus the per-question outcomes of train/dev.

    ``sweep``: values of the threshold ``sweep_key`` (``answer``, ``referral``...) to score too (each
    fold's model re-asked with that value), so a threshold can be chosen on held-out sites rather than
    on the trainer's calibration split.
    """
    from tqdm import tqdm

    from assistant.core import Assistant
    from assistant.evaluate import score, v2_outcome
    from assistant.model import make_embedder
    from assistant.offline import OfflinePort
    from assistant.realset import load_real, normalise
    from assistant.text import normalize
    from assistant.train import ENCODER, embed_cached, train, training_data
    from protocol.catalog import default_catalog
    from protocol.knowledge import default_knowledge

    rows = load_real("train") + load_real("dev")
    parts = folds(rows, k)
    catalog = default_catalog()
    kb = default_knowledge()
    examples: list[Any] = []
    norm: list[str] = []
    emb = np.zeros((0, 384), np.float32)
    if mode == "light":
        examples, _ = training_data()
        norm = [normalize(e.text) for e in examples]
        emb = embed_cached(norm, make_embedder(ENCODER), ENCODER, progress=progress)
    outs: list[Any] = [None] * len(rows)
    swept: dict[float, list[Any]] = {t: [None] * len(rows) for t in sweep}
    for f, idx in enumerate(parts):
        held = {normalise(rows[i].question) for i in idx}
        with tempfile.TemporaryDirectory(prefix="mpp-cv-") as tmp:
            d = Path(tmp)
            if mode == "full":
                train(model_dir=d, progress=progress, exclude=[rows[i].question for i in idx])
            else:
                keep = np.array([j for j, e in enumerate(examples) if normalise(e.text) not in held])
                _light_model(examples, norm, emb, keep, d)
            assistant = Assistant.load(d, catalog)
            port = OfflinePort(catalog)
            for i in tqdm(idx, desc=f"fold {f + 1}/{k}", disable=not progress, leave=False):
                outs[i] = v2_outcome(assistant, port, rows[i].question, i, kb)
            index = assistant.nlu.index
            if index is not None:
                base = index.thresholds.get(sweep_key)
                for t in sweep:
                    index.thresholds[sweep_key] = t
                    for i in idx:
                        swept[t][i] = v2_outcome(assistant, port, rows[i].question, i, kb)
                if base is None:
                    index.thresholds.pop(sweep_key, None)
                else:
                    index.thresholds[sweep_key] = base
        if log:
            log(f"fold {f + 1}/{k}: {len(idx)} questions, {score([rows[i] for i in idx], [outs[i] for i in idx])}")
    result: dict[str, Any] = {"folds": k, "mode": mode, "sets": {}}
    result["sets"]["train+dev"] = score(rows, outs)
    for split in ("train", "dev"):
        sel = [i for i, q in enumerate(rows) if q.split == split]
        result["sets"][split] = score([rows[i] for i in sel], [outs[i] for i in sel])
    result["sweep"] = {str(t): score(rows, o) for t, o in swept.items() if all(x is not None for x in o)}
    result["sweep_key"] = sweep_key
    result["examples"] = [
        {
            "question": q.question,
            "gold": [q.intent, q.service, q.expected],
            "got": [o.intent, o.service, o.case, o.kind],
        }  # fmt: skip
        for q, o in zip(rows, outs, strict=True)
    ]
    return result
