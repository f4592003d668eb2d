"""Banyuwangi kecamatan and villages, for Smart Kampung routing and slot filling.

People type village names loosely ("ds. genteng kulon", "Gentengkulon"), so
lookups compare a normalised key: lower case, administrative prefixes and
everything but letters and digits dropped, with a close-match fallback for typos.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from protocol.catalog import assets_dir

_PREFIX = re.compile(r"^(desa|ds|kelurahan|kel|kecamatan|kec|kampung)\b\.?\s*")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
FUZZY_CUTOFF = 0.85


@dataclass(frozen=True)
class Village:
    id: str
    name: str
    kind: Literal["desa", "kelurahan"]
    kecamatan_code: str
    kecamatan_name: str


@dataclass(frozen=True)
class Kecamatan:
    code: str
    name: str
    villages: tuple[Village, ...]


def normalize(name: str) -> str:
    """The comparison key: 'Kel. Genteng-Kulon ' -> 'gentengkulon'."""
    s = name.strip().lower()
    s = _PREFIX.sub("", s)
    return _NON_ALNUM.sub("", s)


@lru_cache(maxsize=1)
def kecamatan() -> tuple[Kecamatan, ...]:
    data = json.loads((assets_dir() / "regions" / "banyuwangi.json").read_text(encoding="utf-8"))
    out = []
    for k in data["kecamatan"]:
        villages = tuple(
            Village(
                id=f"{k['code']}-{normalize(v['name'])}",
                name=v["name"],
                kind=v["kind"],
                kecamatan_code=k["code"],
                kecamatan_name=k["name"],
            )
            for v in k["villages"]
        )
        out.append(Kecamatan(code=k["code"], name=k["name"], villages=villages))
    return tuple(out)


@lru_cache(maxsize=1)
def villages() -> tuple[Village, ...]:
    return tuple(v for k in kecamatan() for v in k.villages)


@lru_cache(maxsize=1)
def _village_index() -> dict[str, tuple[Village, ...]]:
    index: dict[str, list[Village]] = {}
    for v in villages():
        index.setdefault(normalize(v.name), []).append(v)
    return {key: tuple(vs) for key, vs in index.items()}


def _match_key(key: str, keys: list[str]) -> str | None:
    if key in keys:
        return key
    close = difflib.get_close_matches(key, keys, n=1, cutoff=FUZZY_CUTOFF)
    return close[0] if close else None


def find_kecamatan(name: str) -> Kecamatan | None:
    """A kecamatan by name or 6-digit code; None when nothing is close enough."""
    key = normalize(name)
    if not key:
        return None
    by_key = {normalize(k.name): k for k in kecamatan()}
    by_key.update({k.code: k for k in kecamatan()})
    match = _match_key(key, list(by_key))
    return by_key[match] if match else None


def find_villages(name: str) -> tuple[Village, ...]:
    """Every village with that name (some names occur in two kecamatan)."""
    key = normalize(name)
    if not key:
        return ()
    index = _village_index()
    match = _match_key(key, list(index))
    return index[match] if match else ()


def find_village(name: str, kecamatan_name: str | None = None) -> Village | None:
    """The one village meant, or None if unknown or ambiguous without a kecamatan."""
    found = find_villages(name)
    if kecamatan_name is not None:
        kec = find_kecamatan(kecamatan_name)
        found = tuple(v for v in found if kec is not None and v.kecamatan_code == kec.code)
    return found[0] if len(found) == 1 else None
