"""Citizen feedback: the SKM satisfaction survey, complaints (pengaduan) and asking for an officer.

A complaint gets a tracking code (``ADU-2026-000007``) derived from its id, so no
extra column is needed; the citizen sees its state and the officer's response.
Ownership is by visitor session, or by citizen once identified; anything else is
a 404, as if it did not exist.
"""

from __future__ import annotations

import re
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import StringConstraints
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from l10n import t
from protocol.api import (
    ComplaintIn,
    ComplaintOut,
    HandoffIn,
    HandoffOut,
    HandoffRow,
    RespondIn,
    SurveyIn,
    SurveyOut,
)
from protocol.feed import ComplaintNew
from protocol.messages import ChatReply, QuickReply
from server.api.deps import CatalogDep, DbDep, HubDep, VisitorDep
from server.api.officer_api import OfficerDep
from server.domain import applications, sessions
from server.errors import ApiError, not_found, responses
from server.persistence import models as m

router = APIRouter(tags=["feedback"])
officer_router = APIRouter(prefix="/officer", tags=["officer"])

COMPLAINT_RE = re.compile(r"^(?:ADU-\d{4}-)?0*(\d{1,12})$", re.IGNORECASE)
SURVEY_STATES = ("submitted", "verified", "in_process", "needs_revision", "ready", "completed", "rejected")
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


def _no_control(value: str, field: str) -> str:
    if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", value):
        raise ApiError(
            422,
            "invalid_text",
            "error.invalid_text",
            field=field,
        )
    return value


# ------------------------------------------------------------------ survey


def _own_handoff(db: Any, vs: m.VisitorSession, hid: int) -> m.Handoff:
    h = db.get(m.Handoff, hid)
    if h is None or not (h.session_id == vs.id or (vs.citizen_id is not None and h.citizen_id == vs.citizen_id)):
        raise not_found("error.not_found_handoff")
    return h


def _duplicate_survey() -> ApiError:
    return ApiError(
        409,
        "survey_duplicate",
        "error.survey_duplicate",
    )


@router.post("/survey", status_code=201, response_model=SurveyOut, responses=responses(401, 404, 409, 413, 422))
def submit_survey(body: SurveyIn, db: DbDep, vs: VisitorDep) -> dict[str, Any]:
    application_id: int | None = None
    service_id: str | None = None
    if body.application is not None:
        app = applications.own_application(db, vs, body.application.strip().upper())
        if app.state not in SURVEY_STATES:
            raise ApiError(
                409,
                "survey_too_early",
                "error.survey_too_early",
                state=app.state,
            )
        application_id, service_id = app.id, app.service_id
    handoff_id: int | None = None
    if body.handoff_id is not None:
        h = _own_handoff(db, vs, body.handoff_id)
        handoff_id = h.id
        service_id = service_id or h.service_id
    q = select(m.SurveyResponse.id).where(m.SurveyResponse.session_id == vs.id)
    if application_id is None and handoff_id is None:
        q = q.where(m.SurveyResponse.application_id.is_(None), m.SurveyResponse.handoff_id.is_(None))
    else:
        conds = []
        if application_id is not None:
            conds.append(m.SurveyResponse.application_id == application_id)
        if handoff_id is not None:
            conds.append(m.SurveyResponse.handoff_id == handoff_id)
        q = q.where(or_(*conds))
    if db.scalar(q.limit(1)) is not None:
        raise _duplicate_survey()
    comment = _no_control(body.comment.strip(), "comment") if body.comment else None
    row = m.SurveyResponse(
        session_id=vs.id,
        application_id=application_id,
        handoff_id=handoff_id,
        service_id=service_id,
        score=body.score,
        comment=comment or None,
    )
    db.add(row)
    try:
        db.commit()
    except IntegrityError:  # a concurrent request won the unique index
        db.rollback()
        raise _duplicate_survey() from None
    return {
        "id": row.id,
        "score": row.score,
        "application": body.application.strip().upper() if body.application else None,
        "handoff_id": handoff_id,
        "service_id": service_id,
        "created_at": m.utc(row.created_at).isoformat(),
    }


# ------------------------------------------------------------------ complaints


def complaint_code(c: m.Complaint) -> str:
    return f"ADU-{m.utc(c.created_at).astimezone(sessions.WIB).year}-{c.id:06d}"


