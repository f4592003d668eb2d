"""API fixtures: a migrated, seeded app behind Starlette's TestClient."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

VALID_NIK = "3510011204900001"  # Banyuwangi, Pesanggaran, male born 12-04-1990
VALID_NIK_F = "3510015204900002"  # same district, female (day + 40)


@pytest.fixture
def app(migrated: Any) -> Any:
    """The app with a recording code sink and roomy limits (tests/security uses the real defaults)."""
    from server.app import create_app
    from tests.codes import RecordingDelivery

    migrated.otp_per_nik = migrated.otp_per_client = migrated.otp_fail_per_client = 1000
    return create_app(migrated, delivery=RecordingDelivery())


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def new_session(client: TestClient, lang: str = "id") -> dict[str, str]:
    r = client.post("/api/v1/sessions", json={"lang": lang})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def contact_for(nik: str) -> str:
    return f"warga{nik[-6:]}@example.com"


def identified(client: TestClient, nik: str = VALID_NIK, name: str = "Budi Santoso") -> dict[str, str]:
    """A session proven by the second factor (the code read from the recording sink)."""
    from tests.codes import prove, sink

    h = new_session(client)
    sink(client)
    r = client.post(
        "/api/v1/sessions/identify", json={"nik": nik, "name": name, "contact": contact_for(nik)}, headers=h
    )
    assert r.status_code == 202, r.text
    if sink(client).code_for(r.json()["challenge_id"]) is None:
        # Registered without a contact (e.g. a parent registered at a birth): a Dukcapil officer binds one.
        officer_binds(client, nik, contact_for(nik))
    prove(client, h, nik, name, contact_for(nik))
    return h


def officer_binds(client: TestClient, nik: str, contact: str) -> None:
    """The audited rebind at the counter, by a Dukcapil officer of this test's database."""
    from sqlalchemy import select

    from server.domain.officers import create_officer
    from server.persistence import models as m
    from tests.codes import app_state

    with app_state(client).sessions() as db:
        if db.scalar(select(m.Officer).where(m.Officer.username == "binder-duk")) is None:
            create_officer(db, "binder-duk", "rahasia-123", "officer", "dukcapil")
            db.commit()
    r = client.post("/api/v1/officer/login", json={"username": "binder-duk", "password": "rahasia-123"})
    assert r.status_code == 200, r.text
    r = client.post(
        "/api/v1/officer/citizens/rebind",
        json={"nik": nik, "contact": contact, "reason": "identity checked at the counter"},
        headers={"Authorization": f"Bearer {r.json()['token']}"},
    )
    assert r.status_code == 200, r.text


def ktp_form(nik: str = VALID_NIK, name: str = "Budi Santoso") -> dict[str, Any]:
    from protocol.catalog import default_catalog
    from protocol.forms import example_answers

    return example_answers(default_catalog().service("ktp-el"), nik, name)


def create_app_json(client: TestClient, headers: dict[str, str], submit: bool = True, key: str | None = None) -> Any:
    r = client.post(
        "/api/v1/applications",
        json={"service_id": "ktp-el", "data": ktp_form(), "submit": submit},
        headers={**headers, "Idempotency-Key": key or uuid.uuid4().hex},
    )
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
def officer_token(client: TestClient, migrated: Any) -> dict[str, str]:
    return make_officer(client, migrated, "dukcapil1", "dukcapil")


def make_officer(
    client: TestClient,
    settings: Any,
    username: str,
    agency: str | None,
    role: str = "officer",
    village: str | None = None,
) -> dict[str, str]:
    from server.domain.officers import create_officer
    from server.persistence.db import make_engine, make_sessionmaker

    engine = make_engine(settings)
    with make_sessionmaker(engine)() as db:
        create_officer(db, username, "rahasia-123", role, agency, village)
        db.commit()
    engine.dispose()
    r = client.post("/api/v1/officer/login", json={"username": username, "password": "rahasia-123"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def fold_presence(view: dict[str, dict[str, Any]], frame: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A presence snapshot frame applied to a view of plain dicts (protocol 2: changed rows move known ids)."""
    if frame.get("full"):
        view = {}
    for gone in frame.get("left", []):
        view.pop(gone, None)
    for e in frame.get("entered", []):
        view[e["id"]] = dict(e)
    for ent_id, xcm, ycm, h in frame.get("changed", []):
        if ent_id in view:
            view[ent_id].update(x=xcm / 100, y=ycm / 100, heading=h * 360 / 256)
    return view
