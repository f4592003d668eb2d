"""The officers' JSON API: scoped inbox, transitions, queue control.

An officer sees only their agency (a village officer only their village's
Smart Kampung letters); anything else is a 404, as if it did not exist.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from protocol.api import (
    IDEMPOTENCY_KEY_MAX,
    IDEMPOTENCY_KEY_RE,
    ApplicationOut,
    BirthIn,
    BirthOut,
    BirthRow,
    IssuedDocumentOut,
    LoginIn,
    LoginOut,
    OfficerIdentifiedOut,
    OfficerIdentifyIn,
    QueueActionOut,
    RebindIn,
    RebindOut,
    RevokeIn,
    TransitionIn,
)
from protocol.nik import mask_nik
from server.api.deps import CatalogDep, DbDep, HubDep, SettingsDep, bearer, client_address
from server.api.queue import publish_board
from server.domain import applications, births, identity, officers, queue, sessions
from server.domain.documents import issue as issuance
from server.domain.documents import layouts
from server.errors import ApiError, not_found, responses
from server.persistence import models as m
from server.realtime.officer_feed import notify_application

router = APIRouter(prefix="/officer", tags=["officer"])


def current_officer(request: Request, db: DbDep) -> m.Officer:
    """Bearer tokens only: the console's cookie is refused here, since this API takes no CSRF token."""
    officer, _ = officers.officer_for_token(db, bearer(request))
    return officer


OfficerDep = Annotated[m.Officer, Depends(current_officer)]


def scoped(db: Any, officer: m.Officer) -> Any:
    # a demo tour's applications are seen only by demo-<agency> accounts, and those see nothing else
    q = select(m.Application).where(m.Application.demo == bool(officer.demo))
    if officer.role in ("admin", "supervisor"):
        return q
    if officer.role == "faskes":
        # a health facility sees only the births it registered
        births = select(m.BirthRegistration.application_id).where(m.BirthRegistration.facility == officer.facility)
        return q.where(m.Application.id.in_(births))
    if officer.role == "village":
        return q.where(m.Application.village_code == officer.village_code, m.Application.agency_id == "smart-kampung")
    return q.where(m.Application.agency_id == officer.agency_id)


def scoped_application(db: Any, officer: m.Officer, tracking: str) -> m.Application:
    app = db.scalar(scoped(db, officer).where(m.Application.tracking_number == tracking))
    if app is None:
        raise not_found("error.not_found_application")
    return app


def officer_actor(officer: m.Officer) -> str:
    return f"officer:{officer.username}"


@router.post("/login", response_model=LoginOut, responses=responses(401, 403, 413, 422, 429))
def login(body: LoginIn, request: Request, db: DbDep, settings: SettingsDep) -> dict[str, Any]:
    result = officers.login(db, settings, body.username, body.password, client_address(request))
    db.commit()
    o = result.officer
    return {
        "token": result.token,
        "csrf": result.csrf,
        "role": o.role,
        "agency_id": o.agency_id,
        "username": o.username,
    }


@router.get("/applications", response_model=list[ApplicationOut], responses=responses(401, 403, 422))
def inbox(
    db: DbDep,
    officer: OfficerDep,
    state: str | None = Query(default=None, max_length=20),
    service: str | None = Query(default=None, max_length=40),
) -> list[dict[str, Any]]:
    q = scoped(db, officer)
    if state:
        q = q.where(m.Application.state == state)
    if service:
        q = q.where(m.Application.service_id == service)
    return [applications.application_dict(a) for a in db.scalars(q.order_by(m.Application.id.desc()).limit(500))]


@router.get("/applications/{tracking}", response_model=ApplicationOut, responses=responses(401, 403, 404))
def detail(tracking: str, db: DbDep, officer: OfficerDep) -> dict[str, Any]:
    return applications.application_dict(scoped_application(db, officer, tracking))


def _writable(officer: m.Officer) -> None:
    if officer.role == "supervisor":
        raise ApiError(403, "read_only", "error.read_only")
    if officer.role == "faskes":
        raise ApiError(
            403,
            "faskes_read_only",
            "error.faskes_read_only",
        )


@router.post(
    "/applications/{tracking}/transition",
    response_model=ApplicationOut,
    responses=responses(401, 403, 404, 409, 413, 422, 503),
)
def transition(
    tracking: str,
    body: TransitionIn,
    db: DbDep,
    officer: OfficerDep,
    hub: HubDep,
    request: Request,
) -> dict[str, Any]:
    _writable(officer)
    app = scoped_application(db, officer, tracking)
    if body.to == "completed" and layouts.issues_document(app.service_id):
        settings, catalog = request.app.state.settings, request.app.state.catalog
        events = issuance.complete(db, settings, catalog, app, officer_actor(officer), body.note)
    else:
        events = [applications.transition(db, app, body.to, officer_actor(officer), "officer", body.note)]
    out = applications.application_dict(app)
    db.commit()
    hub.wake({e.citizen_id for e in events}, {e.session_id for e in events})
    return out


