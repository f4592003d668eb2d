"""Survey, complaints and the direct handoff request: ownership, duplicates and bad input."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.server.conftest import VALID_NIK_F, create_app_json, identified, make_officer, new_session


def _code(r: Any) -> str:
    return str(r.json()["detail"]["code"])


# ------------------------------------------------------------------ survey


def test_survey_for_own_application_then_duplicate_is_409(client: TestClient) -> None:
    h = identified(client)
    app = create_app_json(client, h, submit=True)
    r = client.post(
        "/api/v1/survey", json={"score": 4, "comment": " Cepat ", "application": app["tracking_number"]}, headers=h
    )
    assert r.status_code == 201, r.text
    assert r.json()["score"] == 4 and r.json()["service_id"] == "ktp-el"
    again = client.post("/api/v1/survey", json={"score": 1, "application": app["tracking_number"]}, headers=h)
    assert again.status_code == 409 and _code(again) == "survey_duplicate"


def test_survey_for_another_citizens_application_is_404(client: TestClient) -> None:
    owner = identified(client)
    app = create_app_json(client, owner, submit=True)
    other = identified(client, VALID_NIK_F, "Siti Aminah")
    r = client.post("/api/v1/survey", json={"score": 3, "application": app["tracking_number"]}, headers=other)
    assert r.status_code == 404 and _code(r) == "not_found"
    anon = new_session(client)
    assert (
        client.post(
            "/api/v1/survey", json={"score": 3, "application": app["tracking_number"]}, headers=anon
        ).status_code
        == 404
    )


def test_survey_on_a_draft_is_too_early(client: TestClient) -> None:
    h = identified(client)
    app = create_app_json(client, h, submit=False)
    r = client.post("/api/v1/survey", json={"score": 2, "application": app["tracking_number"]}, headers=h)
    assert r.status_code == 409 and _code(r) == "survey_too_early"


def test_general_survey_once_per_session(client: TestClient) -> None:
    h = new_session(client)
    assert client.post("/api/v1/survey", json={"score": 1}, headers=h).status_code == 201
    assert client.post("/api/v1/survey", json={"score": 2}, headers=h).status_code == 409
    assert client.post("/api/v1/survey", json={"score": 2}, headers=new_session(client)).status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"score": 0},
        {"score": 5},
        {"score": "4"},
        {"score": 2.5},
        {"score": True},
        {"score": None},
        {"score": 3, "comment": "x" * 2001},
        {"score": 3, "comment": 7},
        {"score": 3, "handoff_id": "1"},
        {"score": 3, "handoff_id": -1},
        {"score": 3, "application": ["BWI"]},
        {"score": 3, "extra": 1},
        [],
        "4",
    ],
)
def test_survey_bad_input_is_422(client: TestClient, body: Any) -> None:
    r = client.post("/api/v1/survey", json=body, headers=new_session(client))
    assert r.status_code == 422, r.text
    assert r.json()["detail"]["code"] == "invalid_request"


def test_survey_control_characters_and_auth(client: TestClient) -> None:
    h = new_session(client)
    r = client.post("/api/v1/survey", json={"score": 3, "comment": "a\x00b"}, headers=h)
    assert r.status_code == 422 and _code(r) == "invalid_text"
    assert client.post("/api/v1/survey", json={"score": 3}).status_code == 401
    assert client.post("/api/v1/survey", json={"score": 3}, headers={"Authorization": "Bearer nope"}).status_code == 401
    unknown = client.post(
        "/api/v1/survey", json={"score": 3, "application": "BWI-2026-999999"}, headers=identified(client)
    )
    assert unknown.status_code == 404


def test_survey_for_handoff_own_only_and_once(client: TestClient) -> None:
    h = new_session(client)
    r = client.post("/api/v1/handoffs", json={"service_id": "ktp-el"}, headers=h)
    assert r.status_code == 201, r.text
    hid = r.json()["handoff_id"]
    other = new_session(client)
    assert client.post("/api/v1/survey", json={"score": 4, "handoff_id": hid}, headers=other).status_code == 404
    assert client.post("/api/v1/survey", json={"score": 4, "handoff_id": hid + 1000}, headers=h).status_code == 404
    ok = client.post("/api/v1/survey", json={"score": 4, "handoff_id": hid}, headers=h)
    assert ok.status_code == 201 and ok.json()["handoff_id"] == hid and ok.json()["service_id"] == "ktp-el"
    assert client.post("/api/v1/survey", json={"score": 1, "handoff_id": hid}, headers=h).status_code == 409


# ------------------------------------------------------------------ handoff


def test_handoff_request_is_reused_while_open_and_validated(client: TestClient, app: Any) -> None:
    h = new_session(client)
    first = client.post(
        "/api/v1/handoffs",
        json={"transcript": [{"role": "citizen", "text": "KTP saya hilang"}], "service_id": "ktp-el"},
        headers=h,
    ).json()
    assert first["state"] == "pending" and first["conversation_id"]
    second = client.post("/api/v1/handoffs", json={}, headers=h).json()
    assert second["handoff_id"] == first["handoff_id"]
    mine = client.get("/api/v1/handoffs", headers=h).json()
    assert [(x["handoff_id"], x["state"], x["service_id"]) for x in mine] == [
        (first["handoff_id"], "pending", "ktp-el")
    ]
    assert client.get("/api/v1/handoffs", headers=new_session(client)).json() == []
    assert client.get("/api/v1/handoffs").status_code == 401
    from server.persistence import models as m

    with app.state.sessions() as db:
        row = db.get(m.Handoff, first["handoff_id"])
        assert row.agency_id == "dukcapil" and row.transcript[0]["text"] == "KTP saya hilang"
    bad = [
        {"service_id": "nope"},
        {"transcript": [{"role": "officer", "text": "x"}]},
        {"transcript": [{"role": "citizen", "text": "x" * 2001}]},
        {"conversation_id": "a b"},
        {"transcript": "hi"},
    ]
    for body in bad:
        r = client.post("/api/v1/handoffs", json=body, headers=new_session(client))
        assert r.status_code == 422, (body, r.text)
    assert client.post("/api/v1/handoffs", json={}).status_code == 401


# ------------------------------------------------------------------ complaints


def _file(client: TestClient, h: dict[str, str], **extra: Any) -> Any:
    body = {"subject": "Antrean lama", "body": "Saya menunggu dua jam di loket 1 tanpa kejelasan.", **extra}
    return client.post("/api/v1/complaints", json=body, headers=h)


def test_complaint_is_tracked_and_only_visible_to_its_owner(client: TestClient) -> None:
    h = new_session(client)
    r = _file(client, h, agency="dukcapil")
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["state"] == "open" and c["response"] is None and c["agency"] == "dukcapil"
    assert c["tracking"].startswith("ADU-") and c["tracking"].endswith(f"{c['id']:06d}")
    assert [x["id"] for x in client.get("/api/v1/complaints", headers=h).json()] == [c["id"]]
    assert client.get(f"/api/v1/complaints/{c['id']}", headers=h).json()["subject"] == "Antrean lama"
    assert client.get(f"/api/v1/complaints/{c['tracking']}", headers=h).status_code == 200
    other = new_session(client)
    assert client.get(f"/api/v1/complaints/{c['id']}", headers=other).status_code == 404
    assert client.get(f"/api/v1/complaints/{c['tracking']}", headers=other).status_code == 404
    assert client.get("/api/v1/complaints", headers=other).json() == []
    for ref in ("abc", "0", "99999", "ADU-2026-", "-1", "1e3"):
        assert client.get(f"/api/v1/complaints/{ref}", headers=h).status_code == 404


def test_identified_citizen_sees_complaints_from_an_earlier_session(client: TestClient) -> None:
    first = identified(client)
    c = _file(client, first).json()
    later = identified(client)
    assert client.get(f"/api/v1/complaints/{c['id']}", headers=later).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"subject": "ab", "body": "cukup panjang sekali"},
        {"subject": "Judul", "body": "pendek"},
        {"subject": "Judul", "body": "   pendek        "},
        {"subject": "x" * 201, "body": "cukup panjang sekali"},
        {"subject": "Judul", "body": "x" * 5001},
        {"subject": 5, "body": "cukup panjang sekali"},
        {"subject": "Judul", "body": "cukup panjang sekali", "state": "closed"},
        {"subject": "Judul", "body": "cukup panjang sekali", "agency": "x" * 41},
    ],
)
def test_complaint_bad_input_is_422(client: TestClient, body: Any) -> None:
    r = client.post("/api/v1/complaints", json=body, headers=new_session(client))
    assert r.status_code == 422, r.text


def test_complaint_unknown_agency_and_control_chars(client: TestClient) -> None:
    h = new_session(client)
    r = _file(client, h, agency="nasa")
    assert r.status_code == 422 and _code(r) == "unknown_agency"
    r = client.post("/api/v1/complaints", json={"subject": "Judul\x07", "body": "cukup panjang sekali"}, headers=h)
    assert r.status_code == 422 and _code(r) == "invalid_text"
    assert (
        client.post("/api/v1/complaints", json={"subject": "Judul", "body": "cukup panjang sekali"}).status_code == 401
    )


def test_officer_responds_in_scope_and_citizen_sees_it(client: TestClient, migrated: Any, officer_token: Any) -> None:
    h = new_session(client)
    c = _file(client, h, agency="dukcapil").json()
    elsewhere = _file(client, h, agency="bpjs-kesehatan").json()
    unassigned = _file(client, h).json()
    listed = client.get("/api/v1/officer/complaints", headers=officer_token).json()
    assert [x["id"] for x in listed] == [c["id"]]
    admin = make_officer(client, migrated, "admin1", None, role="admin")
    everything = {x["id"] for x in client.get("/api/v1/officer/complaints", headers=admin).json()}
    assert everything == {c["id"], elsewhere["id"], unassigned["id"]}
    r = client.post(
        f"/api/v1/officer/complaints/{c['id']}/respond",
        json={"response": "Mohon maaf, sudah kami tindak lanjuti."},
        headers=officer_token,
    )
    assert r.status_code == 200, r.text
    seen = client.get(f"/api/v1/complaints/{c['id']}", headers=h).json()
    assert seen["state"] == "responded" and seen["response"] == "Mohon maaf, sudah kami tindak lanjuti."
    out_of_scope = client.post(
        f"/api/v1/officer/complaints/{elsewhere['id']}/respond", json={"response": "x"}, headers=officer_token
    )
    assert out_of_scope.status_code == 404
    closed = client.post(
        f"/api/v1/officer/complaints/{c['id']}/respond",
        json={"response": "Selesai.", "state": "closed"},
        headers=officer_token,
    )
    assert closed.json()["state"] == "closed"
    again = client.post(f"/api/v1/officer/complaints/{c['id']}/respond", json={"response": "x"}, headers=officer_token)
    assert again.status_code == 409 and _code(again) == "complaint_closed"


def test_officer_respond_bad_input_and_auth(client: TestClient, migrated: Any, officer_token: Any) -> None:
    h = new_session(client)
    c = _file(client, h, agency="dukcapil").json()
    url = f"/api/v1/officer/complaints/{c['id']}/respond"
    for body in ({}, {"response": ""}, {"response": "   "}, {"response": "ok", "state": "open"}, {"response": 3}):
        assert client.post(url, json=body, headers=officer_token).status_code == 422, body
    assert client.post(url, json={"response": "ok"}).status_code == 401
    assert (
        client.post(url, json={"response": "ok"}, headers=h).status_code == 401
    )  # a citizen token is not an officer's
    sup = make_officer(client, migrated, "super1", None, role="supervisor")
    assert client.post(url, json={"response": "ok"}, headers=sup).status_code == 403
    assert (
        client.post(
            "/api/v1/officer/complaints/nope/respond", json={"response": "ok"}, headers=officer_token
        ).status_code
        == 404
    )


def test_database_refuses_a_second_rating_for_the_same_application(client: TestClient, app: Any) -> None:
    """The unique index backs the 409 check when two requests race (PostgreSQL runs them concurrently)."""
    from sqlalchemy.exc import IntegrityError

    from server.persistence import models as m

    h = identified(client)
    tracking = create_app_json(client, h, submit=True)["tracking_number"]
    assert client.post("/api/v1/survey", json={"score": 4, "application": tracking}, headers=h).status_code == 201
    with app.state.sessions() as db:
        first = db.scalars(select(m.SurveyResponse)).one()
        db.add(m.SurveyResponse(session_id=first.session_id, application_id=first.application_id, score=1))
        with pytest.raises(IntegrityError):
            db.commit()
        db.rollback()
        db.add(m.SurveyResponse(session_id=first.session_id, score=1))  # a general rating is still possible
        db.commit()
