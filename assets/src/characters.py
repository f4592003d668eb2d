"""Generates the hall's rigged, animated characters as glTF 2.0 binaries (``assets/characters/*.glb``).

Rerun with ``python -m assets.src.characters`` (or ``python assets/src/characters.py``); the
output is byte-for-byte deterministic, so a test can check that the committed files are what
this script writes. Standard library only: no Blender, no numpy.

Every figure is one skinned mesh in vertex colours (one draw call) over a 20-joint skeleton,
built from lathed and ellipsoid parts in a low-poly, friendly style. Each part is bound to the
joint it moves with, and the rounded ends of neighbouring parts overlap so joints never open a
gap. Clips: ``idle``, ``walk`` (one stride cycle; ``characters.json`` gives the metres it
covers so the client can match the play rate to the walking speed), ``talk``, ``beckon``,
``wave`` and ``point``. The ``jaw`` joint scales the mouth; the client drives it while a
figure speaks. Officers carry their uniform as a second, white mesh named ``uniform``, tinted
in the agency colour at run time.

Geometry is authored in Panda3D's frame (z up, the figure faces +y) and written in glTF's
(y up, front +z is mapped from -y): (x, y, z) -> (x, z, -y).
"""

from __future__ import annotations

import json
import math
import struct
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

Vec = tuple[float, float, float]
Color = tuple[float, float, float]

OUT = Path(__file__).resolve().parents[1] / "characters"

# ---------------------------------------------------------------------------------------------- skeleton

# name, parent, head position (Panda frame, metres) for a 1.0-scale adult
JOINTS: list[tuple[str, str | None, Vec]] = [
    ("hips", None, (0.0, 0.0, 0.94)),
    ("spine", "hips", (0.0, 0.0, 1.08)),
    ("chest", "spine", (0.0, 0.0, 1.26)),
    ("neck", "chest", (0.0, 0.0, 1.46)),
    ("head", "neck", (0.0, 0.0, 1.55)),
    ("jaw", "head", (0.0, 0.105, 1.615)),
    ("shoulder.L", "chest", (0.20, 0.0, 1.42)),
    ("elbow.L", "shoulder.L", (0.225, 0.0, 1.15)),
    ("wrist.L", "elbow.L", (0.235, 0.02, 0.92)),
    ("shoulder.R", "chest", (-0.20, 0.0, 1.42)),
    ("elbow.R", "shoulder.R", (-0.225, 0.0, 1.15)),
    ("wrist.R", "elbow.R", (-0.235, 0.02, 0.92)),
    ("thigh.L", "hips", (0.095, 0.0, 0.92)),
    ("knee.L", "thigh.L", (0.095, 0.0, 0.50)),
    ("ankle.L", "knee.L", (0.095, -0.01, 0.09)),
    ("thigh.R", "hips", (-0.095, 0.0, 0.92)),
    ("knee.R", "thigh.R", (-0.095, 0.0, 0.50)),
    ("ankle.R", "knee.R", (-0.095, -0.01, 0.09)),
    ("prop", "wrist.R", (-0.235, 0.04, 0.86)),
]
JOINT_INDEX = {name: k for k, (name, _, _) in enumerate(JOINTS)}
JOINT_POS = {name: pos for name, _, pos in JOINTS}
JOINT_PARENT = {name: parent for name, parent, _ in JOINTS}


def _lerp3(a: Vec, b: Vec, t: float) -> Vec:
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t)


# ---------------------------------------------------------------------------------------------- mesh


