"""Officer accounts: argon2 hashes, scoped roles, login with lockout."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.domain.sessions import hash_token
from server.errors import ApiError
from server.persistence import models as m

ROLES = ("officer", "village", "faskes", "supervisor", "admin")
MAX_FAILURES = 5
LOCK_MINUTES = 15
_hasher = PasswordHasher()


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
) -> m.Officer:
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
    )
    db.add(officer)
    db.flush()
    return officer


@dataclass
class Login:
    officer: m.Officer
    token: str
    csrf: str


def delay_seconds(failures: int) -> int:
    """Progressive delay the client is asked to wait (Retry-After) after each failure."""
    return 0 if failures <= 1 else min(2 ** (failures - 1), 30)


def login(db: Session, username: str, password: str, ttl_hours: float) -> Login:
    now = m.now_utc()
    officer = db.scalar(select(m.Officer).where(m.Officer.username == username))
    bad = ApiError(401, "bad_credentials", "Nama pengguna atau kata sandi salah.", "Wrong username or password.")
    if officer is None:
        _hasher.hash(password)  # same cost as a real check, so timing does not reveal usernames
        raise bad
    if officer.locked_until is not None and m.utc(officer.locked_until) > now:
        wait = int((m.utc(officer.locked_until) - now).total_seconds()) + 1
        raise ApiError(
            429,
            "locked",
            f"Akun dikunci sementara karena terlalu banyak percobaan. Coba lagi dalam {wait} detik.",
            f"Account temporarily locked after too many attempts. Try again in {wait} seconds.",
            retry_after=wait,
        )
    try:
        _hasher.verify(officer.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        officer.failed_logins += 1
        if officer.failed_logins >= MAX_FAILURES:
            officer.locked_until = now + dt.timedelta(minutes=LOCK_MINUTES)
        db.commit()
        raise bad from None
    if not officer.active:
        raise ApiError(403, "disabled", "Akun dinonaktifkan.", "This account is disabled.")
    officer.failed_logins = 0
    officer.locked_until = None
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    db.add(
        m.OfficerSession(
            officer_id=officer.id,
            token_hash=hash_token(token),
            csrf_token=csrf,
            expires_at=now + dt.timedelta(hours=ttl_hours),
        )
    )
    db.flush()
    return Login(officer, token, csrf)


def officer_for_token(db: Session, token: str | None) -> tuple[m.Officer, m.OfficerSession]:
    unauth = ApiError(401, "unauthorized", "Perlu masuk sebagai petugas.", "Officer login required.")
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
