"""Group commit of submissions (SQLite and PostgreSQL), SQLite's writer lock and its timeout."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from protocol.nik import mask_nik
from server.errors import ApiError
from tests.conftest import PG_URL
from tests.server.conftest import VALID_NIK, identified, ktp_form


@pytest.fixture(scope="module")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """These features are SQLite's own, so they run on SQLite in the PostgreSQL run too."""
    from server.persistence.migrate import seed, upgrade
    from server.settings import Settings

    base = tmp_path_factory.mktemp("sqlite-template")
    s = Settings(data_dir=base, load_assistant=False)
    upgrade(s)
    seed(s)
    return base


@pytest.fixture
def sqlite_settings(_sqlite_template: Path, tmp_path: Path) -> Any:
    import shutil

    from server.settings import Settings

    shutil.copy(_sqlite_template / "mpp.db", tmp_path / "mpp.db")
    return Settings(data_dir=tmp_path, load_assistant=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request: pytest.FixtureRequest) -> Any:  # overrides tests/server/conftest.py's app: both databases
    """The writer on SQLite in every run, and on PostgreSQL in the PostgreSQL run (conftest ``migrated``)."""
    from server.app import create_app
    from tests.codes import RecordingDelivery

    if request.param == "postgresql" and not PG_URL:
        pytest.skip("PostgreSQL variant: runs in the PostgreSQL pass (MPP_TEST_DATABASE_URL)")
    settings = request.getfixturevalue("sqlite_settings" if request.param == "sqlite" else "migrated")
    settings.otp_per_nik = settings.otp_per_client = settings.otp_fail_per_client = 1000
    made = create_app(settings, delivery=RecordingDelivery())
    assert made.state.engine.dialect.name == request.param and made.state.submissions is not None
    return made


def _token(headers: dict[str, str]) -> str:
    return headers["Authorization"].split(" ", 1)[1]


def _job(writer: Any, loop: asyncio.AbstractEventLoop, token: str | None, data: Any, key: str) -> Any:
    from server.domain.submissions import _Job

    return _Job(token, "ktp-el", data, key, True, loop, loop.create_future())


def _write(writer: Any, loop: asyncio.AbstractEventLoop, jobs: list[Any]) -> None:
    """One batch, written now: SQLite's writer in this thread, PostgreSQL's on ``loop``."""
    made = writer._write(jobs)
    if asyncio.iscoroutine(made):
        conn = loop.run_until_complete(made)
        if conn is not None:
            loop.run_until_complete(conn.close())


def _settled(loop: asyncio.AbstractEventLoop, jobs: list[Any]) -> list[Any]:
    async def wait() -> list[Any]:
        return list(await asyncio.gather(*(j.future for j in jobs), return_exceptions=True))

    return loop.run_until_complete(asyncio.wait_for(wait(), 10))