@dataclass
class Mesh:
    detail: float = 1.0  # 1 = the near model; the far (LOD) model scales segment counts down
    pos: list[Vec] = field(default_factory=list)
    nrm: list[Vec] = field(default_factory=list)
    col: list[Color] = field(default_factory=list)
    joint: list[int] = field(default_factory=list)
    tris: list[tuple[int, int, int]] = field(default_factory=list)

    def _grid(self, rows: list[list[tuple[Vec, Vec]]], color: Color, joint: str, skip: Callable[[Vec], bool]) -> None:
        """Quads between consecutive rings (each ring a closed loop of (position, normal))."""
        j = JOINT_INDEX[joint]
        base = len(self.pos)
        width = len(rows[0])
        for ring in rows:
            for p, n in ring:
                self.pos.append(p)
                self.nrm.append(n)
                self.col.append(color)
                self.joint.append(j)
        for r in range(len(rows) - 1):
            for i in range(width):
                i2 = (i + 1) % width
                a, b = base + r * width + i, base + r * width + i2
                c, d = base + (r + 1) * width + i2, base + (r + 1) * width + i
                centre = _lerp3(self.pos[a], self.pos[c], 0.5)
                if skip(centre):
                    continue
                # rings run bottom to top, points counter-clockwise seen from above: outward faces
                self.tris.append((a, b, c))
                self.tris.append((a, c, d))

    def _seg(self, seg: int) -> int:
        return max(4, round(seg * self.detail))

    def ellipsoid(
        self,
        c: Vec,
        r: Vec,
        color: Color,
        joint: str,
        *,
        seg: int = 12,
        rings: int = 8,
        z_from: float = -1.0,
        z_to: float = 1.0,
        skip: Callable[[Vec], bool] = lambda p: False,
    ) -> None:
        """An ellipsoid (or a band of it between the polar heights ``z_from``..``z_to`` in -1..1)."""
        t0, t1 = math.acos(max(-1.0, min(1.0, z_to))), math.acos(max(-1.0, min(1.0, z_from)))
        seg, rings = self._seg(seg), max(2, round(rings * self.detail))
        rows = []
        for k in range(rings + 1):
            th = t1 + (t0 - t1) * k / rings  # from the bottom up
            ring = []
            for i in range(seg):
                ph = 2 * math.pi * i / seg
                d = (math.sin(th) * math.cos(ph), math.sin(th) * math.sin(ph), math.cos(th))
                p = (c[0] + r[0] * d[0], c[1] + r[1] * d[1], c[2] + r[2] * d[2])
                n = _norm((d[0] / r[0], d[1] / r[1], d[2] / r[2]))
                ring.append((p, n))
            rows.append(ring)
        self._grid(rows, color, joint, skip)

    def lathe(
        self,
        a: Vec,
        b: Vec,
        profile: Sequence[tuple[float, float]],
        color: Color,
        joint: str,
        *,
        seg: int = 10,
        squash: float = 1.0,
        shift: Sequence[float] | None = None,
        skip: Callable[[Vec], bool] = lambda p: False,
    ) -> None:
        """A surface of revolution from ``a`` to ``b``: ``profile`` is (t along the axis 0..1, radius).

        ``squash`` scales the cross-section front to back (a chest is wider than deep); ``shift``
        moves each ring forward (+y), for a skirt that flares to the front.
        """
        ax = _sub(b, a)
        length = math.sqrt(_dot(ax, ax))
        seg = self._seg(seg)
        w = _scale(ax, 1 / length)
        u = _norm(_cross((0.0, 1.0, 0.0), w)) if abs(w[1]) < 0.9 else _norm(_cross(w, (1.0, 0.0, 0.0)))
        v = _cross(w, u)
        rows = []
        for k, (t, rad) in enumerate(profile):
            # slope of the profile, for normals
            t_prev, r_prev = profile[max(0, k - 1)]
            t_next, r_next = profile[min(len(profile) - 1, k + 1)]
            dr = (r_next - r_prev) / max(1e-6, (t_next - t_prev) * length)
            centre = _add(a, _scale(ax, t))
            off = shift[k] if shift else 0.0
            ring = []
            for i in range(seg):
                ph = 2 * math.pi * i / seg
                cu, cv = math.cos(ph), math.sin(ph) * squash
                radial = _add(_scale(u, cu), _scale(v, cv))
                p = _add(_add(centre, _scale(radial, rad)), (0.0, off, 0.0))
                n = _norm(_sub(_norm(_add(_scale(u, math.cos(ph)), _scale(v, math.sin(ph) / squash))), _scale(w, dr)))
                ring.append((p, n))
            rows.append(ring)
        self._grid(rows, color, joint, skip)

    def limb(self, a: Vec, b: Vec, r0: float, r1: float, color: Color, joint: str, seg: int = 8) -> None:
        """A tapered capsule: rounded at both ends so bent joints close over themselves."""
        ax = _sub(b, a)
        length = math.sqrt(_dot(ax, ax))
        # round caps reach past both joint centres by ~radius
        cap0, cap1 = r0 / length, r1 / length
        prof = [(-cap0, 0.0), (-cap0 * 0.7, r0 * 0.72), (0.0, r0), (0.5, (r0 + r1) / 2), (1.0, r1)]
        prof += [(1.0 + cap1 * 0.7, r1 * 0.72), (1.0 + cap1, 0.0)]
        self.lathe(a, b, prof, color, joint, seg=seg)


def _add(a: Vec, b: Vec) -> Vec:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def _sub(a: Vec, b: Vec) -> Vec:
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def _scale(a: Vec, f: float) -> Vec:
    return (a[0] * f, a[1] * f, a[2] * f)


def _dot(a: Vec, b: Vec) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _cross(a: Vec, b: Vec) -> Vec:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def _norm(a: Vec) -> Vec:
    n = math.sqrt(_dot(a, a)) or 1.0
    return (a[0] / n, a[1] / n, a[2] / n)


def hexc(s: str) -> Color:
    s = s.lstrip("#")
    return (int(s[0:2], 16) / 255, int(s[2:4], 16) / 255, int(s[4:6], 16) / 255)


# ---------------------------------------------------------------------------------------------- figures


