"""The HTTP API's behaviour: catalogue, sessions, applications, queue, documents, dashboards."""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi.testclient import TestClient

from tests.server.conftest import (
    VALID_NIK,
    VALID_NIK_F,
    create_app_json,
    identified,
    ktp_form,
    make_officer,
    new_session,
)

IDS = {
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


def test_catalogue_lists_detail_and_search(client: TestClient) -> None:
    services = client.get("/api/v1/services").json()
    assert IDS <= {s["id"] for s in services}
    detail = client.get("/api/v1/services/paspor").json()
    assert detail["agency"] == "imigrasi"
    assert any(item["amount"] == 350000 for item in detail["fee"]["items"])
    hits = [s["id"] for s in client.get("/api/v1/services/search", params={"q": "paspor"}).json()]
    assert hits[0] == "paspor"
    assert client.get("/api/v1/services/nope").status_code == 404
    office = client.get("/api/v1/office").json()
    assert office["hours"]


def test_openapi_is_published(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/api/v1/applications" in spec["paths"]


def test_session_token_is_long_random_and_stored_hashed(client: TestClient, app: Any) -> None:
    r = client.post("/api/v1/sessions", json={})
    token = r.json()["token"]
    assert len(token) >= 22  # ≥ 128 bits in url-safe base64
    from sqlalchemy import select

    from server.persistence import models as m

    with app.state.sessions() as db:
        hashes = list(db.scalars(select(m.VisitorSession.token_hash)))
    assert token not in hashes and len(hashes) == 1 and len(hashes[0]) == 64


def test_identify_masks_nik_and_a_wrong_name_gets_no_code(client: TestClient) -> None:
    from tests.codes import prove, sink

    h = new_session(client)
    assert prove(client, h, VALID_NIK, "Budi Santoso", "budi@example.com")["citizen"] == "3510********0001"
    other = new_session(client)
    r = client.post("/api/v1/sessions/identify", json={"nik": VALID_NIK, "name": "Orang Lain"}, headers=other)
    assert r.status_code == 202  # the same reply as for the right name...
    assert sink(client).code_for(r.json()["challenge_id"]) is None  # ...but no code went out


def test_nik_as_number_gets_clear_error(client: TestClient) -> None:
    h = new_session(client)
    r = client.post("/api/v1/sessions/identify", json={"nik": 3510011204900001, "name": "Budi"}, headers=h)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail["code"] == "invalid_nik"
    assert "string" in detail["message_en"].lower() or "text" in detail["message_en"].lower()


def test_create_submit_and_tracking_number(client: TestClient) -> None:
    h = identified(client)
    app = create_app_json(client, h, submit=False)
    assert re.fullmatch(r"BWI-\d{4}-\d{6}", app["tracking_number"])
    assert app["state"] == "draft" and app["version"] == 1
    assert app["data"]["nik"] == "3510********0001"
    r = client.post(f"/api/v1/applications/{app['tracking_number']}/submit", headers=h)
    assert r.status_code == 200
    body = r.json()
    assert body["state"] == "submitted" and body["version"] == 2 and body["sla_due"]
    events = client.get(f"/api/v1/applications/{app['tracking_number']}/events", headers=h).json()
    assert [(e["from_state"], e["to_state"]) for e in events] == [(None, "draft"), ("draft", "submitted")]
    assert events[0]["seq"] < events[1]["seq"]


def test_idempotency_same_body_same_response_different_body_422(client: TestClient) -> None:
    h = identified(client)
    key = uuid.uuid4().hex
    body = {"service_id": "ktp-el", "data": ktp_form(), "submit": True}
    first = client.post("/api/v1/applications", json=body, headers={**h, "Idempotency-Key": key})
    again = client.post("/api/v1/applications", json=body, headers={**h, "Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    changed = {**body, "data": {**ktp_form(), "full_name": "Budi Santoso Dua"}}
    r = client.post("/api/v1/applications", json=changed, headers={**h, "Idempotency-Key": key})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "idempotency_key_reused"
    assert len(client.get("/api/v1/applications", headers=h).json()) == 1


def test_missing_idempotency_key_is_a_422_naming_the_header(client: TestClient) -> None:
    """The header is documented as required (OpenAPI), and its absence is refused like any missing field."""
    h = identified(client)
    r = client.post("/api/v1/applications", json={"service_id": "ktp-el", "data": ktp_form()}, headers=h)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail["code"] == "invalid_request" and detail["errors"][0]["loc"] == "header.idempotency-key"
    assert client.get("/api/v1/applications", headers=h).json() == []


def test_form_errors_are_per_field_in_both_languages(client: TestClient) -> None:
    h = identified(client)
    data = {**ktp_form(), "nik": "1234"}
    r = client.post(
        "/api/v1/applications", json={"service_id": "ktp-el", "data": data}, headers={**h, "Idempotency-Key": "k1"}
    )
    assert r.status_code == 422
    fields = r.json()["detail"]["fields"]
    assert set(fields["nik"]) == {"id", "en"}


def test_citizen_sees_only_own_applications(client: TestClient) -> None:
    a = identified(client)
    app = create_app_json(client, a)
    b = identified(client, VALID_NIK_F, "Siti Aminah")
    assert client.get(f"/api/v1/applications/{app['tracking_number']}", headers=b).status_code == 404
    assert client.post(f"/api/v1/applications/{app['tracking_number']}/cancel", headers=b).status_code == 404
    assert client.get("/api/v1/applications", headers=b).json() == []
    assert len(client.get("/api/v1/applications", headers=a).json()) == 1


def test_state_machine_full_path_and_invalid_transitions(client: TestClient, migrated: Any) -> None:
    h = identified(client)
    officer = make_officer(client, migrated, "dukcapil1", "dukcapil")
    t = create_app_json(client, h)["tracking_number"]
    url = f"/api/v1/officer/applications/{t}/transition"
    r = client.post(url, json={"to": "completed"}, headers=officer)
    assert r.status_code == 409 and "submitted" in r.json()["detail"]["message_en"]
    r = client.post(url, json={"to": "rejected"}, headers=officer)
    assert r.status_code == 409 and r.json()["detail"]["code"] == "reason_required"
    versions = []
    for target in ("verified", "in_process", "ready", "completed"):
        r = client.post(url, json={"to": target}, headers=officer)
        assert r.status_code == 200, r.text
        versions.append(r.json()["version"])
    assert versions == sorted(versions) and len(set(versions)) == 4
    assert client.post(f"/api/v1/applications/{t}/cancel", headers=h).status_code == 409
    events = client.get(f"/api/v1/applications/{t}/events", headers=h).json()
    assert [e["to_state"] for e in events] == ["draft", "submitted", "verified", "in_process", "ready", "completed"]
    assert events[-1]["actor"] == "officer:dukcapil1"


def test_revision_loop_and_citizen_cancel_before_verified(client: TestClient, migrated: Any) -> None:
    h = identified(client)
    officer = make_officer(client, migrated, "dukcapil1", "dukcapil")
    t = create_app_json(client, h)["tracking_number"]
    url = f"/api/v1/officer/applications/{t}/transition"
    r = client.post(url, json={"to": "needs_revision", "note": "Foto KK buram"}, headers=officer)
    assert r.json()["state"] == "needs_revision"
    assert client.post(f"/api/v1/applications/{t}/submit", headers=h).json()["state"] == "submitted"
    assert client.post(f"/api/v1/applications/{t}/cancel", headers=h).json()["state"] == "cancelled"


def test_officer_of_other_agency_gets_404(client: TestClient, migrated: Any) -> None:
    h = identified(client)
    t = create_app_json(client, h)["tracking_number"]
    polri = make_officer(client, migrated, "polri1", "polri")
    assert client.get(f"/api/v1/officer/applications/{t}", headers=polri).status_code == 404
    assert client.get("/api/v1/officer/applications", headers=polri).json() == []
    citizen_token = h
    assert client.get("/api/v1/officer/applications", headers=citizen_token).status_code == 401


def test_queue_ticket_codes_one_active_per_counter_and_board(client: TestClient, migrated: Any) -> None:
    a, b = new_session(client), new_session(client)
    t1 = client.post("/api/v1/queue/tickets", json={"counter": 1}, headers=a)
    assert t1.status_code == 201 and t1.json()["code"] == "A-001"
    assert client.post("/api/v1/queue/tickets", json={"counter": 1}, headers=a).status_code == 409
    t2 = client.post("/api/v1/queue/tickets", json={"counter": 1}, headers=b).json()
    assert t2["code"] == "A-002" and t2["estimated_wait_min"] > 0
    assert client.post("/api/v1/queue/tickets", json={"counter": 3}, headers=a).json()["code"] == "C-001"
    officer = make_officer(client, migrated, "dukcapil1", "dukcapil")
    called = client.post("/api/v1/officer/queue/1/call-next", headers=officer).json()
    assert called["ticket"]["code"] == "A-001"
    board = {row["counter"]: row for row in client.get("/api/v1/queue/board").json()}
    assert board[1]["now_serving"] == "A-001" and board[1]["waiting"] == 1
    assert client.post("/api/v1/officer/queue/3/call-next", headers=officer).status_code == 404
    client.post("/api/v1/officer/queue/1/served", headers=officer)
    again = client.post("/api/v1/queue/tickets", json={"counter": 1}, headers=a)
    assert again.status_code == 201 and again.json()["code"] == "A-003"
    mine = client.get("/api/v1/queue/tickets", headers=a).json()
    assert {t["code"] for t in mine} == {"A-001", "A-003", "C-001"}


def test_upload_checks_content_not_extension(client: TestClient, migrated: Any) -> None:
    h = identified(client)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
    r = client.post("/api/v1/documents", files={"file": ("kk.pdf", png, "application/pdf")}, headers=h)
    assert r.status_code == 201
    body = r.json()
    assert body["content_type"] == "image/png" and body["size"] == 108
    stored = migrated.data_dir / "documents" / body["sha256"][:2] / body["sha256"]
    assert stored.read_bytes() == png
    fake = client.post(
        "/api/v1/documents", files={"file": ("x.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")}, headers=h
    )
    assert fake.status_code == 415
    big = b"%PDF-" + b"0" * (5 * 1024 * 1024)
    assert (
        client.post("/api/v1/documents", files={"file": ("big.pdf", big, "application/pdf")}, headers=h).status_code
        == 413
    )


def test_dashboards_are_labelled_sample(client: TestClient) -> None:
    for name in ("village-progress", "budget", "poverty"):
        r = client.get(f"/api/v1/dashboard/{name}")
        assert r.status_code == 200, name
        body = r.json()
        assert body["sample"] is True and body["rows"]
        assert "contoh" in body["label"]["id"].lower() or "sample" in body["label"]["en"].lower()


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/api/v1/health").json() == {"status": "ok"}
    r = client.get("/api/v1/ready")
    assert r.status_code == 200 and r.json()["checks"]["database"] == "ok"
    presence = r.json()["checks"]["presence"]
    assert presence["halls"] == {} and set(presence) == {"halls", "tick_ms_p50", "tick_ms_p99"}


def test_village_officer_controls_only_the_smart_kampung_counter(client: TestClient, migrated: Any) -> None:
    village = make_officer(client, migrated, "desa1", None, role="village", village="351001-pesanggaran")
    assert client.post("/api/v1/officer/queue/1/call-next", headers=village).status_code == 404
    assert client.post("/api/v1/officer/queue/16/call-next", headers=village).status_code == 200
