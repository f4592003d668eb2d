"""Region data and loose village lookup for Smart Kampung routing."""

from __future__ import annotations

import json

import pytest

from protocol.catalog import assets_dir
from protocol.regions import find_kecamatan, find_village, find_villages, kecamatan, normalize, villages


def _json(name: str) -> dict:
    return json.loads((assets_dir() / "regions" / name).read_text(encoding="utf-8"))


def test_provinces_include_the_new_papua_provinces() -> None:
    codes = {p["code"]: p["name"] for p in _json("provinces.json")["provinces"]}
    assert len(codes) == 38
    assert codes["35"] == "Jawa Timur"
    assert [codes[c] for c in ("91", "92", "93", "94", "95", "96")] == [
        "Papua",
        "Papua Barat",
        "Papua Selatan",
        "Papua Tengah",
        "Papua Pegunungan",
        "Papua Barat Daya",
    ]


def test_jatim_has_29_regencies_9_cities() -> None:
    regs = _json("jatim.json")["regencies"]
    codes = [r["code"] for r in regs]
    assert codes == [f"35{i:02d}" for i in range(1, 30)] + [f"35{i}" for i in range(71, 80)]
    assert sum(r["districts"] for r in regs) == 666
    banyuwangi = next(r for r in regs if r["code"] == "3510")
    assert banyuwangi["districts"] == len(kecamatan()) == 25


def test_kecamatan_codes_are_official_order() -> None:
    ks = kecamatan()
    assert [k.code for k in ks] == [f"3510{i:02d}" for i in range(1, 26)]
    by_code = {k.code: k.name for k in ks}
    assert by_code["351001"] == "Pesanggaran"
    assert by_code["351005"] == "Muncar"
    assert by_code["351018"] == "Banyuwangi"
    assert by_code["351025"] == "Blimbingsari"


def test_village_list_is_nearly_complete() -> None:
    vs = villages()
    assert len([v for v in vs if v.kind == "kelurahan"]) == 28
    assert 185 <= len([v for v in vs if v.kind == "desa"]) <= 189
    assert len({v.id for v in vs}) == len(vs)
    assert all(k.villages for k in kecamatan())


@pytest.mark.parametrize(
    ("raw", "key"),
    [("Kel. Genteng-Kulon ", "gentengkulon"), ("desa Kemiren", "kemiren"), ("KECAMATAN Glagah", "glagah")],
)
def test_normalize(raw: str, key: str) -> None:
    assert normalize(raw) == key


@pytest.mark.parametrize(
    ("query", "code"),
    [("genteng", "351010"), ("Kec. Glenmore", "351008"), ("blimbing sari", "351025"), ("351018", "351018")],
)
def test_find_kecamatan(query: str, code: str) -> None:
    found = find_kecamatan(query)
    assert found is not None and found.code == code


@pytest.mark.parametrize(
    ("query", "name", "kec"),
    [
        ("Gentengkulon", "Genteng Kulon", "351010"),
        ("desa kemiren", "Kemiren", "351017"),
        ("Kemirenn", "Kemiren", "351017"),
        ("kel. kepatihan", "Kepatihan", "351018"),
        ("Ketapang", "Ketapang", "351020"),
    ],
)
def test_find_village(query: str, name: str, kec: str) -> None:
    v = find_village(query)
    assert v is not None and v.name == name and v.kecamatan_code == kec


def test_ambiguous_village_needs_kecamatan() -> None:
    assert len(find_villages("Karangrejo")) == 2
    assert find_village("Karangrejo") is None
    v = find_village("Karangrejo", "Blimbingsari")
    assert v is not None and v.kind == "desa"
    v = find_village("karangrejo", "kec. banyuwangi")
    assert v is not None and v.kind == "kelurahan"


@pytest.mark.parametrize("query", ["Atlantis", "", "   ", "desa"])
def test_unknown_names(query: str) -> None:
    assert find_village(query) is None
    assert find_kecamatan(query) is None