@dataclass
class Look:
    """What a figure wears and how it stands."""

    name: str
    skin: str = "#C68B64"
    hair: str = "#1E1712"
    top: str = "#3A7CC4"
    top_trim: str = "#F2E8D5"
    bottom: str = "#2B2F3A"
    shoes: str = "#2A211C"
    hijab: str | None = None
    cap: str | None = None  # peci (black) or udeng (batik head cloth)
    udeng: bool = False
    skirt: bool = False
    long_sleeves: bool = False
    cane: bool = False
    grey: bool = False
    glasses: bool = False
    badge: str | None = None  # the assistant's glowing chest badge
    sash: str | None = None
    uniform: bool = False  # the top goes to the separate white "uniform" mesh
    stoop: float = 0.0  # degrees forward at the spine (elderly)
    stride: float = 1.3  # metres per walk cycle
    build: float = 1.0  # shoulder/hip width factor
    height: float = 1.0
    head: float = 1.0  # head size factor (the assistant's is larger: friendlier)
    eyes: str = "#1B1B1F"


def build(look: Look, detail: float = 1.0) -> tuple[Mesh, Mesh | None]:
    """The body mesh and, for officers, the separate uniform mesh."""
    m = Mesh(detail)
    uni = Mesh(detail) if look.uniform else None
    skin, hair, top, trim = hexc(look.skin), hexc(look.hair), hexc(look.top), hexc(look.top_trim)
    bottom, shoes = hexc(look.bottom), hexc(look.shoes)
    if look.grey:
        hair = hexc("#BDBAB4")
    top_mesh = uni if uni is not None else m
    top_col = (1.0, 1.0, 1.0) if uni is not None else top
    bw = look.build
    P = JOINT_POS
    # legs: trousers (or legs under a skirt), shoes
    for side in ("L", "R"):
        thigh, knee, ankle = P[f"thigh.{side}"], P[f"knee.{side}"], P[f"ankle.{side}"]
        # under a long skirt the legs wear its colour: a stride that pokes through stays invisible
        m.limb(thigh, knee, 0.085 * bw, 0.065, bottom, f"thigh.{side}")
        m.limb(knee, ankle, 0.062, 0.048, bottom, f"knee.{side}")
        m.ellipsoid((ankle[0], ankle[1] + 0.06, 0.045), (0.055, 0.12, 0.05), shoes, f"ankle.{side}", seg=10, rings=5)
    # hips and belly
    m.ellipsoid((0, 0, 0.97), (0.17 * bw, 0.115, 0.12), bottom, "hips", seg=12, rings=6)
    if look.skirt:
        prof = [(0.0, 0.17 * bw), (0.25, 0.2 * bw), (0.6, 0.23 * bw), (1.0, 0.25 * bw)]
        m.lathe((0, 0, 1.02), (0, 0.0, 0.14), prof, bottom, "hips", seg=14, squash=0.85, shift=[0, 0.01, 0.03, 0.05])
    # torso: belly to shoulders, the top garment
    torso = [(0.0, 0.15 * bw), (0.25, 0.16 * bw), (0.55, 0.175 * bw), (0.8, 0.19 * bw), (0.93, 0.16 * bw), (1.0, 0.07)]
    top_mesh.lathe((0, 0, 1.0), (0, 0, 1.5), torso[:3], top_col, "spine", seg=14, squash=0.72)
    top_mesh.lathe((0, 0, 1.0), (0, 0, 1.5), torso[2:], top_col, "chest", seg=14, squash=0.72)
    # collar/trim band and the belt
    m.lathe((0, 0, 1.43), (0, 0, 1.47), [(0.0, 0.12), (1.0, 0.085)], trim, "chest", seg=14, squash=0.8)
    m.lathe(
        (0, 0, 0.99),
        (0, 0, 1.03),
        [(0.0, 0.158 * bw), (1.0, 0.158 * bw)],
        trim if look.skirt else (0.15, 0.12, 0.1),
        "spine",
        seg=14,
        squash=0.74,
    )
    if look.sash and detail >= 0.45:
        sash = hexc(look.sash)
        for k in range(5):
            z = 1.40 - k * 0.075
            x = 0.14 - k * 0.07
            m.ellipsoid(
                (x, 0.115 - abs(x) * 0.15, z),
                (0.05, 0.022, 0.045),
                sash,
                "chest" if z > 1.26 else "spine",
                seg=6,
                rings=3,
            )
    if look.badge:
        m.ellipsoid((0.08, 0.128, 1.33), (0.035, 0.012, 0.035), hexc(look.badge), "chest", seg=8, rings=4)
    # arms: sleeves then skin (or long sleeves)
    for side, sx in (("L", 1), ("R", -1)):
        sh, el, wr = P[f"shoulder.{side}"], P[f"elbow.{side}"], P[f"wrist.{side}"]
        sh2 = (sh[0] * bw, sh[1], sh[2])
        top_mesh.limb(sh2, el, 0.06, 0.05, top_col, f"shoulder.{side}")
        fore = top_col if look.long_sleeves else skin
        (top_mesh if look.long_sleeves else m).limb(el, wr, 0.047, 0.038, fore, f"elbow.{side}")
        m.ellipsoid(
            (wr[0] + sx * 0.005, wr[1] + 0.01, wr[2] - 0.06),
            (0.035, 0.045, 0.065),
            skin,
            f"wrist.{side}",
            seg=8,
            rings=5,
        )
    # neck and head
    hs = look.head
    m.limb((0, 0, 1.44), (0, 0.01, 1.58), 0.05, 0.048, skin, "neck", seg=8)
    hc = (0.0, 0.01, 1.665 + (hs - 1) * 0.08)
    hr = (0.105 * hs, 0.112 * hs, 0.13 * hs)
    m.ellipsoid(hc, hr, skin, "head", seg=14, rings=10)
    # face: eyes (white + pupil), brows, nose, mouth on the jaw joint
    fy = hc[1] + hr[1]
    fine = detail >= 0.45  # the distant model keeps only what still covers a pixel
    for ex in (-0.042 * hs, 0.042 * hs):
        ez = hc[2] + 0.02 * hs
        if not fine:
            m.ellipsoid(
                (ex, fy - 0.015 * hs, ez), (0.02 * hs, 0.01, 0.018 * hs), hexc(look.eyes), "head", seg=8, rings=4
            )
            continue
        m.ellipsoid(
            (ex, fy - 0.022 * hs, ez), (0.024 * hs, 0.012, 0.019 * hs), (0.97, 0.96, 0.93), "head", seg=8, rings=4
        )
        m.ellipsoid(
            (ex, fy - 0.013 * hs, ez - 0.002), (0.012 * hs, 0.008, 0.014 * hs), hexc(look.eyes), "head", seg=6, rings=3
        )
        m.ellipsoid(
            (ex, fy - 0.02 * hs, ez + 0.038 * hs),
            (0.026 * hs, 0.01, 0.007),
            hair if not look.grey else hexc("#8E8A84"),
            "head",
            seg=6,
            rings=3,
        )
    if fine:
        m.ellipsoid(
            (0, fy - 0.005, hc[2] - 0.012 * hs), (0.014, 0.018, 0.022 * hs), _shade(skin, 0.92), "head", seg=6, rings=4
        )
    mouth_z = hc[2] - 0.05 * hs
    m.ellipsoid(
        (0, fy - 0.018 * hs, mouth_z), (0.034 * hs, 0.014, 0.011 * hs), (0.42, 0.12, 0.12), "jaw", seg=10, rings=4
    )
    if look.glasses and fine:
        for ex in (-0.042, 0.042):
            m.lathe(
                (ex, fy + 0.004, hc[2] + 0.02),
                (ex, fy + 0.012, hc[2] + 0.02),
                [(0, 0.03), (1, 0.03)],
                (0.2, 0.18, 0.16),
                "head",
                seg=10,
            )
    # hair, hijab or head cloth
    if look.hijab:
        hj = hexc(look.hijab)
        rr = (hr[0] + 0.022, hr[1] + 0.022, hr[2] + 0.02)

        def face_hole(p: Vec) -> bool:
            d = _sub(p, hc)
            return d[1] > 0.035 and -0.085 * hs < d[2] < 0.085 * hs and abs(d[0]) < 0.085 * hs

        m.ellipsoid(hc, rr, hj, "head", seg=16, rings=10, z_from=-0.55, skip=face_hole)
        # drape over the shoulders and chest
        prof = [(0.0, 0.1), (0.35, 0.13), (0.7, 0.2 * bw), (1.0, 0.24 * bw)]
        m.lathe(
            (0, 0.0, hc[2] - 0.07), (0, 0.0, 1.32), prof, hj, "chest", seg=16, squash=0.8, shift=[0.0, 0.0, 0.01, 0.02]
        )
    else:
        # hair: a cap over the back and top of the head, clear of the face
        def hairline(p: Vec) -> bool:
            d = _sub(p, hc)
            return d[1] > 0.02 and d[2] < 0.055 * hs

        m.ellipsoid(
            (hc[0], hc[1] - 0.006, hc[2] + 0.008),
            (hr[0] + 0.012, hr[1] + 0.01, hr[2] + 0.012),
            hair,
            "head",
            seg=14,
            rings=8,
            z_from=-0.35,
            skip=hairline,
        )
        if look.cap:
            cap = hexc(look.cap)
            top_z = hc[2] + hr[2] + 0.02
            prof = [(0.0, hr[0] + 0.016), (0.85, hr[0] + 0.012), (1.0, hr[0] * 0.7)]
            m.lathe((0, 0.0, top_z - 0.1), (0, 0.0, top_z + 0.005), prof, cap, "head", seg=14, squash=1.05)
            if look.udeng:
                # the knot of the Osing udeng at the front
                m.ellipsoid(
                    (0, hc[1] + hr[1] * 0.85, top_z - 0.03),
                    (0.035, 0.02, 0.045),
                    hexc("#B3202A"),
                    "head",
                    seg=8,
                    rings=4,
                )
    if look.cane:
        wr = P["wrist.R"]
        m.limb(
            (wr[0] - 0.005, wr[1] + 0.06, wr[2] - 0.05),
            (wr[0] - 0.01, wr[1] + 0.12, 0.02),
            0.014,
            0.014,
            (0.36, 0.24, 0.14),
            "prop",
            seg=6,
        )
    return m, uni


