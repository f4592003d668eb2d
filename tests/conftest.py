"""Shared fixtures: a fresh database per test (SQLite file, or PostgreSQL when configured)."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

REQUIRE = os.environ.get("MPP_REQUIRE_SERVICES") == "1"


def _worker_database(url: str | None) -> str | None:
    """Each xdist worker gets a PostgreSQL database of its own (``<db>_gw0``, ...), made on first use.

    The fixtures drop and truncate the schema, so two workers must never share one database.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    base, _, name = url.rpartition("/")
    mine = f"{name}_{worker}"
    import psycopg

    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=3) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (mine,)).fetchone() is None:
                conn.execute(f'CREATE DATABASE "{mine}"')
    except psycopg.Error:
        return url  # unreachable: the tests that need it say so (need/port_open)
    return f"{base}/{mine}"


PG_URL = _worker_database(os.environ.get("MPP_TEST_DATABASE_URL"))
REDIS_URL = os.environ.get("MPP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def need(ok: bool, reason: str) -> None:
    """Skip when a real service is missing on a laptop; fail in CI (MPP_REQUIRE_SERVICES=1)."""
    if ok:
        return
    if REQUIRE:
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


def port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


SEEDED_TABLES = {"agencies", "counters", "services", "villages", "dashboard_datasets", "alembic_version"}


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate and seed once per run; each test then starts from a copy (or truncation on PostgreSQL)."""
    from server.persistence.migrate import seed, upgrade
    from server.settings import Settings

    base = tmp_path_factory.mktemp("template")
    if PG_URL:
        need(port_open("127.0.0.1", 5432), "PostgreSQL is not reachable on 127.0.0.1:5432")
        _reset_postgres(PG_URL)
        s = Settings(data_dir=base, database_url=PG_URL, load_assistant=False)
    else:
        s = Settings(data_dir=base, load_assistant=False)
    upgrade(s)
    seed(s)
    return base


def _truncate_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    from server.persistence.models import Base

    dynamic = [t.name for t in Base.metadata.sorted_tables if t.name not in SEEDED_TABLES]
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(dynamic)} RESTART IDENTITY CASCADE"))
        conn.execute(text("UPDATE dashboard_datasets SET sample = true"))
    engine.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[object]:
    """A fresh, un-migrated database (for migration and restart tests)."""
    from server.settings import Settings

    if PG_URL:
        need(port_open("127.0.0.1", 5432), "PostgreSQL is not reachable on 127.0.0.1:5432")
        _reset_postgres(PG_URL)
        yield Settings(data_dir=tmp_path, database_url=PG_URL, load_assistant=False)
    else:
        yield Settings(data_dir=tmp_path, load_assistant=False)


@pytest.fixture
def migrated(_template: Path, tmp_path: Path) -> object:
    """A migrated, seeded database of this test's own."""
    import shutil

    from server.settings import Settings

    if PG_URL:
        _truncate_postgres(PG_URL)
        return Settings(data_dir=tmp_path, database_url=PG_URL, load_assistant=False)
    shutil.copy(_template / "mpp.db", tmp_path / "mpp.db")
    return Settings(data_dir=tmp_path, load_assistant=False)


@pytest.fixture(scope="session")
def assistant_engine() -> object:
    """The real trained assistant, loaded once per test run."""
    from assistant.core import Assistant

    return Assistant.load()


def start_mpp_serve(
    data_dir: Path, port: int, *args: str, timeout: float = 120.0, **env_overrides: str
) -> subprocess.Popen[bytes]:
    """A real ``mpp serve`` child on ``port`` (PostgreSQL in the PG run), returned once /health answers.

    Started by the one launcher (``mpp.launch``); its output goes to ``<data_dir>/serve-<port>.log``,
    whose tail is the error when it fails to start.
    """
    from mpp.launch import LaunchError, ServerProcess
    from tests.codes import shared_inbox

    env: dict[str, str | None] = {"MPP_LOAD_ASSISTANT": "0", **shared_inbox().env()}
    if PG_URL:
        env["MPP_DATABASE_URL"] = PG_URL
    env.update(env_overrides)
    server = ServerProcess(data_dir, port, args=args, env=env)
    try:
        server.start(timeout)
    except LaunchError as exc:
        raise AssertionError(str(exc)) from None
    assert server.proc is not None
    return server.proc
