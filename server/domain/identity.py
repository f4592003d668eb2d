"""The citizen's second factor: NIK + name, then a one-time code sent to the NIK's own contact.

Only a correct code links a session to a citizen's applications. The reply to a code
request has one shape whatever the NIK (known or not, right name or not): for a claim
we cannot honour, a challenge is still created but its code is never sent, so it can
only fail. A NIK that has a contact is never re-bound by a claimant; an officer does
that (audited). Attempts are counted per NIK and per client in ``auth_attempts`` so the
limits hold across nodes and restarts.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from l10n import msg, t
from protocol.nik import NikError, validate_nik
from server.domain import keys
from server.domain.delivery import CodeMessage, Contact
from server.errors import ApiError
from server.persistence import models as m
from server.settings import Settings

CODE_TTL_S = 300
MAX_CODE_ATTEMPTS = 5
# scope -> (events allowed, window in seconds)
LIMITS: dict[str, tuple[int, int]] = {
    "code_nik": (3, 900),  # codes requested for one NIK
    "code_client": (10, 900),  # codes requested from one client address
    "fail_nik": (10, 3600),  # wrong codes against one NIK
    "fail_client": (20, 900),  # wrong codes from one client address
    "track_client": (10, 900),  # wrong receipt PINs from one client address
    "track_number": (5, 900),  # wrong receipt PINs for one tracking number
}

_PHONE_RE = re.compile(r"^(\+62|62|0)8[1-9][0-9]{6,11}$")
_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,24}$")


def too_many(retry_after: int) -> ApiError:
    wait = max(1, retry_after)
    return ApiError(
        429,
        "too_many_attempts",
        msg("error.too_many_attempts", wait=wait),
        retry_after=wait,
        headers={"Retry-After": str(wait)},
    )


def code_invalid() -> ApiError:
    return ApiError(
        400,
        "code_invalid",
        "error.code_invalid",
    )


def nik_key(settings: Settings, nik: str) -> str:
    return keys.mac(keys.derive(settings, "nik-index"), nik)


def _client_key(settings: Settings, client: str) -> str:
    return keys.mac(keys.derive(settings, "client-index"), client or "?")


def check_limit(db: Session, scope: str, key: str, now: dt.datetime | None = None, allowed: int | None = None) -> None:
    """429 with Retry-After when ``scope``'s window for ``key`` is full."""
    default, window = LIMITS[scope]
    allowed = default if allowed is None else allowed
    now = now or m.now_utc()
    since = now - dt.timedelta(seconds=window)
    count, oldest = db.execute(
        select(func.count(), func.min(m.AuthAttempt.created_at)).where(
            m.AuthAttempt.scope == scope, m.AuthAttempt.key == key, m.AuthAttempt.created_at > since
        )
    ).one()
    if count >= allowed and oldest is not None:
        raise too_many(int((m.utc(oldest) + dt.timedelta(seconds=window) - now).total_seconds()) + 1)


def record(db: Session, scope: str, key: str) -> None:
    db.add(m.AuthAttempt(scope=scope, key=key, created_at=m.now_utc()))


def parse_contact(raw: str | None) -> Contact | None:
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    if "@" in text:
        if not _EMAIL_RE.match(text):
            raise ApiError(422, "invalid_contact", "error.invalid_email")
        return Contact("email", text.lower())
    compact = re.sub(r"[\s()-]", "", text)
    if not _PHONE_RE.match(compact):
        raise ApiError(
            422,
            "invalid_contact",
            "error.invalid_contact",
        )
    if compact.startswith("+62"):
        compact = "0" + compact[3:]
    elif compact.startswith("62"):
        compact = "0" + compact[2:]
    return Contact("phone", compact)


def mask_contact(kind: str | None, value: str | None) -> str | None:
    if not value:
        return None
    if kind == "email":
        user, _, domain = value.partition("@")
        return f"{user[:1]}***@{domain}"
    return f"{value[:4]}****{value[-3:]}" if len(value) > 7 else "*" * len(value)


def norm_name(name: str) -> str:
    return " ".join(name.lower().split())


def _code_hash(settings: Settings, public_id: str, code: str) -> str:
    return keys.mac(keys.derive(settings, "otp"), public_id, code)


@dataclass
class CodeRequest:
    reply: dict[str, Any]
    message: CodeMessage | None  # None: nothing to send (the claim cannot be honoured)


