"""Agency icons for the counter signs: flat vector shapes, sharp from any distance (no texture).

Each icon is drawn in a unit square (x and z from -0.5 to 0.5, z up) as a list of shapes, each in
the foreground colour (``fg``) or cut out in the sign's own colour (``bg``), later ones in front of
earlier ones. :func:`draw_icon` puts one on a sign's face through a :class:`world.geom.MeshBuilder`.
An agency without an icon of its own gets ``GENERIC`` (an "i" in a ring).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

# ("rect", role, x0, z0, x1, z1) · ("poly", role, [(x, z), ...]) convex, counter-clockwise
# ("disc", role, cx, cz, r) · ("arc", role, cx, cz, r_in, r_out, deg0, deg1[, x_scale])
# ("line", role, x0, z0, x1, z1, width) · ("star", role, cx, cz, r_out, r_in)
Shape = tuple[Any, ...]


def _mirror(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    return [(-x, z) for x, z in reversed(points)]


_SCALES_PAN = [("line", "fg", -0.34, 0.26, -0.46, -0.06, 0.025), ("line", "fg", -0.34, 0.26, -0.22, -0.06, 0.025)]

ICONS: dict[str, list[Shape]] = {
    # an identity card: photo and lines
    "dukcapil": [
        ("rect", "fg", -0.48, -0.33, 0.48, 0.33),
        ("rect", "bg", -0.4, -0.25, 0.4, 0.25),
        ("disc", "fg", -0.2, 0.06, 0.09),
        ("arc", "fg", -0.2, -0.2, 0.0, 0.16, 0, 180),
        ("rect", "fg", 0.02, 0.08, 0.32, 0.13),
        ("rect", "fg", 0.02, -0.04, 0.32, 0.01),
        ("rect", "fg", 0.02, -0.16, 0.24, -0.11),
    ],
    # a shield with a star
    "polri": [
        ("poly", "fg", [(-0.38, 0.42), (-0.38, 0.05), (0.0, -0.47), (0.38, 0.05), (0.38, 0.42)]),
        ("poly", "bg", [(-0.3, 0.34), (-0.3, 0.07), (0.0, -0.35), (0.3, 0.07), (0.3, 0.34)]),
        ("star", "fg", 0.0, 0.06, 0.22, 0.09),
    ],
    # a globe
    "imigrasi": [
        ("arc", "fg", 0.0, 0.0, 0.37, 0.46, 0, 360),
        ("arc", "fg", 0.0, 0.0, 0.37, 0.46, 0, 360, 0.42),
        ("rect", "fg", -0.4, -0.03, 0.4, 0.03),
        ("rect", "fg", -0.33, 0.19, 0.33, 0.24),
        ("rect", "fg", -0.33, -0.24, 0.33, -0.19),
    ],
    # a car
    "samsat": [
        ("poly", "fg", [(-0.28, 0.08), (0.28, 0.08), (0.17, 0.32), (-0.17, 0.32)]),
        ("poly", "bg", [(-0.2, 0.1), (0.2, 0.1), (0.12, 0.26), (-0.12, 0.26)]),
        ("rect", "fg", -0.48, -0.16, 0.48, 0.1),
        ("disc", "bg", -0.27, -0.17, 0.15),
        ("disc", "bg", 0.27, -0.17, 0.15),
        ("disc", "fg", -0.27, -0.17, 0.11),
        ("disc", "fg", 0.27, -0.17, 0.11),
    ],
    # a medical cross in a ring
    "bpjs-kesehatan": [
        ("arc", "fg", 0.0, 0.0, 0.37, 0.47, 0, 360),
        ("rect", "fg", -0.1, -0.28, 0.1, 0.28),
        ("rect", "fg", -0.28, -0.1, 0.28, 0.1),
    ],
    # a briefcase: a business licence
    "dpmptsp": [
        ("arc", "fg", 0.0, 0.22, 0.1, 0.17, 0, 180),
        ("rect", "fg", -0.46, -0.36, 0.46, 0.23),
        ("rect", "bg", -0.46, -0.05, 0.46, -0.01),
        ("rect", "fg", -0.07, -0.11, 0.07, 0.05),
    ],
    # a house: property tax
    "bapenda": [
        ("poly", "fg", [(-0.48, 0.04), (0.48, 0.04), (0.0, 0.46)]),
        ("rect", "fg", -0.34, -0.42, 0.34, 0.05),
        ("rect", "bg", -0.09, -0.42, 0.09, -0.12),
        ("rect", "bg", 0.15, -0.14, 0.27, -0.02),
    ],
    # a safety helmet: work
    "disnaker": [
        ("arc", "fg", 0.0, -0.12, 0.0, 0.37, 0, 180),
        ("rect", "fg", -0.48, -0.2, 0.48, -0.09),
        ("rect", "bg", -0.04, -0.09, 0.04, 0.27),
    ],
    # an open book
    "kemenag": [
        ("poly", "fg", [(-0.47, -0.28), (-0.03, -0.37), (-0.03, 0.3), (-0.47, 0.38)]),
        ("poly", "fg", [(0.03, -0.37), (0.47, -0.28), (0.47, 0.38), (0.03, 0.3)]),
        ("line", "bg", -0.39, 0.17, -0.11, 0.12, 0.035),
        ("line", "bg", -0.39, 0.02, -0.11, -0.03, 0.035),
        ("line", "bg", 0.11, 0.12, 0.39, 0.17, 0.035),
        ("line", "bg", 0.11, -0.03, 0.39, 0.02, 0.035),
    ],
    # a map pin over a plot of land
    "bpn": [
        ("disc", "fg", 0.0, 0.16, 0.26),
        ("poly", "fg", [(-0.225, 0.03), (0.0, -0.36), (0.225, 0.03)]),
        ("disc", "bg", 0.0, 0.16, 0.1),
        ("rect", "fg", -0.46, -0.46, 0.46, -0.4),
    ],
    # a drop of water
    "pdam": [
        ("disc", "fg", 0.0, -0.14, 0.3),
        ("poly", "fg", [(-0.26, -0.0), (0.0, 0.47), (0.26, -0.0)]),
        ("arc", "bg", 0.0, -0.14, 0.17, 0.22, 200, 260),
    ],
    # a bank: pediment, columns, steps
    "bank-jatim": [
        ("poly", "fg", [(-0.47, 0.17), (0.47, 0.17), (0.0, 0.45)]),
        ("rect", "fg", -0.42, 0.11, 0.42, 0.16),
        *[("rect", "fg", x - 0.05, -0.3, x + 0.05, 0.11) for x in (-0.33, -0.11, 0.11, 0.33)],
        ("rect", "fg", -0.47, -0.43, 0.47, -0.34),
    ],
    # the scales of justice
    "pengadilan-agama": [
        ("rect", "fg", -0.03, -0.38, 0.03, 0.36),
        ("disc", "fg", 0.0, 0.38, 0.05),
        ("rect", "fg", -0.4, 0.24, 0.4, 0.29),
        ("rect", "fg", -0.2, -0.45, 0.2, -0.38),
        *_SCALES_PAN,
        *[("line", "fg", -x0, z0, -x1, z1, w) for _, _, x0, z0, x1, z1, w in _SCALES_PAN],
        ("arc", "fg", -0.34, -0.06, 0.0, 0.14, 180, 360),
        ("arc", "fg", 0.34, -0.06, 0.0, 0.14, 180, 360),
    ],
    # a gavel on its block
    "kejaksaan": [
        ("line", "fg", -0.12, 0.18, 0.34, -0.28, 0.08),
        ("line", "fg", -0.3, 0.0, 0.06, 0.36, 0.2),
        ("rect", "fg", -0.47, -0.45, 0.03, -0.36),
        ("rect", "fg", -0.4, -0.36, -0.04, -0.3),
    ],
    # a village house, connected
    "smart-kampung": [
        ("poly", "fg", [(-0.48, -0.03), (0.16, -0.03), (-0.16, 0.27)]),
        ("rect", "fg", -0.4, -0.45, 0.08, -0.02),
        ("rect", "bg", -0.22, -0.45, -0.1, -0.23),
        ("disc", "fg", 0.2, 0.1, 0.05),
        ("arc", "fg", 0.2, 0.1, 0.12, 0.17, 5, 85),
        ("arc", "fg", 0.2, 0.1, 0.24, 0.29, 5, 85),
    ],
}
GENERIC: list[Shape] = [  # an "i" in a ring: information
    ("arc", "fg", 0.0, 0.0, 0.37, 0.47, 0, 360),
    ("disc", "fg", 0.0, 0.2, 0.07),
    ("rect", "fg", -0.06, -0.27, 0.06, 0.08),
]


def icon_for(agency_id: str) -> list[Shape]:
    return ICONS.get(agency_id, GENERIC)


def _polygons(shape: Shape, seg: int = 28) -> list[list[tuple[float, float]]]:
    """A shape as convex polygons in the unit square."""
    kind = shape[0]
    if kind == "rect":
        x0, z0, x1, z1 = shape[2:6]
        return [[(x0, z0), (x1, z0), (x1, z1), (x0, z1)]]
    if kind == "poly":
        return [list(shape[2])]
    if kind == "disc":
        cx, cz, r = shape[2:5]
        return [
            [(cx + r * math.cos(2 * math.pi * k / seg), cz + r * math.sin(2 * math.pi * k / seg)) for k in range(seg)]
        ]
    if kind == "arc":
        cx, cz, r0, r1, a0, a1 = shape[2:8]
        sx = shape[8] if len(shape) > 8 else 1.0
        n = max(2, int(seg * abs(a1 - a0) / 360))
        out = []
        for k in range(n):
            t0 = math.radians(a0 + (a1 - a0) * k / n)
            t1 = math.radians(a0 + (a1 - a0) * (k + 1) / n)
            pts = [
                (cx + r0 * sx * math.cos(t0), cz + r0 * math.sin(t0)),
                (cx + r1 * sx * math.cos(t0), cz + r1 * math.sin(t0)),
                (cx + r1 * sx * math.cos(t1), cz + r1 * math.sin(t1)),
                (cx + r0 * sx * math.cos(t1), cz + r0 * math.sin(t1)),
            ]
            out.append(pts if r0 > 0 else [(cx, cz), pts[1], pts[2]])
        return out
    if kind == "line":
        x0, z0, x1, z1, w = shape[2:7]
        d = math.hypot(x1 - x0, z1 - z0) or 1.0
        nx, nz = -(z1 - z0) / d * w / 2, (x1 - x0) / d * w / 2
        return [[(x0 - nx, z0 - nz), (x1 - nx, z1 - nz), (x1 + nx, z1 + nz), (x0 + nx, z0 + nz)]]
    if kind == "star":
        cx, cz, ro, ri = shape[2:6]
        tips = [math.radians(90 + 72 * k) for k in range(5)]
        inner = [(cx + ri * math.cos(a + math.radians(36)), cz + ri * math.sin(a + math.radians(36))) for a in tips]
        out = [inner]
        for k, a in enumerate(tips):  # a point between two inner corners
            out.append([inner[k - 1], (cx + ro * math.cos(a), cz + ro * math.sin(a)), inner[k]])
        return out
    raise ValueError(f"unknown icon shape {kind!r}")


def _ccw(poly: list[tuple[float, float]]) -> list[tuple[float, float]]:
    area = sum(x0 * z1 - x1 * z0 for (x0, z0), (x1, z1) in zip(poly, poly[1:] + poly[:1], strict=True))
    return poly if area > 0 else poly[::-1]


def draw_icon(
    mesh: Any,
    shapes: list[Shape],
    *,
    cx: float,
    y: float,
    cz: float,
    size: float,
    fg: Sequence[float],
    bg: Sequence[float],
    step: float = 0.001,
) -> None:
    """Add an icon to ``mesh`` on the plane ``y`` (facing -y, as the signs do), centred on (cx, cz)."""
    for k, shape in enumerate(shapes):
        colour = fg if shape[1] == "fg" else bg
        yy = y - step * k  # each shape a hair in front of the one before
        for poly in _polygons(shape):
            mesh.polygon([(cx + x * size, yy, cz + z * size) for x, z in _ccw(poly)], colour)


__all__ = ["GENERIC", "ICONS", "draw_icon", "icon_for"]
