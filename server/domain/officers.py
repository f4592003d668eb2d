"""Officer accounts: argon2 hashes, scoped roles, sign-in slowed per address instead of locked."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from l10n import msg
from server.domain import keys
from server.domain.sessions import hash_token
from server.errors import ApiError
from server.persistence import models as m
from server.settings import Settings

ROLES = ("officer", "village", "faskes", "supervisor", "admin")
PAIR_FREE = 1  # failures from one address for one name before the delays start
IP_FREE = 10  # failures from one address over all names before that address is slowed
MAX_DELAY_S = 900
WINDOW_S = 3600
_hasher = PasswordHasher()
# Verified when the name is unknown, so that answer costs the same argon2 time as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_officer(
    db: Session,
    username: str,
    password: str,
    role: str = "officer",
    agency_id: str | None = None,
    village_code: str | None = None,
    full_name: str = "",
    facility: str | None = None,
    *,
    demo: bool = False,
) -> m.Officer:
    """``demo``: an account for demo tours, which sees only demo applications (and no real one)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if role == "officer" and not agency_id:
        raise ValueError("an agency officer needs --agency")
    if role == "village" and not village_code:
        raise ValueError("a village officer needs --village")
    facility = " ".join((facility or "").split()) or None
    if role == "faskes" and not facility:
        raise ValueError("a health-facility officer needs --facility (e.g. 'RSUD Blambangan')")
    if facility and len(facility) > 120:
        raise ValueError("facility name: at most 120 characters")
    if agency_id and db.get(m.Agency, agency_id) is None:
        raise ValueError(f"unknown agency {agency_id!r}")
    if len(password) < 8:
        raise ValueError("password must have at least 8 characters")
    if db.scalar(select(m.Officer).where(m.Officer.username == username)):
        raise ValueError(f"officer {username!r} already exists")
    officer = m.Officer(
        username=username,
        full_name=full_name or username,
        password_hash=hash_password(password),
        role=role,
        agency_id=agency_id,
        village_code=village_code,
        facility=facility if role == "faskes" else None,
        demo=demo,
    )
    db.add(officer)
    db.flush()
    return officer


@dataclass
class Login:
    officer: m.Officer
    token: str
    csrf: str


def delay_seconds(failures: int, free: int = 1) -> int:
    """Seconds to wait after ``failures`` recent failures, doubling once ``free`` are used up."""
    over = failures - free
    return 0 if over <= 0 else min(2**over, MAX_DELAY_S)


def _throttle_keys(settings: Settings, username: str, client: str) -> list[tuple[str, str, int]]:
    """(scope, key, free failures): one address guessing one name, and one address spraying many names.

    Keyed by the name as typed, never by the account, so a name that does not exist is throttled
    exactly like one that does, and a guesser elsewhere never slows the officer down.
    """
    k = keys.derive(settings, "login-index")
    name = username.strip().lower()
    return [("login_pair", keys.mac(k, client, name), PAIR_FREE), ("login_ip", keys.mac(k, client), IP_FREE)]


def _wait(db: Session, scope: str, key: str, free: int, now: dt.datetime) -> int:
    since = now - dt.timedelta(seconds=WINDOW_S)
    count, latest = db.execute(
        select(func.count(), func.max(m.AuthAttempt.created_at)).where(
            m.AuthAttempt.scope == scope, m.AuthAttempt.key == key, m.AuthAttempt.created_at > since
        )
    ).one()
    delay = delay_seconds(count, free)
    if not delay or latest is None:
        return 0
    left = (m.utc(latest) + dt.timedelta(seconds=delay) - now).total_seconds()
    return int(left) + 1 if left > 0 else 0


def login_wait(db: Session, settings: Settings, username: str, client: str, now: dt.datetime | None = None) -> int:
    now = now or m.now_utc()
    return max(_wait(db, scope, key, free, now) for scope, key, free in _throttle_keys(settings, username, client))


def login(db: Session, settings: Settings, username: str, password: str, client: str) -> Login:
    """One answer for an unknown name, a wrong password and a throttled client; no account is ever locked.

    A failure delays the next try from the same address (for that name, and for any name after many),
    with ``Retry-After``; the password is checked at the same argon2 cost whether or not the name exists.
    """
    # PostgreSQL cannot hold a NUL in text: such a name matches no officer (no username has one) and
    # is throttled under a stand-in, instead of the database refusing the query (422 on PostgreSQL only).
    username = username.replace("\x00", "\ufffd")
    now = m.now_utc()
    wait = login_wait(db, settings, username, client, now)
    if wait:
        raise too_many(wait)
    officer = db.scalar(select(m.Officer).where(m.Officer.username == username))
    try:
        _hasher.verify(officer.password_hash if officer is not None else _DUMMY_HASH, password)
        ok = officer is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok or officer is None:
        for scope, key, _free in _throttle_keys(settings, username, client):
            db.add(m.AuthAttempt(scope=scope, key=key, created_at=now))
        db.commit()
        wait = login_wait(db, settings, username, client, now)
        headers = {"Retry-After": str(wait)} if wait else None
        raise ApiError(
            401,
            "bad_credentials",
            "error.bad_credentials",
            headers=headers,
            retry_after=wait,
        )
    if not officer.active:
        raise ApiError(403, "disabled", "error.disabled")
    pair_scope, pair_key, _free = _throttle_keys(settings, username, client)[0]
    db.execute(delete(m.AuthAttempt).where(m.AuthAttempt.scope == pair_scope, m.AuthAttempt.key == pair_key))
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    db.add(
        m.OfficerSession(
            officer_id=officer.id,
            token_hash=hash_token(token),
            csrf_token=csrf,
            expires_at=now + dt.timedelta(hours=settings.officer_session_ttl_hours),
        )
    )
    db.flush()
    return Login(officer, token, csrf)


def too_many(wait: int) -> ApiError:
    return ApiError(
        429,
        "too_many_attempts",
        msg("error.too_many_attempts", wait=wait),
        headers={"Retry-After": str(wait)},
        retry_after=wait,
    )


def officer_for_token(db: Session, token: str | None) -> tuple[m.Officer, m.OfficerSession]:
    unauth = ApiError(401, "unauthorized", "error.officer_login_required")
    if not token or len(token) > 256:
        raise unauth
    sess = db.scalar(select(m.OfficerSession).where(m.OfficerSession.token_hash == hash_token(token)))
    if sess is None or sess.revoked or m.utc(sess.expires_at) <= m.now_utc():
        raise unauth
    officer = db.get(m.Officer, sess.officer_id)
    if officer is None or not officer.active:
        raise unauth
    return officer, sess


def revoke_all(db: Session, officer_id: int) -> None:
    for s in db.scalars(select(m.OfficerSession).where(m.OfficerSession.officer_id == officer_id)):
        s.revoked = True
