"""Lahir Procot: a health facility registers a birth; Dukcapil completes it; the akta is printable at the facility."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.server.conftest import identified, make_officer
from tests.server.docs_helpers import ca_cert, complete, have_poppler, pdf_text, pyhanko_status, to_ready

MOTHER_NIK = "3510015204900002"  # female, born 12-04-1990
FATHER_NIK = "3510011204900001"


def faskes(client: TestClient, settings: Any, username: str, facility: str) -> dict[str, str]:
    from server.domain.officers import create_officer
    from server.persistence.db import make_engine, make_sessionmaker

    engine = make_engine(settings)
    with make_sessionmaker(engine)() as db:
        create_officer(db, username, "rahasia-123", "faskes", facility=facility)
        db.commit()
    engine.dispose()
    r = client.post("/api/v1/officer/login", json={"username": username, "password": "rahasia-123"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def birth(**over: Any) -> dict[str, Any]:
    today = dt.date.today()
    body = {
        "mother_nik": MOTHER_NIK,
        "mother_name": "Siti Aminah",
        "father_nik": FATHER_NIK,
        "father_name": "Budi Santoso",
        "child_name": "Ayu Lestari",
        "child_sex": "P",
        "birth_date": (today - dt.timedelta(days=1)).isoformat(),
        "birth_time": "04:35",
        "weight_g": 3100,
        "length_cm": 49,
    }
    body.update(over)
    return body


def register(client: TestClient, officer: dict[str, str], body: dict[str, Any], key: str | None = None) -> Any:
    return client.post(
        "/api/v1/officer/births", json=body, headers={**officer, "Idempotency-Key": key or uuid.uuid4().hex}
    )


@pytest.fixture
def rsud(client: TestClient, migrated: Any) -> dict[str, str]:
    return faskes(client, migrated, "rsud1", "RSUD Blambangan")


def test_birth_to_printable_akta(
    client: TestClient, rsud: dict[str, str], officer_token: dict[str, str], migrated: Any, tmp_path: Any
) -> None:
    r = register(client, rsud, birth())
    assert r.status_code == 201, r.text
    tracking = r.json()["tracking_number"]
    assert r.json()["state"] == "submitted" and r.json()["lahir_procot"] is True
    from server.domain.sessions import today_wib

    assert r.json()["sla_due"] == today_wib().isoformat()  # same day
    inbox = client.get("/api/v1/officer/applications", headers=officer_token).json()
    assert tracking in [a["tracking_number"] for a in inbox]
    assert client.get(f"/api/v1/officer/applications/{tracking}/document.pdf", headers=rsud).status_code == 404
    no = client.post(f"/api/v1/officer/applications/{tracking}/transition", json={"to": "verified"}, headers=rsud)
    assert no.status_code == 403
    to_ready(client, officer_token, tracking)
    assert complete(client, officer_token, tracking).status_code == 200
    rows = client.get("/api/v1/officer/births", headers=rsud).json()
    assert rows[0]["tracking_number"] == tracking and rows[0]["document"]["number"].startswith("3510-LU-")
    pdf = client.get(f"/api/v1/officer/applications/{tracking}/document.pdf", headers=rsud)
    assert pdf.status_code == 200
    assert pyhanko_status(pdf.content, ca_cert(migrated.data_dir)).trusted
    if have_poppler():
        text = " ".join(pdf_text(pdf.content, tmp_path).split())
        for expected in ("AYU LESTARI", "Siti Aminah", "Budi Santoso", "RSUD Blambangan", "04:35"):
            assert expected in text, expected
    mother = identified(client, MOTHER_NIK, "Siti Aminah")
    assert tracking in [a["tracking_number"] for a in client.get("/api/v1/applications", headers=mother).json()]
    assert client.get(f"/api/v1/applications/{tracking}/document.pdf", headers=mother).status_code == 200
    father = identified(client, FATHER_NIK, "Budi Santoso")
    mine = client.get("/api/v1/issued-documents", headers=father).json()
    assert [d["tracking_number"] for d in mine] == [tracking]
    assert client.get(f"/api/v1/applications/{tracking}/document.pdf", headers=father).status_code == 200


def test_a_facility_sees_only_its_own_births(client: TestClient, rsud: dict[str, str], migrated: Any) -> None:
    tracking = register(client, rsud, birth()).json()["tracking_number"]
    other = faskes(client, migrated, "bidan1", "Bidan Praktik Mandiri Sri, Genteng")
    assert client.get("/api/v1/officer/births", headers=other).json() == []
    assert client.get("/api/v1/officer/applications", headers=other).json() == []
    assert client.get(f"/api/v1/officer/applications/{tracking}", headers=other).status_code == 404
    assert client.get(f"/api/v1/officer/applications/{tracking}", headers=rsud).status_code == 200
    citizen = identified(client)
    from tests.server.conftest import create_app_json

    ktp = create_app_json(client, citizen)["tracking_number"]
    assert client.get(f"/api/v1/officer/applications/{ktp}", headers=rsud).status_code == 404
    assert client.post("/api/v1/officer/queue/1/call-next", headers=rsud).status_code == 404


def test_repeated_registration_is_idempotent(client: TestClient, rsud: dict[str, str]) -> None:
    key = uuid.uuid4().hex
    first = register(client, rsud, birth(), key)
    again = register(client, rsud, birth(), key)
    assert first.status_code == again.status_code == 201
    assert first.json()["tracking_number"] == again.json()["tracking_number"]
    other_body = register(client, rsud, birth(child_name="Bayu Pratama"), key)
    assert other_body.status_code == 422
    assert len(client.get("/api/v1/officer/births", headers=rsud).json()) == 1


@pytest.mark.parametrize(
    ("over", "status", "code"),
    [
        ({"birth_date": (dt.date.today() + dt.timedelta(days=2)).isoformat()}, 422, "invalid_form"),
        ({"birth_date": (dt.date.today() - dt.timedelta(days=120)).isoformat()}, 422, "too_late"),
        ({"mother_nik": "1234"}, 422, "invalid_nik"),
        ({"father_name": None}, 422, "father_incomplete"),
        ({"father_nik": MOTHER_NIK}, 422, "same_nik"),
        ({"child_sex": "X"}, 422, "invalid_request"),
        ({"weight_g": 50}, 422, "invalid_request"),
        ({"birth_time": "25:99"}, 422, "invalid_request"),
        ({"status": "completed"}, 422, "invalid_request"),
    ],
)
def test_bad_birth_input_is_refused_clearly(
    over: dict[str, Any], status: int, code: str, client: TestClient, rsud: dict[str, str]
) -> None:
    r = register(client, rsud, birth(**over))
    assert r.status_code == status, r.text
    assert r.json()["detail"]["code"] == code


def test_a_registered_nik_with_another_name_is_refused(client: TestClient, rsud: dict[str, str]) -> None:
    identified(client, MOTHER_NIK, "Siti Aminah")
    r = register(client, rsud, birth(mother_name="Orang Lain"))
    assert r.status_code == 409 and r.json()["detail"]["code"] == "identity_mismatch"


def test_only_faskes_registers_births(client: TestClient, officer_token: dict[str, str], migrated: Any) -> None:
    assert register(client, officer_token, birth()).status_code == 403
    assert client.get("/api/v1/officer/births", headers=officer_token).status_code == 403
    with pytest.raises(ValueError, match="facility"):
        make_officer(client, migrated, "nofac", None, role="faskes")


def test_console_birth_form_to_printed_akta(app: Any, migrated: Any) -> None:
    """Two browsers' worth of console: the midwife registers, Dukcapil completes, the midwife prints."""
    from tests.server.console_helpers import add_officer, console_login

    add_officer(migrated, "dukcapil1")
    from server.domain.officers import create_officer
    from server.persistence.db import make_engine, make_sessionmaker

    engine = make_engine(migrated)
    with make_sessionmaker(engine)() as db:
        create_officer(db, "bidan1", "rahasia-123", "faskes", facility="Bidan Praktik Mandiri Sri")
        db.commit()
    engine.dispose()
    with TestClient(app) as midwife, TestClient(app) as dukcapil:
        csrf = console_login(midwife, "bidan1")
        page = midwife.get("/officer/births")
        assert page.status_code == 200 and "Bidan Praktik Mandiri Sri" in page.text
        assert midwife.get("/officer/queue").status_code == 200  # no counters, not an error
        bad = midwife.post("/officer/births", data={"csrf": csrf, "mother_nik": "123", "mother_name": "Siti Aminah"})
        assert bad.status_code == 422 and "birth-error" in bad.text
        body = {k: str(v) for k, v in birth().items() if v is not None}
        r = midwife.post("/officer/births", data={"csrf": csrf, **body}, follow_redirects=False)
        assert r.status_code == 303, r.text
        tracking = r.headers["location"].split("done=")[1]
        listed = midwife.get("/officer/births").text
        assert tracking in listed and "Menunggu Dukcapil" in listed
        dcsrf = console_login(dukcapil, "dukcapil1")
        inbox = dukcapil.get("/officer/").text
        assert tracking in inbox and "Lahir Procot" in inbox
        for target in ("verified", "in_process", "ready", "completed"):
            step = dukcapil.post(
                f"/officer/applications/{tracking}/transition",
                data={"csrf": dcsrf, "to": target},
                follow_redirects=False,
            )
            assert step.status_code == 303, step.text
        detail = dukcapil.get(f"/officer/applications/{tracking}").text
        assert "issued-number" in detail and "3510-LU-" in detail
        listed = midwife.get("/officer/births").text
        assert "print-akta" in listed
        pdf = midwife.get(f"/officer/applications/{tracking}/issued.pdf?inline=1")
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        assert pdf.headers["content-disposition"].startswith("inline")
        assert (
            midwife.post(
                f"/officer/applications/{tracking}/issued/revoke", data={"csrf": csrf, "reason": "coba cabut"}
            ).status_code
            == 403
        )
        revoke = dukcapil.post(
            f"/officer/applications/{tracking}/issued/revoke",
            data={"csrf": dcsrf, "reason": "Nama anak salah eja"},
            follow_redirects=False,
        )
        assert revoke.status_code == 303
        assert "Dokumen ini sudah dicabut" in midwife.get("/officer/births").text


def test_console_birth_form_uses_the_offices_day(app: Any, migrated: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A midwife at 01:00 WIB (18:00 UTC the day before) must be able to enter a birth of today."""
    from server.domain import sessions
    from server.domain.officers import create_officer
    from server.persistence.db import make_engine, make_sessionmaker
    from tests.server.console_helpers import console_login

    engine = make_engine(migrated)
    with make_sessionmaker(engine)() as db:
        create_officer(db, "bidan2", "rahasia-123", "faskes", facility="Bidan Praktik Mandiri Sri")
        db.commit()
    engine.dispose()
    monkeypatch.setattr(sessions, "today_wib", lambda now=None: dt.date(2031, 3, 4))
    with TestClient(app) as midwife:
        console_login(midwife, "bidan2")
        page = midwife.get("/officer/births").text
    assert 'max="2031-03-04"' in page and 'value="2031-03-04"' in page
