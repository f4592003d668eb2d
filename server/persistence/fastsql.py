"""Hot-path statements run straight on SQLite's DBAPI connection.

A submission is a handful of tiny statements; through SQLAlchemy's execution layer each
costs ~0.2 ms of CPU, which was half of the request. SQLAlchemy still compiles the SQL
and supplies the type processors (JSON, DATETIME, DATE), so the stored bytes are exactly
what the ORM writes and reads. Other databases take the ordinary ``Session.execute``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

_Compiled = tuple[str, list[tuple[str, Callable[[Any], Any] | None]]]


_RAW = "fastsql.raw"
_SQLITE = "fastsql.sqlite"


def _is_sqlite(session: Session) -> bool:
    """Whether the session's database is SQLite (looked up once per session: a batch runs many statements)."""
    found = session.info.get(_SQLITE)
    if found is None:
        found = session.info[_SQLITE] = session.get_bind().dialect.name == "sqlite"
    return bool(found)


def _raw(session: Session) -> Any:
    """The DBAPI connection of the session's current transaction, begun if need be (writer lock + BEGIN IMMEDIATE).

    ``Session.connection()`` walks SQLAlchemy's transaction machinery on every call (~60 us, more
    than the statement itself); a batch of submissions runs a few statements per job in one
    transaction, so the connection is kept for as long as that transaction is the session's.
    """
    tx = session.get_transaction()
    cached = session.info.get(_RAW)
    if tx is not None and cached is not None and cached[0] is tx:
        return cached[1]
    raw = session.connection().connection.dbapi_connection
    session.info[_RAW] = (session.get_transaction(), raw)
    return raw


class Prepared:
    """A Core statement, compiled once per set of parameter names."""

    def __init__(self, stmt: Executable) -> None:
        self.stmt = stmt
        self._cache: dict[tuple[str, ...], _Compiled] = {}

    def _compile(self, session: Session, keys: tuple[str, ...]) -> _Compiled:
        found = self._cache.get(keys)
        if found is None:
            dialect = session.get_bind().dialect
            compiled = self.stmt.compile(dialect=dialect, column_keys=list(keys))  # type: ignore[attr-defined]
            order = compiled.positiontup or []
            missing = [name for name in order if name not in keys]
            if missing:
                # a column default SQLAlchemy would have filled in: the caller must pass it
                raise ValueError(f"parameters missing for {missing}")
            procs = [(name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)) for name in order]
            found = (compiled.string, procs)
            self._cache[keys] = found
        return found

    @staticmethod
    def _bind(procs: list[tuple[str, Callable[[Any], Any] | None]], params: Mapping[str, Any]) -> list[Any]:
        return [params[name] if proc is None else proc(params[name]) for name, proc in procs]

    def _run(self, session: Session, sql: str, args: Any, many: bool = False) -> Any:
        raw = _raw(session)
        try:
            return raw.executemany(sql, args) if many else raw.execute(sql, args)
        except sqlite3.Error as exc:
            # the same exception classes as through SQLAlchemy (IntegrityError -> 409 / replay, ...)
            raise DBAPIError.instance(sql, args, exc, sqlite3.Error) from exc

    def first(self, session: Session, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row, with raw column values (select plain columns only)."""
        if not _is_sqlite(session):
            found = session.execute(self.stmt, dict(params)).first()
            return None if found is None else tuple(found)
        sql, procs = self._compile(session, tuple(sorted(params)))
        row = self._run(session, sql, self._bind(procs, params)).fetchone()
        return None if row is None else tuple(row)

    def all(self, session: Session, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Every row, with raw column values (select plain columns only)."""
        if not _is_sqlite(session):
            return [tuple(row) for row in session.execute(self.stmt, dict(params))]
        sql, procs = self._compile(session, tuple(sorted(params)))
        return [tuple(row) for row in self._run(session, sql, self._bind(procs, params)).fetchall()]

    def scalar(self, session: Session, params: Mapping[str, Any]) -> Any:
        row = self.first(session, params)
        return None if row is None else row[0]

    def execute(self, session: Session, params: Mapping[str, Any]) -> None:
        if not _is_sqlite(session):
            session.execute(self.stmt, dict(params))
            return
        sql, procs = self._compile(session, tuple(sorted(params)))
        self._run(session, sql, self._bind(procs, params))

    def executemany(self, session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        if not _is_sqlite(session):
            session.execute(self.stmt, [dict(r) for r in rows])
            return
        sql, procs = self._compile(session, tuple(sorted(rows[0])))
        self._run(session, sql, [self._bind(procs, r) for r in rows], many=True)
