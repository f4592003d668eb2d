"""Guided mode end to end: the offscreen hall renders guided.step frames from a real server on loopback.

Entrance → big choice → documents check → autopilot walk to the right counter → one read-back →
a real application and a real ticket in 7 presses (counted by the server); then Panggil Petugas, and
the officer's acceptance and words arrive as large spoken steps of the same visit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.world.servers import ServerProcess, make_officer, officer_headers
from world.voice import Voice

pytestmark = [pytest.mark.render, pytest.mark.slow]

NIK = "3510014104900001"
NAME = "Siti Aminah"
KK = "3510010101200001"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path, assistant=False).start(timeout=180)
    yield srv
    srv.stop()


def test_guided_lost_ktp_to_ticket_and_the_officer_against_a_real_server(
    base: Any, server: ServerProcess, tmp_path: Path
) -> None:
    from protocol.guided import GuidedStep
    from tests.server.console_helpers import console_login
    from world.app import HallClient
    from world.config import WorldConfig
    from world.guided_view import attach_to_hall

    client = HallClient(base, WorldConfig(server=server.base, lang="id", name="Siti", text_scale=1.6)).start()
    view: Any = None
    try:
        net = client.net
        assert net is not None
        assert client.pump(lambda: net.state == "online" and client.screens.state == "Hall", timeout=30)
        # the visitor proved their identity first (second factor, code from the mail the server sent)
        from tests.codes import shared_inbox

        before = len(shared_inbox().mails)
        net.identify(NIK, NAME, contact="siti@example.com")
        assert client.pump(lambda: client.forms.challenge is not None, timeout=10)
        client.forms.verify_code(shared_inbox().code_for("siti@example.com", after=before))
        assert client.pump(lambda: client.identified, timeout=10)
        hall_only = len(client.bus.subscribers(GuidedStep))
        view = attach_to_hall(client, voice=Voice(enabled=False))
        assert len(client.bus.subscribers(GuidedStep)) == hall_only + 1
        assert client.typing  # no free walking while guided
        assert client.pump(lambda: view.step is not None, timeout=15)

        def press(choice: str, kind: str) -> GuidedStep:
            n = len(view.steps)
            view.click(choice)
            assert client.pump(lambda: len(view.steps) > n, timeout=15), (choice, view.step)
            assert view.step is not None and view.step.kind == kind, (choice, view.step)
            return view.step

        assert view.step is not None and view.step.kind == "greet" and view.shown is view.step
        assert "service:ktp-el" in view.buttons and "officer" in view.buttons  # drawn from the frame
        press("service:ktp-el", "purpose")
        press("option:hilang", "requirements")
        press("next", "documents")
        press("all_docs", "walk")
        assert client.layout is not None and client.player is not None
        approach = client.layout.counter(1).approach
        assert client.pump(lambda: bool(client.player_path), timeout=5)
        assert client.player_path[-1] == approach  # autopilot to the KTP-el counter
        client.player.root.setPos(approach[0], approach[1], 0)  # skip the slow offscreen frames of the walk
        client.player_path = []
        assert client.pump(lambda: view.step is not None and view.step.kind == "identity", timeout=15)
        assert "3510 0141 0490 0001" in view.widgets["text"]["text"]
        press("yes", "field")
        n = len(view.steps)
        view.type_text(KK)
        assert client.pump(lambda: len(view.steps) > n, timeout=15)
        assert view.step.kind == "check" and "3510 0101 0120 0001" in view.step.text  # the one read-back
        ticket = press("submit", "ticket")
        assert re.fullmatch(r"A-\d{3}", ticket.ticket or "") and view.widgets["ticket"]["text"] == ticket.ticket
        assert re.fullmatch(r"BWI-\d{4}-\d{6}", ticket.tracking or "")
        assert view.presses == 7  # the server's count
        client.screenshot(tmp_path / "guided-ticket.png")
        assert (tmp_path / "guided-ticket.png").stat().st_size > 10_000
        # the application really reached the Dukcapil officers, as a lost-card replacement
        make_officer(server.data_dir, "dukcapil-guided")
        inbox = httpx.get(
            f"{server.base}/api/v1/officer/applications",
            headers=officer_headers(server.base, "dukcapil-guided"),
            timeout=10,
        ).json()
        mine = [a for a in inbox if a["tracking_number"] == ticket.tracking]
        assert mine and mine[0]["state"] == "submitted" and mine[0]["data"]["reason"] == "hilang"
        board = {row["counter"]: row for row in httpx.get(f"{server.base}/api/v1/queue/board", timeout=10).json()}
        assert board[1]["waiting"] >= 1

        # Panggil Petugas: the officer accepts and speaks; both are steps of the visit, never errors
        called = press("officer", "officer")
        assert called.tone == "officer" and called.handoff_id
        with httpx.Client(base_url=server.base, timeout=30) as officer:
            csrf = console_login(officer, "dukcapil-guided")  # type: ignore[arg-type]
            r = officer.post(f"/officer/remote/{called.handoff_id}/accept", data={"csrf": csrf}, follow_redirects=False)
            assert r.status_code == 303, r.text
            assert client.pump(lambda: view.step is not None and "Loket" in view.step.text, timeout=15)
            words = "Silakan duduk di kursi 3, Ibu."
            r = officer.post(
                f"/officer/remote/{called.handoff_id}/say",
                data={"csrf": csrf, "text": words},
                headers={"Accept": "application/json"},
            )
            assert r.status_code == 200, r.text
            assert client.pump(lambda: view.step is not None and view.step.kind == "officer_says", timeout=15)
        assert view.widgets["text"]["text"] == words and view.step.tone == "officer"
        assert "kursi tiga" in view.spoken[-1]  # spoken, numbers in words
        press("back_to_step", "ticket")  # back to where the visit was
        view.destroy()
        view = None
        assert not client.typing and len(client.bus.subscribers(GuidedStep)) == hall_only  # it left the bus
    finally:
        if view is not None:
            view.destroy()  # a failed assertion must not leave the full-screen panel on the shared window
        client.destroy()
