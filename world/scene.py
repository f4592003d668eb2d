"""Builds the hall from :class:`world.layout.HallLayout`: floor, walls, counters, signs, boards, lounge.

Static parts are flattened into a few batches; only the now-serving texts, the
board lists and the lounge screen textures change at run time.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from l10n import t
from world.charts import Bars, ChartPainter, bars_for
from world.geom import SHADE, MeshBuilder
from world.icons import draw_icon, icon_for
from world.layout import FACING_HEADING, FACING_NORMAL, TOTEM_GAP, TOTEM_WIDTH, CounterSpot, HallLayout, hex_color

WOOD = (0.78, 0.60, 0.42, 1)
# Banyuwangi: the regency's green and gold, the maroon of Gandrung and of Gajah Oling batik
OSING_MAROON = (0.48, 0.12, 0.12, 1)
OSING_GOLD = (0.88, 0.65, 0.15, 1)
OSING_GREEN = (0.04, 0.43, 0.31, 1)
OSING_WOOD = (0.55, 0.36, 0.21, 1)
OSING_WOOD_DARK = (0.33, 0.20, 0.12, 1)
WOOD_LIGHT = (0.93, 0.83, 0.68, 1)
DARK = (0.14, 0.17, 0.22, 1)
WHITE = (1, 1, 1, 1)
GREEN = (0.27, 0.55, 0.30, 1)
HAIR = (0.12, 0.10, 0.09, 1)
BOARD_COLUMNS = 4
SIGN_ICON_SIZE = 0.5  # metres: the agency icon in a counter sign's top right corner
SIGN_ICON_MARGIN = 0.1


def load_font(loader: Any, path: Path, ppu: int) -> Any:
    """A private copy of the cached font, so its pixel size can be set whatever else uses the file."""
    font = loader.load_font(str(path)).make_copy()
    font.set_pixels_per_unit(ppu)
    return font


def font_paths(assets: Path) -> tuple[Path, Path]:
    return assets / "fonts" / "DejaVuSans.ttf", assets / "fonts" / "DejaVuSans-Bold.ttf"


def _dataset_key(name: str) -> str:
    """Screens are addressed as ``village_progress`` or by API slug ``village-progress``."""
    return name.replace("_", "-")


class HallScene:
    """Owns the hall's node tree; ``set_board`` and ``set_dataset`` feed it live data.

    Built as ``HallScene(render, loader, catalog, layout, font_path=None)``; the older
    ``HallScene(render, loader, layout, assets)`` order is accepted too. Engine objects
    always come in as arguments (never from Panda's builtins), so tests and the bench can
    build a hall in any ShowBase.
    """

    def __init__(
        self,
        render: Any,
        loader: Any,
        catalog: Any = None,
        layout: Any = None,
        font_path: Path | str | None = None,
        *,
        lang: str = "id",
        assets: Path | None = None,
        lights: Any = None,
        labels: Any = None,
    ) -> None:
        from protocol.catalog import assets_dir

        if isinstance(catalog, HallLayout):  # older order: (layout, assets)
            catalog, layout, assets = None, catalog, (Path(layout) if layout is not None else assets)
        self.render = render
        self.loader = loader
        self.catalog = catalog
        self.assets = Path(assets) if assets is not None else assets_dir()
        if layout is None:
            from world.layout import load_layout

            layout = load_layout(catalog)
        self.layout: HallLayout = layout
        regular, bold = font_paths(self.assets)
        if font_path is not None:
            regular = Path(font_path)
            sibling = regular.with_name(regular.stem + "-Bold" + regular.suffix)
            bold = sibling if sibling.exists() else regular
        self.font_files = (regular, bold)
        self.lang = lang if lang in ("id", "en") else "id"
        self.root: Any = None
        self.labels: Any = None
        self.font: Any = None
        self.bold: Any = None
        self.counter_texts: dict[int, Any] = {}
        self.board_texts: list[Any] = []
        self.screen_nodes: dict[str, Any] = {}
        self.screen_stamp: dict[str, str] = {}
        self.payloads: dict[str, dict[str, Any] | None] = {}
        self.board_state: dict[int, tuple[str | None, int]] = {}
        self.sign_nodes: dict[int, Any] = {}
        self.painter: ChartPainter | None = None
        self.quality = "low"
        self.floor_tex: Any = None
        self.mip_textures: list[Any] = []  # the hall's tiled textures: their filter follows the tier
        self.figure_lights = lights
        self.label_layer = labels
        self.officers: dict[int, Any] = {}
        self._signs_registered: set[int] = set()
        self.number_nodes: dict[int, Any] = {}
        self.icon_nodes: dict[int, Any] = {}
        self.name_node: Any = None  # the hall's full name on the far wall

    # ------------------------------------------------------------------ lifecycle

    def build(self) -> HallScene:
        from panda3d.core import TransparencyAttrib

        regular, bold = self.font_files
        self.font = load_font(self.loader, regular, 56)
        self.bold = load_font(self.loader, bold, 56)
        self.painter = ChartPainter(regular, bold)
        self.root = self.render.attach_new_node("hall")
        static = self.root.attach_new_node("hall-static")
        self._shell(static)
        self._furniture(static)
        self._osing(static)
        static.flatten_strong()
        self._entrance()
        counters = self.root.attach_new_node("counters")
        for spot in self.layout.counters:
            self._counter(counters, spot)
            self._officer(spot)
        self._info_desk()
        self._boards()
        self._lounge()
        self._occlusion()
        self._build_labels()
        self.root.set_shader_off()
        self.root.set_light_off()
        self.root.find("**/lounge").set_transparency(TransparencyAttrib.M_none)
        for dataset in [s.dataset for s in self.layout.screens]:
            self.update_screen(dataset, None)
        return self

    def destroy(self) -> None:
        for fig in self.officers.values():
            fig.actor.cleanup()
        self.officers.clear()
        if self.root is not None:
            self.root.remove_node()
            self.root = None
        self.counter_texts.clear()
        self.board_texts.clear()
        self.screen_nodes.clear()
        self.screen_stamp.clear()
        self.sign_nodes.clear()
        self.mip_textures.clear()

    def set_quality(self, level: str) -> None:
        """``high`` (a real GPU) or ``low`` (software rendering): texture filtering follows."""
        self.quality = "high" if level == "high" else "low"
        if self.floor_tex is not None:
            self.floor_tex.set_anisotropic_degree(4 if self.quality == "high" else 1)
        for tex in self.mip_textures:
            tex.set_minfilter(self._mip_filter())

    def _mip_filter(self) -> Any:
        """Trilinear on the high tier; one mipmap level (bilinear) on the low one. On llvmpipe the
        second level cost ~12% of an empty hall's frame (14.9 vs 13.1 ms of CPU, same process,
        alternating) for a picture that differs in 0.2% of its pixels, none visibly."""
        from panda3d.core import SamplerState

        if self.quality == "high":
            return SamplerState.FT_linear_mipmap_linear
        return SamplerState.FT_linear_mipmap_nearest

    def _mipmapped(self, tex: Any) -> Any:
        tex.set_minfilter(self._mip_filter())
        if tex not in self.mip_textures:
            self.mip_textures.append(tex)
        return tex

    def set_lang(self, lang: str) -> None:
        """Re-label every sign, board and screen in ``lang`` (id or en)."""
        if lang not in ("id", "en") or lang == self.lang:
            return
        self.lang = lang
        if self.root is None:
            return
        self._build_labels()
        for dataset, payload in list(self.payloads.items()):
            self.screen_stamp.pop(dataset, None)
            self.update_screen(dataset, payload)

    def _build_labels(self) -> None:
        """All language-dependent text lives under one node so a language switch rebuilds only it."""
        from panda3d.core import TransparencyAttrib

        if self.labels is not None:
            self.labels.remove_node()
        self.counter_texts.clear()
        self.board_texts.clear()
        self.sign_nodes.clear()
        self.number_nodes.clear()
        self.icon_nodes.clear()
        self.labels = self.root.attach_new_node("labels")
        self.labels.set_transparency(TransparencyAttrib.M_alpha)
        self._entrance_labels()
        for spot in self.layout.counters:
            self._sign(spot)
        self._info_labels()
        self._board_labels()
        self._lounge_labels()
        self._refresh_boards()

    # ------------------------------------------------------------------ text helpers

    def text_width(self, s: str, *, bold: bool = False) -> float:
        """How wide ``s`` is set at scale 1 (metres at the scale :meth:`text` takes)."""
        from panda3d.core import TextNode

        tn = TextNode("measure")
        tn.set_font(self.bold if bold else self.font)
        return float(tn.calc_width(s))

    def text(
        self,
        parent: Any,
        s: str,
        *,
        pos: tuple[float, float, float],
        h: float = 0.0,
        scale: float = 0.3,
        color: tuple[float, ...] = WHITE,
        bold: bool = False,
        align: str = "center",
        wrap: float | None = None,
        dynamic: bool = False,
        name: str = "text",
    ) -> Any:
        """A text label; static ones become plain geometry (so they flatten), dynamic ones stay TextNodes."""
        from panda3d.core import TextNode

        tn = TextNode(name)
        tn.set_font(self.bold if bold else self.font)
        tn.set_text(s)
        tn.set_text_color(*color)
        tn.set_align({"center": TextNode.A_center, "left": TextNode.A_left, "right": TextNode.A_right}[align])
        if wrap:
            tn.set_wordwrap(wrap)
        np = parent.attach_new_node(tn if dynamic else tn.generate())
        np.set_pos(*pos)
        np.set_h(h)
        np.set_scale(scale)
        return np if not dynamic else (np, tn)

    # ------------------------------------------------------------------ shell

    def _shell(self, parent: Any) -> None:
        from panda3d.core import SamplerState, Texture

        lay, b = self.layout, self.layout.bounds
        c = lay.colors
        # floor: procedurally tiled texture
        floor = MeshBuilder("floor", textured=True)
        tiles_x = (b.xmax - b.xmin) / 1.5
        tiles_y = (b.ymax - b.ymin) / 1.5
        floor.quad(
            [(b.xmin, b.ymin, 0), (b.xmax, b.ymin, 0), (b.xmax, b.ymax, 0), (b.xmin, b.ymax, 0)],
            WHITE,
            [(0, 0), (tiles_x, 0), (tiles_x, tiles_y), (0, tiles_y)],
        )
        fnp = parent.attach_new_node(floor.node())
        tex = Texture("floor-tiles")
        tex.load(
            _tile_image(hex_color(c["floor_color"]), hex_color(c["floor_accent"]), self._texture_file("stone.png"))
        )
        tex.set_wrap_u(SamplerState.WM_repeat)
        tex.set_wrap_v(SamplerState.WM_repeat)
        self._mipmapped(tex)
        # anisotropic filtering cost llvmpipe 40 of its 51 ms per 720p frame: only on the high tier
        tex.set_anisotropic_degree(4 if self.quality == "high" else 1)
        self.floor_tex = tex
        fnp.set_texture(tex)
        m = MeshBuilder("shell")
        wall = hex_color(c["wall_color"])
        wain = hex_color(c["wainscot_color"])
        hgt = lay.height
        th = 0.3
        ex, _, ew = lay.entrance
        # north, east, west walls
        m.box(b.xmin - th, b.ymax, 0, b.xmax + th, b.ymax + th, hgt, wall)
        m.box(b.xmax, b.ymin - th, 0, b.xmax + th, b.ymax, hgt, wall)
        m.box(b.xmin - th, b.ymin - th, 0, b.xmin, b.ymax, hgt, wall)
        # south wall with the entrance gap and a glass door frame
        m.box(b.xmin, b.ymin - th, 0, ex - ew / 2, b.ymin, hgt, wall)
        m.box(ex + ew / 2, b.ymin - th, 0, b.xmax, b.ymin, hgt, wall)
        m.box(ex - ew / 2, b.ymin - th, 3.4, ex + ew / 2, b.ymin, hgt, wall)
        # tall windows along the south wall let daylight in
        for wx in range(int(b.xmin) + 4, int(b.xmax) - 3, 6):
            if abs(wx - ex) < ew / 2 + 3:
                continue
            m.quad(
                [
                    (wx - 1.6, b.ymin + 0.02, 1.4),
                    (wx + 1.6, b.ymin + 0.02, 1.4),
                    (wx + 1.6, b.ymin + 0.02, 5.2),
                    (wx - 1.6, b.ymin + 0.02, 5.2),
                ],
                (0.80, 0.92, 1.0, 1),
            )
            m.box(wx - 0.05, b.ymin, 1.4, wx + 0.05, b.ymin + 0.05, 5.2, (0.55, 0.55, 0.58, 1))
        # wainscot band and cornice
        for x0, y0, x1, y1 in (
            (b.xmin, b.ymax - 0.05, b.xmax, b.ymax),
            (b.xmax - 0.05, b.ymin, b.xmax, b.ymax),
            (b.xmin, b.ymin, b.xmin + 0.05, b.ymax),
            (b.xmin, b.ymin, ex - ew / 2, b.ymin + 0.05),
            (ex + ew / 2, b.ymin, b.xmax, b.ymin + 0.05),
        ):
            m.box(x0, y0, 0, x1, y1, 1.0, wain)
            m.box(x0, y0, 5.6, x1, y1, 5.8, wain)
        # ceiling with a long skylight over the central aisle, and light panels
        ceil = hex_color(c["ceiling_color"])
        m.quad([(b.xmin, b.ymax, hgt), (b.xmax, b.ymax, hgt), (b.xmax, b.ymin, hgt), (b.xmin, b.ymin, hgt)], ceil)
        sky = (0.78, 0.90, 1.0, 1)
        m.quad(
            [
                (-4, b.ymax - 6, hgt - 0.03),
                (4, b.ymax - 6, hgt - 0.03),
                (4, b.ymin + 6, hgt - 0.03),
                (-4, b.ymin + 6, hgt - 0.03),
            ],
            sky,
        )
        for yy in range(int(b.ymin) + 6, int(b.ymax) - 5, 3):
            m.box(-4, yy - 0.06, hgt - 0.3, 4, yy + 0.06, hgt - 0.03, (0.93, 0.90, 0.84, 1))
        light = hex_color(lay.light_color)
        for x, y, z in lay.lights:
            if abs(x) < 5:
                continue  # the skylight lights the aisle
            m.quad([(x - 1.2, y + 0.6, z), (x + 1.2, y + 0.6, z), (x + 1.2, y - 0.6, z), (x - 1.2, y - 0.6, z)], light)
        for px, py in lay.pillars:
            m.cbox(px, py, 0, 1.0, 1.0, hgt, (0.96, 0.92, 0.84, 1))
            m.cbox(px, py, 0, 1.1, 1.1, 1.0, wain)
        # entrance mat and the plaza outside
        m.quad(
            [
                (ex - 2.5, b.ymin, 0.02),
                (ex + 2.5, b.ymin, 0.02),
                (ex + 2.5, b.ymin + 3, 0.02),
                (ex - 2.5, b.ymin + 3, 0.02),
            ],
            (0.55, 0.18, 0.16, 1),
        )
        m.quad(
            [
                (b.xmin - 20, b.ymin - 40, -0.02),
                (b.xmax + 20, b.ymin - 40, -0.02),
                (b.xmax + 20, b.ymin - 0.3, -0.02),
                (b.xmin - 20, b.ymin - 0.3, -0.02),
            ],
            (0.74, 0.72, 0.68, 1),
        )
        m.quad(
            [
                (ex - 3, b.ymin - 40, -0.01),
                (ex + 3, b.ymin - 40, -0.01),
                (ex + 3, b.ymin - 0.3, -0.01),
                (ex - 3, b.ymin - 0.3, -0.01),
            ],
            (0.62, 0.36, 0.28, 1),
        )
        for side in (-1, 1):
            for k in range(4):
                m.cbox(side * 9 + side * k * 6, b.ymin - 4, 0, 1.2, 1.2, 0.5, (0.55, 0.5, 0.45, 1))
                m.sphere(side * 9 + side * k * 6, b.ymin - 4, 1.3, 0.9, GREEN)
        parent.attach_new_node(m.node())

    def _occlusion(self) -> None:
        """Baked ambient occlusion along walls, pillars, desks, benches and planters (world.ao)."""
        from world.ao import OcclusionBuilder

        lay, b = self.layout, self.layout.bounds
        ex, _, ew = lay.entrance
        ao = OcclusionBuilder()
        ao.room(b.xmin, b.ymin, b.xmax, b.ymax, skip=[(ex - ew / 2, ex + ew / 2)])
        for px, py in lay.pillars:
            ao.pillar(px - 0.55, py - 0.55, px + 0.55, py + 0.55)
        for spot in lay.counters:
            r = spot.footprint
            ao.footprint(r.xmin, r.ymin, r.xmax, r.ymax, reach=0.6, dark=0.45)
            # the partition behind the officer (local y from d/2 + 1.0 to d/2 + 1.15, 0.2 wider than the desk)
            nx, ny = FACING_NORMAL[spot.facing]
            back = spot.depth / 2 + 1.075
            cx, cy = spot.x - nx * back, spot.y - ny * back
            half_w, half_d = spot.width / 2 + 0.2, 0.075
            hx, hy = (half_w, half_d) if ny else (half_d, half_w)
            ao.footprint(cx - hx, cy - hy, cx + hx, cy + hy, reach=0.7, dark=0.45)
            # the visitor's stool in front of the desk (local x 0.6, y -d/2 - 0.75, 0.5 square)
            h = math.radians(spot.heading)
            lx, ly = 0.6, -spot.depth / 2 - 0.75
            sx, sy = spot.x + lx * math.cos(h) - ly * math.sin(h), spot.y + lx * math.sin(h) + ly * math.cos(h)
            ao.footprint(sx - 0.25, sy - 0.25, sx + 0.25, sy + 0.25, reach=0.3, dark=0.55)
        r = lay.info_desk_rect
        ao.footprint(r.xmin, r.ymin, r.xmax, r.ymax, reach=0.6, dark=0.45)
        for bench in lay.benches:
            f = bench.footprint
            ao.footprint(f.xmin, f.ymin, f.xmax, f.ymax, reach=0.45, dark=0.55)
        for px, py in lay.plants:
            ao.footprint(px - 0.35, py - 0.35, px + 0.35, py + 0.35, reach=0.45, dark=0.5)
        ao.node().reparent_to(self.root)

    def _entrance(self) -> None:
        """The arch over the door: the first thing a visitor sees, inside and out."""
        b = self.layout.bounds
        ex, _, ew = self.layout.entrance
        node = self.root.attach_new_node("entrance")
        m = MeshBuilder("entrance-arch")
        gold = (0.85, 0.62, 0.22, 1)
        red = (0.62, 0.16, 0.14, 1)
        for side in (-1, 1):
            x = ex + side * (ew / 2 + 0.35)
            m.cbox(x, b.ymin - 0.15, 0, 0.7, 1.6, 4.6, red)
            m.cbox(x, b.ymin - 0.15, 4.6, 0.9, 1.8, 0.25, gold)
        m.box(ex - ew / 2 - 0.8, b.ymin - 1.0, 3.5, ex + ew / 2 + 0.8, b.ymin + 0.7, 4.6, red)
        m.box(ex - ew / 2 - 0.9, b.ymin - 1.05, 4.6, ex + ew / 2 + 0.9, b.ymin + 0.75, 4.85, gold)
        m.box(ex - ew / 2 - 0.9, b.ymin - 1.05, 3.35, ex + ew / 2 + 0.9, b.ymin + 0.75, 3.5, gold)
        # glass doors, open
        glass = (0.72, 0.88, 0.98, 1)
        for side in (-1, 1):
            x0 = ex + side * ew / 2
            m.box(min(x0, x0 - side * 0.9), b.ymin - 0.25, 0, max(x0, x0 - side * 0.9), b.ymin - 0.2, 3.3, glass)
        node.attach_new_node(m.node())
        node.flatten_strong()

    def _entrance_labels(self) -> None:
        b = self.layout.bounds
        ex = self.layout.entrance[0]
        name = self.layout.name.get(self.lang)
        first, _, rest = name.partition(" Kabupaten ") if self.lang == "id" else name.rpartition(" Public ")
        top, bottom = (first, "Kabupaten " + rest) if self.lang == "id" else (first, "Public " + rest)
        cream = (1.0, 0.95, 0.82, 1)
        holder = self.labels.attach_new_node("entrance-sign")
        for y, h in ((b.ymin - 1.07, 0.0), (b.ymin + 0.77, 180.0)):  # outside, then inside
            self.text(holder, top, pos=(ex, y, 4.08), h=h, scale=0.42, bold=True, color=cream)
            self.text(holder, bottom, pos=(ex, y, 3.62), h=h, scale=0.3, bold=True, color=cream)
        self.text(
            holder,
            t("hall.entrance", self.lang),
            pos=(ex, b.ymin - 1.0, 5.1),
            scale=0.5,
            bold=True,
            color=(0.55, 0.25, 0.12, 1),
        )
        # on the far wall, between the counter signs and the hanging board's line of sight: the whole
        # name reads from the entrance (the start view; its own node, so tests can find it)
        wall_name = self.labels.attach_new_node("hall-name-far-wall")
        self.text(wall_name, name, pos=(0, b.ymax - 0.12, 5.1), scale=0.75, color=OSING_MAROON, bold=True)
        wall_name.flatten_strong()
        self.name_node = wall_name
        # the name board on the facade, in one line, gold on maroon: the first thing a visitor reads
        full = self.layout.name.get("id")
        self.text(holder, full, pos=(ex, b.ymin - 0.48, 9.0), scale=0.6, bold=True, color=(1.0, 0.84, 0.35, 1))
        holder.flatten_strong()

    def _furniture(self, parent: Any) -> None:
        m = MeshBuilder("furniture")
        for bench in self.layout.benches:
            col = hex_color(bench.color)
            fp = bench.footprint
            m.box(fp.xmin, fp.ymin, 0.42, fp.xmax, fp.ymax, 0.5, col)
            for lx in (fp.xmin + 0.1, fp.xmax - 0.2):
                m.box(lx, fp.ymin + 0.05, 0, lx + 0.1, fp.ymax - 0.05, 0.42, DARK)
            nx, ny = FACING_NORMAL[bench.facing]
            # backrest on the side away from where sitters look
            if ny:
                yb = fp.ymin if ny > 0 else fp.ymax - 0.08
                m.box(fp.xmin, yb, 0.5, fp.xmax, yb + 0.08, 0.95, col)
            else:
                xb = fp.xmin if nx > 0 else fp.xmax - 0.08
                m.box(xb, fp.ymin, 0.5, xb + 0.08, fp.ymax, 0.95, col)
        for px, py in self.layout.plants:
            m.cbox(px, py, 0, 0.7, 0.7, 0.6, (0.72, 0.45, 0.30, 1))
            m.sphere(px, py, 1.15, 0.55, GREEN)
            m.sphere(px + 0.2, py - 0.1, 1.55, 0.38, (0.35, 0.65, 0.35, 1))
        parent.attach_new_node(m.node())

    # ------------------------------------------------------------------ Banyuwangi's own architecture

    def _texture_file(self, name: str) -> Path:
        return self.assets / "hall" / "textures" / name

    def _texture(self, name: str) -> Any:
        from panda3d.core import Filename, SamplerState

        tex = self.loader.load_texture(Filename.from_os_specific(str(self._texture_file(name))))
        tex.set_wrap_u(SamplerState.WM_repeat)
        tex.set_wrap_v(SamplerState.WM_repeat)
        tex.set_magfilter(SamplerState.FT_linear)
        return self._mipmapped(tex)

    def _textured(self, parent: Any, m: MeshBuilder, texture: str) -> Any:
        np = parent.attach_new_node(m.node())
        np.set_texture(self._texture(texture))
        return np

    def _osing(self, parent: Any) -> None:
        """Osing forms and Gajah Oling batik: wood and batik wainscot, stone-and-wood pillars,
        timber rafters, batik inlays in the floor, and outside a tiered Osing roof over the
        entrance with the mall's full name on the facade."""
        lay, b = self.layout, self.layout.bounds
        hgt = lay.height
        ex, _, ew = lay.entrance
        wood = MeshBuilder("osing-wood", textured=True)
        frieze = MeshBuilder("osing-frieze", textured=True)
        inlay = MeshBuilder("osing-inlay", textured=True)
        stone = MeshBuilder("osing-stone", textured=True)
        solid = MeshBuilder("osing-solid")
        # wainscot in wood with a Gajah Oling frieze above it, on every wall (not across the door)
        runs = [
            ((b.xmin, b.ymax - 0.06), (b.xmax, b.ymax - 0.06)),
            ((b.xmax - 0.06, b.ymax), (b.xmax - 0.06, b.ymin)),
            ((b.xmin + 0.06, b.ymin), (b.xmin + 0.06, b.ymax)),
            ((ex + ew / 2, b.ymin + 0.06), (b.xmax, b.ymin + 0.06)),
            ((b.xmin, b.ymin + 0.06), (ex - ew / 2, b.ymin + 0.06)),
        ]
        for (x0, y0), (x1, y1) in runs:
            # face the room: quads are front-facing counter-clockwise from the inside
            cx, cy = (b.xmin + b.xmax) / 2, (b.ymin + b.ymax) / 2
            nx, ny = -(y1 - y0), x1 - x0
            if nx * (cx - x0) + ny * (cy - y0) < 0:
                (x0, y0), (x1, y1) = (x1, y1), (x0, y0)
            _tex_quad(wood, [(x0, y0, 0.0), (x1, y1, 0.0), (x1, y1, 1.0), (x0, y0, 1.0)], (1.2, 1.2), 0.9)
            _tex_quad(frieze, [(x0, y0, 1.02), (x1, y1, 1.02), (x1, y1, 1.5), (x0, y0, 1.5)], (0.96, 0.48), 0.95)
            solid.quad([(x0, y0, 1.5), (x1, y1, 1.5), (x1, y1, 1.56), (x0, y0, 1.56)], OSING_GOLD)
            solid.quad([(x0, y0, 0.96), (x1, y1, 0.96), (x1, y1, 1.02), (x0, y0, 1.02)], OSING_GOLD)
        # pillars: stone base, wood shaft, a carved gold-and-maroon capital
        for px, py in lay.pillars:
            for (ax, ay), (bx, by) in (
                ((px - 0.56, py - 0.56), (px + 0.56, py - 0.56)),
                ((px + 0.56, py - 0.56), (px + 0.56, py + 0.56)),
                ((px + 0.56, py + 0.56), (px - 0.56, py + 0.56)),
                ((px - 0.56, py + 0.56), (px - 0.56, py - 0.56)),
            ):
                _tex_quad(stone, [(ax, ay, 0.0), (bx, by, 0.0), (bx, by, 1.05), (ax, ay, 1.05)], (1.12, 1.05))
            for (ax, ay), (bx, by) in (
                ((px - 0.51, py - 0.51), (px + 0.51, py - 0.51)),
                ((px + 0.51, py - 0.51), (px + 0.51, py + 0.51)),
                ((px + 0.51, py + 0.51), (px - 0.51, py + 0.51)),
                ((px - 0.51, py + 0.51), (px - 0.51, py - 0.51)),
            ):
                _tex_quad(
                    wood, [(ax, ay, 1.05), (bx, by, 1.05), (bx, by, hgt - 0.9), (ax, ay, hgt - 0.9)], (1.0, 2.0), 0.95
                )
            solid.cbox(px, py, hgt - 0.9, 1.3, 1.3, 0.18, OSING_GOLD)
            solid.cbox(px, py, hgt - 0.72, 1.45, 1.45, 0.4, OSING_MAROON)
            solid.cbox(px, py, hgt - 0.32, 1.6, 1.6, 0.32, OSING_WOOD_DARK)
        # timber rafters across the ceiling, like the exposed roof frame of an Osing house
        for yy in range(int(b.ymin) + 3, int(b.ymax), 4):
            solid.box(b.xmin, yy - 0.12, hgt - 0.45, -4.2, yy + 0.12, hgt - 0.02, OSING_WOOD_DARK)
            solid.box(4.2, yy - 0.12, hgt - 0.45, b.xmax, yy + 0.12, hgt - 0.02, OSING_WOOD_DARK)
        for xx in (-4.2, 4.2):  # the skylight's frame: the ridge beams of a tikel balung roof
            solid.box(xx - 0.2, b.ymin + 5.5, hgt - 0.55, xx + 0.2, b.ymax - 5.5, hgt - 0.02, OSING_WOOD_DARK)
        # Gajah Oling inlays down the central aisle, framed in gold
        for y0 in (b.ymin + 4.0, b.ymin + 22.5, b.ymin + 35.5):
            x0, x1, y1 = ex - 1.6, ex + 1.6, y0 + 3.2
            solid.quad(
                [
                    (x0 - 0.12, y0 - 0.12, 0.011),
                    (x1 + 0.12, y0 - 0.12, 0.011),
                    (x1 + 0.12, y1 + 0.12, 0.011),
                    (x0 - 0.12, y1 + 0.12, 0.011),
                ],
                OSING_GOLD,
            )
            _tex_quad(inlay, [(x0, y0, 0.013), (x1, y0, 0.013), (x1, y1, 0.013), (x0, y1, 0.013)], (1.6, 1.6))
        # a Gajah Oling panel on the front of every counter desk and of the information desk
        panel = MeshBuilder("osing-desk-panels", textured=True)
        import math as _m

        fronts = [(s.x, s.y, s.heading, s.width, s.depth, 0.32, 0.88) for s in lay.counters]
        desk = lay.info_desk
        fronts.append((desk["x"], desk["y"], FACING_HEADING[desk["facing"]], desk["width"], desk["depth"], 0.12, 0.5))
        for cx, cy, heading, w, d, z0, z1 in fronts:
            rad = _m.radians(heading)
            c, sn = _m.cos(rad), _m.sin(rad)

            def at(
                lx: float, ly: float, z: float, cx: float = cx, cy: float = cy, c: float = c, sn: float = sn
            ) -> tuple[float, float, float]:
                return (cx + lx * c - ly * sn, cy + lx * sn + ly * c, z)

            fy = -d / 2 - 0.012
            _tex_quad(
                panel,
                [at(-w / 2 + 0.1, fy, z0), at(w / 2 - 0.1, fy, z0), at(w / 2 - 0.1, fy, z1), at(-w / 2 + 0.1, fy, z1)],
                (0.56, 0.56),
            )
        self._textured(parent, panel, "gajah-oling-cream.png")
        self._textured(parent, wood, "wood.png")
        self._textured(parent, frieze, "gajah-oling-maroon.png")
        self._textured(parent, inlay, "gajah-oling-green.png")
        self._textured(parent, stone, "stone.png")
        parent.attach_new_node(solid.node())
        self._facade(parent)

    def _facade(self, parent: Any) -> None:
        """Outside: the Osing roof (a steep upper roof over a flared lower one) on the whole hall and
        a tiered porch roof over the door, a timber fascia with Gajah Oling, and the name board."""
        b, hgt = self.layout.bounds, self.layout.height
        ex, _, ew = self.layout.entrance
        roof = MeshBuilder("osing-roof")
        tile, tile_dark = (0.55, 0.24, 0.16, 1), (0.42, 0.17, 0.12, 1)
        # the hall: lower flared hip roof from the eaves, then a steep upper hip roof to the ridge
        o = 1.6  # overhang
        x0, x1, y0, y1 = b.xmin - o, b.xmax + o, b.ymin - o, b.ymax + o
        mid = 3.5
        lx0, lx1, ly0, ly1 = x0 + 6, x1 - 6, y0 + 6, y1 - 6
        for poly, col in (
            ([(x0, y0, hgt), (x1, y0, hgt), (lx1, ly0, hgt + mid * 0.45), (lx0, ly0, hgt + mid * 0.45)], tile),
            ([(x1, y1, hgt), (x0, y1, hgt), (lx0, ly1, hgt + mid * 0.45), (lx1, ly1, hgt + mid * 0.45)], tile_dark),
            ([(x1, y0, hgt), (x1, y1, hgt), (lx1, ly1, hgt + mid * 0.45), (lx1, ly0, hgt + mid * 0.45)], tile_dark),
            ([(x0, y1, hgt), (x0, y0, hgt), (lx0, ly0, hgt + mid * 0.45), (lx0, ly1, hgt + mid * 0.45)], tile),
        ):
            roof.quad(poly, col)
        top = hgt + mid * 0.45
        rx0, rx1 = lx0 + 10, lx1 - 10
        ridge = top + 6.0
        cy = (ly0 + ly1) / 2
        roof.quad([(lx0, ly0, top), (lx1, ly0, top), (rx1, cy, ridge), (rx0, cy, ridge)], tile)
        roof.quad([(lx1, ly1, top), (lx0, ly1, top), (rx0, cy, ridge), (rx1, cy, ridge)], tile_dark)
        roof.quad([(lx1, ly0, top), (lx1, ly1, top), (rx1, cy, ridge), (rx1, cy, ridge)], tile_dark)
        roof.quad([(lx0, ly1, top), (lx0, ly0, top), (rx0, cy, ridge), (rx0, cy, ridge)], tile)
        roof.box(rx0 - 0.3, cy - 0.2, ridge, rx1 + 0.3, cy + 0.2, ridge + 0.35, OSING_WOOD_DARK)
        for rx in (rx0 - 0.3, rx1 + 0.3):  # crown ornaments at the ridge ends
            roof.cbox(rx, cy, ridge + 0.35, 0.5, 0.5, 0.9, OSING_GOLD)
        # the porch over the door: two tiers, the Osing baresan-like stepped roof
        py0, py1 = b.ymin - 4.6, b.ymin - 0.2
        for k, (z0, z1, half) in enumerate(((4.9, 6.1, ew / 2 + 3.2), (6.1, 8.3, ew / 2 + 1.6))):
            inset = 1.1 * (k + 1)
            roof.quad(
                [
                    (ex - half, py0, z0),
                    (ex + half, py0, z0),
                    (ex + half - inset, py0 + inset + 0.8, z1),
                    (ex - half + inset, py0 + inset + 0.8, z1),
                ],
                tile,
            )
            roof.quad(
                [
                    (ex + half, py0, z0),
                    (ex + half, py1, z0),
                    (ex + half - inset, py1, z1),
                    (ex + half - inset, py0 + inset + 0.8, z1),
                ],
                tile_dark,
            )
            roof.quad(
                [
                    (ex - half, py1, z0),
                    (ex - half, py0, z0),
                    (ex - half + inset, py0 + inset + 0.8, z1),
                    (ex - half + inset, py1, z1),
                ],
                tile,
            )
            roof.box(ex - half, py0 - 0.08, z0 - 0.22, ex + half, py0 + 0.06, z0, OSING_WOOD_DARK)
        roof.quad(
            [
                (ex - ew / 2 - 0.5, py0 + 3.0, 8.3),
                (ex + ew / 2 + 0.5, py0 + 3.0, 8.3),
                (ex + ew / 2 + 0.5, py1, 8.3),
                (ex - ew / 2 - 0.5, py1, 8.3),
            ],
            tile_dark,
        )
        for side in (-1, 1):  # timber posts of the porch on stone plinths
            for px in (ex + side * (ew / 2 + 2.6), ex + side * (ew / 2 + 0.9)):
                roof.cbox(px, py0 + 0.5, 0, 0.75, 0.75, 0.7, (0.62, 0.6, 0.56, 1))
                roof.cbox(px, py0 + 0.5, 0.7, 0.42, 0.42, 4.2, OSING_WOOD)
        roof_np = parent.attach_new_node(roof.node())
        roof_np.set_two_sided(True)  # seen from the plaza below as well as from above
        # fascia boards with Gajah Oling over the porch, and the name board on the facade
        fascia = MeshBuilder("osing-fascia", textured=True)
        half = ew / 2 + 3.2
        _tex_quad(
            fascia,
            [
                (ex - half, py0 - 0.09, 4.22),
                (ex + half, py0 - 0.09, 4.22),
                (ex + half, py0 - 0.09, 4.68),
                (ex - half, py0 - 0.09, 4.68),
            ],
            (0.92, 0.46),
        )
        self._textured(parent, fascia, "gajah-oling-maroon.png")
        board = MeshBuilder("name-board")
        board.box(ex - 8.6, b.ymin - 0.42, 8.55, ex + 8.6, b.ymin - 0.3, 9.85, OSING_GOLD)
        board.box(ex - 8.4, b.ymin - 0.46, 8.65, ex + 8.4, b.ymin - 0.42, 9.75, OSING_MAROON)
        parent.attach_new_node(board.node())

    # ------------------------------------------------------------------ counters

    def _counter(self, parent: Any, spot: CounterSpot) -> None:
        col = hex_color(spot.color)
        lay = self.layout
        holder = parent.attach_new_node(f"counter-{spot.number}")
        holder.set_pos(spot.x, spot.y, 0)
        holder.set_h(spot.heading)
        w, d, hh = spot.width, spot.depth, lay.counter_height
        m = MeshBuilder(f"counter-geom-{spot.number}")
        # local frame: visitors stand at -y
        m.box(-w / 2, -d / 2, 0, w / 2, d / 2, hh, col)
        m.box(-w / 2 - 0.05, -d / 2 - 0.08, hh, w / 2 + 0.05, d / 2, hh + 0.06, WOOD_LIGHT)
        m.box(-w / 2, -d / 2 - 0.01, 0.15, w / 2, -d / 2, 0.25, WOOD_LIGHT)
        # partition behind the officer, in a light tint of the agency colour
        m.box(-w / 2 - 0.2, d / 2 + 1.0, 0, w / 2 + 0.2, d / 2 + 1.15, 2.55, _mix(col, WHITE, 0.55))
        # monitor and a chair for the visitor
        m.box(-0.9, -0.1, hh + 0.06, -0.3, 0.0, hh + 0.5, DARK)
        m.cbox(0.6, -d / 2 - 0.75, 0, 0.5, 0.5, 0.45, _mix(col, DARK, 0.3))
        # sign board above: a framed panel in agency colour with a darker number block
        m.box(-w / 2 - 0.1, d / 2 + 0.95, 2.55, w / 2 + 0.1, d / 2 + 1.1, 4.85, _mix(col, DARK, 0.45))
        m.box(-w / 2, d / 2 + 0.9, 2.6, w / 2, d / 2 + 0.95, 4.75, col)
        m.box(-w / 2 + 0.08, d / 2 + 0.88, 2.68, -w / 2 + 1.15, d / 2 + 0.9, 4.67, _mix(col, DARK, 0.35))
        # the now-serving strip along the bottom of the sign
        m.box(-w / 2 + 1.25, d / 2 + 0.88, 2.68, w / 2 - 0.08, d / 2 + 0.9, 3.05, (0.06, 0.08, 0.12, 1))
        holder.attach_new_node(m.node())
        # floor stripe in agency colour marking the queue spot
        ax, ay = spot.approach
        stripe = MeshBuilder(f"stripe-{spot.number}")
        lx, ly = ax - spot.x, ay - spot.y
        stripe.quad(
            [
                (lx - 0.9, ly - 0.9, 0.015),
                (lx + 0.9, ly - 0.9, 0.015),
                (lx + 0.9, ly + 0.9, 0.015),
                (lx - 0.9, ly + 0.9, 0.015),
            ],
            _mix(col, WHITE, 0.35),
        )
        stripe_np = holder.attach_new_node(stripe.node())
        stripe_np.set_h(-spot.heading)
        holder.flatten_strong()

    def _officer(self, spot: CounterSpot) -> None:
        """The officer behind the desk: an animated figure in the agency's uniform colour."""
        from world.characters import OFFICER_KINDS, CharacterLibrary, Figure

        holder = self.root.attach_new_node(f"officer-at-{spot.number}")
        holder.set_pos(spot.x, spot.y, 0)
        holder.set_h(spot.heading)
        uniform = _mix(hex_color(spot.color), WHITE, 0.12)
        kind = OFFICER_KINDS[spot.number % len(OFFICER_KINDS)]
        fig = Figure(
            holder,
            CharacterLibrary(self.loader),
            kind,
            name=f"officer-{spot.number}",
            uniform=uniform,
            lights=self.figure_lights,
        )
        fig.root.set_pos(0, spot.depth / 2 + 0.45, 0.15)  # on the raised floor behind the desk
        fig.root.set_h(180)  # faces the visitors' side (-y in the counter's frame)
        if self.figure_lights is None:
            fig.actor.set_light_off(1)  # a bare scene has no figure lights: keep the vertex colours
        self.officers[spot.number] = fig
        if self.label_layer is not None:
            self.label_layer.add_person(f"officer-face-{spot.number}", fig.person(static=True))  # no tag may cover it

    def _sign(self, spot: CounterSpot) -> None:
        """Number, letter, agency and the services served here (straight from the catalogue)."""
        w, d = spot.width, spot.depth
        th = self.labels.attach_new_node(f"sign-{spot.number}")
        th.set_pos(spot.x, spot.y, 0)
        th.set_h(spot.heading)
        self.sign_nodes[spot.number] = th
        y_face = d / 2 + 0.86
        # the number on its own node (tests measure its height on screen from the approach point)
        num = self.labels.attach_new_node(f"counter-number-{spot.number}")
        num.set_pos(spot.x, spot.y, 0)
        num.set_h(spot.heading)
        self.text(num, str(spot.number), pos=(-w / 2 + 0.62, y_face, 3.72), scale=0.78, bold=True)
        num.flatten_strong()
        self.number_nodes[spot.number] = num
        self.text(th, spot.code, pos=(-w / 2 + 0.62, y_face, 2.95), scale=0.5, bold=True, color=(1, 0.92, 0.6, 1))
        # the agency's icon in the top right corner (vector shapes: sharp at any distance)
        icon_x = w / 2 - SIGN_ICON_MARGIN - SIGN_ICON_SIZE / 2
        panel = tuple(min(1.0, c * SHADE["-y"]) for c in hex_color(spot.color)[:3]) + (1.0,)
        mesh = MeshBuilder(f"agency-icon-{spot.number}")
        draw_icon(
            mesh, icon_for(spot.agency_id), cx=icon_x, y=d / 2 + 0.875, cz=4.44, size=SIGN_ICON_SIZE, fg=WHITE, bg=panel
        )
        icon = self.labels.attach_new_node(f"agency-icon-{spot.number}")
        icon.set_pos(spot.x, spot.y, 0)
        icon.set_h(spot.heading)
        icon.attach_new_node(mesh.node())
        icon.flatten_strong()
        self.icon_nodes[spot.number] = icon
        village = spot.kind == "village"
        title = t("hall.smart_kampung", self.lang) if village else spot.agency_short
        x0 = -w / 2 + 1.3
        # a long name ("BPJS Kesehatan") is set smaller to end before the icon, never past the sign
        room = icon_x - SIGN_ICON_SIZE / 2 - 0.1 - x0
        title_scale = min(0.36, room / max(1e-6, self.text_width(title, bold=True)))
        self.text(th, title, pos=(x0, y_face, 4.3), scale=title_scale, bold=True, align="left")
        full = spot.agency_name.get(self.lang)
        self.text(th, full, pos=(x0, y_face, 4.05), scale=0.13, align="left", wrap=21, color=(1, 1, 1, 0.9))
        services = [s.get(self.lang) for s in spot.services]
        if not services:
            services = [spot.label.get(self.lang).split("–")[-1].strip()]
        self.text(th, " · ".join(services), pos=(x0, y_face, 3.55), scale=0.2, align="left", wrap=13.5, bold=True)
        th.flatten_strong()  # bakes the sign's transform into its text geometry
        if self.label_layer is not None and spot.number not in self._signs_registered:
            self._signs_registered.add(spot.number)
            anchor = self.root.attach_new_node(f"sign-frame-{spot.number}")
            anchor.set_pos(spot.x, spot.y, 0)
            anchor.set_h(spot.heading)
            left, right, yf = -w / 2 - 0.1, w / 2 + 0.1, d / 2 + 0.88
            self.label_layer.add_sign(
                anchor, [(left, yf, 2.55), (right, yf, 2.55), (left, yf, 4.85), (right, yf, 4.85)]
            )
        board = self.labels.attach_new_node(f"board-{spot.number}")
        board.set_pos(spot.x, spot.y, 0)
        board.set_h(spot.heading)
        _, tn = self.text(
            board,
            self._serving_line(spot.number),
            pos=(x0 + 0.05, y_face - 0.01, 2.8),
            scale=0.15,
            align="left",
            dynamic=True,
            name=f"serving-{spot.number}",
            color=(1.0, 0.86, 0.35, 1),
        )
        self.counter_texts[spot.number] = tn

    def _info_desk(self) -> None:
        d = self.layout.info_desk
        col = hex_color(d["color"])
        holder = self.root.attach_new_node("info-desk")
        holder.set_pos(d["x"], d["y"], 0)
        holder.set_h(FACING_HEADING[d["facing"]])
        m = MeshBuilder("info-desk")
        w, dp = d["width"], d["depth"]
        m.box(-w / 2, -dp / 2, 0, w / 2, dp / 2, 1.05, WOOD)
        m.box(-w / 2 - 0.1, -dp / 2 - 0.1, 1.05, w / 2 + 0.1, dp / 2 + 0.05, 1.12, WOOD_LIGHT)
        m.box(-w / 2, -dp / 2 - 0.01, 0.55, w / 2, -dp / 2, 0.85, col)
        # tall totem with the "i" sign, beside the desk so it never hides the assistant
        m.box(w / 2 + TOTEM_GAP, -0.15, 0, w / 2 + TOTEM_GAP + TOTEM_WIDTH, 0.15, 4.2, col)
        holder.attach_new_node(m.node())
        holder.flatten_strong()
        if self.label_layer is not None:  # the "i" and the assistant's name on the totem
            x0, x1 = w / 2 + 0.6, w / 2 + 1.4
            self.label_layer.add_sign(holder, [(x0, -0.16, 2.5), (x1, -0.16, 2.5), (x0, -0.16, 4.2), (x1, -0.16, 4.2)])

    def _info_labels(self) -> None:
        d = self.layout.info_desk
        w, dp = d["width"], d["depth"]
        th = self.labels.attach_new_node("info-text")
        th.set_pos(d["x"], d["y"], 0)
        th.set_h(FACING_HEADING[d["facing"]])
        self.text(th, "i", pos=(w / 2 + 1.0, -0.17, 3.3), scale=0.9, bold=True)
        self.text(th, t("hall.info_desk", self.lang), pos=(0, -dp / 2 - 0.02, 0.62), scale=0.22, bold=True)
        self.text(th, t("hall.assistant_name", self.lang), pos=(w / 2 + 1.0, -0.17, 2.75), scale=0.15, bold=True)
        th.flatten_strong()

    def _boards(self) -> None:
        for i, board in enumerate(self.layout.boards):
            holder = self.root.attach_new_node(f"overview-board-{i}")
            holder.set_pos(board.x, board.y, board.z)
            holder.set_h(FACING_HEADING[board.facing])
            m = MeshBuilder(f"overview-board-geom-{i}")
            w, hgt = board.width, board.height
            m.box(-w / 2 - 0.1, 0, -hgt / 2 - 0.1, w / 2 + 0.1, 0.2, hgt / 2 + 0.1, (0.25, 0.25, 0.28, 1))
            m.quad(
                [
                    (-w / 2, -0.01, -hgt / 2),
                    (w / 2, -0.01, -hgt / 2),
                    (w / 2, -0.01, hgt / 2),
                    (-w / 2, -0.01, hgt / 2),
                ],
                (0.05, 0.08, 0.12, 1),
            )
            m.box(-w / 2, -0.02, hgt / 2 - 0.75, w / 2, -0.015, hgt / 2, (0.10, 0.45, 0.42, 1))
            # hanging rods
            m.box(-w / 2 + 0.4, 0.05, hgt / 2, -w / 2 + 0.45, 0.1, self.layout.height - board.z, DARK)
            m.box(w / 2 - 0.45, 0.05, hgt / 2, w / 2 - 0.4, 0.1, self.layout.height - board.z, DARK)
            holder.attach_new_node(m.node())
            holder.flatten_strong()
            if self.label_layer is not None:
                edge = [(-w / 2 - 0.1, -0.02, -hgt / 2 - 0.1), (w / 2 + 0.1, -0.02, -hgt / 2 - 0.1)]
                edge += [(-w / 2 - 0.1, -0.02, hgt / 2 + 0.1), (w / 2 + 0.1, -0.02, hgt / 2 + 0.1)]
                self.label_layer.add_sign(holder, edge)

    def _board_labels(self) -> None:
        for i, board in enumerate(self.layout.boards):
            w, hgt = board.width, board.height
            dn = self.labels.attach_new_node(f"overview-board-text-{i}")
            dn.set_pos(board.x, board.y, board.z)
            dn.set_h(FACING_HEADING[board.facing])
            self.text(
                dn,
                t("hall.board_title", self.lang),
                pos=(0, -0.03, hgt / 2 - 0.5),
                scale=0.38,
                bold=True,
                color=(1.0, 0.86, 0.35, 1),
            )
            cols = []
            for k in range(BOARD_COLUMNS):
                _, tn = self.text(
                    dn,
                    "",
                    pos=(-w / 2 + 0.35 + k * w / BOARD_COLUMNS, -0.03, hgt / 2 - 1.1),
                    scale=0.3,
                    align="left",
                    dynamic=True,
                    name=f"board-col-{k}",
                    color=(0.92, 0.96, 1.0, 1),
                )
                cols.append(tn)
            self.board_texts.append(cols)

    def _lounge(self) -> None:
        from panda3d.core import CardMaker, SamplerState, Texture

        r = self.layout.lounge
        lounge = self.root.attach_new_node("lounge")
        m = MeshBuilder("lounge-geom")
        m.quad(
            [(r.xmin, r.ymin, 0.01), (r.xmax, r.ymin, 0.01), (r.xmax, r.ymax, 0.01), (r.xmin, r.ymax, 0.01)],
            hex_color(self.layout.lounge_color),
        )
        # a warm wooden feature wall behind the screens
        if self.layout.screens:
            s0 = self.layout.screens[0]
            nx, ny = FACING_NORMAL[s0.facing]
            if nx:
                xa, xb = s0.x - nx * 0.16, s0.x - nx * 0.24
                m.box(min(xa, xb), r.ymin, 0.9, max(xa, xb), r.ymax, 5.0, (0.80, 0.62, 0.44, 1))
        for s in self.layout.screens:
            frame = MeshBuilder("screen-frame")
            frame.box(
                -s.width / 2 - 0.12, 0.0, -s.height / 2 - 0.12, s.width / 2 + 0.12, 0.15, s.height / 2 + 0.12, DARK
            )
            np = lounge.attach_new_node(frame.node())
            np.set_pos(s.x, s.y, s.z)
            np.set_h(FACING_HEADING[s.facing])
        lounge.attach_new_node(m.node())
        lounge.flatten_strong()
        for s in self.layout.screens:
            cm = CardMaker(f"screen-card-{s.name}")
            cm.set_frame(-s.width / 2, s.width / 2, -s.height / 2, s.height / 2)
            card = lounge.attach_new_node(cm.generate())
            card.set_name(f"screen-{s.name}")
            card.set_pos(s.x + FACING_NORMAL[s.facing][0] * 0.02, s.y + FACING_NORMAL[s.facing][1] * 0.02, s.z)
            card.set_h(FACING_HEADING[s.facing])
            tex = Texture(f"chart-{s.dataset}")
            tex.set_minfilter(SamplerState.FT_linear_mipmap_linear)
            tex.set_magfilter(SamplerState.FT_linear)
            card.set_texture(tex)
            self.screen_nodes[s.dataset] = (card, tex)
            if self.label_layer is not None:
                hw, hh = s.width / 2, s.height / 2
                self.label_layer.add_sign(card, [(-hw, 0, -hh), (hw, 0, -hh), (-hw, 0, hh), (hw, 0, hh)])

    def _lounge_labels(self) -> None:
        xs = self.layout.screens
        if not xs:
            return
        mid_y = sum(s.y for s in xs) / len(xs)
        nx, ny = FACING_NORMAL[xs[0].facing]
        holder = self.labels.attach_new_node("lounge-title")
        self.text(
            holder,
            self.layout.lounge_name.get(self.lang),
            pos=(xs[0].x + nx * 0.08, mid_y + ny * 0.08, 5.3),
            h=FACING_HEADING[xs[0].facing],
            scale=0.6,
            bold=True,
            color=(0.18, 0.32, 0.46, 1),
        )
        holder.flatten_strong()

    # ------------------------------------------------------------------ live data

    def _serving_line(self, number: int) -> str:
        now, waiting = self.board_state.get(number, (None, 0))
        return f"{t('hall.now_serving', self.lang)}: {now or '–'} · {t('hall.waiting_n', self.lang, n=waiting)}"

    def _refresh_boards(self) -> None:
        """Each overview board lists its own counters (``Board.counters``; all of them by default)."""
        everyone = [spot.number for spot in self.layout.counters]
        for board, cols in zip(self.layout.boards, self.board_texts, strict=False):
            numbers = list(getattr(board, "counters", ()) or everyone)
            rows = []
            for number in numbers:
                now, _ = self.board_state.get(number, (None, 0))
                rows.append(f"{number:>2}   {now or '–'}")
            per = max(1, -(-len(rows) // len(cols)))
            for k, tn in enumerate(cols):
                tn.set_text("\n".join(rows[k * per : (k + 1) * per]))

    def set_board(self, counter: int, now_serving: str | None, waiting: int) -> None:
        """A ``board.update`` frame: the counter's own strip and the overview boards."""
        if self.board_state.get(counter) == (now_serving, waiting):
            return
        self.board_state[counter] = (now_serving, max(0, int(waiting)))
        tn = self.counter_texts.get(counter)
        if tn is not None:
            tn.set_text(self._serving_line(counter))
        officer = self.officers.get(counter)
        if officer is not None:
            officer.set_gesture("talk" if now_serving else None)
            officer.update(0.0)
        self._refresh_boards()

    update_board = set_board

    def set_dataset(self, name: str, payload: dict[str, Any] | None) -> bool:
        """The JSON of ``GET /api/v1/dashboard/<slug>`` onto its lounge screen; False if unchanged/unknown."""
        return self.update_screen(_dataset_key(name), payload)

    def update_screen(self, dataset: str, payload: dict[str, Any] | None) -> bool:
        """Redraw a lounge screen; returns False when the data did not change."""
        import json

        dataset = _dataset_key(dataset)
        entry = self.screen_nodes.get(dataset)
        if entry is None or self.painter is None:
            return False
        if payload is not None:
            self.payloads[dataset] = payload
        if payload is not None and not isinstance(payload, dict):
            payload = None
        stamp = "" if payload is None else json.dumps(payload, sort_keys=True, default=str)
        if dataset in self.screen_stamp and self.screen_stamp[dataset] == stamp:
            return False
        self.screen_stamp[dataset] = stamp
        if payload is not None:
            self.payloads[dataset] = payload
        if payload is None:
            bars = Bars(t("hall.lounge", self.lang), t("hall.chart_loading", self.lang), [], [])
        else:
            bars = bars_for(dataset, payload, self.lang)
        _, tex = entry
        tex.load(self.painter.paint(bars))
        return True


def _mix(a: tuple[float, ...], b: tuple[float, ...], f: float) -> tuple[float, float, float, float]:
    return (a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f, 1.0)


def _tile_image(base: tuple[float, ...], accent: tuple[float, ...], stone: Path | None = None) -> Any:
    """One 1.5 m tile: honed stone in the floor colour, thin grout lines."""
    from panda3d.core import Filename, PNMImage

    n = 128
    img = PNMImage(n, n, 3)
    if stone is not None and stone.exists() and img.read(Filename.from_os_specific(str(stone))):
        # the stone's grain, tinted to the layout's floor colour
        img.set_color_type(PNMImage.CT_color)
        ref = (226 / 255, 214 / 255, 192 / 255)
        for x in range(img.get_x_size()):
            for y in range(img.get_y_size()):
                r, g, b = img.get_xel(x, y)
                img.set_xel(
                    x, y, min(1.0, r / ref[0] * base[0]), min(1.0, g / ref[1] * base[1]), min(1.0, b / ref[2] * base[2])
                )
        n = img.get_x_size()
    else:
        img.fill(base[0], base[1], base[2])
    for k in range(n):
        for g in (0, 1):
            img.set_xel(k, g, accent[0] * 0.9, accent[1] * 0.9, accent[2] * 0.9)
            img.set_xel(g, k, accent[0] * 0.9, accent[1] * 0.9, accent[2] * 0.9)
    return img


def _tex_quad(
    m: MeshBuilder, p: list[tuple[float, float, float]], size: tuple[float, float], shade: float = 1.0
) -> None:
    """A textured quad whose texture repeats every ``size`` metres (u along p0→p1, v along p0→p3)."""
    import math as _m

    w = _m.dist(p[0], p[1]) / size[0]
    h = _m.dist(p[0], p[3]) / size[1]
    m.quad(p, (shade, shade, shade, 1), [(0, 0), (w, 0), (w, h), (0, h)])


__all__ = ["HallScene", "font_paths", "load_font"]
