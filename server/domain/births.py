"""Lahir Procot: a health facility registers a birth, which becomes the akta kelahiran application.

The application is made on the family's behalf (the mother holds it, the father
sees it too), routed to Dukcapil's inbox, marked Lahir Procot and due the same day.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from protocol.api import BirthIn
from protocol.catalog import Catalog
from protocol.forms import validate_form
from protocol.nik import NikError, mask_nik, validate_nik
from server.domain import applications, sessions
from server.errors import ApiError
from server.persistence import models as m

SERVICE = "akta-kelahiran"
MAX_AGE_DAYS = 60  # UU 24/2013: a birth is reported within 60 days


def _nik(value: str, field: str) -> str:
    try:
        validate_nik(value)
    except NikError as exc:
        raise ApiError(422, "invalid_nik", exc.message_id, exc.message_en, field=field) from None
    return value


def _citizen(db: Session, nik: str, name: str, field: str) -> m.Citizen:
    """The parent's citizen record; a NIK already registered under another name is refused, not overwritten."""
    name = " ".join(name.split())
    found = db.scalar(select(m.Citizen).where(m.Citizen.nik == nik))
    if found is None:
        found = m.Citizen(nik=nik, name=name)
        db.add(found)
        db.flush()
        return found
    if " ".join(found.name.lower().split()) != name.lower():
        raise ApiError(
            409,
            "identity_mismatch",
            "error.identity_mismatch_parent",
            field=field,
        )
    return found


def register(
    db: Session, catalog: Catalog, officer: m.Officer, body: BirthIn, idempotency_key: str
) -> tuple[m.Application, bool, list[m.Event]]:
    """Returns (application, created, events); a repeated key returns the first registration."""
    key = idempotency_key.strip()
    if not key or len(key) > 120 or not key.isprintable():
        raise ApiError(400, "idempotency_key_invalid", "error.idempotency_key_invalid")
    if not officer.facility:
        raise ApiError(403, "no_facility", "error.no_facility")
    stored_key = f"faskes{officer.id}:{key}"
    req_hash = hashlib.sha256(json.dumps(body.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()
    existing = db.scalar(select(m.Application).where(m.Application.idempotency_key == stored_key))
    if existing is not None:
        if existing.request_hash != req_hash:
            raise ApiError(
                422,
                "idempotency_key_reused",
                "error.idempotency_key_reused_birth",
            )
        return existing, False, []
    today = sessions.today_wib()
    if body.birth_date > today:
        raise ApiError(422, "invalid_form", "error.birth_date_future", field="birth_date")
    if body.birth_date < today - dt.timedelta(days=MAX_AGE_DAYS):
        raise ApiError(
            422,
            "too_late",
            "error.too_late",
            field="birth_date",
        )
    mother_nik = _nik(body.mother_nik, "mother_nik")
    father_nik = _nik(body.father_nik, "father_nik") if body.father_nik else None
    if bool(father_nik) != bool(body.father_name):
        raise ApiError(
            422,
            "father_incomplete",
            "error.father_incomplete",
            field="father_name",
        )
    if father_nik and father_nik == mother_nik:
        raise ApiError(422, "same_nik", "error.same_nik")
    service = catalog.service(SERVICE)
    form = {
        "nik": mother_nik,
        "full_name": body.mother_name,
        "child_name": body.child_name,
        "birth_date": body.birth_date.isoformat(),
        "birth_place": "Banyuwangi",
        "child_sex": body.child_sex,
        "birth_letter": "surat_dokter_bidan",
    }
    clean, errors = validate_form(service, form)
    if errors:
        raise ApiError(
            422,
            "invalid_form",
            "error.invalid_form_answers",
            fields={k: {"id": v.id, "en": v.en} for k, v in errors.items()},
        )
    mother = _citizen(db, mother_nik, body.mother_name, "mother_name")
    father = _citizen(db, father_nik, body.father_name or "", "father_name") if father_nik else None
    now = m.now_utc()
    app = m.Application(
        service_id=SERVICE,
        agency_id=service.agency,
        village_code=None,
        citizen_id=mother.id,
        data=clean,
        state="submitted",
        version=2,
        sla_due=today,  # Lahir Procot: the same day
        idempotency_key=stored_key,
        request_hash=req_hash,
        created_at=now,
        updated_at=now,
        demo=bool(officer.demo),  # a demo tour's midwife registers demo births
    )
    db.add(app)
    db.flush()
    app.tracking_number = applications.tracking_number(app)
    db.add(
        m.BirthRegistration(
            application_id=app.id,
            facility=officer.facility,
            officer_id=officer.id,
            mother_citizen_id=mother.id,
            father_citizen_id=father.id if father else None,
            data={
                "mother_name": " ".join(body.mother_name.split()),
                "father_name": " ".join((body.father_name or "").split()) or None,
                "birth_time": body.birth_time.replace(".", ":") if body.birth_time else None,
                "weight_g": body.weight_g,
                "length_cm": body.length_cm,
                "facility": officer.facility,
            },
            created_at=now,
        )
    )
    actor = f"faskes:{officer.username}"
    events = []
    for source, target, version in ((None, "draft", 1), ("draft", "submitted", 2)):
        ev = m.Event(
            kind="application",
            citizen_id=mother.id,
            application_id=app.id,
            actor=actor,
            from_state=source,
            to_state=target,
            note="Lahir Procot" if target == "submitted" else None,
            payload={"tracking_number": app.tracking_number, "service_id": SERVICE, "version": version},
            created_at=now,
        )
        db.add(ev)
        events.append(ev)
    db.flush()
    return app, True, events


def procot_ids(db: Session, app_ids: list[int]) -> set[int]:
    """Which of these applications came from a health facility (the inbox marks them Lahir Procot)."""
    if not app_ids:
        return set()
    rows = db.scalars(select(m.BirthRegistration.application_id).where(m.BirthRegistration.application_id.in_(app_ids)))
    return set(rows)


def birth_rows(db: Session, officer: m.Officer, limit: int = 200) -> list[dict[str, Any]]:
    """The facility's own registrations, newest first, with the akta's state."""
    q = (
        select(m.BirthRegistration, m.Application, m.IssuedDocument)
        .join(m.Application, m.Application.id == m.BirthRegistration.application_id)
        .outerjoin(m.IssuedDocument, m.IssuedDocument.application_id == m.Application.id)
        .where(m.BirthRegistration.facility == officer.facility, m.Application.demo == bool(officer.demo))
        .order_by(m.BirthRegistration.id.desc())
        .limit(limit)
    )
    out = []
    for birth, app, doc in db.execute(q).all():
        out.append(
            {
                "tracking_number": app.tracking_number,
                "child_name": app.data.get("child_name"),
                "birth_date": app.data.get("birth_date"),
                "mother_name": birth.data.get("mother_name"),
                "mother_nik": mask_nik(app.data.get("nik", "")) if app.data.get("nik") else None,
                "state": app.state,
                "sla_due": app.sla_due.isoformat() if app.sla_due else None,
                "document": None if doc is None else {"number": doc.number, "revoked": doc.revoked_at is not None},
                "registered_at": m.utc(birth.created_at).isoformat(),
            }
        )
    return out