def _shade(c: Color, f: float) -> Color:
    return (c[0] * f, c[1] * f, c[2] * f)


LOOKS: list[Look] = [
    Look("visitor_man", skin="#B97A56", top="#3A7CC4", top_trim="#E9E1CF", bottom="#2B2F3A"),
    Look(
        "visitor_hijab",
        skin="#C99573",
        hijab="#B54E6A",
        top="#E7B6C4",
        top_trim="#B54E6A",
        bottom="#5A4A6E",
        skirt=True,
        long_sleeves=True,
        build=0.92,
        height=0.96,
    ),
    Look(
        "visitor_woman",
        skin="#D7A582",
        hair="#2A1B14",
        top="#F2B544",
        top_trim="#FFFFFF",
        bottom="#34495E",
        build=0.9,
        height=0.97,
    ),
    Look(
        "visitor_elder_man",
        skin="#A8714F",
        top="#7A8B5A",
        top_trim="#DCCFB0",
        bottom="#4A4035",
        cap="#1A1A1A",
        grey=True,
        glasses=True,
        cane=True,
        stoop=12.0,
        stride=0.95,
        long_sleeves=True,
    ),
    Look(
        "visitor_elder_hijab",
        skin="#B7835F",
        hijab="#E8E2D6",
        top="#6F5B8C",
        top_trim="#E8E2D6",
        bottom="#3F3A4A",
        skirt=True,
        long_sleeves=True,
        stoop=10.0,
        stride=0.9,
        build=0.95,
        height=0.94,
        glasses=True,
    ),
    Look(
        "visitor_youth",
        skin="#8E5B3E",
        top="#2FA37A",
        top_trim="#F7F7F7",
        bottom="#3A5BA0",
        shoes="#EDEDED",
        build=0.94,
        stride=1.4,
    ),
    Look(
        "officer", skin="#B57C58", top="#FFFFFF", top_trim="#F4F1EA", bottom="#23262E", uniform=True, long_sleeves=True
    ),
    Look(
        "officer_hijab",
        skin="#C48E6A",
        hijab="#1F2A44",
        top="#FFFFFF",
        top_trim="#1F2A44",
        bottom="#23262E",
        uniform=True,
        long_sleeves=True,
        skirt=True,
        build=0.92,
        height=0.97,
    ),
    Look(
        "assistant",
        skin="#C68B64",
        top="#12806F",
        top_trim="#F2C14E",
        bottom="#F4EBD9",
        cap="#8A1C1C",
        udeng=True,
        sash="#F2C14E",
        badge="#7FF5FF",
        head=1.18,
        stride=1.35,
        long_sleeves=True,
        eyes="#2B1A10",
    ),
]