def complaint_dict(c: m.Complaint) -> dict[str, Any]:
    return {
        "id": c.id,
        "tracking": complaint_code(c),
        "subject": c.subject,
        "body": c.body,
        "agency": c.agency_id,
        "state": c.state,
        "response": c.response,
        "created_at": m.utc(c.created_at).isoformat(),
        "updated_at": m.utc(c.updated_at).isoformat(),
    }


def _complaint_id(ref: str) -> int:
    match = COMPLAINT_RE.match(ref.strip())
    if match is None:
        raise not_found("error.not_found_complaint")
    return int(match.group(1))


def _own_filter(vs: m.VisitorSession) -> Any:
    if vs.citizen_id is not None:
        return or_(m.Complaint.session_id == vs.id, m.Complaint.citizen_id == vs.citizen_id)
    return m.Complaint.session_id == vs.id


@router.post("/complaints", status_code=201, response_model=ComplaintOut, responses=responses(401, 413, 422))
def file_complaint(body: ComplaintIn, db: DbDep, vs: VisitorDep, catalog: CatalogDep, hub: HubDep) -> dict[str, Any]:
    agency = None
    if body.agency:
        try:
            agency = catalog.agency(body.agency).id
        except KeyError:
            raise ApiError(422, "unknown_agency", "error.unknown_agency", field="agency") from None
    c = m.Complaint(
        session_id=vs.id,
        citizen_id=vs.citizen_id,
        agency_id=agency,
        subject=_no_control(body.subject, "subject"),
        body=_no_control(body.body, "body"),
        state="open",
    )
    db.add(c)
    db.commit()
    hub.broadcast(ComplaintNew(complaint_id=c.id, agency_id=agency).wire(), kind="officer")
    return complaint_dict(c)


@router.get("/complaints", response_model=list[ComplaintOut], responses=responses(401))
def my_complaints(db: DbDep, vs: VisitorDep) -> list[dict[str, Any]]:
    q = select(m.Complaint).where(_own_filter(vs)).order_by(m.Complaint.id.desc()).limit(100)
    return [complaint_dict(c) for c in db.scalars(q)]


@router.get("/complaints/{ref}", response_model=ComplaintOut, responses=responses(401, 404))
def my_complaint(ref: str, db: DbDep, vs: VisitorDep) -> dict[str, Any]:
    c = db.scalar(select(m.Complaint).where(m.Complaint.id == _complaint_id(ref), _own_filter(vs)))
    if c is None:
        raise not_found("error.not_found_complaint")
    return complaint_dict(c)


# ------------------------------------------------------------------ officer side


def _scoped_complaints(officer: m.Officer) -> Any:
    q = select(m.Complaint)
    if officer.role in ("admin", "supervisor"):
        return q
    if officer.role == "village":
        return q.where(m.Complaint.agency_id == "smart-kampung")
    return q.where(m.Complaint.agency_id == officer.agency_id)


@officer_router.get("/complaints", response_model=list[ComplaintOut], responses=responses(401, 403))
def officer_complaints(db: DbDep, officer: OfficerDep) -> list[dict[str, Any]]:
    q = _scoped_complaints(officer).order_by(m.Complaint.id.desc()).limit(500)
    return [complaint_dict(c) for c in db.scalars(q)]


@officer_router.post(
    "/complaints/{ref}/respond", response_model=ComplaintOut, responses=responses(401, 403, 404, 409, 413, 422)
)
def respond(ref: str, body: RespondIn, db: DbDep, officer: OfficerDep, hub: HubDep) -> dict[str, Any]:
    if officer.role == "supervisor":
        raise ApiError(403, "read_only", "error.read_only")
    c = db.scalar(_scoped_complaints(officer).where(m.Complaint.id == _complaint_id(ref)))
    if c is None:
        raise not_found("error.not_found_complaint")
    if c.state == "closed":
        raise ApiError(409, "complaint_closed", "error.complaint_closed")
    c.response = _no_control(body.response, "response")
    c.state = body.state
    c.updated_at = m.now_utc()
    db.add(
        m.AuditLog(
            officer_id=officer.id, action="complaint.respond", target=complaint_code(c), detail={"state": body.state}
        )
    )
    db.commit()
    notify_complaint(db, hub, c)
    return complaint_dict(c)


