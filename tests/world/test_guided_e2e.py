"""Guided mode end to end: the offscreen hall against a real server on loopback.

Entrance → big choice → documents check → autopilot walk to the right counter →
form with one read-back → a real application and a real ticket, in 7 presses.
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


def test_guided_lost_ktp_to_ticket_against_a_real_server(base: Any, server: ServerProcess, tmp_path: Path) -> None:
    from world.app import HallClient
    from world.config import WorldConfig
    from world.guided_view import attach_to_hall

    client = HallClient(base, WorldConfig(server=server.base, lang="id", name="Siti", text_scale=1.6)).start()
    try:
        net = client.net
        assert net is not None
        assert client.pump(lambda: net.state == "online" and client.screens.state == "Hall", timeout=30)
        # the visitor proved their identity first (second factor, code from the mail the server sent)
        from tests.codes import shared_inbox

        before = len(shared_inbox().mails)
        net.identify(NIK, NAME, contact="siti@example.com")
        assert client.pump(lambda: client.challenge is not None, timeout=10)
        client.verify_code(shared_inbox().code_for("siti@example.com", after=before))
        assert client.pump(lambda: client.identified, timeout=10)
        view = attach_to_hall(client, identity={"nik": NIK, "full_name": NAME}, voice=Voice(enabled=False))
        flow = view.flow
        view.click("service:ktp-el")
        view.click("option:hilang")
        view.click("next")
        view.click("all_docs")
        assert flow.step.kind == "walk"
        approach = client.layout.counter(1).approach
        assert client.pump(lambda: bool(client.player_path), timeout=5)
        assert client.player_path[-1] == approach  # autopilot to the KTP-el counter
        client.player.root.setPos(approach[0], approach[1], 0)  # skip the slow offscreen frames of the walk
        client.player_path = []
        assert client.pump(lambda: flow.step.kind == "identity", timeout=10)
        view.click("yes")
        view.type_text(KK)
        assert flow.step.kind == "review" and "3510 0101 0120 0001" in flow.step.text  # the one read-back
        view.click("submit")
        assert client.pump(lambda: flow.step.kind in ("ticket", "failed"), timeout=30), flow.step.kind
        assert flow.step.kind == "ticket", flow.step.text
        assert re.fullmatch(r"A-\d{3}", flow.step.ticket or "")
        assert re.fullmatch(r"BWI-\d{4}-\d{6}", flow.step.tracking or "")
        assert flow.presses == 7
        client.screenshot(tmp_path / "guided-ticket.png")
        assert (tmp_path / "guided-ticket.png").stat().st_size > 10_000
        # the application really reached the Dukcapil officers, as a lost-card replacement
        make_officer(server.data_dir, "dukcapil-guided")
        inbox = httpx.get(
            f"{server.base}/api/v1/officer/applications",
            headers=officer_headers(server.base, "dukcapil-guided"),
            timeout=10,
        ).json()
        mine = [a for a in inbox if a["tracking_number"] == flow.step.tracking]
        assert mine and mine[0]["state"] == "submitted" and mine[0]["data"]["reason"] == "hilang"
        board = {row["counter"]: row for row in httpx.get(f"{server.base}/api/v1/queue/board", timeout=10).json()}
        assert board[1]["waiting"] >= 1
        view.destroy()
    finally:
        client.destroy()
