"""The hot-path statements keep the DBAPI connection per transaction, never across one."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, create_engine, insert, select
from sqlalchemy.orm import Session

from server.persistence.fastsql import Prepared

_META = MetaData()
_T = Table("t", _META, Column("id", Integer, primary_key=True), Column("v", String(10)))
_INS = Prepared(insert(_T))
_COUNT = Prepared(select(_T.c.v).where(_T.c.v == bindparam("v")))


def test_a_rolled_back_statement_is_gone_and_the_next_transaction_gets_its_own_connection(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'f.db'}")
    _META.create_all(engine)
    with Session(engine) as db:
        _INS.execute(db, {"v": "kept"})
        first = db.get_transaction()
        db.commit()
        _INS.execute(db, {"v": "undone"})
        assert db.get_transaction() is not first
        db.rollback()
        _INS.execute(db, {"v": "later"})
        db.commit()
        assert _COUNT.scalar(db, {"v": "undone"}) is None
    with Session(engine) as fresh:
        rows = sorted(v for (v,) in fresh.execute(select(_T.c.v)))
    assert rows == ["kept", "later"]
