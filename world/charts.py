"""Lounge screen charts drawn procedurally into a PNMImage (no plotting library, no files).

Each dataset of ``/api/v1/dashboard/*`` becomes one readable bar chart with a
title, axis labels and values; the image becomes the screen's texture and is
redrawn only when the dataset's ``updated_at`` changes.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from l10n import t

W, H = 640, 360
BG = (0.09, 0.16, 0.24)
FG = (0.97, 0.97, 0.95)
MUTED = (0.70, 0.78, 0.86)
PALETTE = [(0.22, 0.63, 0.85), (0.99, 0.70, 0.25), (0.35, 0.78, 0.50), (0.92, 0.38, 0.33), (0.67, 0.55, 0.90)]
SAMPLE_BADGE = "Data contoh / Sample data"
BADGE = (0.96, 0.62, 0.18)
STATUS_ORDER = ["Mandiri", "Maju", "Berkembang", "Tertinggal", "Sangat Tertinggal"]


@dataclass
class Bars:
    title: str
    subtitle: str
    labels: list[str]
    values: list[float]
    value_fmt: str = "{:.1f}"
    unit: str = ""
    horizontal: bool = False
    sample: bool = False
    line: bool = False


def bars_for(dataset: str, payload: dict[str, Any] | None, lang: str) -> Bars:
    """Reduce a dashboard payload to the bars worth showing on a 5 m screen."""
    body = payload if isinstance(payload, dict) else {}
    raw_rows = body.get("rows")
    # a payload from the network is never trusted: keep only dict rows, read numbers defensively
    rows: list[dict[str, Any]] = [r for r in raw_rows if isinstance(r, dict)] if isinstance(raw_rows, list) else []
    sample = bool(body.get("sample", True))
    # the sample badge already says "Data contoh / Sample data"; the subtitle names the place
    sub = "Kabupaten Banyuwangi" if sample else str(body.get("source", "Kabupaten Banyuwangi"))[:60]
    if dataset == "village-progress":
        key = "status_en" if lang == "en" else "status_id"
        tally = Tally(str(r.get(key, "?")) for r in rows)
        order_id = [s for s in STATUS_ORDER if s in tally] if key == "status_id" else []
        labels = order_id or sorted(tally, key=lambda k: -tally[k])
        idm = [_num(r.get("idm")) for r in rows if isinstance(r.get("idm"), int | float)]
        avg = f" · IDM {sum(idm) / len(idm):.3f}" if idm else ""
        return Bars(
            t("hall.chart_village", lang),
            f"{len(rows)} {t('hall.villages', lang)}{avg}",
            labels,
            [float(tally[k]) for k in labels],
            "{:.0f}",
            sample=sample,
        )
    if dataset == "budget":
        years = [int(_num(r.get("year"))) for r in rows if isinstance(r.get("year"), int | float)]
        latest = max(years) if years else None
        sel = [r for r in rows if r.get("year") == latest]
        sel.sort(key=lambda r: -_num(r.get("pagu")))
        sel = sel[:6]
        key = "sector_en" if lang == "en" else "sector_id"
        return Bars(
            f"{t('hall.chart_budget', lang)} {latest or ''}".strip(),
            sub,
            [str(r.get(key, "?")) for r in sel],
            [_num(r.get("percent")) for r in sel],
            "{:.1f}",
            "%",
            horizontal=True,
            sample=sample,
        )
    if dataset == "poverty":
        sel = sorted((r for r in rows if isinstance(r.get("year"), int | float)), key=lambda r: _num(r["year"]))[-7:]
        return Bars(
            t("hall.chart_poverty", lang),
            sub,
            [str(r.get("year")) for r in sel],
            [_num(r.get("percent_poor")) for r in sel],
            "{:.2f}",
            "%",
            sample=sample,
            line=True,
        )
    return Bars(dataset, sub, [], [], sample=sample)


def _num(v: Any) -> float:
    """A finite float from a JSON value; anything else (text, None, NaN) counts as 0."""
    import math

    if isinstance(v, bool) or not isinstance(v, int | float | str):
        return 0.0
    try:
        f = float(v)
    except ValueError:
        return 0.0
    return f if math.isfinite(f) else 0.0


class ChartPainter:
    """Owns the font rasteriser; ``paint`` returns a fresh PNMImage."""

    def __init__(self, font_path: Path, bold_path: Path | None = None) -> None:
        self._paths = {False: font_path, True: bold_path or font_path}
        self._makers: dict[tuple[bool, int], Any] = {}

    def _maker(self, bold: bool, size: int) -> Any:
        """One rasteriser per (weight, size): a maker's glyph cache is per pixel size."""
        from panda3d.core import Filename, PNMTextMaker

        key = (bold, size)
        m = self._makers.get(key)
        if m is None:
            m = PNMTextMaker(Filename.from_os_specific(str(self._paths[bold])), 0)
            m.set_pixel_size(size)
            m.set_interior_flag(False)
            self._makers[key] = m
        return m

    def fit(self, text: str, size: int, max_w: int, bold: bool = False) -> str:
        m = self._maker(bold, size)
        if m.calc_width(text) <= max_w:
            return text
        while text and m.calc_width(text + "…") > max_w:
            text = text[:-1]
        return text.rstrip() + "…"

    def _write(
        self,
        img: Any,
        text: str,
        x: int,
        y: int,
        size: int,
        color: Sequence[float],
        bold: bool = False,
        align: str = "left",
    ) -> None:
        from panda3d.core import LColor

        maker = self._maker(bold, size)
        maker.set_fg(LColor(color[0], color[1], color[2], 1))
        if align != "left":
            w = maker.calc_width(text)
            x = x - w if align == "right" else x - w // 2
        maker.generate_into(text, img, x, y)

    def paint(self, bars: Bars, width: int = W, height: int = H, *, pow2: bool = True) -> Any:
        """The chart as an image; ``pow2`` resamples it to power-of-two sides.

        The software renderer (p3tinydisplay) draws non-power-of-two textures blank,
        and the screen card stretches the texture over its frame either way.
        """
        img = self._paint(bars, width, height)
        if not pow2:
            return img
        from panda3d.core import PNMImage

        out = PNMImage(_pow2(width), _pow2(height), 3)
        out.quick_filter_from(img)
        return out

    def _paint(self, bars: Bars, width: int, height: int) -> Any:
        from panda3d.core import PNMImage

        img = PNMImage(width, height, 3)
        img.fill(*BG)
        # header band
        _rect(img, 0, 0, width, 6, PALETTE[0])
        self._write(img, self.fit(bars.title, 30, width - 48, bold=True), 24, 46, 30, FG, bold=True)
        sub_w = width - 48
        if bars.sample:
            bw = self._maker(True, 16).calc_width(SAMPLE_BADGE) + 20
            _rect(img, width - 20 - bw, 60, width - 20, 86, BADGE)
            self._write(img, SAMPLE_BADGE, width - 30, 79, 16, (0.10, 0.08, 0.05), bold=True, align="right")
            sub_w -= bw + 16
        self._write(img, self.fit(bars.subtitle, 17, sub_w), 24, 78, 17, MUTED)
        if not bars.values:
            self._write(img, "–", width // 2, height // 2, 40, MUTED, align="center")
            return img
        if bars.line:
            self._line(img, bars, width, height)
            return img
        top, bottom, left, right = 100, height - 46, 24, width - 24
        vmax = max(bars.values) or 1.0
        n = len(bars.values)
        if bars.horizontal:
            label_w = 250
            row_h = (bottom - top) / n
            for i, (lab, val) in enumerate(zip(bars.labels, bars.values, strict=False)):
                y0 = int(top + i * row_h + row_h * 0.18)
                y1 = int(top + (i + 1) * row_h - row_h * 0.18)
                span = right - left - label_w - 90
                x1 = left + label_w + int(span * (val / max(vmax, 100.0 if bars.unit == "%" else vmax)))
                _rect(img, left + label_w, y0, right - 90, y1, (0.16, 0.24, 0.33))
                _rect(img, left + label_w, y0, x1, y1, PALETTE[i % len(PALETTE)])
                mid = (y0 + y1) // 2 + 7
                self._write(img, self.fit(lab, 19, label_w - 12), left, mid, 19, FG)
                self._write(img, bars.value_fmt.format(val) + bars.unit, right, mid, 20, FG, bold=True, align="right")
        else:
            slot = (right - left) / n
            for i, (lab, val) in enumerate(zip(bars.labels, bars.values, strict=False)):
                x0 = int(left + i * slot + slot * 0.18)
                x1 = int(left + (i + 1) * slot - slot * 0.18)
                y0 = int(bottom - (bottom - top - 34) * (val / vmax))
                _rect(img, x0, y0, x1, bottom, PALETTE[i % len(PALETTE)])
                cx = (x0 + x1) // 2
                self._write(img, bars.value_fmt.format(val) + bars.unit, cx, y0 - 8, 19, FG, bold=True, align="center")
                self._write(img, lab[:18], cx, bottom + 28, 17 if n > 4 else 19, MUTED, align="center")
            _rect(img, left, bottom, right, bottom + 2, MUTED)
        return img

    def _line(self, img: Any, bars: Bars, width: int, height: int) -> None:
        """A trend over years: gridlines, a thick line, dots and the value over each point."""
        top, bottom, left, right = 124, height - 46, 96, width - 44
        lo, hi = min(bars.values), max(bars.values)
        pad = max((hi - lo) * 0.25, 0.5)
        lo, hi = lo - pad, hi + pad
        for k in range(4):
            gy = int(top + (bottom - top) * k / 3)
            _rect(img, left, gy, right, gy + 1, (0.20, 0.29, 0.39))
            self._write(img, f"{hi - (hi - lo) * k / 3:.1f}{bars.unit}", 70, gy + 6, 14, MUTED, align="right")
        n = len(bars.values)
        pts = []
        for i, val in enumerate(bars.values):
            x = int(left + (right - left) * (i / max(1, n - 1) if n > 1 else 0.5))
            y = int(bottom - (bottom - top) * (val - lo) / (hi - lo))
            pts.append((x, y))
        for (x0, y0), (x1, y1) in zip(pts, pts[1:], strict=False):
            steps = max(abs(x1 - x0), abs(y1 - y0), 1)
            for k in range(steps + 1):
                x = x0 + (x1 - x0) * k // steps
                y = y0 + (y1 - y0) * k // steps
                _rect(img, x - 2, y - 2, x + 3, y + 3, PALETTE[1])
        for i, ((x, y), val) in enumerate(zip(pts, bars.values, strict=False)):
            _rect(img, x - 6, y - 6, x + 7, y + 7, FG)
            _rect(img, x - 4, y - 4, x + 5, y + 5, PALETTE[1])
            self._write(img, bars.value_fmt.format(val) + bars.unit, x, y - 14, 17, FG, bold=True, align="center")
            self._write(img, bars.labels[i][:10], x, bottom + 28, 17, MUTED, align="center")
        _rect(img, left, bottom, right, bottom + 2, MUTED)


def sample_payload(name: str, root: Path | None = None) -> dict[str, Any]:
    """The shipped sample CSV shaped like ``GET /api/v1/dashboard/<slug>`` (offline hall, bench, tests)."""
    import csv

    import yaml

    from protocol.catalog import assets_dir

    key = name.replace("-", "_")
    base = (root or assets_dir()) / "dashboard"
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    meta = yaml.load((base / "meta.yaml").read_text(encoding="utf-8"), Loader=loader)["datasets"][key]
    rows: list[dict[str, Any]] = []
    with (base / meta["file"]).open(encoding="utf-8", newline="") as fh:
        for raw in csv.DictReader(fh):
            row: dict[str, Any] = {}
            for k, v in raw.items():
                try:
                    row[k] = int(v)
                except ValueError:
                    try:
                        row[k] = float(v)
                    except ValueError:
                        row[k] = v
            rows.append(row)
    return {"label": meta["label"], "rows": rows, "sample": bool(meta.get("sample", True))}


def _pow2(n: int) -> int:
    """The power of two at or above ``n``."""
    p = 1
    while p < n:
        p *= 2
    return p


def _rect(img: Any, x0: int, y0: int, x1: int, y1: int, color: Sequence[float]) -> None:
    w, h = img.get_x_size(), img.get_y_size()
    x0, x1 = max(0, min(x0, x1)), min(w, max(x0, x1))
    y0, y1 = max(0, min(y0, y1)), min(h, max(y0, y1))
    if x1 > x0 and y1 > y0:
        from panda3d.core import PNMImage

        block = PNMImage(x1 - x0, y1 - y0, 3)
        block.fill(color[0], color[1], color[2])
        img.copy_sub_image(block, x0, y0)


__all__ = ["SAMPLE_BADGE", "Bars", "ChartPainter", "bars_for", "sample_payload"]
