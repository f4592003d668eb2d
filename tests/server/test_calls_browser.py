"""Calls in two real browsers (Debian chromium, fake camera and microphone) against a real server."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import free_port, need
from tests.server.console_helpers import PASSWORD, add_officer
from tests.server.test_console_browser import ARGS, CHROMIUM, LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]
MEDIA = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
]

CONNECTED = "() => window.mppCall && window.mppCall.pc && window.mppCall.pc.connectionState === 'connected'"
FRAMES = "() => window.mppCall ? window.mppCall.inbound() : null"


@pytest.fixture
def two_browsers() -> Iterator[tuple[Any, Any]]:
    """Two separate chromium processes: the citizen's and the officer's."""
    need(os.path.exists(CHROMIUM), f"Debian chromium is not installed at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need(False, "the playwright Python package is not installed")
        raise
    with sync_playwright() as p:
        one = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[*ARGS, *MEDIA])
        two = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[*ARGS, *MEDIA])
        try:
            yield one, two
        finally:
            one.close()
            two.close()


def serve(settings: Any, **overrides: Any) -> LiveServer:
    from server.app import create_app

    for k, v in overrides.items():
        setattr(settings, k, v)
    add_officer(settings, "duk1", "dukcapil", full_name="Rina Wulandari")
    server = LiveServer(create_app(settings), free_port())
    server.start()
    return server


@pytest.fixture
def live(migrated: Any) -> Iterator[LiveServer]:
    server = serve(migrated)
    try:
        yield server
    finally:
        server.stop()


def sign_in(page: Any, live: LiveServer) -> None:
    page.goto(f"{live.base}/officer/login")
    page.get_by_label("Nama pengguna").fill("duk1")
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url(f"{live.base}/officer/")


def wait_frames(page: Any, timeout_s: float = 20.0) -> dict[str, Any]:
    """Poll getStats until the inbound video has decoded frames (a promise is not awaited by wait_for_function)."""
    deadline = time.monotonic() + timeout_s
    seen: dict[str, Any] = {}
    while time.monotonic() < deadline:
        seen = dict(page.evaluate(FRAMES) or {})
        if seen.get("framesDecoded", 0) > 0:
            return seen
        time.sleep(0.2)
    raise AssertionError(f"no decoded video frames: {seen}")


def guided_citizen_calls(citizen: Any, officer: Any, live: LiveServer) -> int:
    """The citizen presses "Panggil Petugas" in guided mode; the officer accepts the request and takes the call."""
    citizen.goto(f"{live.base}/?guided=1")
    citizen.locator("#guided").wait_for(state="visible", timeout=15000)
    citizen.wait_for_function("() => document.body.getAttribute('data-live') === '1'", timeout=15000)
    sign_in(officer, live)
    officer.goto(f"{live.base}/officer/remote")
    officer.wait_for_function("() => document.body.dataset.liveReady === '1'", timeout=10000)
    citizen.locator("#g-officer").click()
    link = officer.locator("#remote-list a").first
    link.wait_for(timeout=10000)
    hid = int((link.get_attribute("href") or "").rsplit("/", 1)[1])
    link.click()
    officer.get_by_role("button", name="Terima").click()
    officer.wait_for_url(f"**/officer/remote/{hid}")
    officer.wait_for_function("() => document.body.dataset.liveReady === '1'", timeout=10000)
    # the citizen asked for a call: the request rings on the officer's page
    officer.locator("#call-box.ringing").wait_for(timeout=20000)
    officer.get_by_role("button", name="Ambil panggilan (kamera + mikrofon)").click()
    return hid


def test_guided_citizen_calls_and_both_see_video_then_either_hangs_up(
    live: LiveServer, two_browsers: tuple[Any, Any]
) -> None:
    b1, b2 = two_browsers
    citizen = b1.new_page(viewport={"width": 1280, "height": 800}, locale="id-ID")
    officer = b2.new_page(viewport={"width": 1280, "height": 800}, locale="id-ID")
    guided_citizen_calls(citizen, officer, live)
    citizen.locator("#call-panel").wait_for(state="visible", timeout=10000)
    citizen.wait_for_function(CONNECTED, timeout=20000)
    officer.wait_for_function(CONNECTED, timeout=20000)
    seen = wait_frames(citizen)
    assert seen["state"] == "connected" and seen["framesDecoded"] > 0 and seen["audioPackets"] >= 0, seen
    # camera off by default: the officer gets the citizen's voice only until the citizen turns it on
    officer.locator("#call-o-media", has_text="Kamera warga mati").wait_for(timeout=5000)
    citizen.get_by_role("button", name="Nyalakan kamera saya").click()
    seen = wait_frames(officer)
    assert seen["state"] == "connected" and seen["framesDecoded"] > 0
    officer.locator("#call-o-media", has_text="Kamera warga menyala").wait_for(timeout=5000)
    assert citizen.get_by_role("button", name="Tutup panggilan").is_visible()

    # the citizen hangs up: both ends close
    citizen.get_by_role("button", name="Tutup panggilan").click()
    officer.wait_for_function("() => window.mppCallEnded === 'hangup'", timeout=10000)
    assert officer.evaluate("() => window.mppCall.pc.connectionState") == "closed"
    assert citizen.locator("#call-panel").is_hidden()
    officer.locator("#call-take").wait_for(state="visible")

    # the officer calls again: the citizen did not ask this time, so it rings; then the officer hangs up
    officer.get_by_role("button", name="Ambil panggilan (kamera + mikrofon)").click()
    citizen.get_by_role("button", name="Jawab panggilan").click()
    citizen.wait_for_function(CONNECTED, timeout=20000)
    assert wait_frames(citizen)["framesDecoded"] > 0
    officer.get_by_role("button", name="Akhiri panggilan").click()
    citizen.wait_for_function("() => window.mppCallEnded === 'hangup'", timeout=10000)
    citizen.locator("#call-panel").wait_for(state="hidden", timeout=5000)
    assert citizen.evaluate("() => window.mppCall.pc.connectionState") == "closed"


def test_officer_mutes_and_switches_to_voice_only(live: LiveServer, two_browsers: tuple[Any, Any]) -> None:
    b1, b2 = two_browsers
    citizen = b1.new_page(locale="id-ID")
    officer = b2.new_page(locale="id-ID")
    guided_citizen_calls(citizen, officer, live)
    citizen.wait_for_function(CONNECTED, timeout=20000)
    officer.get_by_role("button", name="Bisukan mikrofon").click()
    citizen.locator("#call-status", has_text="Mikrofon petugas sedang dimatikan").wait_for(timeout=5000)
    officer.get_by_role("button", name="Matikan kamera (suara saja)").click()
    citizen.locator("#call-novideo").wait_for(state="visible", timeout=5000)
    sender_track = officer.evaluate(
        "() => window.mppCall.pc.getSenders().filter(s => s.track && s.track.kind === 'video').length"
    )
    assert sender_track == 0
    officer.get_by_role("button", name="Nyalakan kamera").click()
    citizen.locator("#call-novideo").wait_for(state="hidden", timeout=5000)


def test_no_webrtc_falls_back_to_chat_with_a_message(live: LiveServer, two_browsers: tuple[Any, Any]) -> None:
    b1, b2 = two_browsers
    ctx = b1.new_context(locale="id-ID")
    ctx.add_init_script("delete window.RTCPeerConnection;")
    citizen = ctx.new_page()
    officer = b2.new_page(locale="id-ID")
    citizen.goto(f"{live.base}/")
    citizen.wait_for_function("() => document.body.getAttribute('data-live') === '1'", timeout=15000)
    sign_in(officer, live)
    officer.goto(f"{live.base}/officer/remote")
    officer.wait_for_function("() => document.body.dataset.liveReady === '1'", timeout=10000)
    citizen.locator("#btn-officer").click()
    link = officer.locator("#remote-list a").first
    link.wait_for(timeout=10000)
    link.click()
    officer.get_by_role("button", name="Terima").click()
    officer.wait_for_function("() => document.body.dataset.liveReady === '1'", timeout=10000)
    citizen.locator("#chat-log", has_text="tidak mendukung panggilan video").wait_for(timeout=10000)
    assert "Lanjutkan dengan petugas lewat obrolan" in citizen.locator("#call-toast").inner_text()
    assert citizen.locator("#call-panel").count() == 0 or citizen.locator("#call-panel").is_hidden()
    officer.locator("#call-o-status", has_text="tidak mendukung panggilan").wait_for(timeout=10000)


def test_no_microphone_answers_listen_only_and_says_so(live: LiveServer, two_browsers: tuple[Any, Any]) -> None:
    b1, b2 = two_browsers
    ctx = b1.new_context(locale="id-ID")
    ctx.add_init_script(
        "navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('denied', 'NotAllowedError'));"
    )
    citizen = ctx.new_page()
    officer = b2.new_page(locale="id-ID")
    guided_citizen_calls(citizen, officer, live)
    citizen.wait_for_function(CONNECTED, timeout=20000)
    assert wait_frames(citizen)["framesDecoded"] > 0  # the citizen still sees and hears the officer
    citizen.locator("#call-status", has_text="Mikrofon tidak tersedia").wait_for(timeout=5000)
    officer.locator("#call-o-media", has_text="perangkat warga tidak punya: mikrofon").wait_for(timeout=5000)


def test_call_connects_through_coturn_only(migrated: Any, two_browsers: tuple[Any, Any], tmp_path: Any) -> None:
    """iceTransportPolicy relay with the server's TURN REST credentials: media only through coturn."""
    from tests.coturn import coturn

    with coturn(tmp_path, "s3cret") as port:
        server = serve(
            migrated, turn_urls=[f"turn:127.0.0.1:{port}?transport=udp"], turn_secret="s3cret", turn_only=True
        )
        try:
            b1, b2 = two_browsers
            citizen = b1.new_page(locale="id-ID")
            officer = b2.new_page(locale="id-ID")
            guided_citizen_calls(citizen, officer, server)
            citizen.wait_for_function(CONNECTED, timeout=30000)
            officer.wait_for_function(CONNECTED, timeout=30000)
            seen = wait_frames(citizen, timeout_s=40)  # relayed media starts later on a loaded machine
            assert seen["relay"] is True and seen["framesDecoded"] > 0
            policy = officer.evaluate("() => window.mppCall.pc.getConfiguration().iceTransportPolicy")
            assert policy == "relay"
            other = officer.evaluate(FRAMES)  # the citizen's camera is off: the officer gets relayed audio
            assert other["relay"] is True and other["audioPackets"] > 0
        finally:
            server.stop()


