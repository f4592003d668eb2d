"""The relational model. Alembic migrations in ``server/migrations`` mirror it.

Times are stored as timezone-aware UTC; SQLite hands them back naive, so
``utc()`` normalises on the way out.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only autoincrements INTEGER PRIMARY KEY; keep BIGINT on PostgreSQL.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def iso_utc(value: dt.datetime) -> str:
    """The wire form of a moment, as the protocol's response models write it (``...Z``)."""
    return utc(value).astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Agency(Base):
    __tablename__ = "agencies"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name_id: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    short: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(20), default="agency")
    color: Mapped[str] = mapped_column(String(7))


class Counter(Base):
    __tablename__ = "counters"
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    code: Mapped[str] = mapped_column(String(1), unique=True)
    agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"))
    label_id: Mapped[str] = mapped_column(String(120))
    label_en: Mapped[str] = mapped_column(String(120))


class Service(Base):
    __tablename__ = "services"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"), index=True)
    counter: Mapped[int] = mapped_column(ForeignKey("counters.number"))
    name_id: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    processing_days: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    checked: Mapped[dt.date] = mapped_column(Date)


class Village(Base):
    __tablename__ = "villages"
    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    name: Mapped[str] = mapped_column(String(120), index=True)
    kecamatan_code: Mapped[str] = mapped_column(String(8), index=True)
    kecamatan_name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(12), default="desa")


class Citizen(Base):
    __tablename__ = "citizens"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    nik: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    # The contact that proved itself with a code; codes for this NIK only ever go there.
    contact_kind: Mapped[str | None] = mapped_column(String(10))
    contact: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now_utc)


class IdentityChallenge(Base):
    """One code sent (or, for an unknown claim, deliberately not sent) to link a session to a NIK."""

    __tablename__ = "identity_challenges"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("visitor_sessions.id"), index=True)
    nik_key: Mapped[str] = mapped_column(String(64), index=True)
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizens.id"))
    purpose: Mapped[str] = mapped_column(String(10))  # link | bind | void
    nik: Mapped[str | None] = mapped_column(String(16))  # bind only: the NIK a new contact is proving for
    name: Mapped[str | None] = mapped_column(String(120))
    contact_kind: Mapped[str | None] = mapped_column(String(10))
    contact: Mapped[str | None] = mapped_column(String(200))
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now_utc)


class AuthAttempt(Base):
    """Rate-limit ledger (code requests, failed codes, failed logins): counted over a sliding window."""

    __tablename__ = "auth_attempts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    scope: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now_utc)

    __table_args__ = (Index("ix_auth_attempts_scope_key_created", "scope", "key", "created_at"),)


class VisitorSession(Base):
    __tablename__ = "visitor_sessions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizens.id"), index=True)
    display_name: Mapped[str | None] = mapped_column(String(60))
    lang: Mapped[str] = mapped_column(String(2), default="id")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now_utc)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # a demo tour's visitor: what it submits is tagged demo (kept out of real officers' lists and reports)
    demo: Mapped[bool] = mapped_column(Boolean, server_default=false())


class Application(Base):
    __tablename__ = "applications"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tracking_number: Mapped[str | None] = mapped_column(String(20), unique=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id"), index=True)
    agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"), index=True)
    village_code: Mapped[str | None] = mapped_column(String(60), index=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(20), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    sla_due: Mapped[dt.date | None] = mapped_column(Date)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now_utc)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now_utc)
    demo: Mapped[bool] = mapped_column(Boolean, server_default=false(), index=True)  # made by a demo tour

    # Optimistic locking: UPDATEs check the version; we bump it ourselves on each transition only.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}


class Event(Base):
    """Append-only audit of application and queue changes; also the websocket outbox (id = seq)."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizens.id"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("visitor_sessions.id"))
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("queue_tickets.id"))
    actor: Mapped[str] = mapped_column(String(80))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now_utc)

    __table_args__ = (
        Index("ix_events_citizen_id_id", "citizen_id", "id"),
        Index("ix_events_session_id_id", "session_id", "id"),
    )


class QueueTicket(Base):
    __tablename__ = "queue_tickets"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    counter: Mapped[int] = mapped_column(ForeignKey("counters.number"))
    day: Mapped[dt.date] = mapped_column(Date)
    number: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(8))
    session_id: Mapped[int] = mapped_column(ForeignKey("visitor_sessions.id"), index=True)
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizens.id"))
    state: Mapped[str] = mapped_column(String(10), default="waiting")
    active_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now_utc)
    called_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("counter", "day", "number", name="uq_ticket_counter_day_number"),)


class Officer(Base):
    __tablename__ = "officers"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    full_name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    agency_id: Mapped[str | None] = mapped_column(ForeignKey("agencies.id"))
    village_code: Mapped[str | None] = mapped_column(String(60))
    facility: Mapped[str | None] = mapped_column(String(120))  # role faskes: the hospital, puskesmas or midwife
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now_utc)
    # a demo-<agency> account: sees only demo applications, a real officer never does
    demo: Mapped[bool] = mapped_column(Boolean, server_default=false())


class OfficerSession(Base):
    __tablename__ = "officer_sessions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now_utc)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class AuditLog(Base):
    """Officer actions that are not state transitions (NIK reveal, account changes)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(80))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now_utc)


