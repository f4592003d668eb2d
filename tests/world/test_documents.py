"""The hall offers the issued document: live document.event, the tracker line, the hand-over, the saved PDF."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from protocol.messages import DocumentEvent
from tests.world.servers import ServerProcess
from tests.world.test_net import Collector
from world.net import NetClient

AT = dt.datetime(2026, 12, 7, 9, 30, tzinfo=dt.UTC)


def _doc(state: str, seq: int) -> DocumentEvent:
    return DocumentEvent(
        seq=seq,
        tracking_number="BWI-2026-000007",
        service_id="akta-kelahiran",
        state=state,  # type: ignore[arg-type]
        number="3510-LU-07122026-000007",
        title="Kutipan Akta Kelahiran",
        at=AT,
    )


@pytest.mark.render
def test_tracker_offers_the_document_and_the_officer_hands_it_over(base: Any) -> None:
    from world.app import HallClient
    from world.config import WorldConfig

    c = HallClient(base, WorldConfig(connect=False)).start()
    try:
        c.pump(lambda: c.screens.state == "Hall", timeout=5)
        c.tickets.toggle_tracker()
        assert c.tickets.tracker is not None
        c.on_frame(_doc("issued", 5))
        assert "3510-LU-07122026-000007: siap dicetak" in c.tickets.tracker.text
        assert c.tickets.tracker.printable() == "BWI-2026-000007" and c.tickets.tracker.save_button is not None
        assert any("Dokumen Anda sudah jadi, bisa dicetak" in text for _, text in c.chat.history)
        c.on_frame(_doc("handed_over", 6))
        assert ("officer", "Petugas loket menyerahkan dokumen 3510-LU-07122026-000007 kepada Anda.") in c.chat.history
        assert "sudah diserahkan" in c.tickets.tracker.text
        c.on_frame(_doc("revoked", 7))
        assert c.tickets.tracker.printable() is None and "dicabut" in c.tickets.tracker.text
        c.tickets.close_tracker()
        c.tickets.toggle_tracker()  # reopened: built from what the client already knows
        assert c.tickets.tracker is not None and "dicabut" in c.tickets.tracker.text
    finally:
        c.destroy()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path).start()
    yield srv
    srv.stop()


@pytest.mark.slow
def test_document_event_and_saved_pdf_over_the_network(server: ServerProcess, tmp_path: Path) -> None:
    from server.domain.officers import create_officer
    from server.persistence.db import make_engine, make_sessionmaker
    from server.settings import Settings

    engine = make_engine(Settings(data_dir=server.data_dir, load_assistant=False))
    with make_sessionmaker(engine)() as db:
        create_officer(db, "duk-hall", "rahasia-123", "officer", "dukcapil")
        db.commit()
    engine.dispose()
    client = NetClient(server.base, lang="id", name="Budi")
    client.start()
    try:
        col = Collector(client)
        assert col.until(lambda: client.state == "online")
        from tests.codes import shared_inbox

        before = len(shared_inbox().mails)  # the second factor, with the code from the mail the server sent
        client.identify("3510011204900001", "Budi Santoso", contact="budi.docs@example.com")
        assert col.until(lambda: bool(col.http("identify")))
        code = shared_inbox().code_for("budi.docs@example.com", after=before)
        client.verify_code(col.http("identify")[-1]["body"]["challenge_id"], code)
        assert col.until(lambda: bool(col.http("verify")))
        assert col.http("verify")[-1]["status"] == 200
        data = {
            "nik": "3510011204900001",
            "full_name": "Budi Santoso",
            "child_name": "Ayu Lestari",
            "birth_date": "2026-12-01",
            "birth_place": "Banyuwangi",
            "child_sex": "P",
            "birth_letter": "surat_dokter_bidan",
        }
        client.create_application("akta-kelahiran", data, key=uuid.uuid4().hex, tag="akta")
        assert col.until(lambda: bool(col.http("akta")))
        tracking = col.http("akta")[0]["body"]["tracking_number"]
        token = httpx.post(
            f"{server.base}/api/v1/officer/login", json={"username": "duk-hall", "password": "rahasia-123"}
        ).json()["token"]
        for to in ("verified", "in_process", "ready", "completed"):
            r = httpx.post(
                f"{server.base}/api/v1/officer/applications/{tracking}/transition",
                json={"to": to},
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
            assert r.status_code == 200, r.text
        assert col.until(lambda: any(e.state == "issued" for e in col.frames(DocumentEvent)), timeout=20)
        client.issued_documents()
        assert col.until(lambda: bool(col.http("documents")))
        assert col.http("documents")[0]["body"][0]["tracking_number"] == tracking
        dest = tmp_path / "out" / "akta.pdf"
        client.save_document(tracking, dest)
        assert col.until(lambda: bool(col.http("document.saved")))
        saved = col.http("document.saved")[0]
        assert saved["status"] == 200 and saved["body"]["path"] == str(dest)
        assert dest.read_bytes().startswith(b"%PDF-")
        client.save_document("BWI-1999-999999", tmp_path / "none.pdf", tag="missing")
        assert col.until(lambda: bool(col.http("missing")))
        assert col.http("missing")[0]["status"] == 404 and not (tmp_path / "none.pdf").exists()
    finally:
        client.stop()
