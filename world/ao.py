"""Baked ambient occlusion: soft contact darkening where the hall's surfaces meet.

Real AO (or SSAO) costs a depth pass and a blur per frame, which llvmpipe cannot afford. The
hall's occluders are few and known from the layout (walls, pillars, desks, benches, planters),
so the occlusion they cast is built once as geometry: gradient strips on the floor along every
contact line and up the foot of every wall and pillar, dark at the contact and clear a little
way off, drawn with *multiply* blending (the surface under the strip keeps its colour and
texture and is only darkened). Every figure stands on a soft round contact shadow.

Both tiers use it: the baked tier draws it directly; on the PBR tier it multiplies the linear
light before tonemapping (its colours are made linear with the rest of the scene).
"""

from __future__ import annotations

import math
from typing import Any

from world.geom import MeshBuilder

Z_FLOOR = 0.016  # above the floor and its inlays (0.013), below the entrance mat (0.02)
FLOOR_REACH = 0.75  # metres the darkening reaches across the floor from a wall
WALL_REACH = 0.9  # and up a wall
WALL_DARK = 0.5  # brightness right at the contact line (1 = no darkening)
BLOB_RADIUS = 0.45
BLOB_DARK = 0.35
BIN_SORT = 25  # after the opaque bin (20), before the transparent one (30)


class OcclusionBuilder:
    """Collects occlusion strips; :meth:`node` gives one multiply-blended batch."""

    def __init__(self, name: str = "ambient-occlusion") -> None:
        self.m = MeshBuilder(name)

    def _quad(self, pts: list[tuple[float, float, float]], shades: list[float]) -> None:
        m = self.m
        base = len(m.verts)
        for p, s in zip(pts, shades, strict=True):
            m.verts.append(p)
            m.colors.append((s, s, s, 1.0))
            m.uvs.append((0.0, 0.0))
        m.tris += [(base, base + 1, base + 2), (base, base + 2, base + 3)]

    def floor_edge(self, a: tuple[float, float], b: tuple[float, float], reach: float, dark: float) -> None:
        """A strip on the floor along the contact line a→b, fading out to the left of it (seen from above)."""
        dx, dy = b[0] - a[0], b[1] - a[1]
        d = math.hypot(dx, dy)
        if d < 1e-6:
            return
        nx, ny = -dy / d * reach, dx / d * reach  # left normal
        z = Z_FLOOR
        self._quad(
            [(a[0], a[1], z), (b[0], b[1], z), (b[0] + nx, b[1] + ny, z), (a[0] + nx, a[1] + ny, z)],
            [dark, dark, 1.0, 1.0],
        )

    def floor_corner(self, c: tuple[float, float], u: tuple[float, float], v: tuple[float, float], dark: float) -> None:
        """The outside corner of a footprint at ``c``: a quad c, c+u, c+u+v, c+v, dark only at ``c``."""
        z = Z_FLOOR
        pts = [(c[0], c[1], z), (c[0] + u[0], c[1] + u[1], z), (c[0] + u[0] + v[0], c[1] + u[1] + v[1], z)]
        pts.append((c[0] + v[0], c[1] + v[1], z))
        if (u[0] * v[1] - u[1] * v[0]) < 0:  # keep it counter-clockwise seen from above
            pts = [pts[0], pts[3], pts[2], pts[1]]
        self._quad(pts, [dark, 1.0, 1.0, 1.0])

    def footprint(self, x0: float, y0: float, x1: float, y1: float, reach: float = 0.5, dark: float = 0.5) -> None:
        """Around a box standing on the floor: four edges and four rounded-off corners."""
        self.floor_edge((x1, y0), (x0, y0), reach, dark)  # south side, fading south
        self.floor_edge((x0, y1), (x1, y1), reach, dark)  # north
        self.floor_edge((x1, y1), (x1, y0), reach, dark)  # east
        self.floor_edge((x0, y0), (x0, y1), reach, dark)  # west
        r = reach
        self.floor_corner((x0, y0), (-r, 0), (0, -r), dark)
        self.floor_corner((x1, y0), (r, 0), (0, -r), dark)
        self.floor_corner((x1, y1), (r, 0), (0, r), dark)
        self.floor_corner((x0, y1), (-r, 0), (0, r), dark)

    def wall_foot(
        self, a: tuple[float, float], b: tuple[float, float], height: float = WALL_REACH, dark: float = WALL_DARK
    ) -> None:
        """Up a vertical face whose bottom edge runs a→b (the face looks to the left of a→b)."""
        dx, dy = b[0] - a[0], b[1] - a[1]
        d = math.hypot(dx, dy)
        if d < 1e-6:
            return
        off = 0.012
        ox, oy = -dy / d * off, dx / d * off
        a2, b2 = (a[0] + ox, a[1] + oy), (b[0] + ox, b[1] + oy)
        # counter-clockwise seen from the side the face looks to: b→a along the bottom, then up
        self._quad(
            [(b2[0], b2[1], 0.0), (a2[0], a2[1], 0.0), (a2[0], a2[1], height), (b2[0], b2[1], height)],
            [dark, dark, 1.0, 1.0],
        )

    def pillar(self, x0: float, y0: float, x1: float, y1: float, dark: float = WALL_DARK) -> None:
        """A box standing on the floor, seen from every side: its foot and the floor around it."""
        self.footprint(x0, y0, x1, y1, reach=FLOOR_REACH, dark=dark)
        for a, b in (((x0, y0), (x1, y0)), ((x1, y0), (x1, y1)), ((x1, y1), (x0, y1)), ((x0, y1), (x0, y0))):
            # the faces look outwards: to the right of a counter-clockwise walk, so walk it reversed
            self.wall_foot(b, a, height=0.5, dark=dark + 0.08)

    def room(self, x0: float, y0: float, x1: float, y1: float, skip: list[tuple[float, float]] | None = None) -> None:
        """Inside the walls: floor strips and wall feet all round, but for ``skip`` (x ranges of the south wall)."""
        gaps = sorted(skip or [])
        south: list[tuple[float, float]] = []
        cur = x0
        for g0, g1 in gaps:
            south.append((cur, g0))
            cur = g1
        south.append((cur, x1))
        for s0, s1 in south:
            if s1 - s0 > 1e-3:
                self.floor_edge((s0, y0), (s1, y0), FLOOR_REACH, WALL_DARK)
                self.wall_foot((s0, y0), (s1, y0))
        for a, b in (((x1, y0), (x1, y1)), ((x1, y1), (x0, y1)), ((x0, y1), (x0, y0))):
            self.floor_edge(a, b, FLOOR_REACH, WALL_DARK)
            self.wall_foot(a, b)

    def node(self) -> Any:
        from panda3d.core import NodePath

        np_ = NodePath(self.m.node())
        style(np_)
        return np_


