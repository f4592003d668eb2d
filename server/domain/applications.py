"""Applications: validation, idempotent creation and transitions.

Each function works inside the caller's transaction; the caller commits and then wakes the
websocket hub, so an event is never pushed before it is durable.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from protocol.catalog import Catalog, Service
from protocol.forms import validate_form
from protocol.nik import mask_nik
from server.domain import states
from server.domain.events import append_event
from server.domain.sessions import WIB, today_wib
from server.errors import ApiError, not_found, unauthorized
from server.persistence import models as m
from server.persistence.fastsql import Prepared


def tracking_number(app: AppView) -> str:
    return f"BWI-{m.utc(app.created_at).astimezone(WIB).year}-{app.id:06d}"


def add_working_days(start: dt.date, days: int) -> dt.date:
    d = start
    left = days
    while left > 0:
        d += dt.timedelta(days=1)
        if d.isoweekday() <= 5:
            left -= 1
    return d


def masked_data(data: dict[str, Any], service_id: str | None = None) -> dict[str, Any]:
    """Personal fields masked by their catalogue TYPE (nik, kk, phone, email), not by their name.

    Without a known service every field is masked whose value looks like a NIK/KK number, a phone or an e-mail.
    """
    from protocol.catalog import default_catalog
    from protocol.forms import mask_value, masked_answers

    if service_id is not None:
        try:
            return masked_answers(default_catalog().service(service_id), data)
        except KeyError:
            pass
    out: dict[str, Any] = {}
    for k, v in data.items():
        kind = _looks_personal(v)
        out[k] = mask_value(kind, v) if kind else v
    return out


def _looks_personal(v: Any) -> str | None:
    if not isinstance(v, str):
        return None
    compact = v.replace(" ", "")
    if len(compact) == 16 and compact.isdigit():
        return "nik"
    if "@" in compact and "." in compact.rsplit("@", 1)[-1]:
        return "email"
    if compact.lstrip("+").isdigit() and compact.lstrip("+").startswith(("08", "628")) and 9 <= len(compact) <= 15:
        return "phone"
    return None


def application_dict(app: AppView, reveal: bool = False) -> dict[str, Any]:
    return {
        "tracking_number": app.tracking_number,
        "service_id": app.service_id,
        "agency_id": app.agency_id,
        "state": app.state,
        "version": app.version,
        "data": app.data if reveal else masked_data(app.data, app.service_id),
        "sla_due": app.sla_due.isoformat() if app.sla_due else None,
        "created_at": m.iso_utc(app.created_at),  # the same text as the response models' (GET answers)
        "updated_at": m.iso_utc(app.updated_at),
    }


def actor_for(citizen: m.Citizen) -> str:
    return f"citizen:{mask_nik(citizen.nik)}"


def request_hash(service_id: str, data: Any, submit: bool) -> str:
    canon = json.dumps({"s": service_id, "d": data, "submit": submit}, sort_keys=True, ensure_ascii=True, default=str)
    return hashlib.sha256(canon.encode()).hexdigest()


@dataclass(slots=True)
class AppSnapshot:
    """A just-inserted application, without the ORM's per-attribute bookkeeping."""

    id: int
    tracking_number: str | None
    service_id: str
    agency_id: str
    village_code: str | None
    citizen_id: int
    state: str
    version: int
    data: dict[str, Any]
    sla_due: dt.date | None
    created_at: dt.datetime
    updated_at: dt.datetime


AppView = m.Application | AppSnapshot  # what a response or an inbox frame reads of an application


class Wake(NamedTuple):
    """Whose outbox got new rows."""

    citizen_id: int | None
    session_id: int | None


@dataclass
class Created:
    application: AppView
    created: bool
    events: list[Wake]


def _ensure_citizen(db: Session, vs: m.VisitorSession, data: Any) -> m.Citizen:
    """The session's proven citizen. A NIK and name in the form prove nothing: the code does."""
    if vs.citizen_id is not None:
        citizen = db.get(m.Citizen, vs.citizen_id)
        assert citizen is not None
        return citizen
    raise ApiError(
        403,
        "identify_first",
        "error.identify_first",
    )


_APPS: Table = m.Application.__table__  # type: ignore[assignment]


_EVENTS: Table = m.Event.__table__  # type: ignore[assignment]


_CITIZENS: Table = m.Citizen.__table__  # type: ignore[assignment]


# Built once: the hot path (every submission) skips ORM flushes and statement construction.
_INSERT_APP = Prepared(insert(_APPS).returning(_APPS.c.id))


_SET_TRACKING = Prepared(update(_APPS).where(_APPS.c.id == bindparam("app_id")).values(tracking_number=bindparam("tn")))


_INSERT_EVENTS = Prepared(insert(_EVENTS))


_FIND_KEY = Prepared(select(_APPS.c.id).where(_APPS.c.idempotency_key.in_([bindparam("k1"), bindparam("k2")])))


_CITIZEN_NIK = Prepared(select(_CITIZENS.c.nik).where(_CITIZENS.c.id == bindparam("cid")))


def check_key(idempotency_key: str) -> str:
    key = idempotency_key.strip()
    if not key or len(key) > 120 or not key.isprintable():
        raise ApiError(400, "idempotency_key_invalid", "error.idempotency_key_invalid")
    return key


def validate_submission(catalog: Catalog, service_id: str, data: Any) -> tuple[Service, dict[str, Any]]:
    """The service and the cleaned answers, or the ApiError that refuses them (nothing written yet)."""
    try:
        service = catalog.service(service_id)
    except KeyError:
        raise not_found("error.not_found_service") from None
    clean, errors = validate_form(service, data)
    if errors:
        raise ApiError(
            422,
            "invalid_form",
            "error.invalid_form",
            fields={k: {"id": v.id, "en": v.en} for k, v in errors.items()},
        )
    return service, clean