# ---------------------------------------------------------------------------------------------- animation


def quat(axis: Vec, deg: float) -> tuple[float, float, float, float]:
    """(x, y, z, w) rotating ``deg`` degrees about ``axis`` (Panda frame)."""
    a = math.radians(deg) / 2
    n = _norm(axis)
    s = math.sin(a)
    return (n[0] * s, n[1] * s, n[2] * s, math.cos(a))


def qmul(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, float, float]:
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return (
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
        aw * bw - ax * bx - ay * by - az * bz,
    )


def euler(pitch: float = 0.0, roll: float = 0.0, yaw: float = 0.0) -> tuple[float, float, float, float]:
    """Pitch about x (a hanging limb swings forward for +), roll about y, yaw about z."""
    q = quat((0, 0, 1), yaw)
    q = qmul(q, quat((1, 0, 0), pitch))
    return qmul(q, quat((0, 1, 0), roll))


Pose = dict[str, tuple[float, float, float]]  # joint -> (pitch, roll, yaw)


@dataclass
class Clip:
    name: str
    duration: float
    fn: Callable[[float], tuple[Pose, float, dict[str, float]]]  # phase 0..1 -> (pose, hips lift, jaw scale)
    keys: int = 17


def walk(stride: float, stoop: float, cane: bool) -> Clip:
    swing = 22.0 if stride >= 1.2 else 15.0

    def fn(ph: float) -> tuple[Pose, float, dict[str, float]]:
        s = math.sin(2 * math.pi * ph)
        c = math.cos(2 * math.pi * ph)
        knee_l = max(0.0, -c) * 38 + 4
        knee_r = max(0.0, c) * 38 + 4
        pose: Pose = {
            "thigh.L": (swing * s, 0, 0),
            "thigh.R": (-swing * s, 0, 0),
            "knee.L": (-knee_l, 0, 0),
            "knee.R": (-knee_r, 0, 0),
            "ankle.L": (knee_l * 0.35 - 6 * s, 0, 0),
            "ankle.R": (knee_r * 0.35 + 6 * s, 0, 0),
            "shoulder.L": (-swing * 0.8 * s, 4, 0),
            "shoulder.R": ((0 if cane else swing * 0.8) * s + (14 if cane else 0), -4, 0),
            "elbow.L": (12 + 8 * max(0.0, -s), 0, 0),
            "elbow.R": (12 + 8 * max(0.0, s) + (25 if cane else 0), 0, 0),
            "spine": (stoop + 3, 0, 4 * s),
            "chest": (stoop * 0.3, 0, -6 * s),
            "neck": (-stoop * 0.9, 0, 0),
            "hips": (0, 0, -5 * s),
        }
        lift = 0.025 * abs(math.sin(2 * math.pi * ph)) - 0.012
        return pose, lift, {}

    return Clip("walk", 1.0, fn, keys=21)


