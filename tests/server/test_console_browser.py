"""The officer console in a real browser (Debian chromium via Playwright) against a real server.

The server runs in-process under uvicorn on a free port, so the test can also call the
assistant's service port directly to raise a handoff while the assistant model is not loaded.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from tests.conftest import free_port, need
from tests.server.conftest import VALID_NIK, VALID_NIK_F, ktp_form
from tests.server.console_helpers import PASSWORD, add_officer

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CHROMIUM = "/usr/bin/chromium"
IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class LiveServer:
    def __init__(self, app: Any, port: int) -> None:
        import uvicorn

        self.app = app
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise AssertionError("server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def live(migrated: Any) -> Iterator[LiveServer]:
    from server.app import create_app
    from tests.codes import RecordingDelivery

    add_officer(migrated, "duk1", "dukcapil", full_name="Rina Wulandari")
    server = LiveServer(create_app(migrated, delivery=RecordingDelivery()), free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def browser() -> Iterator[Any]:
    need(os.path.exists(CHROMIUM), f"Debian chromium is not installed at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need(False, "the playwright Python package is not installed")
        raise
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def citizen(live: LiveServer, nik: str = VALID_NIK, name: str = "Budi Santoso") -> tuple[str, dict[str, str], str]:
    r = httpx.post(f"{live.base}/api/v1/sessions", json={"lang": "id"})
    token, public_id = r.json()["token"], r.json()["session_id"]
    h = {"Authorization": f"Bearer {token}"}
    r = httpx.post(
        f"{live.base}/api/v1/sessions/identify",
        json={"nik": nik, "name": name, "contact": f"warga{nik[-6:]}@example.com"},
        headers=h,
    )
    assert r.status_code == 202, r.text
    challenge = r.json()["challenge_id"]
    code = live.app.state.delivery.wait_for(challenge)
    r = httpx.post(f"{live.base}/api/v1/sessions/verify", json={"challenge_id": challenge, "code": code}, headers=h)
    assert r.status_code == 200, r.text
    return token, h, public_id


def submit(live: LiveServer, h: dict[str, str], nik: str = VALID_NIK, name: str = "Budi Santoso") -> str:
    r = httpx.post(
        f"{live.base}/api/v1/applications",
        json={"service_id": "ktp-el", "data": ktp_form(nik, name), "submit": True},
        headers={**h, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["tracking_number"])


def citizen_socket(live: LiveServer, token: str) -> ClientConnection:
    ws = connect(f"ws://127.0.0.1:{live.port}/ws", open_timeout=10)
    ws.send(json.dumps({"type": "hello", "token": token, "protocol_version": 1, "last_seq": 0}))
    assert json.loads(ws.recv(timeout=10))["type"] == "welcome"
    return ws


def wait_frame(ws: ClientConnection, want: Any, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("expected frame did not arrive")
        frame = json.loads(ws.recv(timeout=left))
        if want(frame):
            return dict(frame)


def sign_in(page: Any, live: LiveServer, username: str = "duk1") -> None:
    page.goto(f"{live.base}/officer/login")
    page.get_by_label("Nama pengguna").fill(username)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url(f"{live.base}/officer/")


def live_ready(page: Any) -> None:
    page.wait_for_function("() => document.body.dataset.liveReady === '1'", timeout=10000)


def shot(page: Any, name: str) -> None:
    """Screenshots land in docs/img only when MPP_SCREENSHOTS=1, so a test run leaves the tree clean."""
    png = page.screenshot(full_page=False)
    assert png.startswith(b"\x89PNG")
    if os.environ.get("MPP_SCREENSHOTS") == "1":
        IMG.mkdir(parents=True, exist_ok=True)
        (IMG / name).write_bytes(png)


def test_officer_verifies_and_completes_while_the_citizen_watches(live: LiveServer, browser: Any) -> None:
    token, h, _ = citizen(live)
    older = submit(live, h)
    with live.app.state.sessions() as db:  # one overdue and one due-soon application for the highlight
        from sqlalchemy import select

        from server.domain import sessions
        from server.persistence import models as m

        app_row = db.scalar(select(m.Application).where(m.Application.tracking_number == older))
        assert app_row is not None
        app_row.sla_due = sessions.today_wib() - dt.timedelta(days=2)
        db.commit()
    api = f"{live.base}/api/v1/officer"
    bearer = {
        "Authorization": "Bearer "
        + httpx.post(f"{api}/login", json={"username": "duk1", "password": PASSWORD}).json()["token"]
    }
    for targets in (["verified"], ["verified", "in_process"], ["rejected"]):  # a fuller inbox for the screenshot
        t = submit(live, h)
        for to in targets:
            body = {"to": to, "note": "Pas foto tidak sesuai ketentuan." if to == "rejected" else None}
            assert httpx.post(f"{api}/applications/{t}/transition", json=body, headers=bearer).status_code == 200
    page = browser.new_page(viewport={"width": 1280, "height": 760}, locale="id-ID")
    sign_in(page, live)
    live_ready(page)
    assert page.locator(f'tr[data-tracking="{older}"].overdue').count() == 1
    _, h2, _ = citizen(live, VALID_NIK_F, "Siti Aminah")
    fresh = submit(live, h2, VALID_NIK_F, "Siti Aminah")
    page.wait_for_selector(f'tr[data-tracking="{fresh}"]', timeout=10000)  # appeared without a reload
    page.wait_for_selector("#live-status.show")
    page.wait_for_function("() => getComputedStyle(document.getElementById('live-status')).opacity === '1'")
    shot(page, "console-inbox.png")

    ws = citizen_socket(live, token)
    try:
        page.get_by_role("link", name=older).click()
        page.wait_for_url(f"**/officer/applications/{older}")
        assert "3510********0001" in page.content() and VALID_NIK not in page.content()
        for label, state in (("Verifikasi", "verified"), ("Proses", "in_process"), ("Tandai siap diambil", "ready")):
            page.get_by_role("button", name=label, exact=True).click()
            page.wait_for_url(f"**done={state}")
            frame = wait_frame(
                ws,
                lambda f, s=state: (
                    f["type"] == "application.event" and f["to_state"] == s and f["tracking_number"] == older
                ),
            )
            assert frame["tracking_number"] == older
            assert frame["actor"] == "officer:duk1"
        shot(page, "console-detail.png")
        page.get_by_role("button", name="Selesaikan", exact=True).click()
        page.wait_for_url("**done=completed")
        frame = wait_frame(ws, lambda f: f["type"] == "application.event" and f["to_state"] == "completed")
        assert frame["tracking_number"] == older
    finally:
        ws.close()
    r = httpx.get(f"{live.base}/api/v1/applications/{older}", headers=h)
    assert r.json()["state"] == "completed"


def test_officer_calls_the_next_ticket_and_the_board_changes(live: LiveServer, browser: Any) -> None:
    token, h, _ = citizen(live)
    ticket = httpx.post(f"{live.base}/api/v1/queue/tickets", json={"counter": 1}, headers=h).json()["code"]
    ws = citizen_socket(live, token)
    page = browser.new_page(viewport={"width": 1280, "height": 760}, locale="id-ID")
    try:
        sign_in(page, live)
        page.goto(f"{live.base}/officer/queue")
        live_ready(page)
        card = page.locator('[data-counter="1"]')
        assert card.locator(".waiting").inner_text() == "1"
        card.get_by_role("button", name="Panggil berikutnya").click()
        page.wait_for_url("**a=call-next**")
        seen: list[dict[str, Any]] = []

        def both(f: dict[str, Any]) -> bool:
            seen.append(f)
            kinds = {x["type"] for x in seen if x["type"] in ("queue.event", "board.update")}
            return kinds == {"queue.event", "board.update"} and any(
                x["type"] == "queue.event" and x["state"] == "called" for x in seen
            )

        wait_frame(ws, both)  # the event comes from the outbox, the board from a broadcast: either order
        called = next(x for x in seen if x["type"] == "queue.event" and x["state"] == "called")
        assert called["ticket_code"] == ticket and called["counter"] == 1
        board = [x for x in seen if x["type"] == "board.update" and x["counter"] == 1][-1]
        assert board["now_serving"] == ticket
        assert page.locator('[data-counter="1"] .now-serving').inner_text() == ticket
        rows = {row["counter"]: row for row in httpx.get(f"{live.base}/api/v1/queue/board").json()}
        assert rows[1]["now_serving"] == ticket and rows[1]["waiting"] == 0
        # another citizen queues: the officer's board updates live, without a reload
        _, h2, _ = citizen(live, VALID_NIK_F, "Siti Aminah")
        httpx.post(f"{live.base}/api/v1/queue/tickets", json={"counter": 1}, headers=h2)
        page.wait_for_function(
            "() => document.querySelector('[data-counter=\"1\"] .waiting').textContent === '1'", timeout=10000
        )
    finally:
        ws.close()


def test_remote_counter_round_trip(live: LiveServer, browser: Any) -> None:
    from assistant.ports import Caller

    token, h, public_id = citizen(live)
    ws = citizen_socket(live, token)
    page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="id-ID")
    try:
        sign_in(page, live)
        page.goto(f"{live.base}/officer/remote")
        live_ready(page)
        transcript = [
            {"role": "citizen", "text": "KTP saya hilang, bagaimana mengurusnya?", "service": "ktp-el"},
            {"role": "assistant", "text": "Untuk KTP-el hilang, bawa surat kehilangan dari kepolisian."},
            {"role": "citizen", "text": "saya mau bicara dengan petugas"},
        ]
        hid = live.app.state.port.request_handoff(Caller(session_id=public_id), "conv-hall", transcript).handoff_id
        link = page.get_by_role("link", name=f"#{hid}")
        link.wait_for(timeout=10000)  # the request appeared live
        link.click()
        page.get_by_role("button", name="Terima").click()
        page.wait_for_url(f"**/officer/remote/{hid}")
        hello = wait_frame(ws, lambda f: f["type"] == "chat.reply")
        assert hello["sender"] == "officer" and hello["conversation_id"] == "conv-hall"
        assert hello["actions"][0] == {
            "kind": "handoff",
            "data": {"state": "accepted", "officer": "Rina Wulandari", "counter": 1, "handoff_id": hid},
        }
        live_ready(page)
        ws.send(
            json.dumps({"type": "chat.say", "text": "Surat kehilangan sudah ada, Bu.", "conversation_id": "conv-hall"})
        )
        ack = wait_frame(ws, lambda f: f["type"] == "chat.reply")
        assert ack["sender"] == "system" and ack["intent"] == "handoff.relayed"
        page.locator("#chat-log .from-citizen", has_text="Surat kehilangan sudah ada").wait_for(timeout=10000)
        page.get_by_placeholder("Pesan").fill("Baik, silakan isi formulir KTP-el; periksa NIK Anda.")
        page.get_by_role("button", name="Kirim", exact=True).click()
        said = wait_frame(ws, lambda f: f["type"] == "chat.reply")
        assert said["sender"] == "officer" and said["text"].startswith("Baik, silakan isi formulir")
        page.locator("#chat-log .from-officer", has_text="Baik, silakan").wait_for()
        shot(page, "console-remote.png")
        page.get_by_label("Ringkasan untuk warga (wajib)").fill("Ajukan KTP-el hilang dengan surat kehilangan.")
        page.get_by_role("button", name="Tutup percakapan").click()
        page.wait_for_url(f"{live.base}/officer/remote")
        bye = wait_frame(ws, lambda f: f["type"] == "chat.reply")
        assert "Ajukan KTP-el hilang dengan surat kehilangan." in bye["text"]
        assert bye["actions"][0]["data"]["state"] == "closed"
        assert bye["quick_replies"][0]["payload"] == f"survey:handoff:{hid}"
    finally:
        ws.close()
