"""Every bad input gets a typed 4xx with a message in both languages; never a 500, never lost data."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.server.conftest import identified, ktp_form, new_session


def assert_typed(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert detail["code"] and detail["message_id"] and detail["message_en"]
    return dict(detail)


BAD_NIKS = [
    ("3510011204900001".replace("1", "１", 1), "full-width digit"),
    ("٣٥١٠٠١١٢٠٤٩٠٠٠٠١", "arabic-indic digits"),
    ("351001120490000", "15 digits"),
    ("35100112049000011", "17 digits"),
    ("0010011204900001", "province 00"),
    ("3599011204900001", "unknown Jatim regency"),
    ("3510261204900001", "district 26 in Banyuwangi"),
    ("3510013204900001", "day 32"),
    ("3510011204900000", "serial 0000"),
    ("3510'; DROP TABLE--", "SQL metacharacters"),
]


@pytest.mark.parametrize(("nik", "why"), BAD_NIKS, ids=[w for _, w in BAD_NIKS])
def test_bad_nik_on_identify(client: TestClient, nik: str, why: str) -> None:
    h = new_session(client)
    detail = assert_typed(client.post("/api/v1/sessions/identify", json={"nik": nik, "name": "Budi"}, headers=h), 422)
    assert detail["code"] == "invalid_nik", why


def test_sql_metacharacters_are_plain_data(client: TestClient) -> None:
    h = identified(client)
    name = "Robert'); DROP TABLE applications;--"
    data = {**ktp_form(name=name)}
    # a different name than the identified one is allowed in form data (e.g. typo fix), it is data not SQL
    r = client.post(
        "/api/v1/applications", json={"service_id": "ktp-el", "data": data}, headers={**h, "Idempotency-Key": "x"}
    )
    assert r.status_code == 201
    assert r.json()["data"]["full_name"] == name
    hits = client.get("/api/v1/services/search", params={"q": "paspor'; DROP TABLE services;--"})
    assert hits.status_code == 200 and hits.json()[0]["id"] == "paspor"
    assert len(client.get("/api/v1/services").json()) >= 15
    assert client.get("/api/v1/applications/BWI-2026-000001' OR '1'='1", headers=h).status_code == 404


def test_huge_json_body_is_413(client: TestClient) -> None:
    h = new_session(client)
    big = {"service_id": "ktp-el", "data": {"x": "a" * (2 * 1024 * 1024)}}
    assert_typed(client.post("/api/v1/applications", json=big, headers={**h, "Idempotency-Key": "k"}), 413)


@pytest.mark.parametrize(
    ("content", "ctype"),
    [
        (b"nik=1", "application/x-www-form-urlencoded"),
        (b"<xml/>", "application/xml"),
        (b"{not json", "application/json"),
    ],
)
def test_wrong_content_types_and_malformed_json(client: TestClient, content: bytes, ctype: str) -> None:
    h = new_session(client)
    r = client.post("/api/v1/sessions/identify", content=content, headers={**h, "Content-Type": ctype})
    assert_typed(r, 422)


def test_expired_token_is_401(client: TestClient, app: Any) -> None:
    h = new_session(client)
    from server.persistence import models as m

    with app.state.sessions() as db:
        for vs in db.query(m.VisitorSession):
            vs.expires_at = m.now_utc() - dt.timedelta(seconds=1)
        db.commit()
    detail = assert_typed(client.get("/api/v1/sessions/me", headers=h), 401)
    assert detail["code"] == "token_expired"


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer nope", "Basic abc", "Bearer " + "x" * 300])
def test_missing_or_bad_tokens_are_401(client: TestClient, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    assert_typed(client.get("/api/v1/applications", headers=headers), 401)


def test_unknown_service_wrong_types_and_extra_fields(client: TestClient) -> None:
    h = identified(client)
    k = {"Idempotency-Key": uuid.uuid4().hex}
    assert_typed(client.post("/api/v1/applications", json={"service_id": "nope", "data": {}}, headers={**h, **k}), 404)
    assert_typed(
        client.post("/api/v1/applications", json={"service_id": "ktp-el", "data": []}, headers={**h, **k}), 422
    )
    r = client.post(
        "/api/v1/applications",
        json={"service_id": "ktp-el", "data": ktp_form(), "state": "completed"},
        headers={**h, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert_typed(r, 422)
    assert_typed(client.post("/api/v1/queue/tickets", json={"counter": "satu"}, headers=h), 422)
    assert_typed(client.post("/api/v1/queue/tickets", json={"counter": 77}, headers=h), 404)


def test_double_submit_racing_in_two_threads_makes_one_application(client: TestClient) -> None:
    h = identified(client)
    key = uuid.uuid4().hex
    body = {"service_id": "ktp-el", "data": ktp_form(), "submit": True}
    results: list[Any] = []
    barrier = threading.Barrier(2)

    def go() -> None:
        barrier.wait()
        results.append(client.post("/api/v1/applications", json=body, headers={**h, "Idempotency-Key": key}))

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert [r.status_code for r in results] == [201, 201]
    assert results[0].json()["tracking_number"] == results[1].json()["tracking_number"]
    assert len(client.get("/api/v1/applications", headers=h).json()) == 1


def test_unknown_route_and_method_are_typed(client: TestClient) -> None:
    assert_typed(client.get("/api/v1/nothing-here"), 404)
    assert_typed(client.delete("/api/v1/services"), 405)


def test_nul_characters_are_refused_not_500(client: TestClient) -> None:
    h = new_session(client)
    assert client.get("/api/v1/villages", params={"kecamatan": "\x00"}).status_code in (200, 422)
    r = client.post("/api/v1/sessions/identify", json={"nik": "3510011204900001", "name": "Bu\x00di"}, headers=h)
    assert r.status_code in (200, 422)
    r = client.post("/api/v1/complaints", json={"subject": "a\x00b", "body": "x\x00"}, headers=h)
    assert r.status_code < 500


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/officer/handoffs/160020160233151127355392/identify", {"nik": "3510011204900001", "name": "Budi"}),
        ("/api/v1/officer/handoffs/0/identify", {"nik": "3510011204900001", "name": "Budi"}),
        ("/api/v1/officer/queue/99999999999999999999999/call-next", None),
    ],
)
def test_out_of_range_ids_in_officer_paths_are_422_not_500(
    client: TestClient, officer_token: dict[str, str], path: str, body: Any
) -> None:
    """schemathesis found it: an id past SQLite's 64-bit INTEGER raised OverflowError (a 500)."""
    r = client.post(path, json=body, headers=officer_token)
    assert r.status_code == 422, r.text
    assert r.json()["detail"]["code"] == "invalid_request"


def test_a_login_name_with_a_nul_is_a_wrong_login_on_every_database(client: TestClient) -> None:
    """PostgreSQL refused the query (422, and schemathesis' positive-data check failed); SQLite said 401."""
    for _ in range(2):  # the second try is throttled like any other wrong login, not refused by the database
        r = client.post("/api/v1/officer/login", json={"username": "adm\x00in", "password": "x"})
        assert r.status_code in (401, 429), r.text
        assert r.json()["detail"]["code"] == ("bad_credentials" if r.status_code == 401 else "too_many_attempts")
