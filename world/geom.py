"""Procedural geometry: boxes and quads with baked shading in vertex colours.

The hall is lit by a fixed warm key light baked per face at build time, so the
software renderer draws it without per-pixel lighting and thousands of faces
collapse into a handful of batches after ``flattenStrong``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

Color = Sequence[float]

# Per-face brightness of the baked key light (sun through a skylight, from south-east above).
SHADE = {"top": 1.0, "bottom": 0.62, "+x": 0.80, "-x": 0.90, "+y": 0.74, "-y": 0.94}


def _shade(c: Color, f: float) -> tuple[float, float, float, float]:
    a = c[3] if len(c) > 3 else 1.0
    return (min(1.0, c[0] * f), min(1.0, c[1] * f), min(1.0, c[2] * f), a)


class MeshBuilder:
    """Collects triangles with colours (and optional UVs) and emits one GeomNode."""

    def __init__(self, name: str, textured: bool = False) -> None:
        self.name = name
        self.textured = textured
        self.verts: list[tuple[float, float, float]] = []
        self.colors: list[tuple[float, float, float, float]] = []
        self.uvs: list[tuple[float, float]] = []
        self.tris: list[tuple[int, int, int]] = []

    def quad(
        self,
        p: Sequence[Sequence[float]],
        color: Color,
        uv: Sequence[tuple[float, float]] | None = None,
    ) -> None:
        """Counter-clockwise quad seen from the front."""
        base = len(self.verts)
        col = _shade(color, 1.0)
        for k in range(4):
            self.verts.append((float(p[k][0]), float(p[k][1]), float(p[k][2])))
            self.colors.append(col)
            self.uvs.append(uv[k] if uv else (0.0, 0.0))
        self.tris += [(base, base + 1, base + 2), (base, base + 2, base + 3)]

    def box(
        self,
        x0: float,
        y0: float,
        z0: float,
        x1: float,
        y1: float,
        z1: float,
        color: Color,
        *,
        faces: str = "tb+x-x+y-y",
    ) -> None:
        if "t" in faces:
            self.quad([(x0, y0, z1), (x1, y0, z1), (x1, y1, z1), (x0, y1, z1)], _shade(color, SHADE["top"]))
        if "b" in faces:
            self.quad([(x0, y1, z0), (x1, y1, z0), (x1, y0, z0), (x0, y0, z0)], _shade(color, SHADE["bottom"]))
        if "-y" in faces:
            self.quad([(x0, y0, z0), (x1, y0, z0), (x1, y0, z1), (x0, y0, z1)], _shade(color, SHADE["-y"]))
        if "+y" in faces:
            self.quad([(x1, y1, z0), (x0, y1, z0), (x0, y1, z1), (x1, y1, z1)], _shade(color, SHADE["+y"]))
        if "+x" in faces:
            self.quad([(x1, y0, z0), (x1, y1, z0), (x1, y1, z1), (x1, y0, z1)], _shade(color, SHADE["+x"]))
        if "-x" in faces:
            self.quad([(x0, y1, z0), (x0, y0, z0), (x0, y0, z1), (x0, y1, z1)], _shade(color, SHADE["-x"]))

    def cbox(self, cx: float, cy: float, z0: float, sx: float, sy: float, sz: float, color: Color) -> None:
        self.box(cx - sx / 2, cy - sy / 2, z0, cx + sx / 2, cy + sy / 2, z0 + sz, color)

    def cylinder(self, cx: float, cy: float, z0: float, r: float, h: float, color: Color, seg: int = 10) -> None:
        top = z0 + h
        for k in range(seg):
            a0 = 2 * math.pi * k / seg
            a1 = 2 * math.pi * (k + 1) / seg
            p0 = (cx + r * math.cos(a0), cy + r * math.sin(a0))
            p1 = (cx + r * math.cos(a1), cy + r * math.sin(a1))
            f = 0.75 + 0.25 * max(0.0, math.cos((a0 + a1) / 2 + math.pi / 4))
            self.quad(
                [(p0[0], p0[1], z0), (p1[0], p1[1], z0), (p1[0], p1[1], top), (p0[0], p0[1], top)], _shade(color, f)
            )
            base = len(self.verts)
            for q in ((cx, cy, top), p0 + (top,), p1 + (top,)):
                self.verts.append((float(q[0]), float(q[1]), float(q[2])))
                self.colors.append(_shade(color, 1.0))
                self.uvs.append((0.0, 0.0))
            self.tris.append((base, base + 1, base + 2))

    def sphere(self, cx: float, cy: float, cz: float, r: float, color: Color, seg: int = 8, rings: int = 5) -> None:
        def pt(i: int, j: int) -> tuple[float, float, float]:
            th = math.pi * j / rings
            ph = 2 * math.pi * i / seg
            return (cx + r * math.sin(th) * math.cos(ph), cy + r * math.sin(th) * math.sin(ph), cz + r * math.cos(th))

        for j in range(rings):
            for i in range(seg):
                a, b, c, d = pt(i, j + 1), pt(i + 1, j + 1), pt(i + 1, j), pt(i, j)
                f = 0.7 + 0.3 * (1 - j / rings)
                self.quad([a, b, c, d], _shade(color, f))

    def polygon(self, p: Sequence[Sequence[float]], color: Color) -> None:
        """A convex polygon, counter-clockwise seen from the front (a triangle fan from its first point)."""
        base = len(self.verts)
        col = _shade(color, 1.0)
        for q in p:
            self.verts.append((float(q[0]), float(q[1]), float(q[2])))
            self.colors.append(col)
            self.uvs.append((0.0, 0.0))
        self.tris += [(base, base + k, base + k + 1) for k in range(1, len(p) - 1)]

    def node(self) -> Any:
        from panda3d.core import Geom, GeomNode, GeomTriangles, GeomVertexData, GeomVertexFormat, GeomVertexWriter

        fmt = GeomVertexFormat.get_v3c4t2() if self.textured else GeomVertexFormat.get_v3c4()
        vdata = GeomVertexData(self.name, fmt, Geom.UH_static)
        vdata.unclean_set_num_rows(len(self.verts))
        vw = GeomVertexWriter(vdata, "vertex")
        cw = GeomVertexWriter(vdata, "color")
        tw = GeomVertexWriter(vdata, "texcoord") if self.textured else None
        for k, v in enumerate(self.verts):
            vw.set_data3f(*v)
            cw.set_data4f(*self.colors[k])
            if tw is not None:
                tw.set_data2f(*self.uvs[k])
        prim = GeomTriangles(Geom.UH_static)
        if len(self.verts) > 65535:
            prim.set_index_type(Geom.NT_uint32)
        for a, b, c in self.tris:
            prim.add_vertices(a, b, c)
        geom = Geom(vdata)
        geom.add_primitive(prim)
        gn = GeomNode(self.name)
        gn.add_geom(geom)
        return gn


__all__ = ["MeshBuilder", "SHADE"]
