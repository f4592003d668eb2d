"""The 2D page's "Unduh data saya": hidden until the second factor, then a zip of the citizen's own data."""

from __future__ import annotations

import io
import json
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.codes import prove_in_page
from tests.conftest import PG_URL, free_port, need, start_mpp_serve
from tests.server.test_citizen_page import ARGS, CHROMIUM

pytestmark = [pytest.mark.browser, pytest.mark.slow]
NIK = "3510011204900001"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    need(Path(CHROMIUM).exists(), f"chromium not found at {CHROMIUM}")
    pytest.importorskip("playwright.sync_api")
    if PG_URL:
        from tests.conftest import _reset_postgres

        _reset_postgres(PG_URL)
    port = free_port()
    proc = start_mpp_serve(tmp_path_factory.mktemp("my-data-page"), port, timeout=180, MPP_LOAD_ASSISTANT="0")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_the_button_appears_after_the_code_and_downloads_the_citizens_zip(server: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            ctx = browser.new_context(locale="id-ID", accept_downloads=True)
            page = ctx.new_page()
            problems: list[str] = []
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(server + "/")
            page.locator("#identify-form").wait_for()
            assert page.locator("#my-data").is_hidden()
            prove_in_page(page, NIK, "Budi Santoso")
            button = page.locator("#my-data")
            button.wait_for()
            assert button.inner_text().strip() == "Unduh data saya"
            with page.expect_download() as info:
                button.click()
            download: Any = info.value
            assert download.suggested_filename == "data-saya.zip"
            blob = Path(download.path()).read_bytes()
            with zipfile.ZipFile(io.BytesIO(blob)) as zf:
                data = json.loads(zf.read("data.json"))
            assert data["citizen"]["nik"] == NIK and data["citizen"]["name"] == "Budi Santoso"
            assert not problems, problems
        finally:
            browser.close()


def test_a_citizen_who_submits_before_the_page_has_its_session_still_gets_a_code(server: str) -> None:
    """The identity card is shown before the page's session exists: a quick submit must wait for it, not 401."""
    from playwright.sync_api import sync_playwright

    nik = "3510011204900002"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_context(locale="id-ID").new_page()
            held: list[Any] = []

            def hold_session(route: Any) -> None:
                if route.request.method == "POST" and not held:
                    held.append(route)  # answered only after the citizen has submitted
                else:
                    route.continue_()

            page.route("**/api/v1/sessions", hold_session)
            page.goto(server + "/")
            page.locator("#identify-form").wait_for()
            for _ in range(200):  # the page's start() asks for its session; the route holds that request
                if held:
                    break
                page.wait_for_timeout(50)
            assert len(held) == 1
            page.fill("#id-nik", nik)
            page.fill("#id-name", "Siti Aminah")
            page.fill("#id-contact", "siti@example.com")
            page.click("#identify-form button[type=submit]")
            held[0].continue_()
            page.locator("#code-form").wait_for(timeout=15000)
            assert page.locator("#id-nik-err").inner_text() == ""
        finally:
            browser.close()
