"""The hall joins a remote-counter call with aiortc: a browser officer's fake camera shows on the counter screen."""

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
MEDIA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", "--allow-loopback-in-peer-connection"]


@pytest.fixture
def live(migrated: Any) -> Iterator[LiveServer]:
    from server.app import create_app

    add_officer(migrated, "duk1", "dukcapil", full_name="Rina Wulandari")
    server = LiveServer(create_app(migrated), free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def officer_browser() -> Iterator[Any]:
    need(os.path.exists(CHROMIUM), f"Debian chromium is not installed at {CHROMIUM}")
    try:
        import aiortc  # noqa: F401
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        need(False, f"missing Python package: {exc.name}")
        raise
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[*ARGS, *MEDIA])
        try:
            yield browser
        finally:
            browser.close()


def until(check: Any, timeout: float, step: Any = None, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if step is not None:
            step()
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_hall_answers_a_browser_officer_and_the_counter_texture_shows_the_video(
    base: Any, live: LiveServer, officer_browser: Any
) -> None:
    from assistant.ports import Caller
    from world.call import CounterScreen, Devices, HallCall
    from world.net import NetClient

    net = NetClient(live.base, lang="id", name="Pak Hall")
    call = HallCall(send=net.send, fetch_ice=net.ice_servers, devices=Devices())  # a kiosk with no audio devices
    net.call = call
    net.start()
    screen = CounterScreen(base.render, 0.0, 6.0, 180.0)
    try:
        until(lambda: net.state == "online", 15, what="the hall online")
        hid = live.app.state.port.request_handoff(
            Caller(session_id=str(net.session_id)), "conv-hall-call", [{"role": "citizen", "text": "tolong, petugas"}]
        ).handoff_id
        page = officer_browser.new_page(locale="id-ID")
        page.goto(f"{live.base}/officer/login")
        page.get_by_label("Nama pengguna").fill("duk1")
        page.get_by_label("Kata sandi").fill(PASSWORD)
        page.get_by_role("button", name="Masuk").click()
        page.wait_for_url(f"{live.base}/officer/")
        page.goto(f"{live.base}/officer/remote/{hid}")
        page.get_by_role("button", name="Terima").click()
        page.wait_for_function("() => document.body.dataset.liveReady === '1'", timeout=10000)
        call.request(hid)  # what the hall does when its handoff is accepted
        page.locator("#call-box.ringing").wait_for(timeout=20000)
        page.get_by_role("button", name="Ambil panggilan (kamera + mikrofon)").click()
        page.wait_for_function(
            "() => window.mppCall && window.mppCall.pc && window.mppCall.pc.connectionState === 'connected'",
            timeout=30000,
        )
        until(lambda: call.state == "connected", 15, what="aiortc connected")
        # the officer sees which devices the hall lacks
        page.locator("#call-o-media", has_text="tidak punya: kamera, mikrofon, pengeras suara").wait_for(timeout=5000)
        blank = bytes(screen.texture.get_ram_image_as("RGB"))

        def shown() -> bool:
            return screen.update(call, "mikrofon, speaker tidak ada")

        until(shown, 20, step=base.taskMgr.step, what="a frame on the counter texture")
        first = bytes(screen.texture.get_ram_image_as("RGB"))
        assert first != blank and len(first) == 320 * 240 * 3
        time.sleep(0.5)
        until(shown, 10, step=base.taskMgr.step, what="a second frame")
        second = bytes(screen.texture.get_ram_image_as("RGB"))
        assert second != first  # the fake camera's picture moves: the texture follows the call
        base.taskMgr.step()
        assert screen.text.get_text() == "mikrofon, speaker tidak ada"
        # the officer hangs up: the hall's call ends too
        page.get_by_role("button", name="Akhiri panggilan").click()
        until(lambda: call.state == "ended", 10, what="the hall's call to end")
        assert call.reason == "hangup" and call.picture() is None
    finally:
        screen.destroy()
        net.stop()


@pytest.mark.render
def test_accepted_handoff_asks_for_a_call_and_puts_a_screen_at_the_counter(base: Any) -> None:
    """The hall asks the officer for a call when its handoff is accepted, and says which devices it lacks."""
    pytest.importorskip("aiortc")
    from protocol.messages import ChatReply
    from tests.world.test_app import FakeNet
    from world.app import HallClient
    from world.call import Devices
    from world.config import WorldConfig

    net = FakeNet()
    c = HallClient(base, WorldConfig(connect=True), net=net).start()  # type: ignore[arg-type]
    try:
        c.pump(lambda: c.screens.state == "Hall", timeout=10)
        assert c.call is not None and c.call_screen is None
        c.call.devices = Devices(microphone=False, speaker=True, camera=False)
        accepted = {"state": "accepted", "officer": "Rina", "counter": 1, "handoff_id": 7}
        c.on_frame(
            ChatReply(
                conversation_id="c-1", text="Halo", sender="officer", actions=[{"kind": "handoff", "data": accepted}]
            )
        )
        assert {"type": "call.request", "handoff_id": 7, "video": True} in net.sent
        assert c.call_screen is not None
        base.taskMgr.step()
        assert c.call_screen.text.get_text() == "Menyambungkan panggilan video…"
        c.call.state = "connected"
        base.taskMgr.step()
        assert c.call_screen.text.get_text() == "Tidak ada kamera, mikrofon"
        c.call.state, c.call.reason = "ended", "no_path"
        base.taskMgr.step()
        assert "obrolan" in c.call_screen.text.get_text()
    finally:
        c.destroy()
