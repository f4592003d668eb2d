"""The shipped knowledge base loads, covers every service and referral id, and keeps figures in data."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml
from pydantic import ValidationError

from assistant.realset import RESERVED_DOMAINS, RESERVED_REPOS
from protocol.catalog import load_catalog
from protocol.knowledge import Case, KnowledgeBase, Referral, knowledge_dir, load_knowledge

GENERIC = ("overview", "requirements", "fee", "duration", "validity", "location", "procedure")

# A figure an answer would state on its own: a rupiah amount, or a count of time units or documents,
# in digits or in words. Legal citations ("UU 24/2013 Pasal 63", "Perpres 64/2020") don't match.
_NUM_WORDS = (
    r"satu|dua|tiga|empat|lima|enam|tujuh|delapan|sembilan|sepuluh|sebelas|belas|puluh|"
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fourteen|fifteen|thirty|sixty"
)
_UNITS = (
    r"hari|minggu|pekan|bulan|tahun|jam|menit|lembar|dokumen|berkas|kali|"
    r"days?|weeks?|months?|years?|hours?|minutes?|sheets?|copies|documents?|times"
)
FIGURE_RE = re.compile(
    rf"(?i)(\brp\.?\s*\d|\d[\d.,]*\s*(ribu|juta|rupiah)\b|\b(\d+|{_NUM_WORDS})[\s-]*({_UNITS})\b"
    r"|\bse(hari|bulan|tahun|minggu)\b|\b\d+\s*%)"
)


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge()


def test_figure_regex_catches_figures_and_spares_citations() -> None:
    for bad in (
        "Rp 50.000",
        "Rp50.000",
        "30 hari",
        "60 days",
        "5 tahun",
        "dua minggu",
        "three months",
        "10-year",
        "bayar 150 ribu",
        "sebulan",
        "denda 2%",
    ):
        assert FIGURE_RE.search(bad), bad
    for ok in (
        "UU 24/2013 Pasal 63",
        "Perpres 64/2020",
        "Permendagri 108/2019 Pasal 30",
        "berlaku seumur hidup",
        "setiap bulan",
        "tahunan",
        "formulir F-1.03",
    ):
        assert not FIGURE_RE.search(ok), ok


def test_sizes(kb: KnowledgeBase) -> None:
    assert len(kb.cases) >= 250
    assert len(kb.referrals) >= 30


def test_every_case_names_a_catalogue_service(kb: KnowledgeBase) -> None:
    services = {s.id for s in load_catalog().services}
    assert {c.service for c in kb.cases} <= services


def test_every_service_has_the_generic_cases(kb: KnowledgeBase) -> None:
    for svc in load_catalog().services:
        have = {c.id for c in kb.for_service(svc.id)}
        missing = {f"{svc.id}.{k}" for k in GENERIC} - have
        assert not missing, missing
        for kind in GENERIC:
            case = kb.case(f"{svc.id}.{kind}")
            assert case is not None
            # A generic case answers from the service itself: nothing overridden.
            assert case.requirements is None and case.fee is None and case.processing_days is None, case.id


def test_every_service_has_situation_cases(kb: KnowledgeBase) -> None:
    for svc in load_catalog().services:
        situations = [c for c in kb.for_service(svc.id) if c.kind not in GENERIC]
        assert len(situations) >= 5, svc.id


def test_case_files_hold_only_their_service() -> None:
    for path in sorted((knowledge_dir() / "cases").glob("*.yaml")):
        rows = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert {r["service"] for r in rows} == {path.stem}, path.name


def test_every_listed_referral_has_an_entry(kb: KnowledgeBase) -> None:
    listed = [
        line.strip()
        for line in (knowledge_dir() / "REFERRAL_IDS.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert listed
    missing = set(listed) - {r.id for r in kb.referrals}
    assert not missing, sorted(missing)


def test_referrals_point_near_real_services(kb: KnowledgeBase) -> None:
    services = {s.id for s in load_catalog().services}
    for ref in kb.referrals:
        assert set(ref.near) <= services, ref.id
        assert len(ref.cues) >= 4, ref.id


def _prose(case: Case) -> list[str]:
    """Text the engine shows as-is; figures must come from the structured fields instead."""
    texts = [case.title.id, case.title.en, case.answer.id, case.answer.en]
    for extra in (case.not_for, case.where_note):
        if extra is not None:
            texts += [extra.id, extra.en]
    return texts


def test_answers_carry_no_figures_of_their_own(kb: KnowledgeBase) -> None:
    bad = [(c.id, m.group(0)) for c in kb.cases for t in _prose(c) if (m := FIGURE_RE.search(t))]
    assert not bad, bad
    for ref in kb.referrals:
        for text in (ref.title.id, ref.title.en, ref.why.id, ref.why.en, ref.where.id, ref.where.en):
            m = FIGURE_RE.search(text)
            assert m is None, (ref.id, m.group(0))


def test_cues_are_bilingual_and_short(kb: KnowledgeBase) -> None:
    for case in kb.cases:
        assert len(case.cues) >= 4, case.id
        assert all(0 < len(c) <= 80 for c in case.cues), case.id
        assert len(set(c.lower() for c in case.cues)) == len(case.cues), case.id


def test_fees_are_priced_or_free(kb: KnowledgeBase) -> None:
    for case in kb.cases:
        if case.fee is None:
            continue
        if case.fee.free:
            continue
        assert case.fee.items and all(i.amount > 0 for i in case.fee.items), case.id


def _items(kb: KnowledgeBase) -> list[Case | Referral]:
    return [*kb.cases, *kb.referrals]


def test_sources_are_dated_and_addressed(kb: KnowledgeBase) -> None:
    today = dt.date.today()
    for item in _items(kb):
        assert item.source.checked <= today, item.id
        url = urlparse(item.source.url)
        assert url.scheme in ("http", "https") and "." in url.netloc and " " not in item.source.url, item.id


# the one list of reserved sources (the real-question set checks the same)
RESERVED = (*RESERVED_DOMAINS, *(repo.split("/")[1] for repo in RESERVED_REPOS))


def test_no_reserved_source_is_cited(kb: KnowledgeBase) -> None:
    for item in _items(kb):
        assert not any(r.lower() in item.source.url.lower() for r in RESERVED), item.id


def test_a_broken_case_is_refused(tmp_path: Path) -> None:
    (tmp_path / "cases").mkdir()
    row = {
        "id": "ktp-el.lost",
        "service": "ktp-el",
        "kind": "renewal",
        "title": {"id": "x", "en": "x"},
        "cues": ["x"],
        "answer": {"id": "x", "en": "x"},
        "source": {"url": "https://example.go.id/", "checked": "2026-01-01"},
    }
    (tmp_path / "cases" / "ktp-el.yaml").write_text(yaml.safe_dump([row]), encoding="utf-8")
    with pytest.raises(ValidationError):
        load_knowledge(tmp_path)
