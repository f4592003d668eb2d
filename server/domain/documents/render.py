"""Lay out an issued document as a one-page A4 PDF (fpdf2), with its verification QR (segno).

The page follows the printed originals: letterhead, title and number, the fields,
the place and date, the signer's office, and the TTE notice next to the QR code
(Permendagri 109/2019: printed by the citizen on plain paper).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import segno
from fpdf import FPDF

from protocol.catalog import assets_dir

FONT = "DejaVu"


@dataclass(frozen=True)
class DocSpec:
    title: str
    number: str
    letterhead: tuple[str, ...]
    fields: tuple[tuple[str, str], ...]
    signer_title: str
    place_date: str
    verify_url: str
    code: str
    intro: str = ""
    closing: str = ""
    notice: str = ""
    specimen: bool = True
    subtitle: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def _fonts_dir() -> Path:
    return assets_dir() / "fonts"


# Latin, Latin-1, Latin Extended-A/B, general punctuation, euro and numero signs: every Indonesian name
# and place. Parsing the full DejaVu (700 KB) was half the cost of a document; this subset is 50 KB.
LATIN = frozenset([*range(0x20, 0x7F), *range(0xA0, 0x250), *range(0x2000, 0x2070), 0x20AC, 0x2116, 0x2122])
_STYLES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
_subset_lock = threading.Lock()
_subset_paths: dict[str, Path] = {}


def _latin_fonts() -> dict[str, Path]:
    """The Latin subsets of the page fonts, made once per machine (atomic writes; several workers may race)."""
    with _subset_lock:
        if _subset_paths:
            return dict(_subset_paths)
        from fontTools import subset
        from fontTools.ttLib import TTFont

        cache = Path(tempfile.gettempdir()) / "mpp-fonts"
        cache.mkdir(parents=True, exist_ok=True)
        for style, name in _STYLES.items():
            src = _fonts_dir() / name
            stat = src.stat()
            tag = hashlib.sha256(f"{name}:{stat.st_size}:{stat.st_mtime_ns}:v1".encode()).hexdigest()[:16]
            target = cache / f"{src.stem}-latin-{tag}.ttf"
            if not target.exists():
                opts = subset.Options()
                opts.layout_features = []
                opts.hinting = False
                opts.name_IDs = ["*"]
                opts.notdef_outline = True
                font = TTFont(str(src))
                subsetter = subset.Subsetter(opts)
                subsetter.populate(unicodes=sorted(LATIN))
                quiet = logging.getLogger("fontTools.subset")
                level = quiet.level
                quiet.setLevel(logging.ERROR)
                try:
                    subsetter.subset(font)
                finally:
                    quiet.setLevel(level)
                tmp = target.with_suffix(f".{os.getpid()}.part")
                font.save(str(tmp))
                tmp.replace(target)
            _subset_paths[style] = target
        return dict(_subset_paths)


def _font_paths(spec: DocSpec) -> dict[str, Path]:
    """The Latin subset when every character of the document is in it, else the full fonts."""
    text = "".join(
        [spec.title, spec.number, spec.signer_title, spec.place_date, spec.verify_url, spec.intro, spec.closing]
        + [spec.notice, spec.subtitle, *spec.letterhead]
        + [part for pair in spec.fields for part in pair]
    )
    if all(ord(ch) in LATIN or ch in "\n\t" for ch in text):
        return _latin_fonts()
    return {style: _fonts_dir() / name for style, name in _STYLES.items()}


def qr_png(url: str, scale: int = 8) -> bytes:
    """The QR holding the verification URL; error correction M survives a creased print."""
    buf = io.BytesIO()
    segno.make(url, error="m", micro=False).save(buf, kind="png", scale=scale, border=2)
    return buf.getvalue()


TTE_NOTICE = (
    "Dokumen ini ditandatangani secara elektronik (PAdES) dan dapat dicetak sendiri pada kertas HVS A4. "
    "Keaslian dapat diperiksa dengan memindai kode QR atau membuka alamat verifikasi di bawahnya."
)


def render_pdf(spec: DocSpec) -> bytes:
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_auto_page_break(False)
    for style, path in _font_paths(spec).items():
        pdf.add_font(FONT, style, str(path))
    pdf.set_title(f"{spec.title} {spec.number}")
    pdf.set_subject(f"mpp-verify:{spec.code}")
    pdf.set_author(spec.signer_title)
    pdf.set_creator("Virtual MPP Banyuwangi")
    pdf.add_page()
    width = pdf.w - 40
    pdf.set_margins(20, 15, 20)
    if spec.specimen:
        _watermark(pdf)
    # letterhead
    pdf.set_xy(20, 15)
    for i, line in enumerate(spec.letterhead):
        pdf.set_font(FONT, "B", 13 if i == 0 else 11)
        pdf.cell(width, 6, line, align="C", new_x="LMARGIN", new_y="NEXT")
    y = pdf.get_y() + 2
    pdf.set_line_width(0.8)
    pdf.line(20, y, 20 + width, y)
    pdf.set_line_width(0.2)
    pdf.line(20, y + 1.2, 20 + width, y + 1.2)
    pdf.set_y(y + 6)
    pdf.set_font(FONT, "B", 15)
    pdf.cell(width, 8, spec.title.upper(), align="C", new_x="LMARGIN", new_y="NEXT")
    if spec.subtitle:
        pdf.set_font(FONT, "", 10)
        pdf.cell(width, 5, spec.subtitle, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 11)
    pdf.cell(width, 6, f"Nomor: {spec.number}", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(5)
    if spec.intro:
        pdf.set_font(FONT, "", 11)
        pdf.multi_cell(width, 6, spec.intro, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    label_w = 62
    for label, value in spec.fields:
        pdf.set_font(FONT, "", 11)
        x0, y0 = pdf.get_x(), pdf.get_y()
        pdf.multi_cell(label_w, 6.5, label, new_x="RIGHT", new_y="TOP")
        pdf.set_xy(x0 + label_w, y0)
        pdf.cell(4, 6.5, ":")
        pdf.set_font(FONT, "B", 11)
        pdf.multi_cell(width - label_w - 4, 6.5, value or "-", new_x="LMARGIN", new_y="NEXT")
        pdf.set_y(max(pdf.get_y(), y0 + 6.5))
    if spec.closing:
        pdf.ln(3)
        pdf.set_font(FONT, "", 11)
        pdf.multi_cell(width, 6, spec.closing, align="L", new_x="LMARGIN", new_y="NEXT")
    if spec.notice:
        pdf.ln(3)
        pdf.set_font(FONT, "B", 11)
        pdf.set_fill_color(255, 244, 204)
        pdf.multi_cell(width, 6.5, spec.notice, border=1, fill=True, padding=2, new_x="LMARGIN", new_y="NEXT")
    # signature block: place/date, office, "ditandatangani secara elektronik"
    y = max(pdf.get_y() + 10, 175)
    sig_x = 20 + width / 2 + 5
    sig_w = width / 2 - 5
    pdf.set_xy(sig_x, y)
    pdf.set_font(FONT, "", 11)
    pdf.multi_cell(sig_w, 6, spec.place_date, align="C", new_x="LEFT", new_y="NEXT")
    pdf.set_font(FONT, "B", 11)
    pdf.multi_cell(sig_w, 6, spec.signer_title.upper(), align="C", new_x="LEFT", new_y="NEXT")
    pdf.set_xy(sig_x, pdf.get_y() + 2)
    pdf.set_font(FONT, "", 9)
    pdf.multi_cell(sig_w, 5, "Ditandatangani secara elektronik", align="C", new_x="LEFT", new_y="NEXT")
    # QR and the TTE notice at the foot of the page
    qr_size = 38
    qr_y = pdf.h - 20 - qr_size
    pdf.image(io.BytesIO(qr_png(spec.verify_url)), x=20, y=qr_y, w=qr_size, h=qr_size)
    text_x, text_w = 20 + qr_size + 5, width - qr_size - 5
    pdf.set_xy(text_x, qr_y + 1)
    pdf.set_font(FONT, "", 9)
    pdf.multi_cell(text_w, 4.6, TTE_NOTICE, align="L", new_x="LEFT", new_y="NEXT")
    pdf.set_xy(text_x, pdf.get_y() + 1.5)
    pdf.set_font(FONT, "B", 9)
    pdf.multi_cell(text_w, 4.6, spec.verify_url, align="L", new_x="LEFT", new_y="NEXT")
    if spec.specimen:
        pdf.set_xy(text_x, pdf.get_y() + 1.5)
        pdf.set_font(FONT, "B", 9)
        pdf.set_text_color(170, 0, 0)
        pdf.multi_cell(
            text_w,
            4.6,
            "SPESIMEN / contoh sistem — ditandatangani dengan kunci pengembangan, bukan dokumen resmi.",
            align="L",
            new_x="LEFT",
            new_y="NEXT",
        )
        pdf.set_text_color(0, 0, 0)
    return bytes(pdf.output())


def _watermark(pdf: FPDF) -> None:
    with pdf.local_context(fill_opacity=0.18, text_color=(200, 0, 0)):
        with pdf.rotation(angle=40, x=pdf.w / 2, y=pdf.h / 2):
            pdf.set_font(FONT, "B", 64)
            pdf.set_xy(0, pdf.h / 2 - 30)
            pdf.cell(pdf.w, 28, "SPESIMEN", align="C", new_x="LMARGIN", new_y="NEXT")
            pdf.set_font(FONT, "B", 30)
            pdf.cell(pdf.w, 16, "contoh sistem", align="C")
