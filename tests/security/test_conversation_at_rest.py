"""Issue 13 item 4: NIK, KK and phone numbers in conversation logs are sealed at rest; officers see them masked."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, text

from tests.server.console_helpers import add_officer, console_login

NIK = "3510011204900001"
KK = "3510010101200001"
PHONE = "081234567890"


def _raw(app: Any, table: str, column: str) -> str:
    with app.state.sessions() as db:
        return json.dumps([r[0] for r in db.execute(text(f"SELECT {column} FROM {table}"))])


def test_conversation_events_hold_no_personal_number_in_clear(client: TestClient, app: Any) -> None:
    from assistant.ports import Caller

    sid = client.post("/api/v1/sessions", json={}).json()["session_id"]
    event = {
        "text": f"NIK saya {NIK}, KK {KK[:4]} {KK[4:8]} {KK[8:12]} {KK[12:]}, hp {PHONE}",
        "form": {"data": {"nik": NIK, "kk_number": KK, "phone": PHONE, "full_name": "Budi"}},
    }
    app.state.port.append_conversation("conv-pii", Caller(session_id=sid), event)
    raw = _raw(app, "conversation_events", "event")
    for secret in (NIK, KK, PHONE, KK[:4] + " " + KK[4:8]):
        assert secret not in raw
    assert "Budi" in raw  # only personal numbers are sealed
    assert app.state.port.load_conversation("conv-pii") == [event]  # the assistant resumes with the originals


def test_handoff_transcript_is_masked_for_officers_with_an_audited_reveal(
    client: TestClient, app: Any, migrated: Any
) -> None:
    from assistant.ports import Caller
    from server.persistence import models as m

    sid = client.post("/api/v1/sessions", json={}).json()["session_id"]
    said = f"NIK saya {NIK} dan nomor HP {PHONE}"
    hid = app.state.port.request_handoff(
        Caller(session_id=sid), "conv-2", [{"role": "citizen", "text": said}]
    ).handoff_id
    assert NIK not in _raw(app, "handoffs", "transcript") and PHONE not in _raw(app, "handoffs", "transcript")
    add_officer(migrated, "duk1")
    csrf = console_login(client, "duk1")
    page = client.get(f"/officer/remote/{hid}").text
    assert NIK not in page and "3510********0001" in page and PHONE not in page
    revealed = client.post(f"/officer/remote/{hid}/reveal", data={"csrf": csrf}).text
    assert NIK in revealed and PHONE in revealed
    with app.state.sessions() as db:
        audit = list(db.scalars(select(m.AuditLog).where(m.AuditLog.action == "transcript_reveal")))
        assert [a.target for a in audit] == [f"handoff:{hid}"]