def test_one_batch_answers_each_submission_on_its_own(client: TestClient, app: Any) -> None:
    """Valid, invalid, repeated-key and unauthenticated jobs share one transaction without harm."""
    from server.persistence import models as m

    h = identified(client)
    writer = app.state.submissions
    loop = asyncio.new_event_loop()
    try:
        good = _job(writer, loop, _token(h), ktp_form(), "k-1")
        again = _job(writer, loop, _token(h), ktp_form(), "k-1")  # the client retried while queued
        bad_form = _job(writer, loop, _token(h), {**ktp_form(), "nik": "123"}, "k-2")
        no_token = _job(writer, loop, "not-a-token", ktp_form(), "k-3")
        other = _job(writer, loop, _token(h), ktp_form(), "k-4")
        batches = writer.batches
        _write(writer, loop, [good, again, bad_form, no_token, other])
        results = _settled(loop, [good, again, bad_form, no_token, other])
    finally:
        loop.close()
    assert writer.batches == batches + 1
    (out1, r1), (out2, r2) = results[0], results[1]
    assert r1.created and not r2.created
    assert out1["tracking_number"] == out2["tracking_number"]
    assert isinstance(results[2], ApiError) and results[2].status == 422
    assert isinstance(results[3], ApiError) and results[3].status == 401
    out5, r5 = results[4]
    assert r5.created and out5["tracking_number"] != out1["tracking_number"]
    with app.state.sessions() as db:
        apps = db.scalars(select(m.Application).order_by(m.Application.id)).all()
        assert [a.tracking_number for a in apps] == [out1["tracking_number"], out5["tracking_number"]]
        events = db.scalars(select(m.Event).where(m.Event.application_id == apps[0].id).order_by(m.Event.id)).all()
        assert [(e.from_state, e.to_state) for e in events] == [(None, "draft"), ("draft", "submitted")]  # once
        assert [e.payload for e in events] == [
            {"tracking_number": out1["tracking_number"], "service_id": "ktp-el", "version": v} for v in (1, 2)
        ]
        assert {e.actor for e in events} == {f"citizen:{mask_nik(VALID_NIK)}"}
    # what the tracker reads back is what the submission answered
    got = client.get(f"/api/v1/applications/{out5['tracking_number']}", headers=h).json()
    assert len(got.pop("receipt_pin")) == 8  # the owner's views add the receipt PIN
    assert got == out5


def test_one_key_from_two_sessions_of_a_citizen_in_one_batch_is_stored_once(client: TestClient, app: Any) -> None:
    """The key is the citizen's: the second job goes alone after the commit and replays the first."""
    from server.persistence import models as m

    phone, laptop = identified(client), identified(client)
    assert _token(phone) != _token(laptop)
    writer = app.state.submissions
    loop = asyncio.new_event_loop()
    try:
        jobs = [_job(writer, loop, _token(h), ktp_form(), "same") for h in (phone, laptop)]
        _write(writer, loop, jobs)
        (out1, r1), (out2, r2) = _settled(loop, jobs)
    finally:
        loop.close()
    assert r1.created and not r2.created and out1["tracking_number"] == out2["tracking_number"]
    with app.state.sessions() as db:
        assert db.scalar(select(func.count()).select_from(m.Application)) == 1
        assert db.scalar(select(func.count()).select_from(m.Event).where(m.Event.kind == "application")) == 2


def test_a_job_that_breaks_the_batch_fails_alone(client: TestClient, app: Any, monkeypatch: Any) -> None:
    from server.domain import applications
    from server.persistence import models as m

    if app.state.engine.dialect.name != "sqlite":
        pytest.skip("a Python error inside SQLite's batch; the PostgreSQL batch is covered by the test below")
    h = identified(client)
    real = applications.snapshot

    def flaky(app_id: int, row: dict[str, Any]) -> Any:
        out = real(app_id, row)
        if row["idempotency_key"].endswith(":boom"):
            raise RuntimeError("disk on fire")  # after the batch's lookups, in it and alone
        return out

    monkeypatch.setattr(applications, "snapshot", flaky)
    writer = app.state.submissions
    loop = asyncio.new_event_loop()
    try:
        jobs = [_job(writer, loop, _token(h), ktp_form(), k) for k in ("a", "boom", "b")]
        _write(writer, loop, jobs)
        results = _settled(loop, jobs)
    finally:
        loop.close()
    assert isinstance(results[1], RuntimeError)
    assert results[0][1].created and results[2][1].created
    with app.state.sessions() as db:
        keys = sorted(k.split(":", 1)[1] for k in db.scalars(select(m.Application.idempotency_key)))
    assert keys == ["a", "b"]  # the broken job's rows were rolled back, the others rewritten