def new_application_row(
    service: Service,
    clean: dict[str, Any],
    submit: bool,
    citizen_id: int,
    key: str,
    req_hash: str,
    now: dt.datetime,
) -> dict[str, Any]:
    return {
        "service_id": service.id,
        "agency_id": service.agency,
        "village_code": clean.get("village") if isinstance(clean.get("village"), str) else None,
        "citizen_id": citizen_id,
        "data": clean,
        "state": "submitted" if submit else "draft",
        "version": 2 if submit else 1,
        "sla_due": add_working_days(today_wib(now), service.processing_days) if submit else None,
        "idempotency_key": f"c{citizen_id}:{key}",
        "request_hash": req_hash,
        "created_at": now,
        "updated_at": now,
    }


def new_application_events(app: AppSnapshot, nik: str) -> list[dict[str, Any]]:
    """The events rows of a just-created application: draft, then submitted when it was submitted."""
    actor = f"citizen:{mask_nik(nik)}"
    steps = [(None, "draft", 1)] + ([("draft", "submitted", 2)] if app.state == "submitted" else [])
    payload_base = {"tracking_number": app.tracking_number, "service_id": app.service_id}
    return [
        {
            "kind": "application",
            "citizen_id": app.citizen_id,
            "session_id": None,
            "application_id": app.id,
            "ticket_id": None,
            "actor": actor,
            "from_state": source,
            "to_state": target,
            "note": None,
            "payload": {**payload_base, "version": version},
            "created_at": app.created_at,
        }
        for source, target, version in steps
    ]


def snapshot(app_id: int, row: dict[str, Any]) -> AppSnapshot:
    app = AppSnapshot(id=app_id, tracking_number=None, **{k: row[k] for k in _SNAPSHOT_FIELDS})
    app.tracking_number = tracking_number(app)
    return app


def create_application(
    db: Session,
    vs: m.VisitorSession,
    catalog: Catalog,
    service_id: str,
    data: Any,
    idempotency_key: str,
    submit: bool = False,
) -> Created:
    """One submission in the caller's transaction of its own (a group-commit batch is written by
    ``litesubmit``, PostgreSQL's by ``pgsubmit``), so a lost race on the key may roll it back."""
    key = check_key(idempotency_key)
    req_hash = request_hash(service_id, data, submit)
    existing = _find_idempotent(db, vs, key)
    if existing is not None:
        return replay(existing, existing.request_hash, req_hash)
    service, clean = validate_submission(catalog, service_id, data)
    citizen_id, nik = _citizen_of(db, vs, data)
    row = new_application_row(service, clean, submit, citizen_id, key, req_hash, m.now_utc())
    row["demo"] = bool(vs.demo)
    try:
        app_id = _INSERT_APP.scalar(db, row)
    except IntegrityError:
        # Lost a race on the same key: the caller's transaction is spent, so look again in a fresh one.
        db.rollback()
        existing = _find_idempotent(db, vs, key)
        if existing is None:
            raise
        return replay(existing, existing.request_hash, req_hash)
    app = snapshot(app_id, row)
    _SET_TRACKING.execute(db, {"app_id": app_id, "tn": app.tracking_number})
    _INSERT_EVENTS.executemany(db, new_application_events(app, nik))
    # Detached snapshots for the caller (response body, hub wake-up); the rows are written above.
    return Created(app, True, [Wake(app.citizen_id, None)])


_SNAPSHOT_FIELDS = (
    "service_id",
    "agency_id",
    "village_code",
    "citizen_id",
    "state",
    "version",
    "data",
    "sla_due",
    "created_at",
    "updated_at",
)


def _citizen_of(db: Session, vs: m.VisitorSession, data: Any) -> tuple[int, str]:
    if vs.citizen_id is not None:
        nik = _CITIZEN_NIK.scalar(db, {"cid": vs.citizen_id})
        if nik is None:
            raise unauthorized()
        return vs.citizen_id, str(nik)
    citizen = _ensure_citizen(db, vs, data)
    return citizen.id, citizen.nik


def _find_idempotent(db: Session, vs: m.VisitorSession, key: str) -> m.Application | None:
    k1 = f"s{vs.id}:{key}"
    k2 = k1 if vs.citizen_id is None else f"c{vs.citizen_id}:{key}"
    found = _FIND_KEY.scalar(db, {"k1": k1, "k2": k2})
    return None if found is None else db.get(m.Application, found)


def replay(existing: AppView, stored_hash: str, req_hash: str) -> Created:
    if stored_hash != req_hash:
        raise ApiError(
            422,
            "idempotency_key_reused",
            "error.idempotency_key_reused",
        )
    return Created(existing, False, [])


def transition(db: Session, app: m.Application, target: str, actor: str, by: str, note: str | None) -> m.Event:
    try:
        states.check(app.state, target, by, note)
    except states.TransitionError as exc:
        raise ApiError(409, exc.code, exc.message_id, exc.message_en, state=app.state) from None
    source = app.state
    app.state = target
    app.version += 1
    now = m.now_utc()
    app.updated_at = now
    if target == "submitted" and app.sla_due is None:
        service = db.get(m.Service, app.service_id)
        days = service.processing_days if service else 5
        app.sla_due = add_working_days(today_wib(now), days)
    db.flush()
    return append_event(db, app, source, target, actor, note.strip() if note else None)


def own_application(db: Session, vs: m.VisitorSession, tracking: str) -> m.Application:
    if vs.citizen_id is None:
        raise not_found("error.not_found_application")
    app = db.scalar(select(m.Application).where(m.Application.tracking_number == tracking))
    if app is None or app.citizen_id != vs.citizen_id:
        raise not_found("error.not_found_application")
    return app
