"""Recognition on the hand-written dev set (never generated from the training templates)."""

from __future__ import annotations

from collections import defaultdict

import pytest

from assistant.core import Assistant
from assistant.dataset import INTENTS, load_dev
from protocol.catalog import default_catalog

DEV = load_dev()


@pytest.fixture(scope="module")
def routed(assistant: Assistant) -> list[tuple[dict, object]]:
    return [(row, assistant.understand(row["question"])) for row in DEV]


def test_dev_set_covers_every_service_intent_and_language() -> None:
    assert len(DEV) >= 200
    assert {r["intent"] for r in DEV} == set(INTENTS)
    assert {r["service"] for r in DEV if r["service"]} == {s.id for s in default_catalog().services}
    assert {r["lang"] for r in DEV} == {"id", "en"}
    assert {"typo", "colloquial"} <= {r["style"] for r in DEV}


def test_every_intent_recognised_on_held_out_examples(routed: list) -> None:
    per: dict[str, list[bool]] = defaultdict(list)
    for row, u in routed:
        per[row["intent"]].append(u.intent == row["intent"])
    for intent in INTENTS:
        hits = per[intent]
        assert sum(hits) / len(hits) >= 0.7, (intent, sum(hits), len(hits))


def test_every_service_recognised_on_held_out_examples(routed: list) -> None:
    per: dict[str, list[bool]] = defaultdict(list)
    for row, u in routed:
        if row["service"] and row["intent"] == "ask_service":
            per[row["service"]].append(u.service == row["service"])
    for sid, hits in per.items():
        assert sum(hits) / len(hits) >= 0.75, (sid, sum(hits), len(hits))
    total = [h for hits in per.values() for h in hits]
    assert sum(total) / len(total) >= 0.9


def test_colloquial_examples_from_the_issue(assistant: Assistant) -> None:
    cases = [
        ("syarat bikin KTP apa aja?", "ktp-el", "requirements"),
        ("KTP saya hilang gimana?", "ktp-el", "lost_damaged"),
        ("brp biaya paspor", "paspor", "fee"),
        ("akte lahir anak syaratnya", "akta-kelahiran", "requirements"),
        ("bikin AK1 dimana", "kartu-kuning", "location"),
        ("perpanjang STNK bayar berapa", "pajak-kendaraan", "fee"),
    ]
    for text, service, aspect in cases:
        u = assistant.understand(text)
        assert (u.service, u.aspect) == (service, aspect), text
    assert assistant.understand("mau daftar akta lahir anak").intent == "start_application"


def test_a_correctly_spelt_word_is_not_a_typo_of_a_service_name() -> None:
    """The word "bagi" ("for") is one letter from the alias "bayi" and named the birth certificate."""
    from assistant.nlu import AliasRules
    from assistant.text import normalize
    from protocol.catalog import default_catalog

    rules = AliasRules(default_catalog())
    assert rules.find(normalize("Mengapa kartu ini penting bagi para pencari kerja?")) != ["akta-kelahiran"]
    assert rules.fuzzy(normalize("mengapa kartu ini penting bagi para pencari kerja")) == []
    assert rules.fuzzy(normalize("syarat sckk apa saja")) == ["skck"]
    assert "akta-kematian" in rules.find(normalize("akta kmatian ibu saya"))
