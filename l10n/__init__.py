"""One localizer for every surface: gettext catalogues under ``assets/locale``, managed with Babel.

msgids are symbolic keys namespaced by surface (``console.login``, ``web.title``, ``hall.connecting``,
``verify.title``, ``error.not_found``, ``demo.ask``). Indonesian is a translation like English and Japanese,
so a text missing in any language is caught by ``mpp i18n check`` instead of showing a key or the wrong
language. Placeholders are ``str.format`` names (``{n}``) and must be the same in every language.

This package imports nothing of ours, so protocol/, assistant/, server/ and world/ can all use it.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

LANGS: tuple[str, ...] = ("id", "en", "ja")
PRODUCT_LANGS: tuple[str, ...] = ("id", "en")  # complete in every surface; ja covers what the demo shows
DEFAULT_LANG = "id"
DOMAIN = "messages"
# a missing text falls back along this chain (ja readers get English before Indonesian)
FALLBACK: dict[str, tuple[str, ...]] = {"id": ("id",), "en": ("en", "id"), "ja": ("ja", "en", "id")}
PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)\}(?!\})")

_lock = threading.Lock()


def locale_dir() -> Path:
    """The catalogues: ``$MPP_ASSETS_DIR/locale`` when set (as for the service catalogue), else the repo's."""
    env = os.environ.get("MPP_ASSETS_DIR")
    base = Path(env) if env else Path(__file__).resolve().parent.parent / "assets"
    return base / "locale"


def po_path(lang: str, root: Path | None = None) -> Path:
    return (root or locale_dir()) / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def normalize(lang: str | None) -> str:
    """Any tag ("en-US", "JA", None) to one of LANGS; unknown languages get Indonesian, the product default."""
    code = (lang or "").strip().lower().replace("_", "-").split("-")[0]
    return code if code in LANGS else DEFAULT_LANG


def negotiate(accept_language: str | None, offered: tuple[str, ...] = PRODUCT_LANGS) -> str:
    """The first language of an Accept-Language header we offer (q-values honoured), else Indonesian."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        code = tag.strip().lower().split("-")[0]
        if code in offered and q > 0:
            ranked.append((-q, i, code))
    return sorted(ranked)[0][2] if ranked else DEFAULT_LANG


@lru_cache(maxsize=8)
def _load(lang: str, root: str) -> dict[str, str]:
    from babel.messages.pofile import read_po

    path = po_path(lang, Path(root))
    if not path.exists():
        return {}
    with path.open("rb") as fh:
        cat = read_po(fh, locale=lang if lang != "id" else "id", domain=DOMAIN)
    out: dict[str, str] = {}
    for msg in cat:
        if not msg.id or msg.fuzzy or not isinstance(msg.id, str):
            continue
        text = msg.string if isinstance(msg.string, str) else ""
        if text:
            out[msg.id] = text
    return out


def catalogue(lang: str) -> Mapping[str, str]:
    """Every translated text of one language (no fallback), read once from its .po file."""
    with _lock:
        return _load(normalize(lang), str(locale_dir()))


def reload() -> None:
    """Forget the loaded catalogues (tests that edit them, a translator's live preview)."""
    with _lock:
        _load.cache_clear()


def has(key: str, lang: str | None = None) -> bool:
    return key in catalogue(lang or DEFAULT_LANG)


def text(key: str, lang: str | None) -> str:
    """The raw text of ``key`` in ``lang`` following FALLBACK; the key itself when no language has it."""
    for code in FALLBACK[normalize(lang)]:
        found = catalogue(code).get(key)
        if found is not None:
            return found
    return key


def t(key: str, lang: str | None = DEFAULT_LANG, **fmt: object) -> str:
    """The text of ``key`` in ``lang`` with ``{name}`` placeholders filled from ``fmt``."""
    raw = text(key, lang)
    return raw.format(**fmt) if fmt else raw


gettext = t


def t_or(key: str, lang: str | None, default: str, **fmt: object) -> str:
    """Like ``t`` but ``default`` when no language has ``key`` (a state or code named by the server)."""
    if not any(key in catalogue(code) for code in FALLBACK[normalize(lang)]):
        return default
    return t(key, lang, **fmt)


def N_(key: str) -> str:
    """Mark a key that is looked up later (``t(key, lang)`` with a variable) so extraction still sees it."""
    return key


def _in(lang: str, fmt: Mapping[str, object]) -> dict[str, object]:
    return {k: v(lang) if callable(v) else v for k, v in fmt.items()}


def pair(key: str, **fmt: object) -> tuple[str, str]:
    """(Indonesian, English): for wire shapes that carry both, like API errors and catalogue labels.

    A callable value is called with the language (``label=lambda lang: field.label.get(lang)``).
    """
    return t(key, "id", **_in("id", fmt)), t(key, "en", **_in("en", fmt))


def all_langs(key: str, **fmt: object) -> dict[str, str]:
    """``{lang: text}`` for every language; a callable value is called with the language, as in ``pair``."""
    return {code: t(key, code, **_in(code, fmt)) for code in LANGS}


def export(prefix: str, lang: str | None) -> dict[str, str]:
    """Every key under ``prefix.`` with the prefix stripped, in ``lang`` with fallback: the 2D page's JSON."""
    head = prefix.rstrip(".") + "."
    keys: set[str] = set()
    for code in FALLBACK[normalize(lang)]:
        keys.update(k for k in catalogue(code) if k.startswith(head))
    return {k[len(head) :]: text(k, lang) for k in sorted(keys)}


def placeholders(s: str) -> set[str]:
    return set(PLACEHOLDER.findall(s))


class Msg:
    """A text not yet rendered: a key and its placeholders, turned into words in the reader's language."""

    __slots__ = ("fmt", "key")

    def __init__(self, key: str, fmt: Mapping[str, object] | None = None) -> None:
        self.key = key
        self.fmt = dict(fmt or {})

    def text(self, lang: str | None) -> str:
        return t(self.key, lang, **self.fmt)

    def __repr__(self) -> str:
        return f"Msg({self.key!r}, {self.fmt!r})"


def msg(key: str, **fmt: object) -> Msg:
    """``msg("error.ticket_exists", code=c)``: the message of a refusal, rendered per reader later."""
    return Msg(key, fmt)


class Translator:
    """``t`` bound to one language, for code that renders a whole screen in it."""

    __slots__ = ("lang",)

    def __init__(self, lang: str | None) -> None:
        self.lang = normalize(lang)

    def __call__(self, key: str, **fmt: object) -> str:
        return t(key, self.lang, **fmt)


__all__ = [
    "DEFAULT_LANG",
    "N_",
    "LANGS",
    "Msg",
    "PRODUCT_LANGS",
    "Translator",
    "all_langs",
    "catalogue",
    "export",
    "gettext",
    "msg",
    "has",
    "negotiate",
    "normalize",
    "pair",
    "placeholders",
    "reload",
    "t",
    "t_or",
    "text",
]
