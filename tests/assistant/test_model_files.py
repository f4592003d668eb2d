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
