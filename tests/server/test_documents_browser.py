"""Issued documents in a real browser (Debian chromium via Playwright) against a real ``mpp serve``.

A citizen downloads the signed PDF from the 2D page; /verify/{code} says valid; a midwife
registers a birth in the console and prints the akta once Dukcapil has completed it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.codes import prove_in_page, shared_inbox
from tests.conftest import PG_URL, free_port, need, start_mpp_serve

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
PASSWORD = "rahasia-123"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    need(Path(CHROMIUM).exists(), f"chromium not found at {CHROMIUM}")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        need(False, "the playwright Python package is not installed")
    if PG_URL:
        from tests.conftest import _reset_postgres

        _reset_postgres(PG_URL)
    data = tmp_path_factory.mktemp("documents-browser")
    port = free_port()
    proc = start_mpp_serve(data, port, timeout=180, MPP_LOAD_ASSISTANT="0")
    try:
        _officers(data)
        yield f"http://127.0.0.1:{port}", data
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser(served: tuple[str, Path]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield b
        finally:
            b.close()


DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"


def _shot(page: Any, name: str) -> None:
    """MPP_SCREENSHOTS=1 refreshes docs/img from the same run."""
    if os.environ.get("MPP_SCREENSHOTS") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS_IMG / name), full_page=False)


def _officers(data: Path) -> None:
    from server.domain.officers import create_officer
    from server.persistence.db import make_engine, make_sessionmaker
    from server.settings import Settings

    engine = make_engine(Settings(data_dir=data, database_url=PG_URL or None, load_assistant=False))
    with make_sessionmaker(engine)() as db:
        create_officer(db, "duk-docs", PASSWORD, "officer", "dukcapil", None, "Rina Petugas")
        create_officer(db, "bidan-sri", PASSWORD, "faskes", full_name="Bidan Sri", facility="Bidan Praktik Mandiri Sri")
        db.commit()
    engine.dispose()


def _officer(server: str, username: str = "duk-docs") -> dict[str, str]:
    r = httpx.post(f"{server}/api/v1/officer/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _complete(server: str, officer: dict[str, str], tracking: str) -> None:
    for to in ("verified", "in_process", "ready", "completed"):
        r = httpx.post(
            f"{server}/api/v1/officer/applications/{tracking}/transition", json={"to": to}, headers=officer, timeout=30
        )
        assert r.status_code == 200, r.text


def _page(browser: Any, **ctx: Any) -> tuple[Any, list[str]]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="id-ID", accept_downloads=True, **ctx)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" and "status of 4" not in m.text else None)
    return page, problems


def _validate(pdf: bytes, data: Path) -> Any:
    """pyHanko's validator runs its own event loop: off the thread where Playwright's loop runs."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.server.docs_helpers import ca_cert, pyhanko_status

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(pyhanko_status, pdf, ca_cert(data)).result(timeout=60)


def test_citizen_downloads_the_document_and_verify_says_valid(browser: Any, served: tuple[str, Path]) -> None:
    server, data = served
    page, problems = _page(browser)
    page.goto(server + "/")
    page.locator("body[data-live='1']").wait_for(timeout=30_000)
    prove_in_page(page, "3510011204900001", "Budi Santoso")
    created = page.evaluate(
        """(key) => window.MPP.api("POST", "/applications", {service_id: "akta-kelahiran", submit: true,
             data: {nik: "3510011204900001", full_name: "Budi Santoso", child_name: "Ayu Lestari",
                    birth_date: "2026-12-01", birth_place: "Banyuwangi", child_sex: "P",
                    birth_letter: "surat_dokter_bidan"}}, {"Idempotency-Key": key})""",
        uuid.uuid4().hex,
    )
    assert created["ok"], created
    tracking = created["data"]["tracking_number"]
    page.click("#tab-track")
    _complete(server, _officer(server), tracking)
    box = page.locator(f"#doc-{tracking}")
    box.wait_for(timeout=20_000)  # the document.event arrived over the websocket
    page.locator("#chat-log .msg", has_text="Dokumen Anda sudah jadi, bisa dicetak").first.wait_for(timeout=10_000)
    page.evaluate("() => { const d = document.getElementById('survey'); if (d && d.open) d.close(); }")
    box.scroll_into_view_if_needed()
    _shot(page, "citizen-document.png")
    with page.expect_download() as dl:
        box.locator("button[data-doc=download]").click()
    path = dl.value.path()
    pdf = Path(path).read_bytes()
    assert dl.value.suggested_filename.startswith("3510-LU-") and pdf.startswith(b"%PDF-")
    status = _validate(pdf, data)
    assert status.intact and status.valid and status.trusted
    with page.context.expect_page() as popup:
        box.locator("button[data-doc=print]").click()
    print_view = popup.value
    print_view.wait_for_url(lambda u: u.startswith("blob:"), timeout=15_000)  # the signed PDF itself, to print
    verify_url = box.locator("a.doc-verify").get_attribute("href")
    assert verify_url and "/verify/" in verify_url
    checker, _ = _page(browser)  # anyone, without a session
    checker.goto(verify_url)
    status_el = checker.locator("#verify-status")
    assert status_el.get_attribute("data-status") == "valid"
    assert "SAH" in status_el.inner_text()
    assert "A** L******" in checker.locator("#verify-holder").inner_text()
    assert "3510011204900001" not in checker.content()
    _shot(checker, "verify-valid.png")
    if os.environ.get("MPP_SCREENSHOTS") == "1" and shutil.which("pdftoppm"):
        out = DOCS_IMG / "document-akta"
        subprocess.run(["pdftoppm", "-r", "60", "-png", "-singlefile", path, str(out)], check=True, timeout=60)
    checker.set_input_files("#verify-file", path)
    checker.click("form[action^='/verify'] button[type=submit]")
    checker.locator("#verify-status[data-status=valid]").wait_for()
    assert not problems, problems