def style(np_: Any) -> None:
    """Multiply blending, drawn after the opaque surfaces it darkens, never lit or shaded."""
    from panda3d.core import ColorBlendAttrib, CullBinEnums, CullBinManager

    bins = CullBinManager.get_global_ptr()
    if bins.find_bin("mpp-ao") < 0:
        bins.add_bin("mpp-ao", CullBinEnums.BT_unsorted, BIN_SORT)
    cba = ColorBlendAttrib
    np_.set_attrib(cba.make(cba.M_add, cba.O_fbuffer_color, cba.O_zero))  # framebuffer x incoming
    np_.set_bin("mpp-ao", 0)
    np_.set_depth_write(False)
    np_.set_light_off(10)
    np_.set_shader_off(10)
    np_.set_material_off(10)
    np_.set_texture_off(10)


_BLOB: Any = None


def contact_shadow(parent: Any) -> Any:
    """A soft round shadow under a standing figure (one shared geometry, instanced)."""
    global _BLOB
    if _BLOB is None:
        from panda3d.core import NodePath

        m = MeshBuilder("contact-shadow")
        seg = 12
        r = BLOB_RADIUS
        for i in range(seg):
            a0, a1 = 2 * math.pi * i / seg, 2 * math.pi * (i + 1) / seg
            base = len(m.verts)
            m.verts += [(0.0, 0.0, Z_FLOOR + 0.002), (r * math.cos(a0), r * math.sin(a0), Z_FLOOR + 0.002)]
            m.verts.append((r * math.cos(a1), r * math.sin(a1), Z_FLOOR + 0.002))
            m.colors += [(BLOB_DARK, BLOB_DARK, BLOB_DARK, 1.0), (1.0, 1.0, 1.0, 1.0), (1.0, 1.0, 1.0, 1.0)]
            m.uvs += [(0.0, 0.0)] * 3
            m.tris.append((base, base + 1, base + 2))
        _BLOB = NodePath(m.node())
        style(_BLOB)
    return _BLOB.instance_to(parent)


