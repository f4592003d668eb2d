"""The shipped catalogue loads, is complete, and carries the published fees."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from protocol.catalog import Catalog, assets_dir, load_catalog

EXPECTED_IDS = {
    "ktp-el",
    "kartu-keluarga",
    "akta-kelahiran",
    "akta-kematian",
    "kia",
    "pindah-datang",
    "skck",
    "paspor",
    "pajak-kendaraan",
    "bpjs-kesehatan",
    "nib",
    "pbb",
    "kartu-kuning",
    "surat-domisili",
    "sktm",
}
DUKCAPIL_IDS = {"ktp-el", "kartu-keluarga", "akta-kelahiran", "akta-kematian", "kia", "pindah-datang"}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _amounts(catalog: Catalog, service_id: str) -> list[int]:
    return sorted(i.amount for i in catalog.service(service_id).fee.items)


def test_exactly_the_fifteen_services(catalog: Catalog) -> None:
    assert {s.id for s in catalog.services} == EXPECTED_IDS
    assert len(catalog.services) == 15


def test_file_names_match_ids() -> None:
    for path in (assets_dir() / "catalog" / "services").glob("*.yaml"):
        assert yaml.safe_load(path.read_text(encoding="utf-8"))["id"] == path.stem


@pytest.mark.parametrize("service_id", sorted(EXPECTED_IDS))
def test_every_service_is_bilingual_and_asks_for_nik(catalog: Catalog, service_id: str) -> None:
    s = catalog.service(service_id)
    texts = [s.name, s.short_name, s.description, s.processing_time, s.validity, s.where_note]
    texts += list(s.requirements) + list(s.procedure)
    for t in texts:
        assert t.id.strip() and t.en.strip()
        assert t.get("en") == t.en and t.get("id") == t.id
    fields = {f.name: f for f in s.form}
    assert fields["nik"].type == "nik"
    assert fields["full_name"].type == "text"
    assert s.documents, "every service lists the documents to bring"
    assert s.keywords, "colloquial keywords drive intent matching"
    assert s.legal_basis and s.citation().endswith(f"{s.checked:%Y-%m}")


def test_counters_resolve_and_are_unique(catalog: Catalog) -> None:
    counters = [c for a in catalog.agencies for c in a.counters]
    numbers = [c.number for c in counters]
    codes = [c.code for c in counters]
    assert len(numbers) == len(set(numbers))
    assert len(codes) == len(set(codes))
    assert sorted(numbers) == list(range(1, len(numbers) + 1))
    assert len([a for a in catalog.agencies if a.kind == "agency"]) >= 10
    assert len({a.color.lower() for a in catalog.agencies}) == len(catalog.agencies)
    for s in catalog.services:
        agency, _counter = catalog.counter(s.counter)
        assert agency.id == s.agency
    assert catalog.agency("smart-kampung").kind == "village"


@pytest.mark.parametrize("service_id", sorted(DUKCAPIL_IDS))
def test_dukcapil_documents_are_free_by_law(catalog: Catalog, service_id: str) -> None:
    s = catalog.service(service_id)
    assert s.agency == "dukcapil"
    assert s.fee.free is True and s.fee.items == ()
    assert "UU 24/2013 Pasal 79A" in s.fee.legal_basis
    assert s.legal_basis[0] == "UU 24/2013 Pasal 79A"


def test_published_amounts(catalog: Catalog) -> None:
    assert _amounts(catalog, "skck") == [30000]
    assert _amounts(catalog, "paspor") == [350000, 500000, 650000, 1000000, 1000000]
    assert _amounts(catalog, "pajak-kendaraan") == [25000, 50000, 60000, 100000, 100000, 200000]
    assert _amounts(catalog, "bpjs-kesehatan") == [35000, 42000, 100000, 150000]
    assert "PP 76/2020" in catalog.service("skck").fee.legal_basis
    assert "PP 60/2016" in catalog.service("pajak-kendaraan").fee.legal_basis
    assert "Perpres 64/2020" in catalog.service("bpjs-kesehatan").fee.legal_basis


def test_lost_documents_need_the_police_letter(catalog: Catalog) -> None:
    for sid in ("ktp-el", "kartu-keluarga"):
        lost = catalog.service(sid).lost_or_damaged
        assert lost is not None and "kepolisian" in lost.id and "police" in lost.en


def test_birth_certificate_is_issued_at_hospitals(catalog: Catalog) -> None:
    assert "hospital" in catalog.service("akta-kelahiran").where


def test_office_hours_use_dotted_times(catalog: Catalog) -> None:
    assert catalog.office.hours
    for h in catalog.office.hours:
        assert h.open < h.close
        assert set(h.weekdays) <= set(range(1, 8))


def _copy_catalog(tmp_path: Path) -> Path:
    shutil.copytree(assets_dir() / "catalog", tmp_path / "catalog")
    return tmp_path


def test_missing_field_names_the_field(tmp_path: Path) -> None:
    root = _copy_catalog(tmp_path)
    path = root / "catalog" / "services" / "skck.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    del data["processing_days"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        load_catalog(root)
    locs = [e["loc"] for e in err.value.errors()]
    assert any(loc[-1] == "processing_days" for loc in locs), locs
    assert "processing_days" in str(err.value)
    assert "Field required" in str(err.value)


def test_counter_of_another_agency_is_rejected(tmp_path: Path) -> None:
    root = _copy_catalog(tmp_path)
    path = root / "catalog" / "services" / "paspor.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["counter"] = 1
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValidationError, match="counter 1 does not belong to agency imigrasi"):
        load_catalog(root)