def idle(stoop: float, cane: bool) -> Clip:
    def fn(ph: float) -> tuple[Pose, float, dict[str, float]]:
        s = math.sin(2 * math.pi * ph)
        pose: Pose = {
            "spine": (stoop + 1.5 * s, 0, 0),
            "chest": (1.5 * s, 0, 0),
            "neck": (-stoop * 0.9, 0, 4 * math.sin(2 * math.pi * ph + 1)),
            "head": (-1.5 * s, 0, 0),
            "shoulder.L": (2 * s, 5, 0),
            "shoulder.R": (2 * s + (14 if cane else 0), -5, 0),
            "elbow.L": (8, 0, 0),
            "elbow.R": (8 + (25 if cane else 0), 0, 0),
            "thigh.L": (0, 2, 0),
            "thigh.R": (0, -2, 0),
        }
        return pose, 0.004 * s, {}

    return Clip("idle", 3.0, fn)


def talk(stoop: float) -> Clip:
    def fn(ph: float) -> tuple[Pose, float, dict[str, float]]:
        s = math.sin(2 * math.pi * ph)
        s2 = math.sin(4 * math.pi * ph + 0.7)
        pose: Pose = {
            "spine": (stoop + 2 * s, 0, 3 * s2),
            "neck": (-stoop * 0.9 + 4 * s2, 0, 6 * s),
            "head": (-3 * s2, 3 * s, 0),
            "shoulder.L": (25 + 12 * s2, 12, 0),
            "elbow.L": (55 + 20 * s, 0, 0),
            "shoulder.R": (18 + 10 * s, -10, 0),
            "elbow.R": (45 + 18 * s2, 0, 0),
        }
        return pose, 0.0, {"jaw": 0.35 + 0.65 * abs(math.sin(6 * math.pi * ph))}

    return Clip("talk", 2.0, fn, keys=25)


def beckon(stoop: float) -> Clip:
    """Arm out towards where the visitor should go, the hand curling back: "this way"."""

    def fn(ph: float) -> tuple[Pose, float, dict[str, float]]:
        s = math.sin(2 * math.pi * ph)
        pose: Pose = {
            "spine": (stoop, 0, 8),
            "neck": (-stoop * 0.9, 0, -10),
            "shoulder.R": (70, -30, 0),
            "elbow.R": (25 + 35 * (0.5 + 0.5 * s), 0, 0),
            "wrist.R": (20 * s, 0, 0),
            "shoulder.L": (4, 6, 0),
            "elbow.L": (10, 0, 0),
        }
        return pose, 0.0, {}

    return Clip("beckon", 1.2, fn)


def point(stoop: float) -> Clip:
    def fn(ph: float) -> tuple[Pose, float, dict[str, float]]:
        s = math.sin(2 * math.pi * ph)
        pose: Pose = {
            "spine": (stoop, 0, 6),
            "neck": (-stoop * 0.9, 0, -8 + 2 * s),
            "shoulder.R": (80 + 2 * s, -45, 0),
            "elbow.R": (5, 0, 0),
            "shoulder.L": (4, 6, 0),
            "elbow.L": (10, 0, 0),
        }
        return pose, 0.0, {}

    return Clip("point", 2.0, fn, keys=9)


def wave(stoop: float) -> Clip:
    def fn(ph: float) -> tuple[Pose, float, dict[str, float]]:
        s = math.sin(2 * math.pi * ph)
        pose: Pose = {
            "spine": (stoop, 0, 0),
            "neck": (-stoop * 0.9, 0, 0),
            "head": (0, 5 * s, 0),
            "shoulder.R": (20, -150, 0),
            "elbow.R": (0, 0, 0),
            "wrist.R": (0, 25 * s, 0),
            "shoulder.L": (4, 6, 0),
            "elbow.L": (10, 0, 0),
        }
        return pose, 0.0, {}

    return Clip("wave", 1.0, fn)


def _upright_prop(clip: Clip) -> Clip:
    """A cane stays upright: the prop joint undoes the pitch of the arm that holds it."""
    inner = clip.fn

    def fn(ph: float) -> tuple[Pose, float, dict[str, float]]:
        pose, lift, extra = inner(ph)
        arm = sum(pose.get(j, (0.0, 0.0, 0.0))[0] for j in ("spine", "chest", "shoulder.R", "elbow.R", "wrist.R"))
        return {**pose, "prop": (-arm, 0.0, 0.0)}, lift, extra

    return Clip(clip.name, clip.duration, fn, clip.keys)


