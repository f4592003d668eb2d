"""The chat's own second factor: a visitor proves the NIK inside the conversation, then the form is sent.

Before: the chat refused with 'verify_first' and sent the visitor to the identity card outside the chat.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

from tests.codes import sink
from tests.server.conftest import VALID_NIK, new_session
from tests.server.test_chat import ask, chat_client  # noqa: F401  (the fixture)

CONTACT = "budi.chat@example.com"


def _code_sent_to(client: TestClient, contact: str, before: int) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        sent = sink(client).to(contact)
        if len(sent) > before:
            return sent[-1].code
        time.sleep(0.05)
    raise AssertionError(f"no code went to {contact}")


def test_the_chat_asks_for_the_code_and_submits_after_it(chat_client: TestClient) -> None:  # noqa: F811
    c = chat_client
    h = new_session(c)
    sink(c)
    conv = ask(c, h, "/apply ktp-el")["conversation_id"]
    for text in (VALID_NIK, "Budi Santoso", "hilang", "3510010101200001", "lewati"):
        ask(c, h, text, conv)
    asked = ask(c, h, "ya", conv)
    assert "kode 6 angka" in asked["text"].lower(), asked["text"]
    assert not any(a["kind"] == "show_application" for a in asked["actions"])
    assert c.get("/api/v1/applications", headers=h).json() == []

    sent = ask(c, h, CONTACT, conv)
    assert "dikirim" in sent["text"], sent["text"]
    code = _code_sent_to(c, CONTACT, 0)

    wrong = "000000" if code != "000000" else "111111"
    refused = ask(c, h, wrong, conv)
    assert not any(a["kind"] == "show_application" for a in refused["actions"])
    assert c.get("/api/v1/applications", headers=h).json() == []

    done = ask(c, h, f"kodenya {code}", conv)
    tracking = next(a["data"]["tracking_number"] for a in done["actions"] if a["kind"] == "show_application")
    assert [a["tracking_number"] for a in c.get("/api/v1/applications", headers=h).json()] == [tracking]
    me: dict[str, Any] = c.get("/api/v1/sessions/me", headers=h).json()
    assert me["citizen"] == "3510********0001"


def test_a_claimant_of_a_registered_nik_never_gets_the_code(chat_client: TestClient) -> None:  # noqa: F811
    from tests.codes import prove

    c = chat_client
    owner = new_session(c)
    prove(c, owner, VALID_NIK, "Budi Santoso", "owner@example.com")
    thief = new_session(c)
    conv = ask(c, thief, "/apply ktp-el")["conversation_id"]
    for text in (VALID_NIK, "Budi Santoso", "hilang", "3510010101200001", "lewati", "ya"):
        ask(c, thief, text, conv)
    ask(c, thief, "thief@example.com", conv)  # a registered NIK: the code goes to the owner's contact only
    time.sleep(0.3)
    assert sink(c).to("thief@example.com") == []
    ask(c, thief, "123456", conv)
    assert c.get("/api/v1/applications", headers=thief).json() == []
