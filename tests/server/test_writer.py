"""SQLite's single writer: group commit of submissions, the writer lock and its timeout."""

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

from server.errors import ApiError
from tests.server.conftest import identified, ktp_form


@pytest.fixture(scope="module")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """These features are SQLite's own, so they run on SQLite in the PostgreSQL run too."""
    from server.migrate import seed, upgrade
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


@pytest.fixture
def app(sqlite_settings: Any) -> Any:  # overrides tests/server/conftest.py's app: SQLite, whatever the run
    from server.app import create_app

    made = create_app(sqlite_settings)
    assert made.state.engine.dialect.name == "sqlite" and made.state.submissions is not None
    return made


def _token(headers: dict[str, str]) -> str:
    return headers["Authorization"].split(" ", 1)[1]


def _job(writer: Any, loop: asyncio.AbstractEventLoop, token: str | None, data: Any, key: str) -> Any:
    from server.submissions import _Job

    return _Job(token, "ktp-el", data, key, True, loop, loop.create_future())


def _settled(loop: asyncio.AbstractEventLoop, jobs: list[Any]) -> list[Any]:
    async def wait() -> list[Any]:
        return list(await asyncio.gather(*(j.future for j in jobs), return_exceptions=True))

    return loop.run_until_complete(asyncio.wait_for(wait(), 10))


def test_one_batch_answers_each_submission_on_its_own(client: TestClient, app: Any) -> None:
    """Valid, invalid, repeated-key and unauthenticated jobs share one transaction without harm."""
    from server import models as m

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
        writer._write([good, again, bad_form, no_token, other])
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
        events = db.scalar(select(func.count()).select_from(m.Event).where(m.Event.application_id == apps[0].id))
        assert events == 2  # draft + submitted, once


def test_a_job_that_breaks_the_batch_fails_alone(client: TestClient, app: Any, monkeypatch: Any) -> None:
    from server import models as m
    from server import submissions

    h = identified(client)
    real = submissions.write_one

    def flaky(db: Any, catalog: Any, job: Any, batched: bool) -> Any:
        out = real(db, catalog, job, batched)
        if job.key == "boom":
            raise RuntimeError("disk on fire")  # after this job wrote its rows
        return out

    monkeypatch.setattr(submissions, "write_one", flaky)
    writer = app.state.submissions
    loop = asyncio.new_event_loop()
    try:
        jobs = [_job(writer, loop, _token(h), ktp_form(), k) for k in ("a", "boom", "b")]
        writer._write(jobs)
        results = _settled(loop, jobs)
    finally:
        loop.close()
    assert isinstance(results[1], RuntimeError)
    assert results[0][1].created and results[2][1].created
    with app.state.sessions() as db:
        keys = sorted(k.split(":", 1)[1] for k in db.scalars(select(m.Application.idempotency_key)))
    assert keys == ["a", "b"]  # the broken job's rows were rolled back, the others rewritten


def test_concurrent_submissions_through_http_are_all_stored_once(client: TestClient, app: Any) -> None:
    from server import models as m

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

    sqlite_settings.db_lock_timeout = 0.3
    app = create_app(sqlite_settings)
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
        from server.db import make_engine, make_sessionmaker
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