def test_faskes_registers_a_birth_and_prints_the_akta(browser: Any, served: tuple[str, Path]) -> None:
    server, data = served
    page, problems = _page(browser)
    page.goto(server + "/officer/login")
    page.fill("#username", "bidan-sri")
    page.fill("#password", PASSWORD)
    page.click("form button[type=submit]")
    page.goto(server + "/officer/births")
    page.fill("#b-mother-nik", "3510015204900002")
    page.fill("#b-mother-name", "Siti Aminah")
    page.fill("#b-father-nik", "3510011204900001")
    page.fill("#b-father-name", "Budi Santoso")
    page.fill("#b-child-name", "Bayu Pratama")
    page.select_option("#b-sex", "L")
    page.fill("#b-time", "04:35")
    page.fill("#b-weight", "3100")
    page.click("#birth-submit")
    done = page.locator("#birth-done")
    done.wait_for()
    tracking = done.inner_text().split("terdaftar: ")[1].split(".")[0]
    row = page.locator(f"#births-table tr[data-tracking='{tracking}']")
    assert "Menunggu Dukcapil" in row.inner_text()
    _shot(page, "console-births.png")
    dukcapil = _officer(server)
    inbox = httpx.get(f"{server}/api/v1/officer/applications", headers=dukcapil).json()
    mine = [a for a in inbox if a["tracking_number"] == tracking]
    assert mine and mine[0]["state"] == "submitted"
    _complete(server, dukcapil, tracking)
    page.reload()
    link = page.locator(f"#births-table tr[data-tracking='{tracking}'] a.print-akta")
    link.wait_for()
    href = link.get_attribute("href")
    response = page.context.request.get(server + str(href))
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    status = _validate(response.body(), data)
    assert status.intact and status.trusted
    with page.context.expect_page() as popup:
        link.click()
    popup.value.wait_for_load_state()
    assert "/issued.pdf" in popup.value.url
    assert not problems, problems


def test_guided_mode_says_the_document_is_ready(browser: Any, served: tuple[str, Path]) -> None:
    server, _ = served
    page, problems = _page(browser)
    page.goto(server + "/?guided=1")
    page.locator("body[data-live='1']").wait_for(timeout=30_000)
    page.wait_for_function("() => window.mppGuided && window.mppGuided.steps.length > 0")
    # Siti was registered by the facility (Lahir Procot) without a contact: a Dukcapil officer binds one
    # (audited); a claimant never can. Then the second factor through the page's own API helper.
    bound = httpx.post(
        f"{server}/api/v1/officer/citizens/rebind",
        json={"nik": "3510015204900002", "contact": "siti@example.com", "reason": "KTP checked at the counter"},
        headers=_officer(server),
    )
    assert bound.status_code in (200, 404), bound.text  # 404: not registered yet, the code binds it below
    before = len(shared_inbox().mails)
    ident = page.evaluate(
        """() => window.MPP.api("POST", "/sessions/identify",
             {nik: "3510015204900002", name: "Siti Aminah", contact: "siti@example.com"})"""
    )
    assert ident["status"] == 202, ident
    code = shared_inbox().code_for("siti@example.com", after=before)
    verified = page.evaluate(
        """([ch, code]) => window.MPP.api("POST", "/sessions/verify", {challenge_id: ch, code: code})""",
        [ident["data"]["challenge_id"], code],
    )
    assert verified["ok"], verified
    created = page.evaluate(
        """(key) => window.MPP.api("POST", "/applications", {service_id: "akta-kelahiran", submit: true,
             data: {nik: "3510015204900002", full_name: "Siti Aminah", child_name: "Bayu Pratama",
                    birth_date: "2026-12-02", birth_place: "Banyuwangi", child_sex: "L",
                    birth_letter: "surat_dokter_bidan"}}, {"Idempotency-Key": key})""",
        uuid.uuid4().hex,
    )
    assert created["ok"], created
    _complete(server, _officer(server), created["data"]["tracking_number"])
    page.wait_for_function(
        "() => { const g = window.mppGuided; return g && g.steps[g.steps.length - 1].kind === 'document'; }",
        timeout=20_000,
    )
    assert "Dokumen Anda sudah jadi, bisa dicetak" in page.locator("#g-text").inner_text()
    assert page.locator("#g-buttons button[data-action='doc:print']").is_visible()
    assert not problems, problems
