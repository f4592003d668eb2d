"""Generates the hall's surface textures (``assets/hall/textures/*.png``): Gajah Oling batik, wood, stone.

Rerun with ``python assets/src/textures.py``; deterministic (fixed seeds), numpy and Panda3D's
PNMImage only. The client loads the PNGs, so a cold start never spends time drawing them.

Gajah Oling is Banyuwangi's own batik: a curled form like a question mark (read as an
elephant's trunk, *gajah*, and as an eel, *uling*), repeated with small flowers and leaves.
It is drawn here from that description as a distance field around a spiral, staggered and
mirrored across the tile, on the regency's maroon (panels) and green (floor inlays).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "hall" / "textures"

MAROON = (122, 31, 31)
GOLD = (224, 165, 38)
CREAM = (243, 230, 200)
GREEN = (11, 110, 79)
DARK = (40, 26, 20)


def _spiral(cx: float, cy: float, scale: float, mirror: bool) -> np.ndarray:
    """The curl: an inward spiral (the head) that runs out into a falling tail (the trunk)."""
    pts = []
    for k in range(90):
        th = k / 89 * 1.7 * math.pi
        r = scale * (0.06 + 0.16 * th / (1.7 * math.pi))
        pts.append((math.cos(th + math.pi) * r, math.sin(th + math.pi) * r))
    ex, ey = pts[-1]
    for k in range(1, 40):  # the tail sweeps down and out
        f = k / 39
        pts.append((ex + scale * 0.16 * f, ey + scale * (0.42 * f + 0.08 * math.sin(f * math.pi))))
    arr = np.array(pts, dtype=np.float64)
    if mirror:
        arr[:, 0] *= -1
    arr[:, 0] += cx
    arr[:, 1] += cy
    return arr


def _distance(field_x: np.ndarray, field_y: np.ndarray, poly: np.ndarray) -> np.ndarray:
    d = np.full(field_x.shape, 1e9)
    for (x0, y0), (x1, y1) in zip(poly[:-1], poly[1:], strict=True):
        vx, vy = x1 - x0, y1 - y0
        ll = vx * vx + vy * vy or 1e-12
        t = np.clip(((field_x - x0) * vx + (field_y - y0) * vy) / ll, 0, 1)
        d = np.minimum(d, np.hypot(field_x - (x0 + t * vx), field_y - (y0 + t * vy)))
    return d


def gajah_oling(
    size: int, bg: tuple[int, int, int], fg: tuple[int, int, int], accent: tuple[int, int, int]
) -> np.ndarray:
    """A seamless tile: four curls (two mirrored), flowers between them, a fine dotted ground."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) / size
    img = np.zeros((size, size, 3), dtype=np.float64)
    img[:] = bg
    ink = np.zeros((size, size))
    line = np.zeros((size, size))
    for cx, cy, mirror in ((0.27, 0.22, False), (0.77, 0.72, True), (0.77, 0.22, True), (0.27, 0.72, False)):
        poly = _spiral(cx, cy, 0.55, mirror)
        # tile seamlessly: measure to the copies in the neighbouring tiles as well
        d = np.full((size, size), 1e9)
        for ox in (-1, 0, 1):
            for oy in (-1, 0, 1):
                d = np.minimum(d, _distance(xx, yy, poly + np.array([ox, oy])))
        ink = np.maximum(ink, np.clip((0.030 - d) / 0.006, 0, 1))
        line = np.maximum(line, np.clip((0.042 - d) / 0.006, 0, 1) - np.clip((0.034 - d) / 0.006, 0, 1))
    # flowers (kembang) between the curls: four round petals around a dot
    flowers = np.zeros((size, size))
    for fx, fy in ((0.52, 0.47), (0.02, 0.97), (0.02, 0.47), (0.52, 0.97)):
        for k in range(4):
            a = k * math.pi / 2 + math.pi / 4
            px, py = fx + math.cos(a) * 0.035, fy + math.sin(a) * 0.035
            for ox in (-1, 0, 1):
                for oy in (-1, 0, 1):
                    d = np.hypot(xx - px - ox, yy - py - oy)
                    flowers = np.maximum(flowers, np.clip((0.026 - d) / 0.005, 0, 1))
    rng = np.random.default_rng(11)
    dots = (rng.random((size, size)) > 0.985).astype(np.float64) * 0.35  # the isen-isen ground
    for layer, colour in ((dots, accent), (line, accent), (ink, fg), (flowers, accent)):
        img = img * (1 - layer[..., None]) + np.array(colour, dtype=np.float64) * layer[..., None]
    return img


def wood(size: int, base: tuple[int, int, int], seed: int) -> np.ndarray:
    """Vertical grain with growth rings and a slight warmth variation."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) / size
    warp = np.sin(yy * 6.28 * 2 + rng.random() * 6) * 0.02 + np.sin(yy * 6.28 * 5) * 0.006
    rings = np.sin((xx + warp) * 6.28 * 14) * 0.5 + 0.5
    fine = rng.random((size, size)) * 0.06
    shade = 0.82 + 0.14 * rings + fine
    return np.clip(np.array(base, dtype=np.float64)[None, None, :] * shade[..., None], 0, 255)


def stone(size: int, base: tuple[int, int, int], seed: int) -> np.ndarray:
    """Honed stone: soft clouds and fine speckle (the floor and the pillar bases)."""
    rng = np.random.default_rng(seed)
    acc = np.zeros((size, size))
    for octave, weight in ((4, 0.5), (8, 0.3), (32, 0.2)):
        small = rng.random((octave, octave))
        big = np.kron(small, np.ones((size // octave, size // octave)))
        # wrap-around box blur so the clouds have no seams
        for axis in (0, 1):
            big = (np.roll(big, 2, axis) + np.roll(big, -2, axis) + big * 2) / 4
        acc += big * weight
    speck = (rng.random((size, size)) > 0.97) * 0.08
    shade = 0.9 + 0.12 * (acc - acc.mean()) / (acc.std() + 1e-9) * 0.4 - speck
    return np.clip(np.array(base, dtype=np.float64)[None, None, :] * shade[..., None], 0, 255)


def save(img: np.ndarray, path: Path) -> None:
    from panda3d.core import PNMImage, StringStream

    h, w, _ = img.shape
    ppm = f"P6 {w} {h} 255\n".encode() + np.clip(img + 0.5, 0, 255).astype(np.uint8).tobytes()
    pnm = PNMImage()
    if not pnm.read(StringStream(ppm), "x.ppm"):
        raise RuntimeError("could not build the image")
    pnm.write(str(path))


TEXTURES = {
    "gajah-oling-maroon.png": lambda: gajah_oling(256, MAROON, GOLD, CREAM),
    "gajah-oling-green.png": lambda: gajah_oling(256, GREEN, GOLD, CREAM),
    "gajah-oling-cream.png": lambda: gajah_oling(256, CREAM, DARK, MAROON),
    "wood.png": lambda: wood(128, (150, 98, 58), 3),
    "stone.png": lambda: stone(128, (226, 214, 192), 5),
}


def generate(out: Path = OUT) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, make in TEXTURES.items():
        path = out / name
        save(make(), path)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for p in generate(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT):
        sys.stdout.write(f"{p} {p.stat().st_size} bytes\n")