# ------------------------------------------------------------------ issued documents


def _scoped_document(db: Any, officer: m.Officer, tracking: str) -> tuple[m.Application, m.IssuedDocument]:
    app = scoped_application(db, officer, tracking)
    doc = issuance.document_for(db, app.id)
    if doc is None:
        raise not_found("error.not_found_document")
    return app, doc


@router.get("/applications/{tracking}/document", response_model=IssuedDocumentOut, responses=responses(401, 403, 404))
def document_info(tracking: str, db: DbDep, officer: OfficerDep, settings: SettingsDep) -> dict[str, Any]:
    app, doc = _scoped_document(db, officer, tracking)
    return issuance.summary(settings, app, doc)


@router.get(
    "/applications/{tracking}/document.pdf",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}, "description": "The signed PDF"},
        **responses(401, 403, 404, 422),
    },
)
def document_pdf(tracking: str, db: DbDep, officer: OfficerDep, inline: bool = False) -> Response:
    """The signed PDF, e.g. printed at the health facility; the download is in the audit log."""
    _, doc = _scoped_document(db, officer, tracking)
    db.add(m.AuditLog(officer_id=officer.id, action="issued_download", target=doc.number, detail={}))
    db.commit()
    return pdf_response(doc, inline)


def pdf_response(doc: m.IssuedDocument, inline: bool) -> Response:
    name = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in doc.number) + ".pdf"
    disposition = "inline" if inline else "attachment"
    return Response(
        doc.pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'{disposition}; filename="{name}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post(
    "/applications/{tracking}/document", response_model=IssuedDocumentOut, responses=responses(401, 403, 404, 409, 503)
)
def issue_document(
    tracking: str, db: DbDep, officer: OfficerDep, hub: HubDep, settings: SettingsDep, catalog: CatalogDep
) -> dict[str, Any]:
    """Issue the document of a completed application that has none yet (idempotent)."""
    _writable(officer)
    app = scoped_application(db, officer, tracking)
    doc, events = issuance.ensure_issued(db, settings, catalog, app, officer_actor(officer))
    out = issuance.summary(settings, app, doc)
    db.commit()
    hub.wake({e.citizen_id for e in events}, {None})
    return out


@router.post(
    "/applications/{tracking}/document/revoke",
    response_model=IssuedDocumentOut,
    responses=responses(401, 403, 404, 409, 413, 422),
)
def revoke_document(
    tracking: str, body: RevokeIn, db: DbDep, officer: OfficerDep, hub: HubDep, settings: SettingsDep
) -> dict[str, Any]:
    _writable(officer)
    app, doc = _scoped_document(db, officer, tracking)
    events = issuance.revoke(db, app, doc, officer, body.reason)
    out = issuance.summary(settings, app, doc)
    db.commit()
    hub.wake({e.citizen_id for e in events}, {None})
    return out


@router.post(
    "/applications/{tracking}/document/handover",
    response_model=IssuedDocumentOut,
    responses=responses(401, 403, 404, 409),
)
def hand_over_document(
    tracking: str, db: DbDep, officer: OfficerDep, hub: HubDep, settings: SettingsDep
) -> dict[str, Any]:
    _writable(officer)
    app, doc = _scoped_document(db, officer, tracking)
    events = issuance.hand_over(db, app, doc, officer)
    out = issuance.summary(settings, app, doc)
    db.commit()
    hub.wake({e.citizen_id for e in events}, {None})
    return out


def _counter_allowed(db: Any, officer: m.Officer, counter: int) -> None:
    c = db.get(m.Counter, counter)
    if c is None or (officer.role == "officer" and c.agency_id != officer.agency_id) or officer.role == "faskes":
        raise not_found("error.not_found_counter")
    if officer.role == "village" and c.agency_id != "smart-kampung":
        raise not_found("error.not_found_counter")
    if officer.role == "supervisor":
        raise ApiError(403, "read_only", "error.read_only")


@router.post("/queue/{counter}/{action}", response_model=QueueActionOut, responses=responses(401, 403, 404, 409, 422))
def queue_action(
    counter: Annotated[int, Path(ge=1, le=99)], action: str, db: DbDep, officer: OfficerDep, hub: HubDep
) -> dict[str, Any]:
    if action not in ("call-next", "recall", "skip", "served"):
        raise ApiError(404, "unknown_action", "error.unknown_action")
    _counter_allowed(db, officer, counter)
    demo = bool(officer.demo)  # a demo-<agency> account calls the tour's tickets only, others never them
    ticket, events = queue.queue_action(db, counter, action, officer_actor(officer), demo=demo)
    out = queue.ticket_dict(db, ticket) if ticket else None
    db.commit()
    if events:
        hub.wake({e.citizen_id for e in events}, {e.session_id for e in events})
    publish_board(db, hub, counter, demo=demo)
    return {"counter": counter, "action": action, "ticket": out}


