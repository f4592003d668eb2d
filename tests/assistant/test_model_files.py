from __future__ import annotations

import json

from assistant.model import MODEL_DIR


def test_committed_model_is_small_and_documented() -> None:
    files = [p for p in MODEL_DIR.rglob("*") if p.is_file()]
    assert files
    assert sum(p.stat().st_size for p in files) <= 20 * 1024 * 1024
    meta = json.loads((MODEL_DIR / "metadata.json").read_text())
    assert len(meta["training_data_sha256"]) == 64 and meta["seed"] == 13
    assert not any(p.suffix in (".pt", ".pth", ".bin", ".safetensors", ".pkl") for p in files)


def test_light_ngram_featuriser_matches_scikit_learn() -> None:
    import numpy as np

    from assistant.dataset import generate
    from assistant.model import CharNgrams
    from assistant.text import normalize

    texts = [normalize(e.text) for e in generate()[:800]]
    fitted = CharNgrams().fit(texts)
    light = CharNgrams(fitted.vocabulary, fitted.idf)
    probe = [*texts[:50], "brp  biaya PASPOR??", "x", ""]
    want = fitted.transform(probe).toarray()
    got = light.transform(probe).toarray()
    assert np.abs(want - got).max() < 1e-5


def test_fast_predict_equals_sparse_matrix_path() -> None:
    import numpy as np

    from assistant.model import features, load_heads
    from assistant.text import normalize

    heads = load_heads()
    texts = ["syarat bikin ktp apa aja", "how much is a passport", "halo"]
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(3, 384)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    pi, ps = heads.predict(emb, texts)
    x = features(heads.ngrams, emb, [normalize(t) for t in texts], heads.emb_weight)
    assert np.allclose(pi, heads.intent.proba(x), atol=1e-5)
    assert np.allclose(ps, heads.service.proba(x), atol=1e-5)