def test_a_batch_whose_commit_fails_retries_every_job_alone(client: TestClient, app: Any, monkeypatch: Any) -> None:
    """The batch wrote its rows but SQLite refused the COMMIT: nothing kept, every job answered alone."""
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    from server.domain import litesubmit
    from server.persistence import models as m

    if app.state.engine.dialect.name != "sqlite":
        pytest.skip(
            "SQLite's batch commits after it ran; PostgreSQL writes a batch in one autocommitted statement, "
            "whose failure test_a_row_the_database_refuses_fails_alone covers"
        )
    h = identified(client)
    armed = {"on": False}
    real_batch, real_commit = litesubmit.write_batch, Session.commit

    def batch(*args: Any) -> Any:
        out = real_batch(*args)
        armed["on"] = True
        return out

    def commit(self: Session) -> None:
        if armed["on"]:
            armed["on"] = False
            raise OperationalError("COMMIT", {}, Exception("disk I/O error"))
        real_commit(self)

    monkeypatch.setattr(litesubmit, "write_batch", batch)
    monkeypatch.setattr(Session, "commit", commit)
    writer = app.state.submissions
    loop = asyncio.new_event_loop()
    try:
        jobs = [_job(writer, loop, _token(h), ktp_form(), k) for k in ("a", "b")]
        _write(writer, loop, jobs)
        results = _settled(loop, jobs)  # before the fix the batch's jobs were never answered
    finally:
        loop.close()
    assert results[0][1].created and results[1][1].created
    with app.state.sessions() as db:
        keys = sorted(k.split(":", 1)[1] for k in db.scalars(select(m.Application.idempotency_key)))
    assert keys == ["a", "b"]


def test_a_row_the_database_refuses_fails_alone(client: TestClient, app: Any, monkeypatch: Any) -> None:
    """A real database error (a foreign key) mid-batch: rolled back, the others rewritten, it alone refused."""
    from sqlalchemy.exc import IntegrityError

    from server.domain import applications
    from server.persistence import models as m

    h = identified(client)
    real = applications.new_application_row

    def ghost(*args: Any) -> dict[str, Any]:
        row = real(*args)
        if row["idempotency_key"].endswith(":boom"):
            row["service_id"] = "no-such-service"  # not in the services table
        return row

    monkeypatch.setattr(applications, "new_application_row", ghost)
    writer = app.state.submissions
    loop = asyncio.new_event_loop()
    try:
        jobs = [_job(writer, loop, _token(h), ktp_form(), k) for k in ("a", "boom", "b")]
        _write(writer, loop, jobs)
        results = _settled(loop, jobs)
    finally:
        loop.close()
    assert isinstance(results[1], IntegrityError)
    assert results[0][1].created and results[2][1].created
    with app.state.sessions() as db:
        keys = sorted(k.split(":", 1)[1] for k in db.scalars(select(m.Application.idempotency_key)))
        events = db.scalar(select(func.count()).select_from(m.Event).where(m.Event.kind == "application"))
    assert keys == ["a", "b"]
    assert events == 4  # draft + submitted for each, written once despite the retry


def test_a_key_a_concurrent_request_took_first_replays_it(client: TestClient, app: Any) -> None:
    """PostgreSQL: another node's uncommitted insert of the same key; the batch waits, then replays it."""
    from server.domain import applications, sessions
    from server.persistence import models as m

    if app.state.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's writer lock lets one writer in at a time: there is no race to lose")
    h = identified(client)
    other = app.state.sessions()
    theirs = applications.create_application(
        other, sessions.session_for_submission(other, _token(h)), app.state.catalog, "ktp-el", ktp_form(), "race", True
    )
    writer = app.state.submissions
    loop = asyncio.new_event_loop()
    try:
        job = _job(writer, loop, _token(h), ktp_form(), "race")
        racer = threading.Thread(target=_write, args=(writer, loop, [job]))
        racer.start()
        time.sleep(0.5)
        assert racer.is_alive()  # its insert waits on the other transaction's key
        other.commit()
        other.close()
        racer.join(10)
        ((out, result),) = _settled(loop, [job])
    finally:
        loop.close()
    assert not result.created
    assert out["tracking_number"] == theirs.application.tracking_number
    with app.state.sessions() as db:
        assert db.scalar(select(func.count()).select_from(m.Application)) == 1
        assert db.scalar(select(func.count()).select_from(m.Event).where(m.Event.kind == "application")) == 2


