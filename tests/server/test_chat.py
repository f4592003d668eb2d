"""The assistant wired into the server: HTTP ask, websocket chat, persistence, handoff, ownership."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from websockets.sync.client import connect

from tests.conftest import PG_URL
from tests.server.conftest import VALID_NIK, identified, new_session


@pytest.fixture
def chat_client(migrated: Any, assistant_engine: Any) -> Iterator[TestClient]:
    from server.app import create_app
    from tests.codes import RecordingDelivery

    with TestClient(create_app(migrated, assistant=assistant_engine, delivery=RecordingDelivery())) as c:
        yield c


def ask(client: TestClient, h: dict[str, str], text: str, conv: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"text": text}
    if conv:
        body["conversation_id"] = conv
    r = client.post("/api/v1/assistant/ask", json=body, headers=h)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_http_ask_gives_grounded_answer_with_citation(chat_client: TestClient) -> None:
    h = new_session(chat_client)
    reply = ask(chat_client, h, "brp biaya paspor")
    assert reply["service"] == "paspor" and reply["intent"] == "ask_service"
    assert "350.000" in reply["text"]
    assert reply["citations"] and reply["citations"][0]["service_id"] == "paspor"


def test_english_question_gets_english_answer(chat_client: TestClient) -> None:
    h = new_session(chat_client)
    reply = ask(chat_client, h, "how much does a passport cost?")
    assert reply["lang"] == "en" and "Source" in reply["text"]


def test_form_dialogue_submits_through_server_and_survives_restart(migrated: Any, assistant_engine: Any) -> None:
    from server.app import create_app
    from tests.codes import RecordingDelivery

    with TestClient(create_app(migrated, assistant=assistant_engine, delivery=RecordingDelivery())) as c:
        h = identified(c)
        first = ask(c, h, "saya mau bikin ktp baru")
        conv = first["conversation_id"]
    # a brand-new app instance (server restart) resumes the same conversation from the database
    with TestClient(create_app(migrated, assistant=assistant_engine, delivery=RecordingDelivery())) as c:
        reply = ask(c, h, "batal", conv)
        assert reply["conversation_id"] == conv
        from server.persistence import models as m

        with c.app.state.sessions() as db:  # type: ignore[attr-defined]
            events = db.query(m.ConversationEvent).filter_by(conversation_id=conv).count()
        assert events >= 2


def test_handoff_request_creates_pending_handoff_with_transcript(chat_client: TestClient) -> None:
    h = new_session(chat_client)
    conv = ask(chat_client, h, "syarat skck apa saja")["conversation_id"]
    reply = ask(chat_client, h, "saya mau bicara dengan petugas", conv)
    assert any(a["kind"] == "handoff" for a in reply["actions"])
    from server.persistence import models as m

    with chat_client.app.state.sessions() as db:  # type: ignore[attr-defined]
        handoff = db.query(m.Handoff).one()
    assert handoff.state == "pending" and len(handoff.transcript) >= 2
    assert handoff.service_id == "skck" and handoff.agency_id == "polri"


def test_conversation_of_another_session_is_not_found(chat_client: TestClient) -> None:
    a, b = new_session(chat_client), new_session(chat_client)
    conv = ask(chat_client, a, "halo")["conversation_id"]
    r = chat_client.post("/api/v1/assistant/ask", json={"text": "halo", "conversation_id": conv}, headers=b)
    assert r.status_code == 404


@pytest.mark.slow
def test_websocket_chat_round_trip_against_real_server(tmp_path: Path, settings: Any) -> None:
    if PG_URL:
        from server.persistence.migrate import upgrade

        upgrade(settings)
    from mpp.launch import ServerProcess

    server = ServerProcess(tmp_path, env={"MPP_DATABASE_URL": PG_URL} if PG_URL else {}, wait_for="assistant")
    port = server.port
    server.start(timeout=90)
    try:
        base = f"http://127.0.0.1:{port}/api/v1"
        token = httpx.post(f"{base}/sessions", json={}).json()["token"]
        httpx.post(
            f"{base}/sessions/identify",
            json={"nik": VALID_NIK, "name": "Budi Santoso"},
            headers={"Authorization": f"Bearer {token}"},
        )
        with connect(f"ws://127.0.0.1:{port}/ws", open_timeout=10) as ws:
            ws.send(json.dumps({"type": "hello", "token": token, "protocol_version": 1, "last_seq": 0}))
            assert json.loads(ws.recv(timeout=10))["type"] == "welcome"
            ws.send(json.dumps({"type": "chat.say", "text": "syarat KTP apa saja?", "ref": "q1"}))
            while True:
                frame = json.loads(ws.recv(timeout=20))
                if frame["type"] == "chat.reply":
                    break
            assert frame["ref"] == "q1" and frame["service"] == "ktp-el"
            assert "Kartu Keluarga" in frame["text"] and frame["citations"]
    finally:
        server.kill9()


def test_chat_application_of_a_new_visitor_is_listed_for_the_session(chat_client: TestClient) -> None:
    """13.5: an application made in the chat appears under Lacak (GET /applications) of the same session."""
    from tests.codes import prove

    h = new_session(chat_client)
    prove(chat_client, h, VALID_NIK, "Budi Santoso", "budi@example.com")  # the second factor comes first
    conv = ask(chat_client, h, "/apply ktp-el")["conversation_id"]
    for text in (VALID_NIK, "Budi Santoso", "hilang", "3510010101200001", "lewati"):
        ask(chat_client, h, text, conv)
    done = ask(chat_client, h, "ya", conv)
    tracking = next(a["data"]["tracking_number"] for a in done["actions"] if a["kind"] == "show_application")
    listed = chat_client.get("/api/v1/applications", headers=h)
    assert listed.status_code == 200
    assert tracking in [a["tracking_number"] for a in listed.json()]
    me = chat_client.get("/api/v1/sessions/me", headers=h)
    assert me.status_code != 200 or me.json().get("citizen") or me.json().get("identified") is not False


def test_passport_application_leads_to_the_m_paspor_queue(chat_client: TestClient) -> None:
    """13.5: the catalogue says passports are applied for in M-Paspor: no "submitted" claim in the chat."""
    h = new_session(chat_client)
    reply = ask(chat_client, h, "saya mau buat paspor baru, tolong ajukan")
    assert "M-Paspor" in reply["text"] and "terkirim" not in reply["text"]
    assert not any(a["kind"] == "open_form" for a in reply["actions"])
    assert chat_client.get("/api/v1/applications", headers=h).json() == []


def test_over_long_chat_message_is_answered_not_cut(chat_client: TestClient) -> None:
    """13.5: a message over the limit is answered from its end (the question is there), never silently cut."""
    h = new_session(chat_client)
    story = "Kemarin saya sudah datang ke kantor dan menunggu lama sekali di sana. " * 40
    reply = ask(chat_client, h, story + "Berapa biaya paspor?")
    assert "350.000" in reply["text"] and "2000" in reply["text"]


def _count_transactions(app: Any) -> list[str]:
    """Every transaction the app's engine begins, as 'begin' entries (SQLAlchemy's engine event)."""
    from sqlalchemy import event

    seen: list[str] = []
    event.listen(app.state.engine, "begin", lambda conn: seen.append("begin"))
    return seen


def test_a_chat_turn_is_one_read_and_one_write(chat_client: TestClient) -> None:
    """14.5: a question crossed five transactions (relay, owner, caller, history, events); now one read, one write."""
    h = new_session(chat_client)
    conv = ask(chat_client, h, "syarat bikin kk baru apa saja?")["conversation_id"]
    seen = _count_transactions(chat_client.app)
    before = len(seen)
    reply = ask(chat_client, h, "kalau biayanya berapa?", conv)
    assert reply["conversation_id"] == conv
    # the request's own session lookup (VisitorDep) is one more; the turn itself is one read and one write
    assert len(seen) - before == 3, seen


def test_chat_submission_goes_through_the_apis_writer(chat_client: TestClient) -> None:
    """14.5: one submission path: the chat's application is written by the same writer as POST /applications."""
    from tests.codes import prove

    writer = chat_client.app.state.submissions  # type: ignore[attr-defined]
    assert writer is not None and chat_client.app.state.port.submissions is writer  # type: ignore[attr-defined]
    calls: list[Any] = []
    real = writer.submit

    async def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0])
        return await real(*args, **kwargs)

    writer.submit = spy
    h = new_session(chat_client)
    prove(chat_client, h, VALID_NIK, "Budi Santoso", "budi@example.com")
    conv = ask(chat_client, h, "/apply ktp-el")["conversation_id"]
    for text in (VALID_NIK, "Budi Santoso", "hilang", "3510010101200001", "lewati"):
        ask(chat_client, h, text, conv)
    done = ask(chat_client, h, "ya", conv)
    tracking = next(a["data"]["tracking_number"] for a in done["actions"] if a["kind"] == "show_application")
    assert len(calls) == 1 and type(calls[0]).__name__ == "StoredHash"  # named by the session, no bearer token
    listed = chat_client.get("/api/v1/applications", headers=h).json()
    assert [a["tracking_number"] for a in listed].count(tracking) == 1
    # the same answer again replays (the idempotency key of the form loop), nothing new is written
    assert len([a for a in listed if a["service_id"] == "ktp-el"]) == 1
