"""Visitor sessions and who they belong to: every route and the assistant port start here."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from protocol.clock import WIB
from protocol.nik import NikError
from server.errors import ApiError, unauthorized
from server.persistence import models as m
from server.persistence.fastsql import Prepared
from server.settings import Settings


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def today_wib(now: dt.datetime | None = None) -> dt.date:
    return (now or m.now_utc()).astimezone(WIB).date()


def create_session(
    db: Session, settings: Settings, lang: str = "id", name: str | None = None, *, demo: bool = False
) -> tuple[str, m.VisitorSession]:
    token = secrets.token_urlsafe(32)  # 256 bits
    vs = m.VisitorSession(
        public_id=secrets.token_hex(8),
        token_hash=hash_token(token),
        lang=lang,
        display_name=name,
        expires_at=m.now_utc() + dt.timedelta(hours=settings.session_ttl_hours),
        demo=demo,
    )
    db.add(vs)
    db.flush()
    return token, vs


_SESSION_BY_HASH = select(m.VisitorSession).where(m.VisitorSession.token_hash == bindparam("h"))


_VS = m.VisitorSession


_SESSION_BRIEF = Prepared(
    select(_VS.id, _VS.citizen_id, _VS.expires_at > bindparam("now"), _VS.demo).where(_VS.token_hash == bindparam("h"))
)


@dataclass(frozen=True, slots=True)
class StoredHash:
    """A session named by its stored token hash: in-process callers (the chat) hold no bearer token."""

    value: str


SessionKey = str | StoredHash | None  # a bearer token from a client, or the stored hash


def token_hash_of(token: SessionKey) -> str:
    if isinstance(token, StoredHash):
        return token.value
    if not token or len(token) > 256:
        raise unauthorized()
    return hash_token(token)


def session_for_submission(db: Session, token: SessionKey) -> m.VisitorSession:
    """Like :func:`session_for_token`, in one plain statement when the session is already identified.

    Returns a detached snapshot then (id, citizen and the demo tag): submitting never changes the session.
    """
    h = token_hash_of(token)
    row = _SESSION_BRIEF.first(db, {"h": h, "now": m.now_utc()})
    if row is None:
        raise unauthorized()
    if not row[2]:
        raise unauthorized("token_expired")
    if row[1] is None:
        return session_for_token(db, token)  # identify() will attach the citizen to the stored session
    return m.VisitorSession(id=row[0], citizen_id=row[1], demo=bool(row[3]))


def session_for_token(db: Session, token: SessionKey) -> m.VisitorSession:
    vs = db.scalar(_SESSION_BY_HASH, {"h": token_hash_of(token)})
    if vs is None:
        raise unauthorized()
    if m.utc(vs.expires_at) <= m.now_utc():
        raise unauthorized("token_expired")
    return vs


def nik_error(exc: NikError) -> ApiError:
    return ApiError(422, "invalid_nik", exc.message_id, exc.message_en, field="nik")


def link_citizen(db: Session, vs: m.VisitorSession, citizen: m.Citizen) -> None:
    """Attach a proven citizen to the session (after a code, or an officer's identification)."""
    if vs.citizen_id not in (None, citizen.id):
        raise ApiError(
            409,
            "already_identified",
            "error.already_identified",
        )
    vs.citizen_id = citizen.id