class ShadowBatch:
    """The contact shadows of a whole crowd as one geometry, its positions rewritten each frame.

    One multiply-blended draw instead of one per figure: with 100 visitors the separate shadows
    cost llvmpipe ~14 ms of CPU a frame (measured: ~7 ms on the main thread, ~8 ms in its
    rasteriser threads), the batch well under one. Same disc, colours and blending as
    :func:`contact_shadow`; unused slots collapse to one point (no pixels).
    """

    SEGMENTS = 12
    STEP = 32  # slots grow in steps, so a visitor joining rarely rebuilds the geometry

    def __init__(self, parent: Any) -> None:
        import numpy as np
        from panda3d.core import GeomNode

        self.node = GeomNode("contact-shadows")
        self.np = parent.attach_new_node(self.node)
        style(self.np)
        seg, r = self.SEGMENTS, BLOB_RADIUS
        ring = []
        for i in range(seg):
            a0, a1 = 2 * math.pi * i / seg, 2 * math.pi * (i + 1) / seg
            ring += [(0.0, 0.0), (r * math.cos(a0), r * math.sin(a0)), (r * math.cos(a1), r * math.sin(a1))]
        self._ring = np.array(ring, dtype=np.float32)  # (36, 2): one disc, as in contact_shadow
        self.count = 0

    @property
    def capacity(self) -> int:
        if self.node.get_num_geoms() == 0:
            return 0
        return int(self.node.get_geom(0).get_vertex_data().get_num_rows()) // len(self._ring)

    def _build(self, slots: int) -> None:
        from panda3d.core import Geom, GeomTriangles, GeomVertexData, GeomVertexFormat, GeomVertexWriter

        per = len(self._ring)
        vdata = GeomVertexData("contact-shadows", GeomVertexFormat.get_v3c4(), Geom.UH_dynamic)
        vdata.set_num_rows(slots * per)
        colour = GeomVertexWriter(vdata, "color")
        for _ in range(slots):
            for k in range(per):
                c = BLOB_DARK if k % 3 == 0 else 1.0
                colour.add_data4(c, c, c, 1.0)
        tris = GeomTriangles(Geom.UH_static)
        tris.add_next_vertices(slots * per)
        geom = Geom(vdata)
        geom.add_primitive(tris)
        self.node.remove_all_geoms()
        self.node.add_geom(geom)

    def update(self, xy: list[tuple[float, float]]) -> bool:
        """Discs under these floor positions; True when the geometry had to be rebuilt (more slots)."""
        import numpy as np

        n = len(xy)
        rebuilt = False
        if n > self.capacity:
            self._build((n // self.STEP + 1) * self.STEP)
            rebuilt = True
        slots = self.capacity
        self.count = n
        if slots == 0:
            return rebuilt
        per = len(self._ring)
        pos = np.zeros((slots, per, 3), dtype=np.float32)
        pos[:, :, 2] = -50.0  # unused slots: one point under the floor, nothing drawn
        if n:
            centres = np.asarray(xy, dtype=np.float32).reshape(n, 1, 2)
            pos[:n, :, :2] = centres + self._ring
            pos[:n, :, 2] = Z_FLOOR + 0.002
        array = self.node.modify_geom(0).modify_vertex_data().modify_array(0)
        stride = array.get_array_format().get_stride()
        buf = np.frombuffer(memoryview(array).cast("B"), dtype=np.uint8).reshape(slots * per, stride)
        buf[:, 0:12] = pos.reshape(slots * per, 3).view(np.uint8)  # v3c4: the position is the first 12 bytes
        return rebuilt

    def destroy(self) -> None:
        self.np.remove_node()


__all__ = ["OcclusionBuilder", "ShadowBatch", "contact_shadow", "style"]