def request_code(
    db: Session,
    settings: Settings,
    vs: m.VisitorSession,
    nik: Any,
    name: str,
    contact_raw: str | None,
    client: str,
    lang: str = "id",
) -> CodeRequest:
    """Create a challenge; the caller commits, then sends ``message`` if any."""
    try:
        validate_nik(nik)
    except NikError as exc:
        raise ApiError(422, "invalid_nik", exc.message_id, exc.message_en, field="nik") from None
    name = " ".join(str(name).split())
    if not name or any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise ApiError(422, "invalid_name", "error.invalid_name", field="name")
    contact = parse_contact(contact_raw)
    nkey, ckey = nik_key(settings, nik), _client_key(settings, client)
    check_limit(db, "code_client", ckey, allowed=settings.otp_per_client)
    check_limit(db, "code_nik", nkey, allowed=settings.otp_per_nik)
    record(db, "code_client", ckey)
    record(db, "code_nik", nkey)
    citizen = db.scalar(select(m.Citizen).where(m.Citizen.nik == nik))
    target: Contact | None = None
    purpose = "void"
    if citizen is not None:
        if citizen.contact and norm_name(citizen.name) == norm_name(name):
            purpose, target = "link", Contact(citizen.contact_kind or "email", citizen.contact)
    elif contact is not None:
        purpose, target = "bind", contact
    public_id = secrets.token_urlsafe(18)
    code = f"{secrets.randbelow(10**6):06d}"
    now = m.now_utc()
    db.add(
        m.IdentityChallenge(
            public_id=public_id,
            session_id=vs.id,
            nik_key=nkey,
            citizen_id=citizen.id if citizen is not None and purpose == "link" else None,
            purpose=purpose,
            nik=nik if purpose == "bind" else None,
            name=name if purpose == "bind" else None,
            contact_kind=target.kind if purpose == "bind" and target else None,
            contact=target.value if purpose == "bind" and target else None,
            code_hash=_code_hash(settings, public_id, code),
            attempts=0,
            expires_at=now + dt.timedelta(seconds=CODE_TTL_S),
            created_at=now,
        )
    )
    db.flush()
    reply = {
        "challenge_id": public_id,
        "expires_in": CODE_TTL_S,
        "code_length": 6,
        "message_id": t("api.code_sent", "id"),
        "message_en": t("api.code_sent", "en"),
    }
    message = CodeMessage(target, code, lang, public_id) if target is not None else None
    return CodeRequest(reply, message)


def verify_code(
    db: Session, settings: Settings, vs: m.VisitorSession, challenge_id: str, code: str, client: str
) -> m.Citizen:
    """Link the session to the challenge's citizen. Failures are committed before the error is raised."""
    ckey = _client_key(settings, client)
    check_limit(db, "fail_client", ckey, allowed=settings.otp_fail_per_client)
    ch = db.scalar(select(m.IdentityChallenge).where(m.IdentityChallenge.public_id == str(challenge_id)[:64]))
    now = m.now_utc()

    def fail(nik_scope: str | None) -> ApiError:
        record(db, "fail_client", ckey)
        if nik_scope:
            record(db, "fail_nik", nik_scope)
        db.commit()  # the ledger must outlive the refused request
        return code_invalid()

    if ch is None or ch.session_id != vs.id:
        raise fail(None)
    check_limit(db, "fail_nik", ch.nik_key)
    if ch.used_at is not None or m.utc(ch.expires_at) <= now or ch.attempts >= MAX_CODE_ATTEMPTS:
        raise fail(ch.nik_key)
    good = hmac.compare_digest(ch.code_hash, _code_hash(settings, ch.public_id, str(code).strip()))
    if not good or ch.purpose == "void":
        ch.attempts += 1
        raise fail(ch.nik_key)
    citizen: m.Citizen | None
    if ch.purpose == "link":
        citizen = db.get(m.Citizen, ch.citizen_id) if ch.citizen_id else None
    else:
        citizen = _bind(db, ch)
    if citizen is None:
        ch.attempts = MAX_CODE_ATTEMPTS
        raise fail(ch.nik_key)
    if vs.citizen_id not in (None, citizen.id):
        raise ApiError(
            409,
            "already_identified",
            "error.already_identified",
        )
    ch.used_at = now
    vs.citizen_id = citizen.id
    # Older codes of this session are spent as well: one proof, one link.
    for other in db.scalars(
        select(m.IdentityChallenge).where(
            m.IdentityChallenge.session_id == vs.id, m.IdentityChallenge.used_at.is_(None)
        )
    ):
        other.used_at = now
    return citizen


def _bind(db: Session, ch: m.IdentityChallenge) -> m.Citizen | None:
    """First registration: the NIK gets the contact that just proved itself, unless someone was faster."""
    nik = ch.nik
    if nik is None or ch.contact is None or ch.name is None:
        return None
    existing = db.scalar(select(m.Citizen).where(m.Citizen.nik == nik))
    if existing is not None:
        return None  # bound (or known) meanwhile: a claimant never re-binds
    citizen = m.Citizen(nik=nik, name=ch.name, contact_kind=ch.contact_kind, contact=ch.contact)
    try:
        with db.begin_nested():
            db.add(citizen)
            db.flush()
    except IntegrityError:
        return None
    return citizen


def purge_attempts(db: Session, now: dt.datetime | None = None) -> int:
    now = now or m.now_utc()
    horizon = now - dt.timedelta(seconds=max(w for _, w in LIMITS.values()))
    result = db.execute(delete(m.AuthAttempt).where(m.AuthAttempt.created_at < horizon))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def receipt_pin(settings: Settings, tracking_number: str) -> str:
    """8 digits printed on the receipt: with the tracking number, anyone holding it may follow that one application."""
    digest = keys.mac(keys.derive(settings, "receipt-pin"), tracking_number)
    return f"{int(digest[:15], 16) % 10**8:08d}"


def check_receipt(db: Session, settings: Settings, tracking_number: str, pin: str, client: str) -> m.Application:
    """The application behind a receipt; a wrong PIN or number gives one uniform 404, limited per client and number."""
    ckey = _client_key(settings, client)
    tkey = keys.mac(keys.derive(settings, "tracking-index"), tracking_number)
    check_limit(db, "track_client", ckey)
    check_limit(db, "track_number", tkey)
    app = db.scalar(select(m.Application).where(m.Application.tracking_number == tracking_number))
    good = hmac.compare_digest(receipt_pin(settings, tracking_number).encode(), str(pin).strip().encode())
    if app is None or not good:
        record(db, "track_client", ckey)
        record(db, "track_number", tkey)
        db.commit()
        raise ApiError(
            404,
            "receipt_not_found",
            "error.receipt_not_found",
        )
    return app
