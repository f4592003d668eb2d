"""Issuing documents inside the completion transaction, revoking them, and what the public may see.

Exactly once per completion: the PDF is rendered and signed *before* anything is
written (no write lock held while signing), then the state change and the
document row commit together. A crash before the commit leaves the application
``ready`` with no document, and a retry issues it; the unique key on
``application_id`` makes a concurrent or repeated issue a conflict, never a second
document.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from protocol.catalog import Catalog
from server.domain import applications, sessions, states
from server.domain.documents import layouts, pki
from server.domain.documents.render import render_pdf
from server.domain.documents.sign import sign_pdf, timestamper_for
from server.errors import ApiError
from server.persistence import models as m
from server.settings import Settings

log = logging.getLogger(__name__)
CODE_BYTES = 16  # 128 bits: unguessable, and short enough for a dense-free QR


def material_for(settings: Settings) -> pki.KeyMaterial:
    password = settings.signing_key_password.get_secret_value() if settings.signing_key_password else None
    return pki.key_material(settings.pki_path, settings.signing_keys or None, password, settings.trust_roots)


def verify_url(settings: Settings, code: str) -> str:
    return f"{settings.base_url}/verify/{code}"


def _unavailable(detail: str) -> ApiError:
    log.error("signing unavailable: %s", detail)
    return ApiError(
        503,
        "signing_unavailable",
        "error.signing_unavailable",
    )


def _issuer(catalog: Catalog, kind: layouts.Kind, village: tuple[str, str] | None, agency_id: str) -> str:
    if kind.role == "desa":
        return f"Pemerintah Desa/Kelurahan {village[0]}, Kecamatan {village[1]}" if village else "Pemerintah Desa"
    try:
        return catalog.agency(agency_id).name.id
    except KeyError:
        return agency_id


def render_and_sign(
    db: Session, settings: Settings, catalog: Catalog, app: m.Application, issued: dt.date | None = None
) -> m.IssuedDocument:
    """A transient document row for ``app``; nothing is written."""
    kind = layouts.KINDS[app.service_id]
    issued = issued or sessions.today_wib()
    try:
        service = catalog.service(app.service_id)
    except KeyError:
        service = None
    village = None
    if app.village_code:
        v = db.get(m.Village, app.village_code)
        if v is not None:
            village = (v.name, v.kecamatan_name)
    birth = db.scalar(select(m.BirthRegistration).where(m.BirthRegistration.application_id == app.id))
    try:
        material = material_for(settings)
        signer_title = pki.ROLES[kind.role].title_id
        if kind.role == "desa" and village:
            signer_title = f"Kepala Desa/Lurah {village[0]}"
        code = secrets.token_urlsafe(CODE_BYTES)
        number = layouts.document_number(app.service_id, app.id, issued)
        ctx = layouts.Context(
            service=service,
            data=dict(app.data),
            number=number,
            code=code,
            verify_url=verify_url(settings, code),
            issued=issued,
            specimen=material.development,
            village=village,
            birth=dict(birth.data) if birth is not None else None,
            signer_title=signer_title,
        )
        raw = render_pdf(layouts.build_spec(ctx))
        signed = sign_pdf(
            raw,
            material,
            kind.role,
            reason=f"{kind.title_id} Nomor {number}",
            timestamper=timestamper_for(settings.tsa_url),
        )
    except pki.KeyMaterialError as exc:
        raise _unavailable(str(exc)) from None
    except (OSError, ValueError) as exc:  # TSA unreachable or refused (TimestampRequestError is an IOError)
        raise _unavailable(f"{exc.__class__.__name__}: {exc}") from None
    return m.IssuedDocument(
        application_id=app.id,
        code=code,
        number=number,
        service_id=app.service_id,
        agency_id=app.agency_id,
        citizen_id=app.citizen_id,
        holder_masked=layouts.mask_name(layouts.holder_name(app.service_id, app.data)),
        issuer=_issuer(catalog, kind, village, app.agency_id),
        signer=signer_title,
        development=material.development,
        sha256=hashlib.sha256(signed).hexdigest(),
        size=len(signed),
        pdf=signed,
        issued_at=m.now_utc(),
    )


def document_event(db: Session, app: m.Application, doc: m.IssuedDocument, what: str, actor: str) -> list[m.Event]:
    """``document.event`` rows in the holder's stream (and the father's, for a Lahir Procot birth)."""
    citizens = [app.citizen_id]
    birth = db.scalar(select(m.BirthRegistration).where(m.BirthRegistration.application_id == app.id))
    if birth is not None and birth.father_citizen_id and birth.father_citizen_id != app.citizen_id:
        citizens.append(birth.father_citizen_id)
    kind = layouts.KINDS.get(doc.service_id)
    out = []
    for cid in citizens:
        ev = m.Event(
            kind="document",
            citizen_id=cid,
            application_id=app.id,
            actor=actor,
            from_state=None,
            to_state=what,
            payload={
                "tracking_number": app.tracking_number,
                "service_id": app.service_id,
                "number": doc.number,
                "title": kind.title_id if kind else doc.service_id,
                "claim_slip": bool(kind and kind.claim_slip),
            },
            created_at=m.now_utc(),
        )
        db.add(ev)
        out.append(ev)
    return out


def complete(
    db: Session, settings: Settings, catalog: Catalog, app: m.Application, actor: str, note: str | None
) -> list[m.Event]:
    """Move ``app`` to completed and issue its document in the same transaction (the caller commits)."""
    try:
        states.check(app.state, "completed", "officer", note)
    except states.TransitionError as exc:
        raise ApiError(409, exc.code, exc.message_id, exc.message_en, state=app.state) from None
    existing = db.scalar(select(m.IssuedDocument.id).where(m.IssuedDocument.application_id == app.id))
    doc = None if existing is not None else render_and_sign(db, settings, catalog, app)
    events = [applications.transition(db, app, "completed", actor, "officer", note)]
    if doc is not None:
        db.add(doc)
        db.flush()  # the unique key on application_id refuses a second document here
        events += document_event(db, app, doc, "issued", actor)
    return events


def ensure_issued(
    db: Session, settings: Settings, catalog: Catalog, app: m.Application, actor: str
) -> tuple[m.IssuedDocument, list[m.Event]]:
    """Idempotent (re-)issue for a completed application: the existing document, or a new one."""
    if not layouts.issues_document(app.service_id):
        raise ApiError(409, "no_document", "error.no_document")
    if app.state != "completed":
        raise ApiError(
            409,
            "not_completed",
            "error.not_completed",
            state=app.state,
        )
    found = document_for(db, app.id)
    if found is not None:
        return found, []
    doc = render_and_sign(db, settings, catalog, app)
    try:
        with db.begin_nested():
            db.add(doc)
            db.flush()
    except IntegrityError:
        found = document_for(db, app.id)
        if found is None:
            raise
        return found, []
    return doc, document_event(db, app, doc, "issued", actor)


def document_for(db: Session, application_id: int) -> m.IssuedDocument | None:
    return db.scalar(select(m.IssuedDocument).where(m.IssuedDocument.application_id == application_id))


def revoke(
    db: Session, app: m.Application, doc: m.IssuedDocument, officer: m.Officer, reason: str | None
) -> list[m.Event]:
    reason = " ".join((reason or "").split())
    if len(reason) < 5:
        raise ApiError(
            422,
            "reason_required",
            "error.reason_required",
            field="reason",
        )
    if doc.revoked_at is not None:
        raise ApiError(409, "already_revoked", "error.already_revoked")
    actor = f"officer:{officer.username}"
    doc.revoked_at = m.now_utc()
    doc.revoked_reason = reason[:2000]
    doc.revoked_by = actor
    db.add(
        m.AuditLog(
            officer_id=officer.id,
            action="document_revoke",
            target=doc.number,
            detail={"tracking_number": app.tracking_number, "reason": reason[:2000]},
        )
    )
    return document_event(db, app, doc, "revoked", actor)


def hand_over(db: Session, app: m.Application, doc: m.IssuedDocument, officer: m.Officer) -> list[m.Event]:
    """The counter officer hands the printed document over in the hall (recorded once)."""
    if doc.revoked_at is not None:
        raise ApiError(409, "revoked", "error.revoked")
    if doc.handed_over_at is not None:
        return []
    doc.handed_over_at = m.now_utc()
    return document_event(db, app, doc, "handed_over", f"officer:{officer.username}")


def summary(settings: Settings, app: m.Application | None, doc: m.IssuedDocument) -> dict[str, Any]:
    """What the holder (or an officer in scope) sees of a document."""
    kind = layouts.KINDS.get(doc.service_id)
    return {
        "number": doc.number,
        "title": kind.title_id if kind else doc.service_id,
        "title_en": kind.title_en if kind else doc.service_id,
        "service_id": doc.service_id,
        "tracking_number": app.tracking_number if app else None,
        "claim_slip": bool(kind and kind.claim_slip),
        "issuer": doc.issuer,
        "signer": doc.signer,
        "issued_at": m.utc(doc.issued_at).isoformat(),
        "specimen": doc.development,
        "verify_url": verify_url(settings, doc.code),
        "code": doc.code,
        "revoked": doc.revoked_at is not None,
        "revoked_at": m.utc(doc.revoked_at).isoformat() if doc.revoked_at else None,
        "handed_over_at": m.utc(doc.handed_over_at).isoformat() if doc.handed_over_at else None,
        "size": doc.size,
        "sha256": doc.sha256,
    }


def public_view(doc: m.IssuedDocument) -> dict[str, Any]:
    """What anyone holding the code may see: never a NIK, a full name or the revocation reason."""
    kind = layouts.KINDS.get(doc.service_id)
    issued = m.utc(doc.issued_at).astimezone(sessions.WIB)
    return {
        "status": "revoked" if doc.revoked_at is not None else "valid",
        "title": kind.title_id if kind else doc.service_id,
        "title_en": kind.title_en if kind else doc.service_id,
        "number": doc.number,
        "issuer": doc.issuer,
        "signer": doc.signer,
        "issued_on": issued.date().isoformat(),
        "issued_on_text": layouts.date_id(issued.date()),
        "holder": doc.holder_masked,
        "specimen": doc.development,
        "revoked_on": m.utc(doc.revoked_at).astimezone(sessions.WIB).date().isoformat() if doc.revoked_at else None,
    }
