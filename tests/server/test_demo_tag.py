"""A demo tour's applications are tagged and never mix into a real office's inbox or reports (issue 18)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.server import conftest as sc
from tests.server.console_helpers import PASSWORD, console_login


def _demo_identified(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """``identified`` for a visitor whose session was opened as a demo tour's (``demo: true``)."""
    real = client.post

    def post(url: str, *args: Any, **kwargs: Any) -> Any:
        if url == "/api/v1/sessions":
            kwargs["json"] = {**(kwargs.get("json") or {}), "demo": True}
        return real(url, *args, **kwargs)

    monkeypatch.setattr(client, "post", post)
    try:
        return sc.identified(client, sc.VALID_NIK_F, "Siti Aminah")
    finally:
        monkeypatch.setattr(client, "post", real)


def _add(
    settings: Any, username: str, *, demo: bool = False, role: str = "officer", agency: str | None = "dukcapil"
) -> None:
    from server.domain.officers import create_officer
    from server.persistence.db import make_engine, make_sessionmaker

    engine = make_engine(settings)
    with make_sessionmaker(engine)() as db:
        create_officer(db, username, PASSWORD, role, agency, demo=demo)
        db.commit()
    engine.dispose()


def test_demo_applications_stay_out_of_real_inboxes_and_reports(
    client: TestClient, migrated: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import select

    from server.console.admin import report_data
    from server.persistence import models as m
    from server.persistence.db import make_engine, make_sessionmaker

    real_t = sc.create_app_json(client, sc.identified(client))["tracking_number"]
    demo_t = sc.create_app_json(client, _demo_identified(client, monkeypatch))["tracking_number"]
    engine = make_engine(migrated)
    with make_sessionmaker(engine)() as db:
        tags = dict(db.execute(select(m.Application.tracking_number, m.Application.demo)).all())
        assert tags == {real_t: False, demo_t: True}
        real_report = report_data(db)
        demo_report = report_data(db, demo=True)
    engine.dispose()
    assert [v["total"] for v in real_report["volumes"] if v["service_id"] == "ktp-el"] == [1]
    assert [v["total"] for v in demo_report["volumes"] if v["service_id"] == "ktp-el"] == [1]

    # the office's own officer: the real application only, the demo one is not found at all
    _add(migrated, "duk-real")
    console_login(client, "duk-real")
    inbox = client.get("/officer/").text
    assert real_t in inbox and demo_t not in inbox
    assert client.get(f"/officer/applications/{demo_t}").status_code == 404
    # the supervisor's reports count only the office's work
    client.cookies.clear()
    _add(migrated, "kepala-real", role="supervisor", agency=None)
    console_login(client, "kepala-real")
    csv = client.get("/officer/reports.csv").text
    ktp = [line for line in csv.splitlines() if line.startswith("ktp-el,")]
    assert len(ktp) == 1 and ktp[0].split(",")[2] == "1", csv
    # the tour's demo-<agency> account: the demo application only
    client.cookies.clear()
    _add(migrated, "demo-dukcapil", demo=True)
    console_login(client, "demo-dukcapil")
    inbox = client.get("/officer/").text
    assert demo_t in inbox and real_t not in inbox
    assert client.get(f"/officer/applications/{real_t}").status_code == 404


def test_the_session_flag_is_typed(client: TestClient) -> None:
    r = client.post("/api/v1/sessions", json={"demo": "perhaps"})
    assert r.status_code == 422


def _demo_session(client: TestClient) -> dict[str, str]:
    r = client.post("/api/v1/sessions", json={"lang": "id", "demo": True})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _login(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/v1/officer/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_demo_tickets_surveys_and_complaints_stay_off_the_public_board_and_reports(
    client: TestClient, migrated: Any
) -> None:
    """The public figures (the now-serving board every hall shows, the supervisor's SKM and
    complaints) count the office's visitors only; a tour's tickets are called by its own officer."""
    from server.console.admin import report_data
    from server.persistence.db import make_engine, make_sessionmaker

    demo_v = _demo_session(client)
    real_v = sc.new_session(client)
    # the tour takes the first ticket at counter 1, a citizen the second
    demo_t = client.post("/api/v1/queue/tickets", json={"counter": 1}, headers=demo_v).json()
    real_t = client.post("/api/v1/queue/tickets", json={"counter": 1}, headers=real_v).json()
    assert real_t["estimated_wait_min"] == 0  # nobody of the office's ahead: the tour's ticket is not
    # the tour numbers its own tickets: the citizen's is the office's first of the day, not its second
    assert real_t["code"].endswith("-001") and demo_t["code"].endswith("-901"), (real_t, demo_t)
    again = client.post("/api/v1/queue/tickets", json={"counter": 2}, headers=demo_v).json()
    assert again["code"].endswith("-901")  # each counter's tour sequence starts at 901
    public = {r["counter"]: r for r in client.get("/api/v1/queue/board").json()}
    assert public[1]["waiting"] == 1 and public[1]["now_serving"] is None
    as_real = {r["counter"]: r for r in client.get("/api/v1/queue/board", headers=real_v).json()}
    assert as_real == public
    tour = {r["counter"]: r for r in client.get("/api/v1/queue/board", headers=demo_v).json()}
    assert tour[1]["waiting"] == 1  # the tour's own board (what its hall shows)
    # the office's officer calls the citizen, never the tour's earlier ticket
    _add(migrated, "duk-desk")
    _add(migrated, "demo-dukcapil", demo=True)
    called = client.post("/api/v1/officer/queue/1/call-next", headers=_login(client, "duk-desk")).json()
    assert called["ticket"]["code"] == real_t["code"]
    public = {r["counter"]: r for r in client.get("/api/v1/queue/board").json()}
    assert public[1] == {**public[1], "now_serving": real_t["code"], "waiting": 0}
    called = client.post("/api/v1/officer/queue/1/call-next", headers=_login(client, "demo-dukcapil")).json()
    assert called["ticket"]["code"] == demo_t["code"]
    public = {r["counter"]: r for r in client.get("/api/v1/queue/board").json()}
    assert public[1]["now_serving"] == real_t["code"]  # the tour's call did not move the public board
    tour = {r["counter"]: r for r in client.get("/api/v1/queue/board", headers=demo_v).json()}
    assert tour[1]["now_serving"] == demo_t["code"]

    # survey answers and complaints of the tour reach only the tour's report
    for h, score, who in ((demo_v, 1, "tur"), (real_v, 4, "warga")):
        assert client.post("/api/v1/survey", json={"score": score}, headers=h).status_code == 201
        r = client.post(
            "/api/v1/complaints",
            json={"subject": f"Antrean {who}", "body": f"Skor {score}: antrean terlalu lama."},
            headers=h,
        )
        assert r.status_code == 201, r.text
    engine = make_engine(migrated)
    with make_sessionmaker(engine)() as db:
        office, demo = report_data(db), report_data(db, demo=True)
    engine.dispose()
    assert [(s["count"], s["avg"]) for s in office["skm"]] == [(1, 4.0)]
    assert [(s["count"], s["avg"]) for s in demo["skm"]] == [(1, 1.0)]
    assert [c.body for c in office["complaints"]] == ["Skor 4: antrean terlalu lama."]
    assert [c.body for c in demo["complaints"]] == ["Skor 1: antrean terlalu lama."]
    # and the complaints desk lists the office's complaint only
    client.cookies.clear()
    _add(migrated, "kepala-desk", role="supervisor", agency=None)
    console_login(client, "kepala-desk")
    desk = client.get("/officer/complaints").text
    assert "Antrean warga" in desk and "Antrean tur" not in desk


def test_board_frames_reach_only_their_own_kind_of_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """A tour's board.update goes to the tour's sockets, the office's to everyone else's."""
    import server.domain.queue as queue_domain
    from server.api.queue import publish_board
    from server.realtime.hub import Conn, Hub

    hub = Hub()
    got: dict[str, list[Any]] = {"real": [], "demo": []}
    for who, demo in (("real", False), ("demo", True)):
        hub.add(Conn(session_id=1, public_id=who, citizen_id=None, name=who, send=got[who].append, demo=demo))
    hub.broadcast_local({"type": "board.update", "counter": 1}, None, True)
    hub.broadcast_local({"type": "board.update", "counter": 2}, None, False)
    hub.broadcast_local({"type": "hall.notice"}, None)
    assert [f.get("counter") for f in got["demo"]] == [1, None]
    assert [f.get("counter") for f in got["real"]] == [2, None]

    sent: list[tuple[int, int, bool | None]] = []

    class Recorder:
        def broadcast(self, frame: dict[str, Any], kind: str | None = None, *, demo: bool | None = None) -> None:
            sent.append((frame["counter"], frame["waiting"], demo))

    def board(db: Any, day: Any = None, *, demo: bool = False) -> list[dict[str, Any]]:
        return [{"counter": 3, "now_serving": None, "waiting": 7 if demo else 2}]

    monkeypatch.setattr(queue_domain, "board", board)
    publish_board(None, Recorder(), 3, demo=True)  # type: ignore[arg-type]
    publish_board(None, Recorder(), 3)  # type: ignore[arg-type]
    assert sent == [(3, 7, True), (3, 2, False)]  # each kind's own figures, to its own sockets