def notify_complaint(db: Any, hub: Any, c: m.Complaint) -> None:
    """Tell the citizen live (their page reloads its complaints on ``complaint.responded``)."""
    out = complaint_dict(c)
    vs = db.get(m.VisitorSession, c.session_id)
    if vs is None:
        return
    lang = vs.lang
    if c.state == "closed":
        head = t("api.complaint_closed", lang, code=out["tracking"])
    else:
        head = t("api.complaint_responded", lang, code=out["tracking"])
    frame = ChatReply(
        conversation_id="complaints",
        text=f"{head}: {c.response}" if c.response else head + ".",
        lang="en" if lang == "en" else "id",
        sender="system",
        intent="complaint.responded",
        quick_replies=[QuickReply(label=out["tracking"], payload=f"complaint:{c.id}")],
    ).model_dump(mode="json")
    hub.to_session(vs.public_id, frame)


# ------------------------------------------------------------------ handoff without the assistant


@router.post("/handoffs", status_code=201, response_model=HandoffOut, responses=responses(401, 404, 409, 413, 422))
def request_handoff(
    body: HandoffIn, request: Request, db: DbDep, vs: VisitorDep, catalog: CatalogDep
) -> dict[str, Any]:
    """Ask for an officer directly: the 2D page's button works even when the assistant is not loaded."""
    from assistant.ports import Caller, PortError

    if body.service_id is not None:
        try:
            catalog.service(body.service_id)
        except KeyError:
            raise ApiError(422, "unknown_service", "error.unknown_service", field="service_id") from None
    open_one = db.scalar(
        select(m.Handoff)
        .where(m.Handoff.session_id == vs.id, m.Handoff.state.in_(("pending", "accepted")))
        .order_by(m.Handoff.id.desc())
        .limit(1)
    )
    if open_one is not None:
        return {"handoff_id": open_one.id, "state": open_one.state, "conversation_id": open_one.conversation_id}
    conv = body.conversation_id or secrets.token_hex(8)
    owner = db.scalar(
        select(m.ConversationEvent.session_id)
        .where(m.ConversationEvent.conversation_id == conv)
        .order_by(m.ConversationEvent.id)
        .limit(1)
    )
    if owner is not None and owner != vs.id:
        raise not_found("error.not_found_conversation")
    lines: list[dict[str, Any]] = [line.model_dump(exclude_none=True) for line in body.transcript]
    if not lines:
        asked = t("console.asked_officer", vs.lang)
        lines.append({"role": "citizen", "text": asked})
    if body.service_id:
        lines[-1]["service"] = body.service_id  # the port routes the handoff by the last service named
    caller = Caller(session_id=vs.public_id, citizen_id=vs.citizen_id, nik=None, name=vs.display_name)
    # End our transaction (SQLite takes the write lock at BEGIN): the port writes on its own connection.
    db.rollback()
    try:
        result = request.app.state.port.request_handoff(caller, conv, lines)
    except PortError as exc:
        raise ApiError(409, exc.code, exc.message_id, exc.message_en) from None
    if body.guided:  # the desk shows it: this citizen needs big steps and plain words
        db.execute(update(m.Handoff).where(m.Handoff.id == result.handoff_id).values(guided=True))
        db.commit()
    return {"handoff_id": result.handoff_id, "state": result.state, "conversation_id": conv}


@router.get("/handoffs", response_model=list[HandoffRow], responses=responses(401))
def my_handoffs(db: DbDep, vs: VisitorDep) -> list[dict[str, Any]]:
    """This session's officer conversations, newest first: a reloaded page picks up an open one."""
    q = select(m.Handoff).where(m.Handoff.session_id == vs.id).order_by(m.Handoff.id.desc()).limit(20)
    out = []
    for h in db.scalars(q):
        officer = db.get(m.Officer, h.officer_id) if h.officer_id else None
        out.append(
            {
                "handoff_id": h.id,
                "state": h.state,
                "conversation_id": h.conversation_id,
                "service_id": h.service_id,
                "officer": (officer.full_name or officer.username) if officer else None,
                "created_at": m.utc(h.created_at).isoformat(),
            }
        )
    return out