def test_concurrent_submissions_through_http_are_all_stored_once(client: TestClient, app: Any) -> None:
    from server.persistence import models as m

    heads = [identified(client) for _ in range(3)]
    results: list[int] = []
    keys = [uuid.uuid4().hex for _ in range(30)]

    def post(i: int) -> None:
        r = client.post(
            "/api/v1/applications",
            json={"service_id": "ktp-el", "data": ktp_form(), "submit": True},
            headers={**heads[i % 3], "Idempotency-Key": keys[i % 20]},  # 10 keys are sent twice
        )
        results.append(r.status_code)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results.count(201) == 30
    with app.state.sessions() as db:
        stored = db.scalar(select(func.count()).select_from(m.Application))
        events = db.scalar(select(func.count()).select_from(m.Event).where(m.Event.kind == "application"))
    # keys i%20 repeat for i >= 20 with the same session (i%3 differs!) -> scoped per citizen:
    # all three sessions are the same citizen (same NIK), so a repeated key is one application.
    assert stored == 20
    assert events == 40


def test_a_held_writer_lock_gives_503_not_a_hang(sqlite_settings: Any) -> None:
    from server.app import create_app
    from tests.codes import RecordingDelivery

    sqlite_settings.db_lock_timeout = 0.3
    app = create_app(sqlite_settings, delivery=RecordingDelivery())
    with TestClient(app) as client:
        h = identified(client)
        with app.state.sessions() as holder:
            holder.execute(select(1))  # BEGIN IMMEDIATE: this session now holds the writer lock
            t0 = time.monotonic()
            r = client.post(
                "/api/v1/applications",
                json={"service_id": "ktp-el", "data": ktp_form(), "submit": True},
                headers={**h, "Idempotency-Key": "held"},
            )
            assert r.status_code == 503, r.text
            assert time.monotonic() - t0 < 5
            assert r.headers["retry-after"] == "1"
            assert r.json()["detail"]["code"] == "busy"
            holder.rollback()
        r = client.post(
            "/api/v1/applications",
            json={"service_id": "ktp-el", "data": ktp_form(), "submit": True},
            headers={**h, "Idempotency-Key": "held"},
        )
        assert r.status_code == 201  # nothing was half-written by the refused attempt


def test_two_processes_share_one_sqlite_file_without_lock_errors(tmp_path: Path) -> None:
    """Two workers (``mpp serve --workers 2``) write the same file: the flock queues them."""
    script = textwrap.dedent(
        f"""
        import sys
        from sqlalchemy import text
        from server.persistence.db import make_engine, make_sessionmaker
        from server.settings import Settings
        s = Settings(data_dir={str(tmp_path)!r}, load_assistant=False, db_lock_timeout=30)
        eng = make_engine(s)
        make = make_sessionmaker(eng)
        with make() as db:
            db.execute(text("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, who TEXT)"))
            db.commit()
        for i in range(300):
            with make() as db:
                n = db.execute(text("SELECT count(*) FROM t")).scalar()
                db.execute(text("INSERT INTO t (who) VALUES (:w)"), {{"w": sys.argv[1] + str(n)}})
                db.commit()
        """
    )
    root = Path(__file__).resolve().parents[2]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, who], cwd=root, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL
        )
        for who in ("a", "b")
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()[-2000:]
    import sqlite3

    with sqlite3.connect(tmp_path / "mpp.db") as conn:
        rows = conn.execute("SELECT who FROM t ORDER BY id").fetchall()
    assert len(rows) == 600
    # each writer saw every earlier row: the counts it read were strictly serial
    counts = sorted(int(w[0][1:]) for w in rows)
    assert counts == list(range(600))
