"""Document uploads: type decided by content (magic bytes), stored by sha256."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from fastapi import APIRouter, File, Form, UploadFile
from sqlalchemy import select

from protocol.api import AttachIn, DocumentOut
from server.api.deps import DbDep, SettingsDep, VisitorDep
from server.domain import applications
from server.errors import ApiError, responses
from server.persistence import models as m

router = APIRouter(tags=["documents"])


def sniff(head: bytes) -> str | None:
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return None


@router.post("/documents", status_code=201, response_model=DocumentOut, responses=responses(401, 404, 413, 415, 422))
def upload(
    db: DbDep,
    vs: VisitorDep,
    settings: SettingsDep,
    file: UploadFile = File(...),
    application: str | None = Form(default=None, max_length=20),
) -> dict[str, Any]:
    limit = settings.max_upload_bytes
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise ApiError(413, "file_too_large", "error.upload_too_large")
    if not data:
        raise ApiError(422, "file_empty", "error.file_empty")
    kind = sniff(data[:16])
    if kind is None:
        raise ApiError(
            415,
            "unsupported_type",
            "error.unsupported_type",
        )
    app_id = None
    if application:
        app_id = applications.own_application(db, vs, application).id
    digest = hashlib.sha256(data).hexdigest()
    target = settings.data_dir / "documents" / digest[:2] / digest
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(target)
    name = re.sub(r"[^\w.\- ]", "_", file.filename or "upload")[:200]
    doc = m.Document(
        sha256=digest,
        size=len(data),
        content_type=kind,
        filename=name,
        session_id=vs.id,
        citizen_id=vs.citizen_id,
        application_id=app_id,
    )
    db.add(doc)
    db.commit()
    return _doc_dict(doc)


def _doc_dict(d: m.Document) -> dict[str, Any]:
    return {"id": d.id, "sha256": d.sha256, "size": d.size, "content_type": d.content_type, "filename": d.filename}


def _own(vs: m.VisitorSession) -> Any:
    cond = m.Document.session_id == vs.id
    if vs.citizen_id is not None:
        cond = cond | (m.Document.citizen_id == vs.citizen_id)
    return cond


@router.get("/documents", response_model=list[DocumentOut], responses=responses(401))
def my_documents(db: DbDep, vs: VisitorDep) -> list[dict[str, Any]]:
    return [_doc_dict(d) for d in db.scalars(select(m.Document).where(_own(vs)).order_by(m.Document.id))]


@router.get("/applications/{tracking}/documents", response_model=list[DocumentOut], responses=responses(401, 404))
def application_documents(tracking: str, db: DbDep, vs: VisitorDep) -> list[dict[str, Any]]:
    app = applications.own_application(db, vs, tracking)
    docs = db.scalars(select(m.Document).where(m.Document.application_id == app.id).order_by(m.Document.id))
    return [_doc_dict(d) for d in docs]


@router.post(
    "/applications/{tracking}/documents",
    response_model=list[DocumentOut],
    responses=responses(401, 404, 409, 413, 422),
)
def attach_documents(tracking: str, body: AttachIn, db: DbDep, vs: VisitorDep) -> list[dict[str, Any]]:
    """Files uploaded while the form was being filled join the application once it exists."""
    app = applications.own_application(db, vs, tracking)
    wanted = set(body.ids)
    docs = list(db.scalars(select(m.Document).where(_own(vs), m.Document.id.in_(wanted))))
    if len(docs) != len(wanted):
        raise ApiError(404, "not_found", "error.not_found_file")
    if any(d.application_id not in (None, app.id) for d in docs):
        raise ApiError(
            409,
            "document_attached",
            "error.document_attached",
        )
    for d in docs:
        d.application_id = app.id
        if d.citizen_id is None:
            d.citizen_id = app.citizen_id
    db.commit()
    return application_documents(tracking, db, vs)
