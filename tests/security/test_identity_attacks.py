"""Replays of the identity attacks of issue 15: each one failed before the second factor."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from tests.codes import prove, sink
from tests.server.conftest import VALID_NIK, ktp_form, new_session

OWNER = "Ani Lestari"


def _owner_with_an_application(client: TestClient) -> str:
    h = new_session(client)
    prove(client, h, VALID_NIK, OWNER, "ani@example.com")
    r = client.post(
        "/api/v1/applications",
        json={"service_id": "ktp-el", "data": ktp_form(VALID_NIK, OWNER), "submit": True},
        headers={**h, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 201
    return str(r.json()["tracking_number"])


def test_nik_and_name_no_longer_read_someone_elses_applications(client: TestClient) -> None:
    """Before: a new session with A's NIK and 'ani   LESTARI' listed all of A's applications."""
    tracking = _owner_with_an_application(client)
    thief = new_session(client)
    r = client.post("/api/v1/sessions/identify", json={"nik": VALID_NIK, "name": "ani   LESTARI"}, headers=thief)
    assert r.status_code == 202
    assert client.get("/api/v1/applications", headers=thief).json() == []
    assert client.get(f"/api/v1/applications/{tracking}", headers=thief).status_code == 404
    # the application form's NIK + name is not a way in either
    r = client.post(
        "/api/v1/applications",
        json={"service_id": "ktp-el", "data": ktp_form(VALID_NIK, OWNER), "submit": True},
        headers={**thief, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 403


def test_a_claimant_cannot_take_over_a_registered_nik(client: TestClient) -> None:
    """Before: an unknown NIK went to whoever claimed it first, and a known one answered 403 to its owner."""
    _owner_with_an_application(client)
    thief = new_session(client)
    r = client.post(
        "/api/v1/sessions/identify",
        json={"nik": VALID_NIK, "name": OWNER, "contact": "thief@example.com"},
        headers=thief,
    )
    assert r.status_code == 202
    assert sink(client).to("thief@example.com") == []
    # brute force within one challenge: five tries, then the challenge is dead
    codes = [
        client.post(
            "/api/v1/sessions/verify",
            json={"challenge_id": r.json()["challenge_id"], "code": f"{i:06d}"},
            headers=thief,
        ).status_code
        for i in range(6)
    ]
    assert set(codes) == {400}
    assert client.get("/api/v1/sessions/me", headers=thief).json()["citizen"] is None


def test_name_guessing_is_throttled_and_never_an_oracle(client: TestClient) -> None:
    """Before: 30 guesses from fresh sessions all got 403 identity_mismatch (200 for an unknown NIK), never 429."""
    _owner_with_an_application(client)
    statuses = []
    for i in range(30):
        r = client.post(
            "/api/v1/sessions/identify", json={"nik": VALID_NIK, "name": f"Guess {i}"}, headers=new_session(client)
        )
        statuses.append(r.status_code)
        if r.status_code == 429:
            assert int(r.headers["Retry-After"]) > 0
    assert 403 not in statuses and 200 not in statuses
    assert statuses[:2] == [202, 202] and statuses[-1] == 429


def test_the_chat_port_does_not_identify_on_nik_and_name(client: TestClient, app: Any) -> None:
    """Before: the assistant's form submission identified the session with the form's NIK and full name."""
    import pytest

    from assistant.ports import Caller, PortError

    _owner_with_an_application(client)
    sid = client.post("/api/v1/sessions", json={}).json()["session_id"]
    with pytest.raises(PortError) as exc:
        app.state.port.identify(Caller(session_id=sid), VALID_NIK, OWNER)
    assert exc.value.code == "verify_first"
    challenge = app.state.port.request_code(Caller(session_id=sid), VALID_NIK, OWNER)
    code = sink(client).wait_for(challenge.challenge_id)
    caller = app.state.port.verify_code(Caller(session_id=sid), challenge.challenge_id, code)
    assert caller.citizen_id is not None and caller.nik == VALID_NIK
