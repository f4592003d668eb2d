"""Engine and session factory, with SQLite tuned for a small concurrent server."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from server.settings import Settings


def make_engine(settings: Settings) -> Engine:
    url = settings.db_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        database = make_url(url).database or ""
        lock_path = None if database in ("", ":memory:") else Path(database).with_name(Path(database).name + ".writer")
        writer = WriterLock(settings.db_lock_timeout, lock_path)
        synchronous = {"NORMAL": "NORMAL", "FULL": "FULL"}[settings.sqlite_synchronous]
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30, "factory": _locking_connection(writer)},
            pool_size=8,
            max_overflow=8,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets readers run beside the single writer. MPP_SQLITE_SYNCHRONOUS=NORMAL (the default)
            # is durable across process crashes (kill -9, what the restart test checks) but NOT across a
            # power cut or OS crash, which can lose the last acknowledged commits; FULL survives both.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={synchronous}")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin_immediate(conn: Any) -> None:
            # Take the write lock up front so two writers never fail with "database is
            # locked" on upgrade. Threads of this process queue on an in-process lock
            # first: SQLite's own busy handler polls with sleeps of up to 100 ms, which
            # is what made the p99 of concurrent submissions seconds long.
            dbapi_conn = conn.connection.dbapi_connection
            dbapi_conn.hold_writer()
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                dbapi_conn.release_writer()
                raise

        _disable_pysqlite_autobegin(engine)
        return engine
    return create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


class WriterLock:
    """One SQLite writer at a time, handed over without polling.

    Threads of one process queue on a thread lock; processes sharing the file (``mpp serve
    --workers``, several nodes) queue on an ``flock`` beside it, which the kernel hands to a
    waiter as soon as it is free and drops if its holder dies.
    """

    def __init__(self, timeout: float, path: Path | None = None) -> None:
        self._lock = threading.Lock()
        self.timeout = timeout
        self.path = path
        self._fd: int | None = None
        self._pid = 0

    def _file(self) -> int | None:
        if self.path is None:
            return None
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    def acquire(self) -> None:
        if not self._lock.acquire(timeout=self.timeout):
            orig = sqlite3.OperationalError("database is locked (writer lock timeout)")
            raise OperationalError("BEGIN IMMEDIATE", None, orig)
        try:
            fd = self._file()
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            self._lock.release()
            raise

    def release(self) -> None:
        try:
            fd = self._fd
            if fd is not None and self._pid == os.getpid():
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self._lock.release()


def _locking_connection(writer: WriterLock) -> type[sqlite3.Connection]:
    class LockingConnection(sqlite3.Connection):
        """Releases the process's writer lock once its transaction has ended, however it ends."""

        _holds = False

        def hold_writer(self) -> None:
            writer.acquire()
            self._holds = True

        def release_writer(self) -> None:
            if self._holds:
                self._holds = False
                writer.release()

        def commit(self) -> None:
            try:
                super().commit()
            finally:
                if not self.in_transaction:
                    self.release_writer()

        def rollback(self) -> None:
            try:
                super().rollback()
            finally:
                self.release_writer()

        def close(self) -> None:
            try:
                super().close()
            finally:
                self.release_writer()

    return LockingConnection


def _disable_pysqlite_autobegin(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _no_autobegin(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    with factory() as session, session.begin():
        yield session
