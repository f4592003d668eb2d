"""The officer desk: request rows, expiry, canned replies, clean transcripts, Indonesian first, complaints, reports."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

from fastapi.testclient import TestClient

from tests.server.conftest import identified
from tests.server.console_helpers import add_officer, console_login


def _session(client: TestClient, lang: str = "id") -> tuple[str, str]:
    r = client.post("/api/v1/sessions", json={"lang": lang})
    return r.json()["token"], r.json()["session_id"]


def _hello(ws: Any, token: str) -> None:
    ws.send_json({"type": "hello", "token": token, "protocol_version": 1, "last_seq": 0})
    assert ws.receive_json()["type"] == "welcome"


def _reply(ws: Any) -> dict[str, Any]:
    while True:
        f = dict(ws.receive_json())
        if f["type"] == "chat.reply":
            return f


def test_request_rows_show_masked_name_language_last_question_guided_waiting_and_presence(
    client: TestClient, app: Any, migrated: Any
) -> None:
    h = identified(client, name="Budi Santoso")
    token = h["Authorization"].split()[1]
    r = client.post(
        "/api/v1/handoffs",
        json={
            "transcript": [
                {"role": "citizen", "text": "/officer"},
                {"role": "citizen", "text": "KTP saya hilang, bagaimana?"},
                {"role": "assistant", "text": "Bawa surat kehilangan."},
            ],
            "guided": True,
        },
        headers=h,
    )
    assert r.status_code == 201
    hid = r.json()["handoff_id"]
    en_token, en_public = _session(client, "en")
    from assistant.ports import Caller

    other = app.state.port.request_handoff(
        Caller(session_id=en_public), "conv-en", [{"role": "citizen", "text": "I lost my passport"}]
    ).handoff_id
    with app.state.sessions() as db:  # the first request has waited 12 minutes
        from server.persistence import models as m

        db.get(m.Handoff, hid).created_at = m.now_utc() - dt.timedelta(minutes=12)
        db.commit()
    add_officer(migrated, "duk1")
    console_login(client, "duk1")
    with client.websocket_connect("/ws") as ws:
        _hello(ws, token)  # Budi is online, the English visitor is not
        html = client.get("/officer/remote/list").text
    rows = dict(re.findall(r'data-handoff="(\d+)">(.*?)</li>', html, re.S))
    budi, en = rows[str(hid)], rows[str(other)]
    assert "Budi S******" in budi and "Santoso" not in budi
    assert "Bahasa Indonesia" in budi and "mode dibantu" in budi and "menunggu 12 menit" in budi
    assert "KTP saya hilang, bagaimana?" in budi and 'class="presence online"' in budi
    assert "Bahasa Inggris" in en and "mode dibantu" not in en and "I lost my passport" in en
    assert 'class="presence offline"' in en and "menunggu 0 menit" in en
    assert "“/officer" not in html and ">/officer" not in html  # the command is shown as words, never raw


def test_raw_commands_never_reach_the_transcript(client: TestClient, app: Any, migrated: Any) -> None:
    from assistant.ports import Caller

    token, public_id = _session(client)
    hid = app.state.port.request_handoff(
        Caller(session_id=public_id), "conv-cmd", [{"role": "citizen", "text": "/officer"}]
    ).handoff_id
    add_officer(migrated, "duk1")
    csrf = console_login(client, "duk1")
    page = client.get(f"/officer/remote/{hid}").text
    log = page.split('id="chat-log"', 1)[1].split("</ol>", 1)[0]
    assert "/officer" not in log and "Saya ingin bicara dengan petugas." in log
    assert client.post(f"/officer/remote/{hid}/accept", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    h = {"Authorization": f"Bearer {token}"}
    for text in ("/submitted ktp-el 3510-X", "Sudah saya kirim"):
        r = client.post("/api/v1/assistant/ask", json={"text": text, "conversation_id": "conv-cmd"}, headers=h)
        assert r.status_code == 200
    with app.state.sessions() as db:
        from server.persistence import models as m

        texts = [e.get("text", "") for e in db.get(m.Handoff, hid).transcript]
    assert "Sudah saya kirim" in texts and not any(t.startswith("/") for t in texts)


def test_console_is_indonesian_even_for_an_english_browser(client: TestClient) -> None:
    page = client.get("/officer/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="id">' in page.text and "Masuk petugas" in page.text
    client.get("/officer/lang/en", follow_redirects=False)
    assert "Officer sign-in" in client.get("/officer/login", headers={"Accept-Language": "id"}).text


def test_canned_replies_are_offered_in_the_citizens_language(client: TestClient, app: Any, migrated: Any) -> None:
    from assistant.ports import Caller

    _, en_public = _session(client, "en")
    hid = app.state.port.request_handoff(
        Caller(session_id=en_public), "conv-canned", [{"role": "citizen", "text": "help"}]
    ).handoff_id
    add_officer(migrated, "duk1")
    csrf = console_login(client, "duk1")
    client.post(f"/officer/remote/{hid}/accept", data={"csrf": csrf}, follow_redirects=False)
    page = client.get(f"/officer/remote/{hid}").text
    canned = re.findall(r'data-canned="(\w+)" data-text="([^"]+)"[^>]*>([^<]+)<', page)
    assert len(canned) >= 5
    by_key = {k: (text, label) for k, text, label in canned}
    assert by_key["wait"] == ("Please wait a moment while I check.", "Mohon tunggu sebentar, saya periksa dulu.")
    assert "Balasan cepat (Bahasa Inggris)" in page


def test_abandoned_requests_expire_and_the_citizen_is_told(client: TestClient, app: Any, migrated: Any) -> None:
    from assistant.ports import Caller
    from server.persistence import models as m
    from server.realtime.handoffs import expire_stale

    token, public_id = _session(client)
    old = app.state.port.request_handoff(Caller(session_id=public_id), "conv-old", []).handoff_id
    _, other_public = _session(client)
    fresh = app.state.port.request_handoff(Caller(session_id=other_public), "conv-new", []).handoff_id
    with app.state.sessions() as db:
        db.get(m.Handoff, old).created_at = m.now_utc() - dt.timedelta(minutes=25)
        db.commit()
    with client.websocket_connect("/ws") as ws:
        _hello(ws, token)
        expired = expire_stale(app.state.sessions, app.state.hub, app.state.calls, 20)
        assert expired == [old]
        told = _reply(ws)
    assert told["sender"] == "system" and "kedaluwarsa" in told["text"]
    assert told["actions"][0]["data"] == {"state": "expired", "handoff_id": old}
    assert expire_stale(app.state.sessions, app.state.hub, app.state.calls, 20) == []  # once only
    with app.state.sessions() as db:
        assert db.get(m.Handoff, old).state == "expired" and db.get(m.Handoff, fresh).state == "pending"
    mine = client.get("/api/v1/handoffs", headers={"Authorization": f"Bearer {token}"}).json()
    assert mine[0]["state"] == "expired"
    add_officer(migrated, "duk1")
    console_login(client, "duk1")
    listing = client.get("/officer/remote/list").text
    assert f'data-handoff="{fresh}"' in listing and f'data-handoff="{old}"' not in listing


def _complaint(client: TestClient, agency: str = "dukcapil") -> tuple[dict[str, str], int]:
    h = identified(client)
    r = client.post(
        "/api/v1/complaints",
        json={"subject": "Antrean lama", "body": "Saya menunggu tiga jam di loket KTP.", "agency": agency},
        headers=h,
    )
    assert r.status_code == 201, r.text
    return h, int(r.json()["id"])


def test_complaints_desk_assigns_replies_and_closes_with_the_citizen_told_live(
    client: TestClient, app: Any, migrated: Any
) -> None:
    h, cid = _complaint(client)
    _, other = _complaint(client, agency="bapenda")
    add_officer(migrated, "duk1", full_name="Rina Wulandari")
    add_officer(migrated, "duk2", full_name="Agus Salim")
    csrf = console_login(client, "duk1")
    listing = client.get("/officer/complaints").text
    assert "Antrean lama" in listing and f'/officer/complaints/{cid}"' in listing
    assert f'/officer/complaints/{other}"' not in listing  # another agency's
    assert client.get(f"/officer/complaints/{other}").status_code == 404
    page = client.get(f"/officer/complaints/{cid}").text
    duk2 = re.search(r'<option value="(\d+)"[^>]*>Agus Salim<', page)
    assert duk2 is not None
    r = client.post(f"/officer/complaints/{cid}/assign", data={"csrf": csrf, "officer_id": duk2.group(1)},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    page = client.get(f"/officer/complaints/{cid}").text
    assert '<span id="assignee">Agus Salim</span>' in page and "Diproses" in page
    token = h["Authorization"].split()[1]
    with client.websocket_connect("/ws") as ws:
        _hello(ws, token)
        r = client.post(
            f"/officer/complaints/{cid}/reply",
            data={"csrf": csrf, "response": "Mohon maaf, loket ditambah mulai besok.", "state": "responded"},
            follow_redirects=False,
        )
        assert r.status_code == 303
        told = _reply(ws)
        assert told["intent"] == "complaint.responded" and "loket ditambah mulai besok" in told["text"]
        assert (
            client.post(f"/officer/complaints/{cid}/close", data={"csrf": csrf}, follow_redirects=False).status_code
            == 303
        )
        closed = _reply(ws)
        assert "ditutup" in closed["text"]
    mine = client.get(f"/api/v1/complaints/{cid}", headers=h).json()
    assert mine["state"] == "closed" and mine["response"] == "Mohon maaf, loket ditambah mulai besok."
    again = client.post(f"/officer/complaints/{cid}/reply", data={"csrf": csrf, "response": "x"})
    assert again.status_code == 409
    assert client.post(f"/officer/complaints/{cid}/close", data={"csrf": "wrong"}).status_code == 403
    assert client.get("/officer/complaints?state=closed").text.count("Antrean lama") == 1


def test_reports_take_a_date_range_draw_charts_and_export_csv(client: TestClient, app: Any, migrated: Any) -> None:
    from tests.server.conftest import create_app_json

    h = identified(client)
    create_app_json(client, h)
    create_app_json(client, h)
    with app.state.sessions() as db:  # one of them was filed 40 days ago
        from sqlalchemy import select

        from server.persistence import models as m

        first = db.scalars(select(m.Application).order_by(m.Application.id)).first()
        first.created_at = m.now_utc() - dt.timedelta(days=40)
        db.commit()
    add_officer(migrated, "sup", None, role="supervisor")
    console_login(client, "sup")
    page = client.get("/officer/reports").text  # default: the last 30 days
    assert 'id="chart-daily"' in page and 'id="chart-volume"' in page and page.count("<rect") >= 31
    assert re.search(r"KTP-el</td><td class=\"num\">1</td>", page)
    from server.domain.sessions import today_wib

    # the office's calendar is WIB: between 17:00 and 24:00 UTC the machine's date is a day behind it
    today = today_wib()
    wide = (today - dt.timedelta(days=60)).isoformat()
    page = client.get(f"/officer/reports?from={wide}").text
    assert re.search(r"KTP-el</td><td class=\"num\">2</td>", page)
    r = client.get(f"/officer/reports.csv?from={wide}&to={today.isoformat()}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
    ktp = next(row for row in rows if row["service_id"] == "ktp-el")
    assert ktp["submitted"] == "2" and ktp["service"] == "KTP-el"
    for bad in ("from=2026-13-01", "from=2026-12-10&to=2026-12-01", "from=2020-01-01&to=2026-01-01"):
        res = client.get(f"/officer/reports?{bad}")
        assert res.status_code == 422 and "Rentang tanggal tidak valid" in res.text
        assert client.get(f"/officer/reports.csv?{bad}").status_code == 422
