"""Retention of personal data per kind (UU 27/2022 PDP): how long each is kept, and the purge that enforces it.

Personal data is kept only as long as its purpose needs. Each kind has its term in settings
(``MPP_RETENTION_*_DAYS``); ``mpp data purge`` lists what is past its term (a dry run) and, with
``--apply``, deletes it or anonymises it where the row itself is still needed (a closed handoff
still counts in the reports; an expired session still owns its tickets). Applications, their
events and issued documents are the agency's records and are not purged here. A purge is
idempotent (a second run finds nothing) and leaves an audit record of what it removed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from server.domain.states import FINAL
from server.persistence import models as m
from server.settings import Settings

CLOSED_HANDOFFS = ("closed", "expired")
BULK = {"synchronize_session": False}


@dataclass(frozen=True)
class Kind:
    name: str
    days: int
    action: str  # delete | anonymise
    what: str


@dataclass
class PurgeReport:
    applied: bool
    now: dt.datetime
    counts: dict[str, int] = field(default_factory=dict)
    files_removed: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def policy(settings: Settings) -> list[Kind]:
    """The retention policy as stated in settings, in the order a report lists it."""
    return [
        Kind(
            "conversation_logs",
            settings.retention_conversation_days,
            "delete",
            "the assistant's dialogue log (sealed numbers included)",
        ),
        Kind(
            "uploads",
            settings.retention_upload_days,
            "delete",
            "uploaded files of closed applications, and uploads never attached to one",
        ),
        Kind("auth_attempts", settings.retention_auth_days, "delete", "rate-limit ledger of codes and sign-ins"),
        Kind("identity_codes", settings.retention_auth_days, "delete", "one-time code challenges, expired"),
        Kind("officer_sessions", settings.retention_auth_days, "delete", "officer sign-in sessions, expired"),
        Kind("visitor_sessions", settings.retention_auth_days, "anonymise", "the chosen display name, once expired"),
        Kind(
            "handoffs",
            settings.retention_handoff_days,
            "anonymise",
            "transcript and summary of closed or expired officer handoffs (calls are never recorded)",
        ),
        Kind("audit_log", settings.retention_audit_days, "delete", "officer actions (kept the longest)"),
    ]


def _cutoff(now: dt.datetime, days: int) -> dt.datetime:
    return now - dt.timedelta(days=days)


def _upload_query(cutoff: dt.datetime) -> Any:
    closed = select(m.Application.id).where(m.Application.state.in_(FINAL), m.Application.updated_at < cutoff)
    return m.Document.created_at < cutoff, or_(
        m.Document.application_id.is_(None), m.Document.application_id.in_(closed)
    )


def _handoffs_with_content(db: Session, cutoff: dt.datetime) -> list[int]:
    rows = db.execute(
        select(m.Handoff.id, m.Handoff.transcript, m.Handoff.summary).where(
            m.Handoff.state.in_(CLOSED_HANDOFFS), m.Handoff.updated_at < cutoff
        )
    )
    return [hid for hid, transcript, summary in rows if transcript or summary]


def purge(db: Session, settings: Settings, apply: bool = False, now: dt.datetime | None = None) -> PurgeReport:
    """Count what is past its term; with ``apply``, remove it in one transaction (committed here), then its files."""
    now = now or m.now_utc()
    terms = {k.name: _cutoff(now, k.days) for k in policy(settings)}
    report = PurgeReport(applied=apply, now=now)

    def count(model: Any, *where: Any) -> int:
        return int(db.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    conv = (m.ConversationEvent.created_at < terms["conversation_logs"],)
    uploads = _upload_query(terms["uploads"])
    attempts = (m.AuthAttempt.created_at < terms["auth_attempts"],)
    codes = (m.IdentityChallenge.expires_at < terms["identity_codes"],)
    officer_sessions = (m.OfficerSession.expires_at < terms["officer_sessions"],)
    visitors = (m.VisitorSession.expires_at < terms["visitor_sessions"], m.VisitorSession.display_name.is_not(None))
    handoffs = _handoffs_with_content(db, terms["handoffs"])
    audit = (m.AuditLog.created_at < terms["audit_log"],)

    report.counts = {
        "conversation_logs": count(m.ConversationEvent, *conv),
        "uploads": count(m.Document, *uploads),
        "auth_attempts": count(m.AuthAttempt, *attempts),
        "identity_codes": count(m.IdentityChallenge, *codes),
        "officer_sessions": count(m.OfficerSession, *officer_sessions),
        "visitor_sessions": count(m.VisitorSession, *visitors),
        "handoffs": len(handoffs),
        "audit_log": count(m.AuditLog, *audit),
    }
    if not apply:
        return report

    db.execute(delete(m.ConversationEvent).where(*conv), execution_options=BULK)
    db.execute(delete(m.Document).where(*uploads), execution_options=BULK)
    db.execute(delete(m.AuthAttempt).where(*attempts), execution_options=BULK)
    db.execute(delete(m.IdentityChallenge).where(*codes), execution_options=BULK)
    db.execute(delete(m.OfficerSession).where(*officer_sessions), execution_options=BULK)
    db.execute(update(m.VisitorSession).where(*visitors).values(display_name=None), execution_options=BULK)
    if handoffs:
        db.execute(
            update(m.Handoff).where(m.Handoff.id.in_(handoffs)).values(transcript=[], summary=None),
            execution_options=BULK,
        )
    db.execute(delete(m.AuditLog).where(*audit), execution_options=BULK)
    db.add(
        m.AuditLog(
            officer_id=None,
            action="data_purge",
            target="retention",
            detail={"counts": report.counts, "terms_days": {k.name: k.days for k in policy(settings)}},
            created_at=now,
        )
    )
    db.commit()
    db.expire_all()  # bulk statements bypass the identity map
    # Files go only after the rows are gone for good; a file left by a crash here is swept next time.
    report.files_removed = sweep_files(db, settings.data_dir, now)
    return report


def sweep_files(db: Session, data_dir: Path, now: dt.datetime) -> int:
    """Remove stored uploads no row points at (one file serves every upload of the same content).

    Files younger than a day are left alone: an upload writes its file just before its row commits.
    """
    root = data_dir / "documents"
    if not root.is_dir():
        return 0
    young = (now - dt.timedelta(days=1)).timestamp()
    candidates = {
        p.name: p
        for p in root.glob("??/*")
        if p.is_file() and len(p.name) == 64 and p.suffix == "" and p.stat().st_mtime < young
    }
    if not candidates:
        return 0
    used: set[str] = set()
    names = sorted(candidates)
    for i in range(0, len(names), 500):
        used.update(db.scalars(select(m.Document.sha256).where(m.Document.sha256.in_(names[i : i + 500]))))
    removed = 0
    for name in sorted(set(candidates) - used):
        try:
            candidates[name].unlink()
        except FileNotFoundError:
            continue
        removed += 1
    return removed
