"""The default tour's actions against a real embedded ``mpp serve`` (fresh database, demo officers)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from world.demo.actions import ActionResult, Backend
from world.demo.server import DemoServer
from world.demo.tour import load_tour

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server() -> Iterator[DemoServer]:
    s = DemoServer(agencies=("dukcapil",))
    s.start()
    yield s
    s.stop()


def test_every_action_of_the_default_tour_succeeds(server: DemoServer) -> None:
    tour = load_tour("default")
    backend = Backend(server.url, codes=server.phone.code_for)
    results: dict[str, list[ActionResult]] = {}
    try:
        for i, step in enumerate(tour.steps):
            if step.action is None:
                continue
            r = backend.run(step.action, "id")
            assert r.ok, f"step {i + 1} {step.action.kind}: {r.error} {r.caption}"
            assert r.text("id") and r.text("en")
            results.setdefault(step.action.kind, []).append(r)
    finally:
        backend.close()
    ask = results["ask"][0]
    assert ask.data["service"] == "akta-kelahiran" and "akta" in ask.data["reply"].lower()
    apply_akta, apply_ktp = results["apply"]
    assert apply_akta.data["tracking"] == "BWI-2026-000001" and apply_akta.data["state"] == "submitted"
    assert apply_ktp.data["service_id"] == "ktp-el"
    ticket = results["ticket"][0].data
    assert ticket["counter"] == 2 and ticket["now_serving"] == ticket["ticket"]
    moved = results["officer_transition"][0].data
    assert moved["states"] == ["verified", "in_process", "ready", "completed"]
    status = results["status"][0].data
    assert status["state"] == "completed"
    assert status["timeline"][-4:] == ["verified", "in_process", "ready", "completed"]
    handoff = results["handoff"][0].data
    assert handoff["relayed"] is True and [w for w, _ in handoff["transcript"]] == ["citizen", "officer", "summary"]
    lounge = results["dashboard"][-1].data
    assert set(lounge["datasets"]) == {"village-progress", "budget", "poverty"}
    guided = results["guided"][0].data
    assert guided["prompts"] and guided["ticket"] and guided["tracking"]  # the server's guided steps, to a ticket
    assert len(guided["screens"]) >= 6 and 5 <= guided["presses"] <= 8, guided["screens"]
    procot = results["lahir_procot"][0].data
    assert procot["verify"] == "valid" and procot["number"].startswith("3510-LU-") and procot["pdf_bytes"] > 10_000
    assert procot["facility"] == "Puskesmas Sobo"


def test_a_new_loop_round_starts_from_a_fresh_database(server: DemoServer) -> None:
    tour = load_tour("default")
    apply = next(s.action for s in tour.steps if s.action is not None and s.action.kind == "apply")
    assert apply is not None
    server.reset()
    backend = Backend(server.url, codes=server.phone.code_for)
    try:
        first = backend.run(apply, "en")
        second = backend.run(apply, "en")
    finally:
        backend.close()
    assert first.ok and first.data["tracking"] == "BWI-2026-000001"
    assert second.data["tracking"] == "BWI-2026-000002"


def test_boards_are_seeded_with_real_activity_away_from_the_tours_own_counters(server: DemoServer) -> None:
    from world.demo.commands import seed_boards, split_counters

    tour = load_tour("default")
    counters, own = split_counters(tour)
    assert own and counters and len(counters) + len(own) == 16
    assert not {n for n, _ in own} & {n for n, _ in counters}
    backend = Backend(server.url)
    try:
        rows = {int(r["counter"]): r for r in seed_boards(backend, tour)}
        seeded = [rows[n] for n, _ in counters]
        assert all(int(r["waiting"] or 0) >= 1 for r in seeded)  # people waiting at every seeded counter
        serving = [r for (n, agency), r in zip(counters, seeded, strict=True) if agency == "dukcapil"]
        assert serving and all(r["now_serving"] for r in serving)  # called where a demo officer exists
        # a morning's worth, not two tickets everywhere: the counters differ in how many still wait
        assert len({int(r["waiting"] or 0) for r in seeded}) >= 3
        # the tour's own counters: earlier tickets called, nobody waiting, so the tour's ticket is called next
        for n, _ in own:
            assert rows[n]["now_serving"] and not int(rows[n]["waiting"] or 0), rows[n]
        n, agency = own[0]
        v = backend.visitor("tour-own", "id")
        ticket = backend._json("POST", "/api/v1/queue/tickets", json={"counter": n}, headers=backend._auth(v))
        o = backend.officer(agency)
        called = backend._json(
            "POST", f"/api/v1/officer/queue/{n}/call-next", headers={"Authorization": f"Bearer {o.token}"}
        )
        assert called["ticket"]["code"] == ticket["code"]
    finally:
        backend.close()
