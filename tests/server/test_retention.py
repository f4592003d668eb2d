"""Retention (UU 27/2022): ``mpp data purge`` counts, then deletes or anonymises what is past its term.

Runs on SQLite and, in the PostgreSQL pass, on PostgreSQL (the ``migrated`` fixture picks).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from server.domain.retention import policy, purge
from server.persistence import models as m
from server.persistence.db import make_engine, make_sessionmaker
from tests.server.conftest import VALID_NIK, VALID_NIK_F

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2027, 6, 1, 8, 0, tzinfo=dt.UTC)
OLD = NOW - dt.timedelta(days=4000)  # past every term
FRESH = NOW - dt.timedelta(days=2)  # within every term


def _store(settings: Any, content: bytes, age: dt.datetime) -> str:
    import hashlib

    digest = hashlib.sha256(content).hexdigest()
    path = settings.data_dir / "documents" / digest[:2] / digest
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    os.utime(path, (age.timestamp(), age.timestamp()))
    return digest


def _seed(db: Any, settings: Any) -> dict[str, Any]:
    """Two of everything: one past its term, one within it."""
    citizen = m.Citizen(nik=VALID_NIK, name="Ani Lestari", contact_kind="email", contact="ani@example.com")
    other = m.Citizen(nik=VALID_NIK_F, name="Budi", contact_kind="email", contact="budi@example.com")
    db.add_all([citizen, other])
    db.flush()
    old_vs = m.VisitorSession(
        public_id="old", token_hash="a" * 64, citizen_id=citizen.id, display_name="Ani", expires_at=OLD, created_at=OLD
    )
    new_vs = m.VisitorSession(
        public_id="new", token_hash="b" * 64, citizen_id=other.id, display_name="Budi", expires_at=NOW, created_at=FRESH
    )
    db.add_all([old_vs, new_vs])
    db.flush()

    def application(state: str, updated: dt.datetime, cid: int) -> m.Application:
        a = m.Application(
            tracking_number=f"BWI-{uuid.uuid4().hex[:8]}",
            service_id="ktp-el",
            agency_id="dukcapil",
            citizen_id=cid,
            data={},
            state=state,
            idempotency_key=uuid.uuid4().hex,
            request_hash="x",
            created_at=OLD,
            updated_at=updated,
        )
        db.add(a)
        db.flush()
        return a

    closed_long_ago = application("completed", OLD, citizen.id)
    still_open = application("in_process", OLD, citizen.id)
    closed_recently = application("rejected", FRESH, other.id)

    shared = _store(settings, b"%PDF-1.4 shared by an old and a fresh upload", OLD)
    only_old = _store(settings, b"%PDF-1.4 only an old closed application's", OLD)
    orphan = _store(settings, b"\x89PNG never attached", OLD)
    kept_open = _store(settings, b"%PDF-1.4 an open application's", OLD)

    def doc(digest: str, app: m.Application | None, at: dt.datetime) -> None:
        db.add(
            m.Document(
                sha256=digest,
                size=10,
                content_type="application/pdf",
                filename="x.pdf",
                session_id=old_vs.id,
                citizen_id=citizen.id,
                application_id=app.id if app else None,
                created_at=at,
            )
        )

    doc(only_old, closed_long_ago, OLD)  # past
    doc(shared, closed_long_ago, OLD)  # past, but its file is shared
    doc(orphan, None, OLD)  # past: never attached
    doc(shared, closed_recently, FRESH)  # kept
    doc(kept_open, still_open, OLD)  # kept: the application is open

    for at in (OLD, FRESH):
        db.add(m.ConversationEvent(conversation_id="c1", session_id=old_vs.id, event={"text": "halo"}, created_at=at))
        db.add(m.AuthAttempt(scope="code_nik", key="k", created_at=at))
        db.add(
            m.IdentityChallenge(
                public_id=uuid.uuid4().hex,
                session_id=old_vs.id,
                nik_key="n",
                purpose="link",
                code_hash="h",
                expires_at=at,
                created_at=at,
            )
        )
        db.add(m.AuditLog(officer_id=None, action="reveal_nik", target="BWI-1", detail={}, created_at=at))
    officer = m.Officer(username="duk", password_hash="x", role="officer", agency_id="dukcapil")
    db.add(officer)
    db.flush()
    for at in (OLD, FRESH):
        db.add(m.OfficerSession(officer_id=officer.id, token_hash=uuid.uuid4().hex, csrf_token="c", expires_at=at))
    for state, at in (("closed", OLD), ("expired", OLD), ("closed", FRESH), ("accepted", OLD)):
        db.add(
            m.Handoff(
                conversation_id="c1",
                session_id=old_vs.id,
                state=state,
                transcript=[{"role": "citizen", "text": "NIK saya 3510011204900001"}],
                summary="KTP hilang",
                created_at=at,
                updated_at=at,
            )
        )
    db.commit()
    return {"files": {"shared": shared, "only_old": only_old, "orphan": orphan, "open": kept_open}}


def _rows(db: Any) -> dict[str, int]:
    tables = (m.ConversationEvent, m.Document, m.AuthAttempt, m.IdentityChallenge, m.OfficerSession, m.AuditLog)
    out = {t.__tablename__: int(db.scalar(select(func.count()).select_from(t)) or 0) for t in tables}
    out["named_sessions"] = int(
        db.scalar(select(func.count()).select_from(m.VisitorSession).where(m.VisitorSession.display_name.is_not(None)))
        or 0
    )
    out["handoffs_with_text"] = sum(1 for h in db.scalars(select(m.Handoff)) if h.transcript or h.summary)
    return out


EXPECTED = {
    "conversation_logs": 1,
    "uploads": 3,
    "auth_attempts": 1,
    "identity_codes": 1,
    "officer_sessions": 1,
    "visitor_sessions": 1,
    "handoffs": 2,
    "audit_log": 1,
}


def test_dry_run_counts_apply_removes_and_a_second_run_finds_nothing(migrated: Any) -> None:
    engine = make_engine(migrated)
    try:
        with make_sessionmaker(engine)() as db:
            seeded = _seed(db, migrated)
            before = _rows(db)

            dry = purge(db, migrated, apply=False, now=NOW)
            assert dry.counts == EXPECTED
            db.rollback()
            assert _rows(db) == before, "a dry run changes nothing"

            done = purge(db, migrated, apply=True, now=NOW)
            assert done.counts == EXPECTED
            after = _rows(db)
            assert after["conversation_events"] == 1 and after["documents"] == 2
            assert after["auth_attempts"] == 1 and after["identity_challenges"] == 1
            assert after["officer_sessions"] == 1 and after["named_sessions"] == 1
            assert after["handoffs_with_text"] == 2  # the fresh closed one and the accepted one
            # the old audit row went; the purge's own record came
            audits = list(db.scalars(select(m.AuditLog).order_by(m.AuditLog.id)))
            assert [a.action for a in audits] == ["reveal_nik", "data_purge"]
            assert audits[-1].detail["counts"] == EXPECTED
            # handoff rows stay for the reports, without their words
            states = sorted(h.state for h in db.scalars(select(m.Handoff)))
            assert states == ["accepted", "closed", "closed", "expired"]

            files = seeded["files"]
            present = {k: (migrated.data_dir / "documents" / d[:2] / d).exists() for k, d in files.items()}
            assert present == {"shared": True, "only_old": False, "orphan": False, "open": True}
            assert done.files_removed == 2

            again = purge(db, migrated, apply=True, now=NOW)
            assert again.total == 0 and again.files_removed == 0
            assert _rows(db)["documents"] == 2
    finally:
        engine.dispose()


def test_policy_is_stated_in_settings_and_the_audit_is_kept_longest(migrated: Any) -> None:
    kinds = {k.name: k for k in policy(migrated)}
    assert set(kinds) == set(EXPECTED)
    assert kinds["audit_log"].days == max(k.days for k in kinds.values())
    migrated.retention_conversation_days = 1
    engine = make_engine(migrated)
    try:
        with make_sessionmaker(engine)() as db:
            db.add(
                m.ConversationEvent(
                    conversation_id="c", session_id=None, event={}, created_at=NOW - dt.timedelta(days=2)
                )
            )
            db.commit()
            assert purge(db, migrated, now=NOW).counts["conversation_logs"] == 1
            migrated.retention_conversation_days = 3
            assert purge(db, migrated, now=NOW).counts["conversation_logs"] == 0
    finally:
        engine.dispose()


def test_cli_dry_run_then_apply(migrated: Any) -> None:
    engine = make_engine(migrated)
    with make_sessionmaker(engine)() as db:
        db.add(m.AuthAttempt(scope="login_ip", key="k", created_at=m.now_utc() - dt.timedelta(days=400)))
        db.commit()
    engine.dispose()
    env = {**os.environ, "MPP_DATA_DIR": str(migrated.data_dir), "PYTHONPATH": str(ROOT)}
    if migrated.database_url:
        env["MPP_DATABASE_URL"] = migrated.database_url
    else:
        env.pop("MPP_DATABASE_URL", None)

    def run(*args: str) -> str:
        r = subprocess.run(
            [sys.executable, "-m", "mpp", "data", "purge", *args], env=env, capture_output=True, text=True, timeout=180
        )
        assert r.returncode == 0, r.stderr
        return r.stdout

    dry = run()
    assert "dry run: 1 rows" in dry and "auth_attempts" in dry
    assert "applied: 1 rows" in run("--apply")
    assert "dry run: 0 rows" in run()
    engine = make_engine(migrated)
    with make_sessionmaker(engine)() as db:
        assert db.scalar(select(func.count()).select_from(m.AuditLog).where(m.AuditLog.action == "data_purge")) == 1
    engine.dispose()
