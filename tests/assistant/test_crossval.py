"""The leave-site-out folds: whole sites per fold, train+dev only, balanced."""

from __future__ import annotations

from types import SimpleNamespace

from assistant.crossval import folds
from assistant.realset import load_real, source_key


def test_folds_keep_each_site_whole_and_cover_every_row() -> None:
    rows = load_real("train") + load_real("dev")
    parts = folds(rows, 5)
    assert sorted(i for p in parts for i in p) == list(range(len(rows)))
    site_fold: dict[str, int] = {}
    for f, idx in enumerate(parts):
        for i in idx:
            assert site_fold.setdefault(source_key(rows[i].source_url), f) == f
    sizes = sorted(len(p) for p in parts)
    assert sizes[-1] - sizes[0] <= max(len(v) for v in _by_site(rows).values())


def test_folds_are_deterministic() -> None:
    rows = [SimpleNamespace(source_url=f"https://site{i % 7}.org/q{i}") for i in range(30)]
    assert folds(rows, 3) == folds(list(rows), 3)
    assert all(folds(rows, 3))


def _by_site(rows: list) -> dict[str, list[int]]:  # type: ignore[type-arg]
    out: dict[str, list[int]] = {}
    for i, q in enumerate(rows):
        out.setdefault(source_key(q.source_url), []).append(i)
    return out
