"""Catalogue upkeep behind ``mpp i18n``: extract keys from the code, add them to every language, check, compile.

The .po files are the source of truth and are read at run time; ``compile`` writes .mo files only for
external gettext tools. ``update`` never drops a key that extraction does not see, because some keys are
only named in the 2D page's JavaScript (``web.*``) or composed at run time (marked with ``N_`` where possible).
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from l10n import DOMAIN, LANGS, PRODUCT_LANGS, locale_dir, placeholders, po_path, reload

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("protocol", "assistant", "server", "world", "mpp", "bench", "l10n")
KEYWORDS: dict[str, tuple[int, ...] | None] = {
    **dict.fromkeys(("t", "_", "gettext", "N_", "pair", "all_langs", "text", "msg", "Msg", "not_found")),
    "ApiError": (3,),  # ApiError(status, code, "error.key")
}
METHODS = [("**/templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
KEY = re.compile(r"^(console|web|hall|verify|error|demo|guided|assistant|api|protocol)\.[A-Za-z0-9_.\-]+$")
PROJECT = "virtual-mpp"


@dataclass
class Extracted:
    keys: dict[str, list[str]] = field(default_factory=dict)  # key -> "path:line" places

    def add(self, key: str, where: str) -> None:
        self.keys.setdefault(key, []).append(where)


def extract(root: Path = REPO, packages: Iterable[str] = PACKAGES) -> Extracted:
    """Every literal key passed to the localizer in Python code and Jinja templates."""
    out = Extracted()
    for pkg in packages:
        base = root / pkg
        if not base.is_dir():
            continue
        options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n", "encoding": "utf-8"}}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Babel warns on every f-string; only literal keys matter here
            messages = list(
                extract_from_dir(str(base), method_map=METHODS, options_map=options, keywords=KEYWORDS, comment_tags=())
            )
        for filename, lineno, message, _comments, _ctx in messages:
            msg = message[0] if isinstance(message, tuple) else message
            if isinstance(msg, str) and KEY.match(msg):
                out.add(msg, f"{pkg}/{filename}:{lineno}")
    return out


def read(lang: str, root: Path | None = None) -> Catalog:
    path = po_path(lang, root)
    if not path.exists():
        return new_catalog(lang)
    with path.open("rb") as fh:
        return read_po(fh, locale=lang, domain=DOMAIN)


def new_catalog(lang: str | None) -> Catalog:
    return Catalog(
        locale=lang,
        domain=DOMAIN,
        project=PROJECT,
        version="1",
        copyright_holder="Virtual MPP contributors",
        msgid_bugs_address="",
        creation_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        revision_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        fuzzy=False,
    )


def write(cat: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        write_po(fh, cat, width=120, sort_output=True, omit_header=False, include_previous=False)


def write_template(found: Extracted, root: Path | None = None) -> Path:
    """messages.pot: the extracted keys with where they are used (what ``pybabel extract`` would write)."""
    pot = new_catalog(None)
    for key, places in sorted(found.keys.items()):
        locs = [(p.rsplit(":", 1)[0], int(p.rsplit(":", 1)[1])) for p in places]
        pot.add(key, "", locations=locs)
    path = (root or locale_dir()) / f"{DOMAIN}.pot"
    write(pot, path)
    return path


def update(found: Extracted, root: Path | None = None, langs: Iterable[str] = PRODUCT_LANGS) -> dict[str, list[str]]:
    """Add every extracted key missing from id or en with an empty text (ja is filled only for what the demo shows)."""
    added: dict[str, list[str]] = {}
    for lang in langs:
        cat = read(lang, root)
        new = [k for k in found.keys if k not in cat]
        for key in new:
            cat.add(key, "")
        if new:
            write(cat, po_path(lang, root))
        added[lang] = new
    reload()
    return added


def set_texts(entries: dict[str, dict[str, str]], root: Path | None = None) -> None:
    """Write ``{key: {lang: text}}`` into the catalogues (used by scripts that move an old table over)."""
    for lang in LANGS:
        cat = read(lang, root)
        changed = False
        for key, texts in entries.items():
            if texts.get(lang):
                msg = cat.get(key)
                if msg is None:
                    cat.add(key, texts[lang])
                else:
                    msg.string = texts[lang]
                changed = True
        if changed:
            write(cat, po_path(lang, root))
    reload()


def problems(found: Extracted | None = None, root: Path | None = None) -> list[str]:
    """Everything a translator or developer must fix; empty when the catalogues are sound."""
    cats = {lang: read(lang, root) for lang in LANGS}
    texts: dict[str, dict[str, str]] = {
        lang: {m.id: m.string for m in cat if isinstance(m.id, str) and m.id and isinstance(m.string, str)}
        for lang, cat in cats.items()
    }
    out: list[str] = []
    keys = set().union(*(set(v) for v in texts.values()))
    for key in sorted(keys):
        if not KEY.match(key):
            out.append(f"{key}: not a namespaced key (surface.name)")
        for lang in PRODUCT_LANGS:
            if not texts[lang].get(key):
                out.append(f"{key}: no {lang} text")
        ref = placeholders(texts["id"].get(key) or texts["en"].get(key) or "")
        for lang in LANGS:
            s = texts[lang].get(key)
            if s and placeholders(s) != ref:
                out.append(f"{key}: {lang} placeholders {sorted(placeholders(s))} != {sorted(ref)}")
    for lang, cat in cats.items():
        for m in cat:
            if m.id and m.fuzzy:
                out.append(f"{m.id}: {lang} text marked fuzzy")
    if found is not None:
        for key, places in sorted(found.keys.items()):
            if key not in texts["id"] and key not in texts["en"]:
                out.append(f"{key}: used at {places[0]} but in no catalogue")
    return out


def compile_mo(root: Path | None = None) -> list[Path]:
    """.mo files next to the .po files, for gettext tools outside this project."""
    written = []
    for lang in LANGS:
        cat = read(lang, root)
        path = po_path(lang, root).with_suffix(".mo")
        with path.open("wb") as fh:
            write_mo(fh, cat)
        written.append(path)
    return written
