"""The 2D page's rough edges on a 390x844 phone (issue 14, item 7), in real chromium against a real server:
the server's NIK message at the field, one source line in the reply's language, no draft noise in the
chat, and the service's documents to bring with a per-requirement upload.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.server.conftest import create_app_json, identified, new_session
from tests.server.test_citizen_page import (  # noqa: F401 (module fixtures)
    ASSISTANT_ON,
    KTP_REQ_BASIS,
    _answers,
    _page,
    _wait_token,
    browser,
    server,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


def _identify(page: Any, nik: str, name: str) -> None:
    from tests.codes import prove_in_page

    prove_in_page(page, nik, name)


def _chat_lines(page: Any) -> list[str]:
    return [str(x) for x in page.locator("#chat-log .msg").all_inner_texts()]


@pytest.mark.browser
@pytest.mark.slow
def test_a_short_nik_shows_the_servers_message_at_the_field(browser: Any, server: str) -> None:  # noqa: F811
    page, problems = _page(browser, 390, 844, mobile=True)
    page.goto(server + "/")
    _wait_token(page)
    page.fill("#id-nik", "351001120490")
    page.fill("#id-name", "Budi Santoso")
    page.click("#identify-form button[type=submit]")
    err = page.locator("#id-nik-err")
    page.wait_for_function("() => /harus tepat/.test(document.getElementById('id-nik-err').textContent)")
    assert "NIK harus tepat 16 digit; yang diterima 12 digit" in err.inner_text()
    assert err.is_visible() and page.locator("#id-nik").get_attribute("aria-invalid") == "true"
    assert page.locator("#identified").is_hidden()
    # an empty NIK is still refused here, without a request
    page.fill("#id-nik", "")
    page.click("#identify-form button[type=submit]")
    assert err.inner_text() == "wajib"
    assert not problems, problems


def _ask(page: Any, text: str) -> Any:
    before = _answers(page).count()
    page.fill("#chat-text", text)
    page.press("#chat-text", "Enter")
    _answers(page).nth(before + 1).wait_for(timeout=60_000)
    return _answers(page).nth(before + 1)


@pytest.mark.browser
@pytest.mark.slow
def test_an_answer_names_its_source_once_in_its_language(browser: Any, server: str) -> None:  # noqa: F811
    if not ASSISTANT_ON:
        pytest.skip("the assistant is not loaded (MPP_LOAD_ASSISTANT=0)")
    page, problems = _page(browser, 390, 844, mobile=True)
    page.goto(server + "/")
    _wait_token(page)
    reply = _ask(page, "Apa syarat membuat KTP?")
    text = reply.inner_text()
    assert KTP_REQ_BASIS in text
    assert text.count("Sumber") == 1 and text.count(KTP_REQ_BASIS) == 1, text

    if page.locator("html").get_attribute("lang") != "en":
        page.click("#btn-lang")
    assert page.locator("html").get_attribute("lang") == "en"
    reply = _ask(page, "What are the requirements for a KTP?")
    text = reply.inner_text()
    assert "from-assistant" in (reply.get_attribute("class") or "")
    assert text.count("Source") == 1 and text.count(KTP_REQ_BASIS) == 1, text
    assert "Sumber" not in text and "diperiksa" not in text, text
    # the source keeps its link, in place
    links = reply.locator("a")
    if links.count():
        assert links.first.inner_text().startswith(KTP_REQ_BASIS)
    assert not problems, problems


@pytest.mark.browser
@pytest.mark.slow
def test_a_draft_save_stays_out_of_the_chat(browser: Any, server: str) -> None:  # noqa: F811
    page, problems = _page(browser, 390, 844, mobile=True)
    page.goto(server + "/")
    token = _wait_token(page)
    _identify(page, "3510011204900021", "Agus Salim")
    h = {"Authorization": f"Bearer {token}"}
    form = {
        "nik": "3510011204900021",
        "full_name": "Agus Salim",
        "reason": "baru",
        "kk_number": "3510010101200001",
    }
    r = httpx.post(
        f"{server}/api/v1/applications",
        json={"service_id": "ktp-el", "data": form, "submit": False},
        headers={**h, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 201, r.text
    tracking = r.json()["tracking_number"]
    assert r.json()["state"] == "draft"
    page.locator(f"#app-{tracking}").wait_for(state="attached", timeout=15_000)  # the tracker has it
    assert httpx.post(f"{server}/api/v1/applications/{tracking}/submit", headers=h).status_code == 200
    # the submission matters to the visitor: it reaches the chat, after the draft event was handled
    page.wait_for_function(
        "code => [...document.querySelectorAll('#chat-log .msg')]"
        ".some(m => m.textContent.includes(code + ': Diajukan'))",
        arg=tracking,
        timeout=15_000,
    )
    lines = _chat_lines(page)
    assert not [x for x in lines if "Draf" in x], lines
    assert not problems, problems


@pytest.mark.browser
@pytest.mark.slow
def test_documents_to_bring_with_per_requirement_upload(browser: Any, server: str) -> None:  # noqa: F811
    page, problems = _page(browser, 390, 844, mobile=True)
    page.goto(server + "/")
    token = _wait_token(page)
    h = {"Authorization": f"Bearer {token}"}
    _identify(page, "3510011204900022", "Rina Wati")
    page.select_option("#svc", "ktp-el")
    page.locator("#f-reason").wait_for()
    reqs = httpx.get(f"{server}/api/v1/services/ktp-el").json()["requirements"]
    items = page.locator("#req-docs .req-text")
    assert page.locator("#svc-docs").is_visible()
    assert items.all_inner_texts() == [r["id"] for r in reqs]
    inp = page.locator("#doc-req-1")
    assert inp.get_attribute("accept") == "image/*,application/pdf"
    assert inp.get_attribute("capture") == "environment"
    assert page.locator("label[for=doc-req-1]").is_visible()  # the tap target on the phone
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, width

    # a good file: its name and a tick next to its requirement
    page.set_input_files("#doc-req-1", files=[{"name": "kk-rina.png", "mimeType": "image/png", "buffer": PNG}])
    page.wait_for_function("() => document.getElementById('doc-req-1-ok').textContent.includes('kk-rina.png')")
    assert "✓" in page.locator("#doc-req-1-ok").inner_text()
    assert page.locator("#doc-req-1-err").inner_text() == ""

    # a bad type: the server's message next to that requirement only
    page.set_input_files(
        "#doc-req-2", files=[{"name": "lapor.pdf", "mimeType": "application/pdf", "buffer": b"MZ not a pdf"}]
    )
    page.wait_for_function("() => document.getElementById('doc-req-2-err').textContent.length > 0")
    assert "Hanya PDF, JPEG, atau PNG" in page.locator("#doc-req-2-err").inner_text()
    assert page.locator("#doc-req-2").get_attribute("aria-invalid") == "true"
    assert page.locator("#doc-req-2-ok").inner_text() == ""
    assert "kk-rina.png" in page.locator("#doc-req-1-ok").inner_text()

    # submitting attaches the upload to the application
    page.select_option("#f-reason", index=1)
    page.fill("#f-kk_number", "3510010101200001")
    page.click("#btn-submit")
    page.locator("#app-done").wait_for()
    tracking = page.locator("#done-tracking").inner_text()
    docs: list[dict[str, Any]] = []
    for _ in range(50):
        docs = httpx.get(f"{server}/api/v1/applications/{tracking}/documents", headers=h).json()
        if docs:
            break
        page.wait_for_timeout(100)
    assert [d["filename"] for d in docs] == ["kk-rina.png"]

    # a file added after submitting goes straight to the application
    page.set_input_files(
        "#doc-req-3", files=[{"name": "ktp-lama.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n%%EOF\n"}]
    )
    page.wait_for_function("() => document.getElementById('doc-req-3-ok').textContent.includes('ktp-lama.pdf')")
    docs = httpx.get(f"{server}/api/v1/applications/{tracking}/documents", headers=h).json()
    assert sorted(d["filename"] for d in docs) == ["kk-rina.png", "ktp-lama.pdf"]
    assert not problems, problems


def test_attaching_uploads_is_limited_to_the_visitors_own_files(client: TestClient) -> None:
    h = identified(client)
    app = create_app_json(client, h)
    tracking = app["tracking_number"]
    mine = client.post("/api/v1/documents", files={"file": ("kk.png", PNG, "image/png")}, headers=h).json()
    url = f"/api/v1/applications/{tracking}/documents"
    assert client.get(url, headers=h).json() == []
    r = client.post(url, json={"ids": [mine["id"]]}, headers=h)
    assert r.status_code == 200 and [d["id"] for d in r.json()] == [mine["id"]]
    assert client.post(url, json={"ids": [mine["id"]]}, headers=h).status_code == 200  # again: no change

    # another visitor's file, an unknown id, a bad body: typed refusals, nothing attached
    other = new_session(client)
    theirs = client.post("/api/v1/documents", files={"file": ("x.png", PNG, "image/png")}, headers=other).json()
    assert client.post(url, json={"ids": [theirs["id"]]}, headers=h).json()["detail"]["code"] == "not_found"
    assert client.post(url, json={"ids": [10**9]}, headers=h).status_code == 404
    bads: list[dict[str, Any]] = [{"ids": []}, {"ids": ["x"]}, {"ids": list(range(1, 30))}, {"nope": 1}]
    for bad in bads:
        assert client.post(url, json=bad, headers=h).status_code == 422, bad
    assert client.get(url, headers=other).status_code == 404  # not their application

    # a file already on one application does not move to another
    second = create_app_json(client, h)["tracking_number"]
    r = client.post(f"/api/v1/applications/{second}/documents", json={"ids": [mine["id"]]}, headers=h)
    assert r.status_code == 409 and r.json()["detail"]["code"] == "document_attached"
    assert [d["id"] for d in client.get(url, headers=h).json()] == [mine["id"]]