class Document(Base):
    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(200))
    session_id: Mapped[int] = mapped_column(ForeignKey("visitor_sessions.id"))
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizens.id"), index=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now_utc)


class SurveyResponse(Base):
    __tablename__ = "survey_responses"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("visitor_sessions.id"))
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"))
    handoff_id: Mapped[int | None] = mapped_column(ForeignKey("handoffs.id"))
    service_id: Mapped[str | None] = mapped_column(String(40))
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now_utc)

    # One rating per application / handoff per session, even under concurrent requests (NULLs never collide).
    __table_args__ = (
        Index("uq_survey_session_application", "session_id", "application_id", unique=True),
        Index("uq_survey_session_handoff", "session_id", "handoff_id", unique=True),
    )


class Complaint(Base):
    __tablename__ = "complaints"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("visitor_sessions.id"))
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizens.id"))
    agency_id: Mapped[str | None] = mapped_column(ForeignKey("agencies.id"))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), default="open")
    response: Mapped[str | None] = mapped_column(Text)
    assigned_officer_id: Mapped[int | None] = mapped_column(
        ForeignKey("officers.id", name="fk_complaints_assigned_officer")
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now_utc)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now_utc)

    __table_args__ = (
        Index("ix_complaints_session_id", "session_id"),
        Index("ix_complaints_citizen_id", "citizen_id"),
        Index("ix_complaints_agency_id", "agency_id"),
    )


class ConversationEvent(Base):
    """The assistant's dialogue log: replaying it resumes a conversation after a restart."""

    __tablename__ = "conversation_events"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(64), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("visitor_sessions.id"))
    event: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now_utc)


class Handoff(Base):
    __tablename__ = "handoffs"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(64), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("visitor_sessions.id"))
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizens.id"))
    agency_id: Mapped[str | None] = mapped_column(ForeignKey("agencies.id"))
    service_id: Mapped[str | None] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(20), default="pending")
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    transcript: Mapped[list[Any]] = mapped_column(JSON, default=list)
    summary: Mapped[str | None] = mapped_column(Text)
    guided: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now_utc)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now_utc)


class DashboardDataset(Base):
    __tablename__ = "dashboard_datasets"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    label_id: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(200))
    sample: Mapped[bool] = mapped_column(Boolean, default=True)
    source: Mapped[str] = mapped_column(String(300), default="")
    rows: Mapped[list[Any]] = mapped_column(JSON, default=list)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now_utc)


class IssuedDocument(Base):
    """A signed document issued on completion: one per application (the unique key makes re-issue idempotent).

    The signed PDF is stored in the row, so the document and the completion commit together or not at all.
    """

    __tablename__ = "issued_documents"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True)
    code: Mapped[str] = mapped_column(String(43), unique=True)
    number: Mapped[str] = mapped_column(String(60), unique=True)
    service_id: Mapped[str] = mapped_column(String(40))
    agency_id: Mapped[str] = mapped_column(String(40))
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"), index=True)
    holder_masked: Mapped[str] = mapped_column(String(120))
    issuer: Mapped[str] = mapped_column(String(200))
    signer: Mapped[str] = mapped_column(String(200))
    development: Mapped[bool] = mapped_column(Boolean, default=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    pdf: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now_utc)
    handed_over_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    revoked_by: Mapped[str | None] = mapped_column(String(80))


class BirthRegistration(Base):
    """A birth registered at a health facility (Lahir Procot): the akta application made on the family's behalf."""

    __tablename__ = "birth_registrations"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True)
    facility: Mapped[str] = mapped_column(String(120), index=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id"))
    mother_citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"), index=True)
    father_citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizens.id"), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now_utc)
