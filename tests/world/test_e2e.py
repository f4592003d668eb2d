"""End to end: the hall (offscreen) against a real server with the trained assistant, on loopback.

Ask → grounded answer in the avatar's bubble; a form filled and submitted; a ticket called;
an officer's change in the tracker; then kill -9, the client reconnects by itself and the
event made while it was away arrives once.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from protocol.forms import example_answers
from tests.world.servers import ServerProcess, make_officer, officer_call_next, officer_transition
from world.app import DEMO_NIK, HallClient
from world.config import WorldConfig

pytestmark = [pytest.mark.render, pytest.mark.slow]

# MPP_DOCS_IMG=docs/img refreshes the README screenshots from this run
DOCS_IMG = os.environ.get("MPP_DOCS_IMG")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path, assistant=True).start(timeout=180)
    yield srv
    srv.stop()


def shot(client: HallClient, tmp_path: Path, name: str) -> Path:
    client.pump(timeout=0.4)
    path = client.screenshot(tmp_path / "shots" / name)
    assert path.stat().st_size > 10_000  # a real rendered frame, not an empty file
    if DOCS_IMG:
        Path(DOCS_IMG).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(DOCS_IMG) / name)
    return path


def test_hall_end_to_end_against_a_real_server(base: Any, server: ServerProcess, tmp_path: Path) -> None:
    client = HallClient(base, WorldConfig(server=server.base, lang="id", name="Budi")).start()
    other: ServerProcess | None = None
    try:
        net = client.net
        assert net is not None
        assert client.pump(lambda: net.state == "online" and client.screens.state == "Hall", timeout=30)
        assert client.pump(lambda: len(client.tickets.board) > 0, timeout=10)  # the now-serving board came in

        # 1. the assistant answers a real question, grounded in the catalogue
        hx, hy = client.ai_xy
        assert client.player is not None
        client.player.root.setPos(hx, hy - 2.2, 0)
        client.player.root.setH(0)
        client.talk()
        assert client.screens.state == "Conversation"
        client.say("syarat KTP apa saja?")
        assert client.pump(lambda: bool(client.chat.replies), timeout=60)
        assert "KK" in client.bubble_text  # the family card, as the case answer names it
        assert client.screens.chat is not None and "KK" in client.screens.chat.text
        shot(client, tmp_path, "hall-chat.png")

        # 2. the visitor proves who they are (second factor: the code mailed to their contact), then a form
        #    generated from the service schema is submitted through the API
        from tests.codes import shared_inbox

        before = len(shared_inbox().mails)
        net.identify(DEMO_NIK, "Budi Santoso", tag="identify", contact="budi.e2e@example.com")
        assert client.pump(lambda: bool(client.forms.challenge), timeout=15)
        client.forms.verify_code(shared_inbox().code_for("budi.e2e@example.com", after=before))
        assert client.pump(lambda: client.identified, timeout=15)
        client.screens.request("Form", "ktp-el")
        assert client.pump(lambda: bool(client.screens.form and client.screens.form.fields), timeout=15)
        form = client.screens.form
        assert form is not None
        for key, value in example_answers(client.catalog.service("ktp-el"), DEMO_NIK, "Budi Santoso").items():
            form.set_value(key, value)
        form.submit()
        assert client.pump(lambda: "BWI-" in str(form.status["text"]), timeout=20), form.status["text"]
        tracking = re.search(r"BWI-\d{4}-\d{6}", str(form.status["text"]))
        assert tracking is not None
        tn = tracking.group(0)
        assert client.tickets.tracker is not None
        shot(client, tmp_path, "hall-form.png")
        client.screens.request("Hall")

        # 3. a queue ticket, then the officer calls it
        net.take_ticket(1)
        assert client.pump(lambda: client.tickets.ticket is not None, timeout=15)
        assert client.tickets.ticket is not None
        code = str(client.tickets.ticket.ticket["code"])
        make_officer(server.data_dir, "dukcapil-e2e")
        officer_call_next(server.base, "dukcapil-e2e", 1)
        tickets = client.tickets
        assert client.pump(lambda: "Dipanggil" in tickets.ticket.text if tickets.ticket else False, timeout=15)
        assert code in client.bubble_text
        shot(client, tmp_path, "hall-ticket.png")

        # 4. an officer's status change appears in the tracker, live
        officer_transition(server.base, "dukcapil-e2e", tn, "verified", "berkas lengkap")
        assert client.pump(lambda: "Diverifikasi" in tickets.tracker.text if tickets.tracker else False, timeout=15)

        # 5. kill -9; while the hall is away the application moves on; the hall reconnects by itself
        server.kill9()
        assert client.pump(lambda: client.banner.message == "Menghubungkan ulang…", timeout=15)
        other = ServerProcess(server.data_dir).start()
        officer_transition(other.base, "dukcapil-e2e", tn, "in_process", "sedang dicetak")
        other.stop()
        server.assistant = False  # the restart only needs the API; loading the model again adds nothing here
        server.start()
        assert client.pump(lambda: any(e.to_state == "in_process" for e in client.tickets.app_events), timeout=60)
        assert net.state == "online" and client.banner.message == ""
        assert client.tickets.tracker is not None and "Diproses" in client.tickets.tracker.text
        seqs = [e.seq for e in client.tickets.app_events]
        assert len(seqs) == len(set(seqs))
    finally:
        client.destroy()
        if other is not None:
            other.stop()


def test_mpp_up_headless_renders_the_walkthrough_and_stops_its_server(tmp_path: Path) -> None:
    """The main job without a display: server child, hall connected, PNGs printed, exit 0, child gone."""
    import socket
    import subprocess
    import sys

    from tests.conftest import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "MPP_DATABASE_URL")}
    env["MPP_DATA_DIR"] = str(tmp_path / "var")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "mpp.cli",
            "up",
            "--port",
            str(port),
            "--size",
            "640x360",
            "--shots",
            str(tmp_path / "shots"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    pngs = [Path(line) for line in r.stdout.splitlines() if line.endswith(".png")]
    assert [p.name for p in pngs] == ["01-entrance.png", "02-counters.png", "03-assistant.png", "04-lounge.png"]
    assert all(p.is_file() and p.stat().st_size > 5_000 for p in pngs)
    assert "assistant answered" in r.stdout
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "the server child is still listening"
