"""The citizen's second factor: codes, limits, first registration, delivery channels, receipts."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tests.codes import SmtpInbox, app_state, prove, sink
from tests.conftest import free_port
from tests.server.conftest import VALID_NIK, VALID_NIK_F, create_app_json, ktp_form, make_officer, new_session

NAME = "Budi Santoso"


def ask(
    client: TestClient, h: dict[str, str], nik: str = VALID_NIK, name: str = NAME, contact: str | None = None
) -> Any:
    body: dict[str, Any] = {"nik": nik, "name": name}
    if contact:
        body["contact"] = contact
    return client.post("/api/v1/sessions/identify", json=body, headers=h)


def verify(client: TestClient, h: dict[str, str], challenge: str, code: str) -> Any:
    return client.post("/api/v1/sessions/verify", json={"challenge_id": challenge, "code": code}, headers=h)


def test_only_the_code_links_the_session(client: TestClient) -> None:
    h = new_session(client)
    r = ask(client, h, contact="budi@example.com")
    assert r.status_code == 202
    assert client.get("/api/v1/sessions/me", headers=h).json()["citizen"] is None  # NIK + name: not yet
    ch = r.json()["challenge_id"]
    code = sink(client).wait_for(ch)
    assert code is not None and len(code) == 6 and code.isdigit()
    assert verify(client, h, ch, code).status_code == 200
    me = client.get("/api/v1/sessions/me", headers=h).json()
    assert me["citizen"] == "3510********0001" and me["contact"] == "b***@example.com"
    # single use
    assert verify(client, h, ch, code).status_code == 400


def test_codes_are_stored_hashed_and_expire_after_five_minutes(client: TestClient, app: Any) -> None:
    from server.persistence import models as m

    h = new_session(client)
    ch = ask(client, h, contact="budi@example.com").json()["challenge_id"]
    code = sink(client).wait_for(ch)
    with app.state.sessions() as db:
        row = db.scalar(select(m.IdentityChallenge).where(m.IdentityChallenge.public_id == ch))
        assert code not in row.code_hash and len(row.code_hash) == 64
        left = (m.utc(row.expires_at) - m.now_utc()).total_seconds()
        assert 290 < left <= 300
        db.execute(update(m.IdentityChallenge).values(expires_at=m.now_utc() - dt.timedelta(seconds=1)))
        db.commit()
    r = verify(client, h, ch, code)
    assert r.status_code == 400 and r.json()["detail"]["code"] == "code_invalid"


def test_applications_need_the_proven_session_not_a_nik_in_the_form(client: TestClient) -> None:
    h = new_session(client)
    r = client.post(
        "/api/v1/applications",
        json={"service_id": "ktp-el", "data": ktp_form(), "submit": True},
        headers={**h, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 403 and r.json()["detail"]["code"] == "identify_first"


def test_a_bound_nik_is_never_rebound_by_a_claimant(client: TestClient) -> None:
    owner = new_session(client)
    prove(client, owner, VALID_NIK, NAME, "budi@example.com")
    thief = new_session(client)
    r = ask(client, thief, contact="thief@example.com")
    assert r.status_code == 202
    assert sink(client).to("thief@example.com") == []  # the code went to Budi, not to the claimant
    assert sink(client).to("budi@example.com")[-1].reference == r.json()["challenge_id"]
    for guess in ("000000", "123456"):
        assert verify(client, thief, r.json()["challenge_id"], guess).status_code == 400
    assert client.get("/api/v1/sessions/me", headers=thief).json()["citizen"] is None


def test_first_registration_binds_only_after_the_contact_proves_itself(client: TestClient, app: Any) -> None:
    from server.persistence import models as m

    h = new_session(client)
    ch = ask(client, h, VALID_NIK_F, "Siti Aminah", "081234567890").json()["challenge_id"]
    with app.state.sessions() as db:  # nothing is registered before the code comes back
        assert db.scalar(select(m.Citizen).where(m.Citizen.nik == VALID_NIK_F)) is None
    msg = sink(client).to("081234567890")[-1]
    assert msg.contact.kind == "phone"
    assert verify(client, h, ch, msg.code).status_code == 200
    with app.state.sessions() as db:
        c = db.scalar(select(m.Citizen).where(m.Citizen.nik == VALID_NIK_F))
        assert c is not None and c.contact == "081234567890"


def test_replies_do_not_reveal_whether_a_nik_is_known(client: TestClient) -> None:
    prove(client, new_session(client), VALID_NIK, NAME, "budi@example.com")
    shapes = []
    for nik, name, contact in (
        (VALID_NIK, NAME, None),  # known, right name
        (VALID_NIK, "Orang Lain", None),  # known, wrong name
        (VALID_NIK_F, "Siti", None),  # unknown
        (VALID_NIK, "Orang Lain", "x@example.com"),
    ):
        r = ask(client, new_session(client), nik, name, contact)
        body = r.json()
        shapes.append((r.status_code, sorted(body), body["expires_in"], body["message_en"]))
    assert len(set(map(json.dumps, shapes))) == 1, shapes


def test_code_requests_are_limited_per_nik_with_retry_after(migrated: Any) -> None:
    from server.app import create_app
    from tests.codes import RecordingDelivery

    with TestClient(create_app(migrated, delivery=RecordingDelivery())) as client:
        statuses = [ask(client, new_session(client), contact="b@example.com").status_code for _ in range(4)]
        assert statuses == [202, 202, 202, 429]
        r = ask(client, new_session(client), contact="b@example.com")
        assert r.status_code == 429 and 800 < int(r.headers["Retry-After"]) <= 901
        # another NIK from the same client still works until the per-client limit
        assert ask(client, new_session(client), VALID_NIK_F, "Siti").status_code == 202


def test_wrong_codes_burn_the_challenge_and_then_the_client(migrated: Any) -> None:
    from server.app import create_app
    from tests.codes import RecordingDelivery

    with TestClient(create_app(migrated, delivery=RecordingDelivery())) as client:
        h = new_session(client)
        ch = ask(client, h, contact="b@example.com").json()["challenge_id"]
        code = sink(client).wait_for(ch)
        wrong = f"{(int(code) + 1) % 10**6:06d}"
        assert [verify(client, h, ch, wrong).status_code for _ in range(5)] == [400] * 5
        assert verify(client, h, ch, code).status_code == 400  # five misses: even the right code is refused now
        codes = [verify(client, h, "nope", "000000").status_code for _ in range(20)]
        assert codes[-1] == 429 and "Retry-After" in verify(client, h, "nope", "1").headers


def test_email_codes_go_through_a_real_smtp_server(migrated: Any) -> None:
    from server.app import create_app

    with SmtpInbox() as inbox:
        migrated.otp_delivery = "smtp"
        migrated.smtp_port = inbox.port
        with TestClient(create_app(migrated)) as client:
            h = new_session(client)
            ch = ask(client, h, contact="budi@example.com").json()["challenge_id"]
            code = inbox.code_for("budi@example.com")
            assert verify(client, h, ch, code).status_code == 200
        assert "MPP" in inbox.mails[-1][1] and "5 menit" in inbox.mails[-1][1]


def test_sms_codes_go_to_an_http_gateway(migrated: Any) -> None:
    from server.domain.delivery import CodeMessage, Contact, DeliveryError, HttpGatewayDelivery

    got: list[tuple[dict[str, Any], str]] = []
    status = [200]

    class Gateway(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            got.append((body, self.headers.get("Authorization", "")))
            self.send_response(status[0])
            self.end_headers()

        def log_message(self, *a: Any) -> None:
            pass

    port = free_port()
    server = HTTPServer(("127.0.0.1", port), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        migrated.otp_http_url = f"http://127.0.0.1:{port}/send"
        migrated.otp_http_token = "secret-token"
        sender = HttpGatewayDelivery(migrated)
        msg = CodeMessage(Contact("phone", "081234567890"), "123456", "id", "ref1")
        asyncio.run(sender.send(msg))
        body, auth = got[-1]
        assert body["to"] == "+6281234567890" and "123456" in body["text"] and body["reference"] == "ref1"
        assert auth == "Bearer secret-token"
        status[0] = 500
        try:
            asyncio.run(sender.send(msg))
        except DeliveryError:
            pass
        else:
            raise AssertionError("a gateway error must raise DeliveryError")
    finally:
        server.shutdown()


def test_console_sink_says_it_is_not_for_production(caplog: Any) -> None:
    from server.domain.delivery import CodeMessage, ConsoleDelivery, Contact

    sink = ConsoleDelivery()
    asyncio.run(sink.send(CodeMessage(Contact("email", "a@b.id"), "654321", "id", "r")))
    assert "NOT FOR PRODUCTION" in caplog.text and "654321" in caplog.text


def test_anonymous_tracking_with_the_receipt_pin(client: TestClient) -> None:
    h = new_session(client)
    prove(client, h, VALID_NIK, NAME, "budi@example.com")
    app = create_app_json(client, h)
    pin = app["receipt_pin"]
    assert len(pin) == 8 and pin.isdigit()
    anon = client.post("/api/v1/track", json={"tracking_number": app["tracking_number"], "pin": pin})
    assert anon.status_code == 200
    assert anon.json()["state"] == "submitted" and anon.json()["data"]["nik"] == "3510********0001"
    assert anon.json()["events"]
    wrong = client.post("/api/v1/track", json={"tracking_number": app["tracking_number"], "pin": "00000000"})
    assert wrong.status_code == 404
    statuses = [
        client.post("/api/v1/track", json={"tracking_number": app["tracking_number"], "pin": "1"}).status_code
        for _ in range(6)
    ]
    assert statuses[-1] == 429


def test_an_officer_identifies_a_visitor_at_the_remote_counter_audited(client: TestClient, migrated: Any) -> None:
    from server.persistence import models as m

    off = make_officer(client, migrated, "dukcapil1", "dukcapil")
    h = new_session(client)
    hid = client.post(
        "/api/v1/handoffs", json={"conversation_id": "c1", "service_id": "ktp-el", "transcript": []}, headers=h
    ).json()["handoff_id"]
    body = {"nik": VALID_NIK, "name": NAME}
    assert client.post(f"/api/v1/officer/handoffs/{hid}/identify", json=body, headers=off).status_code == 404
    with app_state(client).sessions() as db:  # the officer accepts the handoff
        db.execute(update(m.Handoff).values(state="accepted", officer_id=1))
        db.commit()
    r = client.post(f"/api/v1/officer/handoffs/{hid}/identify", json=body, headers=off)
    assert r.status_code == 200, r.text
    assert client.get("/api/v1/sessions/me", headers=h).json()["citizen"] == "3510********0001"
    rb = client.post(
        "/api/v1/officer/citizens/rebind",
        json={"nik": VALID_NIK, "contact": "0812 3456 7899", "reason": "KTP checked on video"},
        headers=off,
    )
    assert rb.status_code == 200
    with app_state(client).sessions() as db:
        actions = [a.action for a in db.scalars(select(m.AuditLog).order_by(m.AuditLog.id))]
        assert actions[-2:] == ["citizen_identified", "contact_rebound"]
        assert VALID_NIK not in json.dumps([a.detail for a in db.scalars(select(m.AuditLog))])