def test_officer_highlights_a_form_field_on_the_citizens_screen(
    live: LiveServer, two_browsers: tuple[Any, Any]
) -> None:
    """During the call the officer points at "Nomor KK" ("isi yang ini, Bu"); the citizen's 2D form shows it."""
    b1, b2 = two_browsers
    citizen = b1.new_page(viewport={"width": 1280, "height": 900}, locale="id-ID")
    officer = b2.new_page(locale="id-ID")
    citizen.goto(f"{live.base}/")
    citizen.wait_for_function("() => document.body.getAttribute('data-live') === '1'", timeout=15000)
    citizen.locator("#svc option[value='ktp-el']").wait_for(state="attached", timeout=10000)
    citizen.select_option("#svc", "ktp-el")
    citizen.locator("#f-kk_number").wait_for(timeout=10000)
    sign_in(officer, live)
    officer.goto(f"{live.base}/officer/remote")
    officer.wait_for_function("() => document.body.dataset.liveReady === '1'", timeout=10000)
    citizen.locator("#btn-officer").click()
    link = officer.locator("#remote-list a").first
    link.wait_for(timeout=10000)
    link.click()
    officer.get_by_role("button", name="Terima").click()
    officer.wait_for_function("() => document.body.dataset.liveReady === '1'", timeout=10000)
    officer.locator("#call-box.ringing").wait_for(timeout=20000)
    officer.get_by_role("button", name="Ambil panggilan (kamera + mikrofon)").click()
    citizen.wait_for_function(CONNECTED, timeout=20000)
    assert citizen.locator(".call-highlight").count() == 0
    officer.select_option("#hl-field", "kk_number")
    officer.get_by_role("button", name="Sorot", exact=True).click()
    marked = citizen.locator(".field.call-highlight")
    marked.wait_for(timeout=5000)
    assert marked.locator("#f-kk_number").count() == 1 and "Isi yang ini" in marked.inner_text()
    assert citizen.locator("#call-point").inner_text() == "Petugas menunjuk kolom: Nomor KK"
    assert "docked" in (citizen.locator("#call-panel").get_attribute("class") or "")  # the form is visible
    assert citizen.locator("#f-kk_number").is_visible()
    assert citizen.evaluate("() => document.activeElement && document.activeElement.id") == "f-kk_number"
    # pointing at nothing clears it; hanging up clears it too
    officer.select_option("#hl-field", "")
    officer.get_by_role("button", name="Sorot", exact=True).click()
    citizen.locator(".field.call-highlight").wait_for(state="detached", timeout=5000)
    assert citizen.locator("#call-point").is_hidden()