def clips(look: Look) -> list[Clip]:
    if look.cane:
        return [_upright_prop(c) for c in _clips(look)]
    return _clips(look)


def _clips(look: Look) -> list[Clip]:
    return [
        idle(look.stoop, look.cane),
        walk(look.stride, look.stoop, look.cane),
        talk(look.stoop),
        beckon(look.stoop),
        point(look.stoop),
        wave(look.stoop),
    ]


# ---------------------------------------------------------------------------------------------- glTF


def _gl(v: Vec) -> Vec:
    """Panda frame -> glTF frame."""
    return (v[0], v[2], -v[1])


def _glq(q: Sequence[float]) -> tuple[float, float, float, float]:
    return (q[0], q[2], -q[1], q[3])


class Writer:
    def __init__(self) -> None:
        self.blob = bytearray()
        self.views: list[dict[str, object]] = []
        self.accessors: list[dict[str, object]] = []

    def add(
        self,
        fmt: str,
        rows: Sequence[Sequence[float]] | Sequence[float],
        kind: str,
        ctype: int,
        *,
        target: int | None = None,
        minmax: bool = False,
        normalized: bool = False,
    ) -> int:
        while len(self.blob) % 4:
            self.blob.append(0)
        start = len(self.blob)
        flat: list[float] = []
        for r in rows:
            if isinstance(r, (int, float)):
                flat.append(r)
            else:
                flat.extend(r)
        self.blob += struct.pack("<" + fmt * len(flat), *flat)
        view: dict[str, object] = {"buffer": 0, "byteOffset": start, "byteLength": len(self.blob) - start}
        if target is not None:
            view["target"] = target
        self.views.append(view)
        acc: dict[str, object] = {
            "bufferView": len(self.views) - 1,
            "componentType": ctype,
            "count": len(rows),
            "type": kind,
        }
        if normalized:
            acc["normalized"] = True
        if minmax:
            width = len(rows[0]) if not isinstance(rows[0], (int, float)) else 1
            cols = [[(r if isinstance(r, (int, float)) else r[i]) for r in rows] for i in range(width)]
            acc["min"] = [round(min(c), 6) for c in cols]
            acc["max"] = [round(max(c), 6) for c in cols]
        self.accessors.append(acc)
        return len(self.accessors) - 1


def _r(v: Sequence[float]) -> list[float]:
    return [round(float(x), 5) for x in v]


