"""sRGB-authored colours made linear for the PBR tier, and put back for the baked tier.

The hall, its figures and its textures are authored as display (sRGB) colours, which is what the
baked tier draws directly. simplepbr lights in linear space and gamma-encodes at the end, so the
same values fed to it come out washed out (a mid grey 0.5 is drawn as 0.73). On switching to the
high tier every vertex colour, flat colour and colour scale under a node is raised to the power
2.2 and every colour texture is marked sRGB (decoded on sampling); switching back restores the
exact originals. A plain power law (not the piecewise sRGB curve) keeps products exact:
(a*b)^2.2 = a^2.2 * b^2.2, so a tint times a vertex colour converts to the same result either way.
"""

from __future__ import annotations

from typing import Any

GAMMA = 2.2
TAG = "mpp-linear"


def to_linear(c: float) -> float:
    """One display-space channel in [0, 1] as linear light."""
    return float(max(0.0, min(1.0, c)) ** GAMMA) if c < 1.0 else float(c)


def _linear_geom(geom: Any) -> Any | None:
    """A copy of ``geom`` with linear vertex colours, or None when it has no colour column."""
    import numpy as np
    from panda3d.core import GeomEnums

    vdata = geom.get_vertex_data()
    fmt = vdata.get_format()
    col = fmt.get_column("color")
    if col is None:
        return None
    copy: Any = geom.make_copy()
    vd = copy.modify_vertex_data()
    arr_index = fmt.get_array_with("color")
    array = vd.modify_array(arr_index)
    stride = fmt.get_array(arr_index).get_stride()
    rows = array.get_num_rows()
    if rows == 0:
        return copy
    start = col.get_start()
    buf = np.frombuffer(memoryview(array).cast("B"), dtype=np.uint8)[: rows * stride].reshape(rows, stride)
    ctype = col.get_numeric_type()
    if ctype == GeomEnums.NT_float32:
        vals = buf[:, start : start + 12].copy().view(np.float32)
        vals[:] = np.clip(vals, 0.0, 1.0) ** GAMMA
        buf[:, start : start + 12] = vals.view(np.uint8)
    elif ctype in (GeomEnums.NT_uint8, GeomEnums.NT_packed_dabc):
        # 8-bit channels (BGRA when packed): alpha is the 4th byte either way, colour the other three
        rgb = slice(start, start + 3)
        lut = np.round((np.arange(256) / 255.0) ** GAMMA * 255.0).astype(np.uint8)
        buf[:, rgb] = lut[buf[:, rgb]]
    else:
        return None
    return copy


class LinearColours:
    """Converts the colours under some nodes to linear light and remembers how to undo it."""

    def __init__(self) -> None:
        self._geoms: list[tuple[Any, int, Any]] = []
        self._states: list[tuple[Any, Any]] = []
        self._textures: list[tuple[Any, int]] = []
        self._seen_tex: set[int] = set()
        self._done: list[Any] = []  # nodes tagged as converted (a subtree may be passed twice)

    @property
    def active(self) -> bool:
        return bool(self._geoms or self._states or self._textures)

    def apply(self, root: Any) -> None:
        """Everything under ``root`` (a NodePath) becomes linear; safe to call on new subtrees later."""
        from panda3d.core import GeomNode, Texture

        if root is None or root.is_empty():
            return
        for np_ in [root, *root.find_all_matches("**")]:
            if np_.has_tag(TAG):
                continue
            np_.set_tag(TAG, "1")
            self._done.append(np_)
            self._state(np_)
            node = np_.node()
            if isinstance(node, GeomNode):
                for i in range(node.get_num_geoms()):
                    orig = node.get_geom(i)
                    conv = _linear_geom(orig)
                    if conv is not None:
                        node.set_geom(i, conv)
                        self._geoms.append((node, i, orig.make_copy()))  # shares the data (copy on write)
                    self._state_geom(node, i)
        for tex in root.find_all_textures():
            key = hash(tex)
            fmt = tex.get_format()
            srgb = {
                Texture.F_rgb: Texture.F_srgb,
                Texture.F_rgb8: Texture.F_srgb,
                Texture.F_rgba: Texture.F_srgb_alpha,
                Texture.F_rgba8: Texture.F_srgb_alpha,
            }.get(fmt)
            if srgb is None or key in self._seen_tex:
                continue
            self._seen_tex.add(key)
            tex.set_format(srgb)
            self._textures.append((tex, fmt))

    def _state(self, np_: Any) -> None:
        from panda3d.core import ColorAttrib, ColorScaleAttrib

        state = np_.get_state()
        new = state
        ca = state.get_attrib(ColorAttrib)
        if ca is not None and ca.get_color_type() == ColorAttrib.T_flat:
            new = new.set_attrib(ColorAttrib.make_flat(_lin4(ca.get_color())))
        cs = state.get_attrib(ColorScaleAttrib)
        if cs is not None and cs.has_scale():
            new = new.set_attrib(cs.set_scale(_lin4(cs.get_scale())))
        if new != state:
            self._states.append((np_, state))
            np_.set_state(new)

    def _state_geom(self, node: Any, i: int) -> None:
        from panda3d.core import ColorAttrib

        state = node.get_geom_state(i)
        ca = state.get_attrib(ColorAttrib)
        if ca is not None and ca.get_color_type() == ColorAttrib.T_flat:
            node.set_geom_state(i, state.set_attrib(ColorAttrib.make_flat(_lin4(ca.get_color()))))
            self._states.append((_GeomState(node, i), state))

    def restore(self) -> None:
        """Every converted colour and texture back to what it was."""
        for node, i, orig in reversed(self._geoms):
            if i < node.get_num_geoms():
                node.set_geom(i, orig)
        for holder, state in reversed(self._states):
            if not holder.is_empty():
                holder.set_state(state)
        for tex, fmt in self._textures:
            tex.set_format(fmt)
        self._geoms.clear()
        self._states.clear()
        self._textures.clear()
        self._seen_tex.clear()
        for np_ in self._done:
            if not np_.is_empty():
                np_.clear_tag(TAG)
        self._done.clear()


class _GeomState:
    """A geom's own render state, restorable like a NodePath's."""

    def __init__(self, node: Any, index: int) -> None:
        self.node = node
        self.index = index

    def is_empty(self) -> bool:
        return self.index >= self.node.get_num_geoms()

    def set_state(self, state: Any) -> None:
        self.node.set_geom_state(self.index, state)


def _lin4(c: Any) -> Any:
    from panda3d.core import LColor

    return LColor(to_linear(c[0]), to_linear(c[1]), to_linear(c[2]), c[3])


__all__ = ["GAMMA", "LinearColours", "to_linear"]
