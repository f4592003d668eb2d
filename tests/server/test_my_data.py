"""A citizen downloads their own data (UU 27/2022), only after the second factor, and only their own."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from server.domain.pii import Sealer
from server.persistence import models as m
from tests.codes import app_state
from tests.server.conftest import VALID_NIK, VALID_NIK_F, create_app_json, identified, new_session

OTHER_NIK = "3510016502850003"  # someone the citizen mentions: never theirs to read in full
PDF = b"%PDF-1.4\n% an uploaded scan\n"


def _session_row(client: TestClient, headers: dict[str, str]) -> tuple[int, int | None]:
    from server.domain.sessions import hash_token

    token = headers["Authorization"].split(" ", 1)[1]
    with app_state(client).sessions() as db:
        vs = db.scalar(select(m.VisitorSession).where(m.VisitorSession.token_hash == hash_token(token)))
        assert vs is not None
        return vs.id, vs.citizen_id


def _talk(client: TestClient, headers: dict[str, str]) -> None:
    """A conversation and a handoff, sealed at rest as the chat stores them."""
    sid, cid = _session_row(client, headers)
    sealer = Sealer(app_state(client).settings)
    with app_state(client).sessions() as db:
        said = f"NIK saya {VALID_NIK}, NIK ibu saya {OTHER_NIK}, HP 0812 3456 7890"
        db.add(
            m.ConversationEvent(
                conversation_id="conv-a", session_id=sid, event=sealer.seal_obj({"role": "user", "text": said})
            )
        )
        db.add(
            m.Handoff(
                conversation_id="conv-a",
                session_id=sid,
                citizen_id=cid,
                state="closed",
                transcript=[sealer.seal_obj({"role": "citizen", "text": said})],
                summary=sealer.seal_text(f"KTP hilang, ibu {OTHER_NIK}"),
            )
        )
        db.commit()


def _issue(client: TestClient, headers: dict[str, str], tracking: str) -> None:
    _sid, cid = _session_row(client, headers)
    assert cid is not None
    with app_state(client).sessions() as db:
        app = db.scalar(select(m.Application).where(m.Application.tracking_number == tracking))
        assert app is not None
        db.add(
            m.IssuedDocument(
                application_id=app.id,
                code=uuid.uuid4().hex,
                number="474.1/0001/2026",
                service_id=app.service_id,
                agency_id=app.agency_id,
                citizen_id=cid,
                holder_masked="B*** S***",
                issuer="Dinas Dukcapil",
                signer="Kepala Dinas",
                sha256="0" * 64,
                size=9,
                pdf=b"%PDF-sign",
            )
        )
        db.commit()


def test_only_a_proven_session_downloads(client: TestClient) -> None:
    assert client.get("/api/v1/me/data").status_code == 401
    anon = new_session(client)
    for path in ("/api/v1/me/data", "/api/v1/me/data.zip"):
        r = client.get(path, headers=anon)
        assert r.status_code == 403 and r.json()["detail"]["code"] == "identify_first"
    # naming a NIK and a name without the code proves nothing
    client.post("/api/v1/sessions/identify", json={"nik": VALID_NIK, "name": "Budi Santoso"}, headers=anon)
    assert client.get("/api/v1/me/data", headers=anon).status_code == 403


def test_the_download_holds_the_citizens_data_with_their_own_numbers_only(client: TestClient) -> None:
    a = identified(client, VALID_NIK, "Budi Santoso")
    tracking = create_app_json(client, a)["tracking_number"]
    up = client.post(
        "/api/v1/documents",
        files={"file": ("ktp lama.pdf", PDF, "application/pdf")},
        data={"application": tracking},
        headers=a,
    )
    assert up.status_code == 201, up.text
    _talk(client, a)
    _issue(client, a, tracking)
    r = client.get("/api/v1/me/data", headers=a)
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store" and "attachment" in r.headers["content-disposition"]
    data = r.json()
    assert data["citizen"]["nik"] == VALID_NIK  # their own NIK in full, for them
    assert [x["tracking_number"] for x in data["applications"]] == [tracking]
    assert VALID_NIK in json.dumps(data["applications"][0]["data"])
    assert any(e["application"] == tracking for e in data["events"])
    assert data["uploads"][0]["filename"] == "ktp lama.pdf"
    assert data["issued_documents"][0]["number"] == "474.1/0001/2026"
    said = data["conversation"][0]["event"]["text"]
    assert VALID_NIK in said and OTHER_NIK not in said and "3510********0003" in said, said
    assert "0812*****890" in said and "0812 3456 7890" not in said  # a number not on record stays masked
    handoff = data["handoffs"][0]
    assert VALID_NIK in handoff["transcript"][0]["text"] and OTHER_NIK not in json.dumps(handoff)
    # the download is accounted for
    with app_state(client).sessions() as db:
        audit = db.scalars(select(m.AuditLog).where(m.AuditLog.action == "data_export")).all()
        assert len(audit) == 1 and VALID_NIK not in audit[0].target

    z = client.get("/api/v1/me/data.zip", headers=a)
    assert z.status_code == 200 and z.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(z.content)) as zf:
        names = zf.namelist()
        assert "data.json" in names
        upload = next(n for n in names if n.startswith("uploads/"))
        assert zf.read(upload) == PDF
        assert zf.read("issued/474.1_0001_2026.pdf") == b"%PDF-sign"
        assert json.loads(zf.read("data.json"))["citizen"]["nik"] == VALID_NIK


def test_another_citizen_gets_none_of_it(client: TestClient) -> None:
    a = identified(client, VALID_NIK, "Budi Santoso")
    tracking = create_app_json(client, a)["tracking_number"]
    _talk(client, a)
    b = identified(client, VALID_NIK_F, "Siti Aminah")
    body: dict[str, Any] = client.get("/api/v1/me/data", headers=b).json()
    text = json.dumps(body)
    assert body["citizen"]["nik"] == VALID_NIK_F
    assert tracking not in text and VALID_NIK not in text and "Budi" not in text
    assert body["applications"] == [] and body["conversation"] == [] and body["handoffs"] == []
    zipped = client.get("/api/v1/me/data.zip", headers=b)
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as zf:
        assert zf.namelist() == ["data.json"]


def test_plain_text_complaints_mask_other_peoples_numbers(client: TestClient) -> None:
    a = identified(client, VALID_NIK, "Budi Santoso")
    _sid, cid = _session_row(client, a)
    with app_state(client).sessions() as db:
        db.add(
            m.Complaint(
                session_id=_sid,
                citizen_id=cid,
                subject="Data salah",
                body=f"NIK saya {VALID_NIK}, tetangga {OTHER_NIK}",
            )
        )
        db.commit()
    body = client.get("/api/v1/me/data", headers=a).json()["complaints"][0]["body"]
    assert VALID_NIK in body and OTHER_NIK not in body and "3510********0003" in body


def test_own_phone_in_full_and_anyone_elses_masked(tmp_path: Any) -> None:
    from server.settings import Settings

    sealer = Sealer(Settings(data_dir=tmp_path, load_assistant=False))
    sealed = sealer.seal_text("HP saya +62 812-3456-7890, HP tetangga 0813 9999 1111")
    shown = sealer.open_own(sealed, {"081234567890"})
    assert "+62 812-3456-7890" in shown and "0813 9999 1111" not in shown and "0813*****111" in shown
