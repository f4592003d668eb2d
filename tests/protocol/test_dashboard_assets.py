"""The lounge sample datasets load, are labelled sample, and are internally consistent."""

from __future__ import annotations

import csv
import importlib.util
import shutil
from pathlib import Path

import pytest
import yaml

from protocol.catalog import assets_dir
from protocol.regions import villages

DASH = assets_dir() / "dashboard"


def _rows(name: str) -> list[dict[str, str]]:
    with (DASH / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_meta_lists_three_sample_datasets() -> None:
    meta = yaml.safe_load((DASH / "meta.yaml").read_text(encoding="utf-8"))
    assert set(meta["datasets"]) == {"village_progress", "budget", "poverty"}
    for info in meta["datasets"].values():
        assert info["sample"] is True
        assert "contoh" in info["label"]["id"].lower() and "sample" in info["label"]["en"].lower()
        rows = _rows(info["file"])
        assert rows and set(info["columns"]) == set(rows[0])
        assert {r["label"] for r in rows} == {"Data contoh / Sample data"}


def test_village_progress_covers_every_desa() -> None:
    rows = _rows("village_progress.csv")
    desa = {v.id for v in villages() if v.kind == "desa"}
    assert {r["village_id"] for r in rows} == desa
    bands = [(0.4907, "Sangat Tertinggal"), (0.5989, "Tertinggal"), (0.7072, "Berkembang"), (0.8155, "Maju")]
    for r in rows:
        idm = float(r["idm"])
        parts = (float(r["iks"]), float(r["ike"]), float(r["ikl"]))
        assert idm == pytest.approx(sum(parts) / 3, abs=1e-4)
        expected = next((s for upper, s in bands if idm <= upper), "Mandiri")
        assert r["status_id"] == expected


def test_budget_percent_matches_amounts() -> None:
    rows = _rows("budget.csv")
    assert {r["year"] for r in rows} == {"2024", "2025"}
    for r in rows:
        pagu, real = int(r["pagu"]), int(r["realisasi"])
        assert 0 < real <= pagu
        assert float(r["percent"]) == pytest.approx(100 * real / pagu, abs=0.05)


def test_poverty_series_is_complete() -> None:
    rows = _rows("poverty.csv")
    assert [int(r["year"]) for r in rows] == list(range(2019, 2026))
    for r in rows:
        share = int(r["poor_people"]) / int(r["population"]) * 100
        assert share == pytest.approx(float(r["percent_poor"]), abs=0.01)


def test_generator_reproduces_committed_files(tmp_path: Path) -> None:
    work = tmp_path / "assets"
    shutil.copytree(assets_dir() / "regions", work / "regions")
    shutil.copytree(DASH, work / "dashboard")
    for f in (work / "dashboard").glob("*.csv"):
        f.unlink()
    spec = importlib.util.spec_from_file_location("make_sample", work / "dashboard" / "make_sample.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main()
    for name in ("village_progress.csv", "budget.csv", "poverty.csv"):
        assert (work / "dashboard" / name).read_bytes() == (DASH / name).read_bytes(), name
