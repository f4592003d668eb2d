"""Grounding: every number in every answer comes from the catalogue."""

from __future__ import annotations

import re

import pytest

from assistant.answers import ASPECT_LABELS, compose, office_hours
from protocol.catalog import default_catalog

CATALOG = default_catalog()
_NUM = re.compile(r"\d[\d.,]*\d|\d")


def _numbers(text: str) -> set[str]:
    """Numbers with thousands separators removed: 'Rp350.000' -> '350000', '2026-11' -> '2026', '11'."""
    out = set()
    for m in _NUM.findall(text):
        out.add(re.sub(r"[.,]", "", m))
    return out


def _catalogue_numbers(service_id: str | None) -> set[str]:
    texts = [CATALOG.office.model_dump_json()] + [a.model_dump_json() for a in CATALOG.agencies]
    if service_id:
        texts.append(CATALOG.service(service_id).model_dump_json())
    nums: set[str] = set()
    for t in texts:
        nums |= {re.sub(r"[.,]", "", m) for m in _NUM.findall(t)}
        nums |= set(re.findall(r"\d+", t))
    return nums


@pytest.mark.parametrize("service_id", [s.id for s in CATALOG.services])
@pytest.mark.parametrize("aspect", [*ASPECT_LABELS, None])
@pytest.mark.parametrize("lang", ["id", "en"])
def test_no_invented_numbers(service_id: str, aspect: str | None, lang: str) -> None:
    svc = CATALOG.service(service_id)
    text, cite = compose(CATALOG, svc, aspect, lang)
    allowed = _catalogue_numbers(service_id)
    invented = {n for n in _numbers(text) if n not in allowed}
    assert not invented, f"{service_id}/{aspect}/{lang}: {invented} not in catalogue\n{text}"
    assert cite.service_id == service_id
    source = "Source:" if lang == "en" else "Sumber:"
    assert text.splitlines()[-1].startswith(source)
    assert f"{svc.checked:%Y-%m}" in text.splitlines()[-1]


def test_fee_answer_lists_every_catalogue_amount() -> None:
    svc = CATALOG.service("paspor")
    text, cite = compose(CATALOG, svc, "fee", "id")
    for item in svc.fee.items:
        assert f"{item.amount:,}".replace(",", ".") in text
    assert cite.source == svc.fee.legal_basis


def test_office_hours_numbers_come_from_catalogue() -> None:
    for lang in ("id", "en"):
        text, _ = office_hours(CATALOG, lang)
        assert not {n for n in _numbers(text) if n not in _catalogue_numbers(None)}
        assert CATALOG.office.hours[0].close in text


def test_number_check_would_catch_an_invented_fee() -> None:
    assert "123456" not in _catalogue_numbers("ktp-el")
    assert "123456" in _numbers("Biaya Rp123.456")
