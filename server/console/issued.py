"""Console pages for issued documents (print, revoke, hand over) and Lahir Procot births (role faskes)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from protocol.api import BirthIn
from server.api import officer_api
from server.api.deps import DbDep, HubDep, SettingsDep
from server.console.web import ConsoleError, CsrfDep, CtxDep, redirect, render
from server.domain import births, sessions
from server.domain.documents import issue as issuance
from server.errors import ApiError
from server.persistence import models as m
from server.realtime.officer_feed import notify_application

router = APIRouter(prefix="/officer", include_in_schema=False)


def _doc(db: Any, ctx: Any, tracking: str) -> tuple[m.Application, m.IssuedDocument]:
    try:
        app = officer_api.scoped_application(db, ctx.officer, tracking)
    except ApiError:
        raise ConsoleError(404, "console.not_found") from None
    doc = issuance.document_for(db, app.id)
    if doc is None:
        raise ConsoleError(404, "console.not_found")
    return app, doc


@router.get("/applications/{tracking}/issued.pdf")
def issued_pdf(tracking: str, ctx: CtxDep, db: DbDep, inline: bool = Query(default=False)) -> Response:
    """The signed PDF for printing at the counter or the health facility (recorded in the audit log)."""
    _, doc = _doc(db, ctx, tracking)
    db.add(m.AuditLog(officer_id=ctx.officer.id, action="issued_download", target=doc.number, detail={}))
    db.commit()
    return officer_api.pdf_response(doc, inline)


def _writable(ctx: Any) -> None:
    if ctx.read_only or ctx.officer.role == "faskes":
        raise ConsoleError(403, "console.read_only")


@router.post("/applications/{tracking}/issued/revoke", response_class=HTMLResponse)
def revoke(
    tracking: str,
    request: Request,
    ctx: CsrfDep,
    db: DbDep,
    hub: HubDep,
    reason: str = Form(default="", max_length=2000),
) -> Response:
    _writable(ctx)
    app, doc = _doc(db, ctx, tracking)
    try:
        events = issuance.revoke(db, app, doc, ctx.officer, reason)
    except ApiError as exc:
        db.rollback()
        from server.console.pages import _detail

        return _detail(
            request, ctx, db, tracking, error=exc.message_en if ctx.lang == "en" else exc.message_id, status=exc.status
        )
    db.commit()
    hub.wake({e.citizen_id for e in events}, {None})
    return redirect(f"/officer/applications/{tracking}?done=revoked")


@router.post("/applications/{tracking}/issued/handover")
def hand_over(tracking: str, ctx: CsrfDep, db: DbDep, hub: HubDep) -> Response:
    _writable(ctx)
    app, doc = _doc(db, ctx, tracking)
    try:
        events = issuance.hand_over(db, app, doc, ctx.officer)
    except ApiError:
        db.rollback()
        raise ConsoleError(409, "console.revoked_doc") from None
    db.commit()
    hub.wake({e.citizen_id for e in events}, {None})
    return redirect(f"/officer/applications/{tracking}?done=handed_over")


@router.post("/applications/{tracking}/issued", response_class=HTMLResponse)
def issue_missing(
    tracking: str, request: Request, ctx: CsrfDep, db: DbDep, hub: HubDep, settings: SettingsDep
) -> Response:
    """Issue the document of a completed application that has none (e.g. completed before signing existed)."""
    _writable(ctx)
    try:
        app = officer_api.scoped_application(db, ctx.officer, tracking)
        _, events = issuance.ensure_issued(
            db, settings, request.app.state.catalog, app, officer_api.officer_actor(ctx.officer)
        )
    except ApiError as exc:
        db.rollback()
        if exc.status == 404:
            raise ConsoleError(404, "console.not_found") from None
        from server.console.pages import _detail

        return _detail(
            request, ctx, db, tracking, error=exc.message_en if ctx.lang == "en" else exc.message_id, status=exc.status
        )
    db.commit()
    hub.wake({e.citizen_id for e in events}, {None})
    return redirect(f"/officer/applications/{tracking}?done=issued")


# ------------------------------------------------------------------ Lahir Procot


def _births_page(
    request: Request,
    ctx: Any,
    db: Any,
    error: str = "",
    done: str = "",
    status: int = 200,
    form: dict[str, Any] | None = None,
) -> Response:
    return render(
        request,
        "births.html",
        ctx,
        status=status,
        page="births",
        rows=births.birth_rows(db, ctx.officer),
        error=error,
        done=done,
        form=form or {},
        today=sessions.today_wib().isoformat(),  # the office's day: UTC is a day behind until 07:00 WIB
        key=uuid.uuid4().hex,
    )


@router.get("/births", response_class=HTMLResponse)
def births_page(request: Request, ctx: CtxDep, db: DbDep, done: str = Query(default="", max_length=20)) -> Response:
    if ctx.officer.role != "faskes":
        raise ConsoleError(403, "console.forbidden")
    return _births_page(request, ctx, db, done=done)


@router.post("/births", response_class=HTMLResponse)
def births_register(
    request: Request,
    ctx: CsrfDep,
    db: DbDep,
    hub: HubDep,
    key: str = Form(default="", max_length=120),
    mother_nik: str = Form(default="", max_length=16),
    mother_name: str = Form(default="", max_length=100),
    father_nik: str = Form(default="", max_length=16),
    father_name: str = Form(default="", max_length=100),
    child_name: str = Form(default="", max_length=100),
    child_sex: str = Form(default="", max_length=1),
    birth_date: str = Form(default="", max_length=10),
    birth_time: str = Form(default="", max_length=5),
    weight_g: str = Form(default="", max_length=5),
    length_cm: str = Form(default="", max_length=5),
) -> Response:
    if ctx.officer.role != "faskes":
        raise ConsoleError(403, "console.forbidden")
    form = {
        "mother_nik": mother_nik.strip(),
        "mother_name": mother_name,
        "father_nik": father_nik.strip() or None,
        "father_name": father_name.strip() or None,
        "child_name": child_name,
        "child_sex": child_sex,
        "birth_date": birth_date,
        "birth_time": birth_time.strip() or None,
        "weight_g": weight_g.strip() or None,
        "length_cm": length_cm.strip() or None,
    }
    try:
        body = BirthIn.model_validate(form)
        app, created, events = births.register(
            db, request.app.state.catalog, ctx.officer, body, key or uuid.uuid4().hex
        )
    except ValidationError as exc:
        db.rollback()
        where = ", ".join(str(e["loc"][0]) for e in exc.errors()[:5])
        message = f"Periksa isian: {where}." if ctx.lang != "en" else f"Check these answers: {where}."
        return _births_page(request, ctx, db, error=message, status=422, form=form)
    except ApiError as exc:
        db.rollback()
        return _births_page(
            request, ctx, db, error=exc.message_en if ctx.lang == "en" else exc.message_id, status=exc.status, form=form
        )
    db.commit()
    if created:
        hub.wake({e.citizen_id for e in events}, {None})
        notify_application(hub, app, "application.new")
    return redirect(f"/officer/births?done={app.tracking_number}")
