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
