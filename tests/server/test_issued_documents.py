"""Issuance on completion: a PAdES-signed PDF that pyHanko validates against the regency CA, exactly once."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.conftest import PG_URL, need
from tests.server.conftest import VALID_NIK, VALID_NIK_F, identified, make_officer
from tests.server.docs_helpers import (
    apply,
    birth_form,
    ca_cert,
    complete,
    have_poppler,
    pdf_text,
    pyhanko_status,
    qr_texts,
    to_ready,
)


def _count_docs(settings: Any) -> int:
    from server.persistence import models as m
    from server.persistence.db import make_engine, make_sessionmaker

    engine = make_engine(settings)
    with make_sessionmaker(engine)() as db:
        n = int(db.scalar(select(func.count()).select_from(m.IssuedDocument)) or 0)
    engine.dispose()
    return n


def _state(client: TestClient, officer: dict[str, str], tracking: str) -> str:
    r = client.get(f"/api/v1/officer/applications/{tracking}", headers=officer)
    assert r.status_code == 200, r.text
    return str(r.json()["state"])


@pytest.fixture
def birth_done(client: TestClient, officer_token: dict[str, str]) -> dict[str, Any]:
    citizen = identified(client)
    tracking = apply(client, citizen, "akta-kelahiran", birth_form())
    to_ready(client, officer_token, tracking)
    r = complete(client, officer_token, tracking)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "completed"
    pdf = client.get(f"/api/v1/applications/{tracking}/document.pdf", headers=citizen)
    assert pdf.status_code == 200, pdf.text
    info = client.get(f"/api/v1/applications/{tracking}/document", headers=citizen).json()
    return {"citizen": citizen, "tracking": tracking, "pdf": pdf.content, "info": info}


def test_completed_akta_kelahiran_pdf_validates_against_the_regency_ca(
    birth_done: dict[str, Any], migrated: Any
) -> None:
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    pdf = birth_done["pdf"]
    assert pdf.startswith(b"%PDF-")
    status = pyhanko_status(pdf, ca_cert(migrated.data_dir))
    assert status.intact and status.valid and status.trusted
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    info = birth_done["info"]
    assert info["number"].startswith("3510-LU-") and info["specimen"] is True and not info["revoked"]
    assert len(info["code"]) >= 22  # 16 random bytes = 128 bits, base64url


def test_signature_uses_pades_subfilter(birth_done: dict[str, Any]) -> None:
    from pyhanko.pdf_utils.reader import PdfFileReader

    sig = PdfFileReader(io.BytesIO(birth_done["pdf"])).embedded_signatures[0]
    assert sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"


def test_one_flipped_byte_fails_validation(birth_done: dict[str, Any], migrated: Any) -> None:
    from pyhanko.pdf_utils.reader import PdfFileReader

    pdf = bytearray(birth_done["pdf"])
    sig = PdfFileReader(io.BytesIO(bytes(pdf))).embedded_signatures[0]
    start, length = sig.byte_range[0], sig.byte_range[1]
    pdf[start + length // 2] ^= 0x01  # inside the signed range, in the page content
    status = pyhanko_status(bytes(pdf), ca_cert(migrated.data_dir))
    assert not (status.intact and status.valid)


def edit_field(pdf: bytes) -> bytes:
    """What a PDF editor does: an incremental update that paints a new name over the old one."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    w = IncrementalPdfFileWriter(io.BytesIO(pdf))
    overlay = b"q 1 1 1 rg 150 700 300 20 re f Q BT /F1 12 Tf 150 705 Td (BUDI PALSU) Tj ET"
    w.add_stream_to_page(0, w.add_object(generic.StreamObject(stream_data=overlay)))
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def test_edited_field_is_detected(birth_done: dict[str, Any], migrated: Any, client: TestClient) -> None:
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    edited = edit_field(birth_done["pdf"])
    status = pyhanko_status(edited, ca_cert(migrated.data_dir))
    assert status.coverage != SignatureCoverageLevel.ENTIRE_FILE  # pyHanko sees the appended change
    r = client.post("/api/v1/verify", files={"file": ("akta.pdf", edited, "application/pdf")})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "altered"
    assert r.json()["number"] == birth_done["info"]["number"]
    genuine = client.post("/api/v1/verify", files={"file": ("akta.pdf", birth_done["pdf"], "application/pdf")})
    assert genuine.json()["status"] == "valid"
    flipped = bytearray(birth_done["pdf"])
    flipped[len(flipped) // 3] ^= 0x01
    r = client.post("/api/v1/verify", files={"file": ("akta.pdf", bytes(flipped), "application/pdf")})
    assert r.status_code in (200, 415) and r.json().get("status", "not_pdf") != "valid"


def test_qr_decodes_to_the_verify_url(birth_done: dict[str, Any], tmp_path: Path) -> None:
    need(have_poppler(), "poppler-utils (pdftoppm) is not installed")
    texts = qr_texts(birth_done["pdf"], tmp_path)
    assert texts == [birth_done["info"]["verify_url"]]
    assert texts[0].endswith("/verify/" + birth_done["info"]["code"])


def test_layout_has_the_document_fields_and_specimen_mark(birth_done: dict[str, Any], tmp_path: Path) -> None:
    need(have_poppler(), "poppler-utils (pdftotext) is not installed")
    text = pdf_text(birth_done["pdf"], tmp_path)
    for expected in (
        "KUTIPAN AKTA KELAHIRAN",
        birth_done["info"]["number"],
        "AYU LESTARI",
        "1 Desember 2026",
        "KEPALA DINAS KEPENDUDUKAN",
        "SPESIMEN",
        "contoh sistem",
    ):
        assert expected in text, expected


def test_revoked_document_verifies_as_revoked(
    birth_done: dict[str, Any], client: TestClient, officer_token: dict[str, str], migrated: Any
) -> None:
    tracking, code = birth_done["tracking"], birth_done["info"]["code"]
    assert client.get(f"/api/v1/verify/{code}").json()["status"] == "valid"
    short = client.post(
        f"/api/v1/officer/applications/{tracking}/document/revoke", json={"reason": "x"}, headers=officer_token
    )
    assert short.status_code == 422  # a reason is required
    r = client.post(
        f"/api/v1/officer/applications/{tracking}/document/revoke",
        json={"reason": "Data orang tua salah ketik"},
        headers=officer_token,
    )
    assert r.status_code == 200, r.text and r.json()["revoked"] is True
    again = client.post(
        f"/api/v1/officer/applications/{tracking}/document/revoke",
        json={"reason": "Data orang tua salah ketik"},
        headers=officer_token,
    )
    assert again.status_code == 409
    assert client.get(f"/api/v1/verify/{code}").json()["status"] == "revoked"
    page = client.get(f"/verify/{code}")
    assert page.status_code == 200 and 'data-status="revoked"' in page.text
    upload = client.post("/api/v1/verify", files={"file": ("a.pdf", birth_done["pdf"], "application/pdf")})
    assert upload.json()["status"] == "revoked"
    gone = client.get(f"/api/v1/applications/{tracking}/document.pdf", headers=birth_done["citizen"])
    assert gone.status_code == 410
    from server.persistence import models as m
    from server.persistence.db import make_engine, make_sessionmaker

    engine = make_engine(migrated)
    with make_sessionmaker(engine)() as db:
        audit = db.scalars(select(m.AuditLog).where(m.AuditLog.action == "document_revoke")).all()
        assert len(audit) == 1 and audit[0].detail["reason"] == "Data orang tua salah ketik"
    engine.dispose()


def test_completion_retries_issue_exactly_once(
    client: TestClient, officer_token: dict[str, str], migrated: Any
) -> None:
    citizen = identified(client)
    tracking = apply(client, citizen, "akta-kelahiran", birth_form())
    to_ready(client, officer_token, tracking)
    assert complete(client, officer_token, tracking).status_code == 200
    assert complete(client, officer_token, tracking).status_code == 409  # a retried request
    again = client.post(f"/api/v1/officer/applications/{tracking}/document", headers=officer_token)
    assert again.status_code == 200  # idempotent re-issue returns the same document
    first = client.get(f"/api/v1/applications/{tracking}/document", headers=citizen).json()
    assert again.json()["number"] == first["number"] and again.json()["code"] == first["code"]
    assert _count_docs(migrated) == 1


def test_concurrent_completions_issue_one_document(
    client: TestClient, officer_token: dict[str, str], migrated: Any
) -> None:
    citizen = identified(client)
    tracking = apply(client, citizen, "akta-kelahiran", birth_form())
    to_ready(client, officer_token, tracking)
    codes: list[int] = []
    barrier = threading.Barrier(3)

    def go() -> None:
        barrier.wait()
        codes.append(complete(client, officer_token, tracking).status_code)

    threads = [threading.Thread(target=go) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes)[0] == 200 and codes.count(200) == 1, codes
    assert all(c in (200, 409, 503) for c in codes), codes
    assert _count_docs(migrated) == 1


CRASH_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    from fastapi.testclient import TestClient
    from sqlalchemy.orm import Session
    import server.domain.documents.issue as issuance
    from server.app import create_app
    from server.settings import Settings

    data_dir, db_url, tracking, token, flag = sys.argv[1:6]
    settings = Settings(data_dir=data_dir, database_url=db_url or None, load_assistant=False)
    real = issuance.render_and_sign

    def signed_then_die_at_commit(*args, **kwargs):
        doc = real(*args, **kwargs)
        open(flag, "w").write(doc.sha256)  # the PDF is signed ...
        def die(self):  # ... and the process is killed before the transaction commits
            os.kill(os.getpid(), signal.SIGKILL)
        Session.commit = die
        return doc

    issuance.render_and_sign = signed_then_die_at_commit
    with TestClient(create_app(settings)) as c:
        c.post(f"/api/v1/officer/applications/{tracking}/transition", json={"to": "completed"},
               headers={"Authorization": f"Bearer {token}"})
    sys.exit(3)  # never reached
    """
)


@pytest.mark.slow
def test_kill_9_between_signing_and_commit_then_retry_issues_once(
    client: TestClient, officer_token: dict[str, str], migrated: Any, tmp_path: Path
) -> None:
    citizen = identified(client)
    tracking = apply(client, citizen, "akta-kelahiran", birth_form())
    to_ready(client, officer_token, tracking)
    flag = tmp_path / "signed.flag"
    script = tmp_path / "crash.py"
    script.write_text(CRASH_SCRIPT)
    token = officer_token["Authorization"].split(" ", 1)[1]
    proc = subprocess.run(
        [sys.executable, str(script), str(migrated.data_dir), PG_URL or "", tracking, token, str(flag)],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "MPP_LOG_JSON": "0"},
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    assert flag.exists()  # it died after signing, not before
    assert _state(client, officer_token, tracking) == "ready"
    assert _count_docs(migrated) == 0
    assert client.get(f"/api/v1/applications/{tracking}/document", headers=citizen).status_code == 404
    r = complete(client, officer_token, tracking)  # the officer retries
    assert r.status_code == 200, r.text
    assert complete(client, officer_token, tracking).status_code == 409
    assert _count_docs(migrated) == 1
    doc = client.get(f"/api/v1/applications/{tracking}/document.pdf", headers=citizen)
    assert doc.status_code == 200
    assert pyhanko_status(doc.content, ca_cert(migrated.data_dir)).intact


def test_only_the_holder_and_the_officer_in_scope_get_the_document(
    birth_done: dict[str, Any], client: TestClient, migrated: Any
) -> None:
    tracking = birth_done["tracking"]
    stranger = identified(client, VALID_NIK_F, "Siti Aminah")
    assert client.get(f"/api/v1/applications/{tracking}/document.pdf", headers=stranger).status_code == 404
    assert client.get(f"/api/v1/applications/{tracking}/document.pdf").status_code == 401
    polri = make_officer(client, migrated, "polri1", "polri")
    assert client.get(f"/api/v1/officer/applications/{tracking}/document.pdf", headers=polri).status_code == 404
    mine = client.get("/api/v1/issued-documents", headers=birth_done["citizen"]).json()
    assert [d["tracking_number"] for d in mine] == [tracking]
    assert client.get("/api/v1/issued-documents", headers=stranger).json() == []


def test_the_application_timeline_keeps_only_state_changes(birth_done: dict[str, Any], client: TestClient) -> None:
    evs = client.get(f"/api/v1/applications/{birth_done['tracking']}/events", headers=birth_done["citizen"]).json()
    assert [e["to_state"] for e in evs] == ["draft", "submitted", "verified", "in_process", "ready", "completed"]


def test_document_event_reaches_the_citizen_stream(birth_done: dict[str, Any], client: TestClient) -> None:
    from protocol.messages import DocumentEvent, parse_server

    with client.websocket_connect("/ws") as ws:
        token = birth_done["citizen"]["Authorization"].split(" ", 1)[1]
        ws.send_json({"type": "hello", "token": token, "last_seq": 0})
        frames = []
        for _ in range(30):
            f = ws.receive_json()
            frames.append(f)
            if f["type"] == "document.event":
                break
    doc = [parse_server(__import__("json").dumps(f)) for f in frames if f["type"] == "document.event"]
    assert doc and isinstance(doc[0], DocumentEvent)
    assert doc[0].state == "issued" and doc[0].tracking_number == birth_done["tracking"]


@pytest.mark.parametrize(
    ("service_id", "extra", "expect"),
    [
        ("surat-domisili", {"village": "Pesanggaran", "address": "Jl. Melati 1", "purpose": "Melamar kerja"}, "desa"),
        ("sktm", {"village": "Pesanggaran", "purpose": "pendidikan", "household_size": 4}, "desa"),
        ("skck", {"purpose": "melamar_kerja", "birth_place": "Banyuwangi", "phone": "081234567890"}, "polri"),
        ("akta-kematian", {"deceased_nik": VALID_NIK_F, "death_date": "2026-11-30", "relationship": "keluarga"}, "dk"),
        ("kartu-keluarga", {"reason": "baru_menikah", "village": "Pesanggaran"}, "dk"),
        ("kia", {"parent_nik": VALID_NIK_F, "birth_certificate_number": "3510-LU-01012020-0001"}, "dk"),
    ],
)
def test_every_document_service_issues_a_signed_pdf(
    service_id: str, extra: dict[str, Any], expect: str, client: TestClient, migrated: Any, tmp_path: Path
) -> None:
    from protocol.catalog import default_catalog

    agency = default_catalog().service(service_id).agency
    if agency == "smart-kampung":
        officer = make_officer(client, migrated, "desa1", None, role="village", village=_village_code(migrated))
    else:
        officer = make_officer(client, migrated, f"{agency}1", agency)
    citizen = identified(client)
    tracking = apply(client, citizen, service_id, {"nik": VALID_NIK, "full_name": "Budi Santoso", **extra})
    to_ready(client, officer, tracking)
    assert complete(client, officer, tracking).status_code == 200
    info = client.get(f"/api/v1/applications/{tracking}/document", headers=citizen).json()
    pdf = client.get(f"/api/v1/applications/{tracking}/document.pdf", headers=citizen).content
    assert pyhanko_status(pdf, ca_cert(migrated.data_dir)).trusted
    if expect == "desa":
        assert info["signer"].startswith("Kepala Desa/Lurah Pesanggaran")
        assert "Pesanggaran" in info["issuer"]
    elif expect == "polri":
        assert info["claim_slip"] is True and "Kepolisian" in info["issuer"]
    else:
        assert info["issuer"].startswith("Dinas Kependudukan")
    if have_poppler():
        text = pdf_text(pdf, tmp_path)
        assert info["number"] in text
        if expect == "polri":
            assert "SKCK tercetak diambil di Loket 3" in " ".join(text.split())


def _village_code(settings: Any) -> str:
    from server.persistence import models as m
    from server.persistence.db import make_engine, make_sessionmaker

    engine = make_engine(settings)
    with make_sessionmaker(engine)() as db:
        code = db.scalar(select(m.Village.code).where(m.Village.name == "Pesanggaran"))
    engine.dispose()
    assert code
    return str(code)


def test_services_without_a_document_complete_as_before(
    client: TestClient, officer_token: dict[str, str], migrated: Any
) -> None:
    from tests.server.conftest import create_app_json

    citizen = identified(client)
    tracking = create_app_json(client, citizen)["tracking_number"]  # KTP-el: printed at the counter
    to_ready(client, officer_token, tracking)
    assert complete(client, officer_token, tracking).status_code == 200
    assert client.get(f"/api/v1/applications/{tracking}/document", headers=citizen).status_code == 404
    assert _count_docs(migrated) == 0


def test_an_application_completed_before_signing_existed_gets_its_document_once(
    client: TestClient, officer_token: dict[str, str], migrated: Any, app: Any
) -> None:
    from server.domain import applications
    from server.persistence import models as m
    from server.persistence.db import make_engine, make_sessionmaker
    from tests.server.console_helpers import add_officer, console_login

    citizen = identified(client)
    tracking = apply(client, citizen, "akta-kelahiran", birth_form())
    to_ready(client, officer_token, tracking)
    engine = make_engine(migrated)
    with make_sessionmaker(engine)() as db:  # the old path: completed with no document
        row = db.scalar(select(m.Application).where(m.Application.tracking_number == tracking))
        assert row is not None
        applications.transition(db, row, "completed", "officer:legacy", "officer", None)
        db.commit()
    engine.dispose()
    assert client.get(f"/api/v1/applications/{tracking}/document", headers=citizen).status_code == 404
    add_officer(migrated, "dukcapil-console")
    with TestClient(app) as console:
        csrf = console_login(console, "dukcapil-console")
        page = console.get(f"/officer/applications/{tracking}").text
        assert 'id="issued-issue"' in page
        for _ in range(2):  # a double click issues one document
            r = console.post(f"/officer/applications/{tracking}/issued", data={"csrf": csrf}, follow_redirects=False)
            assert r.status_code == 303
        assert "issued-number" in console.get(f"/officer/applications/{tracking}").text
    assert _count_docs(migrated) == 1
    assert client.get(f"/api/v1/applications/{tracking}/document.pdf", headers=citizen).status_code == 200