# ------------------------------------------------------------------ Lahir Procot (role faskes)


def _faskes(officer: m.Officer) -> None:
    if officer.role != "faskes":
        raise ApiError(
            403,
            "faskes_only",
            "error.faskes_only",
        )


@router.post("/births", status_code=201, response_model=BirthOut, responses=responses(400, 401, 403, 409, 413, 422))
def register_birth(
    body: BirthIn,
    db: DbDep,
    officer: OfficerDep,
    hub: HubDep,
    catalog: CatalogDep,
    idempotency_key: str = Header(min_length=1, max_length=IDEMPOTENCY_KEY_MAX, pattern=IDEMPOTENCY_KEY_RE),
) -> dict[str, Any]:
    """Register a birth at the facility: the akta kelahiran application, in Dukcapil's inbox, due today."""
    _faskes(officer)
    app, created, events = births.register(db, catalog, officer, body, idempotency_key)
    out = {**applications.application_dict(app), "lahir_procot": True, "facility": officer.facility}
    db.commit()
    if created:
        hub.wake({e.citizen_id for e in events}, {None})
        notify_application(hub, app, "application.new")
    return out


@router.get("/births", response_model=list[BirthRow], responses=responses(401, 403))
def list_births(db: DbDep, officer: OfficerDep) -> list[dict[str, Any]]:
    _faskes(officer)
    return births.birth_rows(db, officer)


def _mismatch() -> ApiError:
    return ApiError(409, "identity_mismatch", "error.identity_mismatch")


@router.post(
    "/handoffs/{hid}/identify", response_model=OfficerIdentifiedOut, responses=responses(401, 403, 404, 409, 413, 422)
)
def identify_visitor(
    hid: Annotated[int, Path(ge=1, le=2**63 - 1)], body: OfficerIdentifyIn, db: DbDep, officer: OfficerDep, hub: HubDep
) -> dict[str, Any]:
    """The remote counter: an officer who sees the visitor (e.g. an elderly citizen) identifies them; audited."""
    from protocol.nik import NikError, validate_nik

    h = db.get(m.Handoff, hid)
    allowed = h is not None and (
        (h.state == "accepted" and h.officer_id == officer.id) or officer.role in ("supervisor", "admin")
    )
    if h is None or not allowed:
        raise not_found("error.not_found_handoff")
    try:
        validate_nik(body.nik)
    except NikError as exc:
        raise sessions.nik_error(exc) from None
    contact = identity.parse_contact(body.contact)
    citizen = db.scalar(select(m.Citizen).where(m.Citizen.nik == body.nik))
    if citizen is None:
        citizen = m.Citizen(nik=body.nik, name=" ".join(body.name.split()))
        db.add(citizen)
        db.flush()
    elif identity.norm_name(citizen.name) != identity.norm_name(body.name):
        raise _mismatch()
    if contact is not None and not citizen.contact:
        citizen.contact_kind, citizen.contact = contact.kind, contact.value
    vs = db.get(m.VisitorSession, h.session_id)
    assert vs is not None
    sessions.link_citizen(db, vs, citizen)
    h.citizen_id = citizen.id
    db.add(
        m.AuditLog(
            officer_id=officer.id,
            action="citizen_identified",
            target=f"handoff:{h.id}",
            detail={"nik": mask_nik(citizen.nik), "session": vs.public_id, "contact_bound": contact is not None},
        )
    )
    db.commit()
    hub.wake({citizen.id}, {vs.id})
    return {"handoff_id": h.id, "citizen": mask_nik(citizen.nik), "name": citizen.name}


@router.post("/citizens/rebind", response_model=RebindOut, responses=responses(401, 403, 404, 413, 422))
def rebind_contact(body: RebindIn, db: DbDep, officer: OfficerDep) -> dict[str, Any]:
    """Give a NIK a new contact (lost phone, changed e-mail) after checking the person; audited."""
    if not (officer.role in ("supervisor", "admin") or officer.agency_id == "dukcapil"):
        raise ApiError(403, "forbidden", "error.forbidden")
    contact = identity.parse_contact(body.contact)
    assert contact is not None
    citizen = db.scalar(select(m.Citizen).where(m.Citizen.nik == body.nik))
    if citizen is None:
        raise not_found("error.not_found_citizen")
    old = identity.mask_contact(citizen.contact_kind, citizen.contact)
    citizen.contact_kind, citizen.contact = contact.kind, contact.value
    db.add(
        m.AuditLog(
            officer_id=officer.id,
            action="contact_rebound",
            target=f"citizen:{mask_nik(citizen.nik)}",
            detail={"old": old, "new": identity.mask_contact(contact.kind, contact.value), "reason": body.reason},
        )
    )
    db.commit()
    return {"citizen": mask_nik(citizen.nik), "contact": identity.mask_contact(contact.kind, contact.value)}
