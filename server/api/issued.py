"""The citizen's issued documents: list, details and the signed PDF, with the ownership rules of applications.

A Lahir Procot birth belongs to both parents: the mother holds the application,
the father registered with it sees the document too.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy import or_, select

from protocol.api import IssuedDocumentOut
from server.api.deps import DbDep, SettingsDep, VisitorDep
from server.api.officer_api import pdf_response
from server.domain import applications
from server.domain.documents import issue as issuance
from server.errors import ApiError, responses
from server.persistence import models as m

router = APIRouter(tags=["documents"])
PDF_RESPONSE: dict[str, Any] = {"content": {"application/pdf": {}}, "description": "The signed PDF"}


def owned_application(db: Any, vs: m.VisitorSession, tracking: str) -> m.Application:
    try:
        return applications.own_application(db, vs, tracking)
    except ApiError:
        if vs.citizen_id is None:
            raise
        app = db.scalar(
            select(m.Application)
            .join(m.BirthRegistration, m.BirthRegistration.application_id == m.Application.id)
            .where(m.Application.tracking_number == tracking, m.BirthRegistration.father_citizen_id == vs.citizen_id)
        )
        if app is None:
            raise
        return app


def _document(db: Any, vs: m.VisitorSession, tracking: str) -> tuple[m.Application, m.IssuedDocument]:
    app = owned_application(db, vs, tracking)
    doc = issuance.document_for(db, app.id)
    if doc is None:
        raise ApiError(
            404,
            "document_not_ready",
            "error.document_not_ready",
            state=app.state,
        )
    return app, doc


@router.get("/issued-documents", response_model=list[IssuedDocumentOut], responses=responses(401))
def my_issued(db: DbDep, vs: VisitorDep, settings: SettingsDep) -> list[dict[str, Any]]:
    if vs.citizen_id is None:
        return []
    fathers = select(m.BirthRegistration.application_id).where(m.BirthRegistration.father_citizen_id == vs.citizen_id)
    rows = db.execute(
        select(m.Application, m.IssuedDocument)
        .join(m.IssuedDocument, m.IssuedDocument.application_id == m.Application.id)
        .where(or_(m.Application.citizen_id == vs.citizen_id, m.Application.id.in_(fathers)))
        .order_by(m.IssuedDocument.id.desc())
        .limit(200)
    ).all()
    return [issuance.summary(settings, app, doc) for app, doc in rows]


@router.get("/applications/{tracking}/document", response_model=IssuedDocumentOut, responses=responses(401, 404))
def document_info(tracking: str, db: DbDep, vs: VisitorDep, settings: SettingsDep) -> dict[str, Any]:
    app, doc = _document(db, vs, tracking)
    return issuance.summary(settings, app, doc)


@router.get(
    "/applications/{tracking}/document.pdf",
    response_class=Response,
    responses={200: PDF_RESPONSE, **responses(401, 404, 410, 422)},
)
def document_pdf(
    tracking: str, db: DbDep, vs: VisitorDep, inline: bool = Query(default=False, description="Open to print")
) -> Response:
    _, doc = _document(db, vs, tracking)
    if doc.revoked_at is not None:
        raise ApiError(
            410,
            "document_revoked",
            "error.document_revoked",
        )
    return pdf_response(doc, inline)
