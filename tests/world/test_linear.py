"""The PBR tier gets linear colours (no washed-out hall), and the baked tier gets its originals back."""

from __future__ import annotations

from typing import Any

import pytest

from world.geom import MeshBuilder
from world.linear import GAMMA, LinearColours, to_linear

pytest.importorskip("panda3d")


def _colours(np_: Any) -> list[tuple[float, ...]]:
    from panda3d.core import GeomVertexReader

    out = []
    for gn in [np_, *np_.find_all_matches("**/+GeomNode")]:
        node = gn.node()
        if not hasattr(node, "get_num_geoms"):
            continue
        for i in range(node.get_num_geoms()):
            r = GeomVertexReader(node.get_geom(i).get_vertex_data(), "color")
            while not r.is_at_end():
                out.append(tuple(round(v, 3) for v in r.get_data4()))
    return out


def _hall_piece() -> Any:
    from panda3d.core import NodePath

    m = MeshBuilder("piece")
    m.quad([(0, 0, 0), (1, 0, 0), (1, 0, 1), (0, 0, 1)], (0.5, 0.25, 1.0, 0.8))
    root = NodePath("root")
    root.attach_new_node(m.node())
    return root


def test_display_colours_become_linear_and_come_back() -> None:
    root = _hall_piece()
    before = _colours(root)
    lin = LinearColours()
    lin.apply(root)
    after = _colours(root)
    assert after[0] == pytest.approx((0.5**GAMMA, 0.25**GAMMA, 1.0, 0.8), abs=0.01)  # alpha untouched
    lin.apply(root)  # a subtree passed twice is converted once
    assert _colours(root) == after
    lin.restore()
    assert _colours(root) == before


def test_flat_colours_tints_and_textures_are_converted() -> None:
    from panda3d.core import ColorAttrib, ColorScaleAttrib, Texture

    root = _hall_piece()
    child = root.attach_new_node("tinted")
    child.set_color(0.5, 0.5, 0.5, 1)
    child.set_color_scale(0.2, 0.4, 1.0, 1)
    tex = Texture("batik")
    tex.setup_2d_texture(4, 4, Texture.T_unsigned_byte, Texture.F_rgba)
    root.set_texture(tex)
    lin = LinearColours()
    lin.apply(root)
    assert child.get_attrib(ColorAttrib).get_color()[0] == pytest.approx(0.5**GAMMA, abs=1e-3)
    assert child.get_attrib(ColorScaleAttrib).get_scale()[1] == pytest.approx(0.4**GAMMA, abs=1e-3)
    assert tex.get_format() == Texture.F_srgb_alpha
    lin.restore()
    assert child.get_attrib(ColorAttrib).get_color()[0] == pytest.approx(0.5, abs=1e-3)
    assert child.get_attrib(ColorScaleAttrib).get_scale()[1] == pytest.approx(0.4, abs=1e-3)
    assert tex.get_format() == Texture.F_rgba


def test_packed_byte_colours_are_converted_too() -> None:
    from panda3d.core import Geom, GeomNode, GeomTriangles, GeomVertexData, GeomVertexFormat, GeomVertexWriter, NodePath

    vdata = GeomVertexData("v", GeomVertexFormat.get_v3cp(), Geom.UH_static)  # packed 8-bit BGRA
    vdata.set_num_rows(3)
    pw, cw = GeomVertexWriter(vdata, "vertex"), GeomVertexWriter(vdata, "color")
    for k in range(3):
        pw.add_data3(k, 0, 0)
        cw.add_data4(0.5, 0.2, 0.9, 1.0)
    tris = GeomTriangles(Geom.UH_static)
    tris.add_vertices(0, 1, 2)
    geom = Geom(vdata)
    geom.add_primitive(tris)
    gn = GeomNode("packed")
    gn.add_geom(geom)
    root = NodePath(gn)
    LinearColours().apply(root)
    got = _colours(root)[0]
    assert got[:3] == pytest.approx((to_linear(0.5), to_linear(0.2), to_linear(0.9)), abs=0.01)
    assert got[3] == pytest.approx(1.0)


def test_to_linear_clamps_and_keeps_overbright_scales() -> None:
    assert to_linear(-0.2) == 0.0
    assert to_linear(0.5) == pytest.approx(0.2176, abs=1e-3)
    assert to_linear(1.5) == 1.5  # a light's strength, not a colour
