"""Lounge charts are painted into images without a window; the sample badge follows the data."""

from __future__ import annotations

import pytest

pytest.importorskip("panda3d")

from protocol.catalog import assets_dir
from world.charts import BADGE, PALETTE, Bars, ChartPainter, bars_for, sample_payload


def _painter() -> ChartPainter:
    fonts = assets_dir() / "fonts"
    return ChartPainter(fonts / "DejaVuSans.ttf", fonts / "DejaVuSans-Bold.ttf")


def _count(img, rgb, tol: float = 0.03, region: tuple[int, int, int, int] | None = None) -> int:
    x0, y0, x1, y1 = region or (0, 0, img.get_x_size(), img.get_y_size())
    n = 0
    for x in range(x0, x1, 2):
        for y in range(y0, y1, 2):
            p = img.get_xel(x, y)
            if abs(p[0] - rgb[0]) < tol and abs(p[1] - rgb[1]) < tol and abs(p[2] - rgb[2]) < tol:
                n += 1
    return n


@pytest.mark.parametrize("name", ["village_progress", "budget", "poverty"])
def test_shipped_datasets_become_labelled_charts(name: str) -> None:
    payload = sample_payload(name)
    assert payload["sample"] is True and payload["rows"] and set(payload["label"]) == {"id", "en"}
    bars = bars_for(name.replace("_", "-"), payload, "id")
    assert bars.values and len(bars.labels) == len(bars.values) and bars.sample
    img = _painter().paint(bars, pow2=False)
    assert _count(img, BADGE, region=(380, 58, 640, 88)) > 50  # the "Data contoh / Sample data" badge
    assert _count(img, PALETTE[1]) + _count(img, PALETTE[0]) > 200  # bars or a line were drawn


def test_real_data_has_no_sample_badge() -> None:
    payload = dict(sample_payload("budget"), sample=False, source="BPKAD Banyuwangi")
    img = _painter().paint(bars_for("budget", payload, "en"), pow2=False)
    assert _count(img, BADGE, region=(380, 58, 640, 88)) == 0


def test_poverty_is_a_line_over_the_years_in_order() -> None:
    bars = bars_for("poverty", sample_payload("poverty"), "en")
    assert bars.line and bars.labels == sorted(bars.labels)
    assert bars.title == "Share of people in poverty"


def test_empty_or_odd_payloads_still_paint() -> None:
    p = _painter()
    odd: list = [None, {}, {"rows": None}, {"rows": "nope"}, {"rows": ["n", 3, None]}, {"rows": [{"year": 2024}]}]
    odd += [{"rows": [{"idm": "x", "year": "x", "percent": "NaN", "pagu": None}], "sample": True}, ["not", "a dict"]]
    odd += [{"rows": [{"year": 2024, "percent": float("inf"), "percent_poor": "7.1"}]}]
    for payload in odd:
        for ds in ("village-progress", "budget", "poverty", "unknown"):
            img = p.paint(bars_for(ds, payload, "id"), pow2=False)
            assert img.get_x_size() == 640
    img = p.paint(Bars("t", "s", ["a"], [0.0], sample=True), pow2=False)
    assert img.get_y_size() == 360


def test_screen_textures_have_power_of_two_sides() -> None:
    """The software renderer draws non-power-of-two textures blank."""
    img = _painter().paint(bars_for("poverty", sample_payload("poverty"), "id"))
    for side in (img.get_x_size(), img.get_y_size()):
        assert side >= 256 and side & (side - 1) == 0
    assert _count(img, BADGE, region=(600, 80, 1024, 130)) > 50  # the badge survives the resampling