def glb(look: Look, detail: float = 1.0) -> bytes:
    body, uniform = build(look, detail)
    scale = look.height
    w = Writer()
    meshes = []
    for mesh_name, mesh in (("body", body), ("uniform", uniform)):
        if mesh is None:
            continue
        pos = [_r(_gl(_scale(p, scale))) for p in mesh.pos]
        nrm = [_r(_gl(n)) for n in mesh.nrm]
        col = [(c[0], c[1], c[2], 1.0) for c in mesh.col]
        joints = [(j, 0, 0, 0) for j in mesh.joint]
        weights = [(1.0, 0.0, 0.0, 0.0) for _ in mesh.joint]
        attrs = {
            "POSITION": w.add("f", pos, "VEC3", 5126, target=34962, minmax=True),
            "NORMAL": w.add("f", nrm, "VEC3", 5126, target=34962),
            "COLOR_0": w.add(
                "B", [tuple(round(x * 255) for x in c) for c in col], "VEC4", 5121, target=34962, normalized=True
            ),
            "JOINTS_0": w.add("B", joints, "VEC4", 5121, target=34962),
            "WEIGHTS_0": w.add("f", weights, "VEC4", 5126, target=34962),
        }
        idx = w.add("H", [i for t in mesh.tris for i in t], "SCALAR", 5123, target=34963)
        meshes.append({"name": mesh_name, "primitives": [{"attributes": attrs, "indices": idx, "material": 0}]})
    # nodes: joints first, in JOINTS order, then the mesh nodes
    nodes: list[dict[str, object]] = []
    for name, parent, head in JOINTS:
        rel = _sub(head, JOINT_POS[parent]) if parent else head
        node: dict[str, object] = {"name": name, "translation": _r(_gl(_scale(rel, scale)))}
        kids = [JOINT_INDEX[n] for n, p, _ in JOINTS if p == name]
        if kids:
            node["children"] = kids
        nodes.append(node)
    ibm = []
    for _name, _, head in JOINTS:
        x, y, z = _gl(_scale(head, scale))
        ibm.append([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, round(-x, 5), round(-y, 5), round(-z, 5), 1])
    ibm_acc = w.add("f", ibm, "MAT4", 5126)
    skin = {"name": "armature", "joints": list(range(len(JOINTS))), "inverseBindMatrices": ibm_acc}
    mesh_nodes = []
    for k, entry in enumerate(meshes):
        nodes.append({"name": entry["name"], "mesh": k, "skin": 0})
        mesh_nodes.append(len(nodes) - 1)
    # one armature node over the skeleton and the meshes: the loader makes it the Character
    nodes.append({"name": look.name, "children": [JOINT_INDEX["hips"], *mesh_nodes]})
    roots = [len(nodes) - 1]
    animations = []
    moving = [n for n, _, _ in JOINTS if n != "prop" or look.cane]
    for clip in clips(look):
        times = [round(clip.duration * k / (clip.keys - 1), 5) for k in range(clip.keys)]
        t_acc = w.add("f", times, "SCALAR", 5126, minmax=True)
        samples = [clip.fn(k / (clip.keys - 1)) for k in range(clip.keys)]
        channels, samplers = [], []
        for joint in moving:
            if joint == "jaw":
                scales = [(1.0, max(0.3, extra.get("jaw", 0.3)), 1.0) for _, _, extra in samples]
                # glTF y is Panda z: the mouth opens vertically
                out = w.add("f", [_r(s) for s in scales], "VEC3", 5126)
                samplers.append({"input": t_acc, "output": out, "interpolation": "LINEAR"})
                channels.append({"sampler": len(samplers) - 1, "target": {"node": JOINT_INDEX[joint], "path": "scale"}})
                continue
            if all(joint not in pose for pose, _, _ in samples):
                continue  # stays in its rest pose (identity) in this clip
            rots = [_r(_glq(euler(*pose.get(joint, (0.0, 0.0, 0.0))))) for pose, _, _ in samples]
            out = w.add("f", rots, "VEC4", 5126)
            samplers.append({"input": t_acc, "output": out, "interpolation": "LINEAR"})
            channels.append({"sampler": len(samplers) - 1, "target": {"node": JOINT_INDEX[joint], "path": "rotation"}})
        hips = JOINT_POS["hips"]
        trans = [_r(_gl(_scale((hips[0], hips[1], hips[2] + lift), scale))) for _, lift, _ in samples]
        out = w.add("f", trans, "VEC3", 5126)
        samplers.append({"input": t_acc, "output": out, "interpolation": "LINEAR"})
        channels.append({"sampler": len(samplers) - 1, "target": {"node": JOINT_INDEX["hips"], "path": "translation"}})
        animations.append({"name": clip.name, "channels": channels, "samplers": samplers})
    while len(w.blob) % 4:
        w.blob.append(0)
    doc = {
        "asset": {"version": "2.0", "generator": "virtual-mpp assets/src/characters.py"},
        "scene": 0,
        "scenes": [{"name": look.name, "nodes": roots}],
        "nodes": nodes,
        "meshes": meshes,
        "skins": [skin],
        "materials": [
            {
                "name": "vertex-colour",
                "pbrMetallicRoughness": {
                    "baseColorFactor": [1, 1, 1, 1],
                    "metallicFactor": 0.0,
                    "roughnessFactor": 0.85,
                },
            }
        ],
        "animations": animations,
        "buffers": [{"byteLength": len(w.blob)}],
        "bufferViews": w.views,
        "accessors": w.accessors,
    }
    js = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
    js += b" " * (-len(js) % 4)
    data = struct.pack("<III", 0x46546C67, 2, 12 + 8 + len(js) + 8 + len(w.blob))
    data += struct.pack("<II", len(js), 0x4E4F534A) + js
    data += struct.pack("<II", len(w.blob), 0x004E4942) + bytes(w.blob)
    return data


def head_box(look: Look) -> dict[str, float]:
    """The face's extent around the ``head`` joint (metres, Panda frame): for labels that avoid it."""
    hs, k = look.head, look.height
    centre = 1.665 + (hs - 1) * 0.08
    top = centre + 0.13 * hs + (0.035 if (look.cap or look.hijab) else 0.015)
    chin = centre - 0.13 * hs
    joint = JOINT_POS["head"][2]
    return {
        "head_top": round((top - joint) * k, 4),
        "chin": round((chin - joint) * k - 0.01, 4),
        "head_radius": round((0.105 * hs + (0.025 if look.hijab else 0.015)) * k, 4),
    }


def meta() -> dict[str, object]:
    """What the client needs besides the files: strides (for speed-matched walking), the face box, roles."""
    return {
        look.name: {
            "file": f"{look.name}.glb",
            "lod_files": [f"{look.name}{suffix}.glb" for suffix, _ in LEVELS],
            "stride_m": round(look.stride * look.height, 4),
            "walk_s": 1.0,
            "uniform": look.uniform,
            **head_box(look),
        }
        for look in LOOKS
    }


# (file suffix, detail): near, middle distance, far; the client switches at 8 and 18 m
LEVELS = (("", 1.0), ("_mid", 0.5), ("_far", 0.3))


def generate(out: Path = OUT) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for look in LOOKS:
        for suffix, detail in LEVELS:
            path = out / f"{look.name}{suffix}.glb"
            path.write_bytes(glb(look, detail))
            written.append(path)
    path = out / "characters.json"
    path.write_text(json.dumps(meta(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    written.append(path)
    return written


if __name__ == "__main__":
    for p in generate(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT):
        sys.stdout.write(f"{p} {p.stat().st_size} bytes\n")
