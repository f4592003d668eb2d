"""Console pages: sign-in, inbox, application detail and actions, queue control."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy import select

from l10n import PRODUCT_LANGS as LANGS
from l10n import t
from protocol.nik import mask_nik
from server.api import officer_api
from server.api.deps import DbDep, HubDep, SettingsDep, client_address
from server.console import live
from server.console.web import (
    COOKIE,
    LANG_COOKIE,
    PRE_CSRF_COOKIE,
    ConsoleError,
    CsrfDep,
    CtxDep,
    harden,
    issue_pre_csrf,
    lang_of,
    pre_csrf_valid,
    redirect,
    render,
    secure_request,
)
from server.domain import applications, births, officers, sessions, states
from server.domain import queue as queue_ops
from server.domain.documents import issue as issuance
from server.domain.documents import layouts
from server.errors import ApiError
from server.persistence import models as m
from server.realtime.officer_feed import notify_application

router = APIRouter(prefix="/officer", include_in_schema=False)
STATIC = Path(__file__).resolve().parent.parent / "static"
OFFICER_ACTIONS = ("verified", "needs_revision", "in_process", "ready", "completed", "rejected")
DOC_DONE = ("issued", "revoked", "handed_over")
QUEUE_ACTIONS = ("call-next", "recall", "skip", "served")


# ------------------------------------------------------------------ static and language


@router.get("/static/{name}")
def static(name: str) -> Response:
    files = {"officer.js": "text/javascript", "officer.css": "text/css", "call.js": "text/javascript"}
    if name not in files:
        raise ConsoleError(404, "console.not_found")
    return FileResponse(STATIC / name, media_type=files[name], headers={"Cache-Control": "no-cache"})


@router.get("/lang/{lang}")
def switch_lang(lang: str, request: Request, next: str = Query(default="/officer/", max_length=300)) -> Response:
    target = next if next.startswith("/officer") and "//" not in next else "/officer/"
    response = redirect(target)
    if lang in LANGS:
        response.set_cookie(
            LANG_COOKIE, lang, max_age=365 * 86400, samesite="strict", secure=secure_request(request), httponly=True
        )
    return response


# ------------------------------------------------------------------ sign-in


def _login_page(request: Request, status: int = 200, error: str = "", retry: int = 0, username: str = "") -> Response:
    # Always a fresh server-signed token: never the value the client's cookie already holds.
    token = issue_pre_csrf(request.app.state.settings)
    response = render(
        request, "login.html", None, status=status, csrf=token, error=error, retry=retry, username=username
    )
    response.set_cookie(PRE_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure_request(request))
    if retry:
        response.headers["Retry-After"] = str(retry)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    return _login_page(request)


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    username: str = Form(default="", max_length=60),
    password: str = Form(default="", max_length=200),
    csrf: str = Form(default="", max_length=200),
) -> Response:
    lang = lang_of(request)
    if not pre_csrf_valid(settings, csrf, request.cookies.get(PRE_CSRF_COOKIE, "")):
        return _login_page(request, 403, t("console.csrf_failed", lang), username=username)
    try:
        result = officers.login(db, settings, username, password, client_address(request))
    except ApiError as exc:
        db.rollback()
        message = exc.message_en if lang == "en" else exc.message_id
        wait = int(exc.extra.get("retry_after") or 0)
        if exc.code == "too_many_attempts":
            return _login_page(request, 429, t("console.login_wait", lang, n=wait), wait, username)
        if exc.code == "disabled":
            return _login_page(request, 403, message, username=username)
        if wait:
            message = f"{message} {t('console.login_wait', lang, n=wait)}"
        return _login_page(request, 401, message, wait, username)
    db.commit()
    response = redirect("/officer/")
    response.set_cookie(
        COOKIE,
        result.token,
        max_age=int(settings.officer_session_ttl_hours * 3600),
        httponly=True,
        samesite="strict",
        secure=secure_request(request),
        path="/officer",
    )
    response.delete_cookie(PRE_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(ctx: CsrfDep, db: DbDep, hub: HubDep) -> Response:
    """Ends every session of this officer, including open console sockets on other tabs or machines."""
    officers.revoke_all(db, ctx.officer.id)
    db.commit()
    hub.close_officer(ctx.officer.id, live.CLOSE_LOGGED_OUT, "logged out")
    response = redirect("/officer/login")
    response.delete_cookie(COOKIE, path="/officer")
    return response


# ------------------------------------------------------------------ inbox


def sla_class(app: m.Application, today: dt.date) -> str:
    if app.sla_due is None or app.state in states.FINAL or app.state == "draft":
        return ""
    if app.sla_due < today:
        return "overdue"
    if app.sla_due <= today + dt.timedelta(days=1):
        return "due-soon"
    return ""


def inbox_rows(db: Any, ctx: Any, state: str | None, service: str | None) -> list[dict[str, Any]]:
    q = officer_api.scoped(db, ctx.officer).where(m.Application.state != "draft")
    if state:
        q = q.where(m.Application.state == state)
    if service:
        q = q.where(m.Application.service_id == service)
    apps = list(db.scalars(q.order_by(m.Application.id.desc()).limit(300)))
    names = {
        c.id: c.name for c in db.scalars(select(m.Citizen).where(m.Citizen.id.in_({a.citizen_id for a in apps} or {0})))
    }
    today = sessions.today_wib()
    procot = births.procot_ids(db, [a.id for a in apps])
    return [
        {"app": a, "name": names.get(a.citizen_id, ""), "sla": sla_class(a, today), "procot": a.id in procot}
        for a in apps
    ]


def _filters(request: Request, db: Any, ctx: Any) -> dict[str, Any]:
    catalog = request.app.state.catalog
    services = [s for s in catalog.services]
    if ctx.officer.role == "officer":
        services = [s for s in services if s.agency == ctx.officer.agency_id]
    elif ctx.officer.role == "village":
        services = [s for s in services if s.agency == "smart-kampung"]
    elif ctx.officer.role == "faskes":
        services = [s for s in services if s.id == "akta-kelahiran"]
    return {"services": [s.id for s in services], "states": [s for s in states.STATES if s != "draft"]}


@router.get("/", response_class=HTMLResponse)
def inbox(
    request: Request,
    ctx: CtxDep,
    db: DbDep,
    state: str = Query(default="", max_length=20),
    service: str = Query(default="", max_length=40),
) -> Response:
    rows = inbox_rows(db, ctx, state or None, service or None)
    return render(
        request, "inbox.html", ctx, rows=rows, state=state, service=service, page="inbox", **_filters(request, db, ctx)
    )


@router.get("/inbox/rows", response_class=HTMLResponse)
def inbox_fragment(
    request: Request,
    ctx: CtxDep,
    db: DbDep,
    state: str = Query(default="", max_length=20),
    service: str = Query(default="", max_length=40),
) -> Response:
    rows = inbox_rows(db, ctx, state or None, service or None)
    return render(request, "_inbox_rows.html", ctx, rows=rows)


# ------------------------------------------------------------------ application detail


def _detail(
    request: Request,
    ctx: Any,
    db: Any,
    tracking: str,
    reveal: bool = False,
    error: str = "",
    status: int = 200,
    done: str = "",
) -> Response:
    try:
        app = officer_api.scoped_application(db, ctx.officer, tracking)
    except ApiError:
        raise ConsoleError(404, "console.not_found") from None
    catalog = request.app.state.catalog
    labels: dict[str, str] = {}
    try:
        for f in catalog.service(app.service_id).form:
            labels[f.name] = f.label.en if ctx.lang == "en" else f.label.id
    except KeyError:
        pass
    data = app.data if reveal else applications.masked_data(app.data, app.service_id)
    citizen = db.get(m.Citizen, app.citizen_id)
    docs = list(db.scalars(select(m.Document).where(m.Document.application_id == app.id).order_by(m.Document.id)))
    events = list(
        db.scalars(
            select(m.Event).where(m.Event.application_id == app.id, m.Event.kind == "application").order_by(m.Event.id)
        )
    )
    actions = [] if ctx.read_only else states.allowed_targets(app.state, "officer")
    notes = {t.target for t in states.TRANSITIONS if t.needs_note}
    has_nik = any(k.startswith("nik") and isinstance(v, str) and len(v) == 16 for k, v in app.data.items())
    issued_doc = issuance.document_for(db, app.id)
    birth = db.scalar(select(m.BirthRegistration).where(m.BirthRegistration.application_id == app.id))
    return render(
        request,
        "detail.html",
        ctx,
        status=status,
        app=app,
        fields=[(k, labels.get(k, k), v) for k, v in data.items()],
        citizen_name=citizen.name if citizen else "",
        citizen_nik=(citizen.nik if reveal else mask_nik(citizen.nik)) if citizen else "",
        docs=docs,
        events=events,
        actions=actions,
        needs_note=notes,
        revealed=reveal,
        has_nik=has_nik,
        error=error,
        done=done,
        sla=sla_class(app, sessions.today_wib()),
        page="inbox",
        issued=issuance.summary(request.app.state.settings, app, issued_doc) if issued_doc else None,
        can_issue=issued_doc is None and app.state == "completed" and layouts.issues_document(app.service_id),
        birth=birth.data | {"facility": birth.facility} if birth else None,
    )


@router.get("/applications/{tracking}", response_class=HTMLResponse)
def detail(
    tracking: str, request: Request, ctx: CtxDep, db: DbDep, done: str = Query(default="", max_length=20)
) -> Response:
    return _detail(request, ctx, db, tracking, done=done if done in (*states.STATES, *DOC_DONE) else "")


@router.post("/applications/{tracking}/reveal", response_class=HTMLResponse)
def reveal(tracking: str, request: Request, ctx: CsrfDep, db: DbDep) -> Response:
    """Showing a full NIK is personal-data access: it is written to the audit log first."""
    try:
        app = officer_api.scoped_application(db, ctx.officer, tracking)
    except ApiError:
        raise ConsoleError(404, "console.not_found") from None
    db.add(
        m.AuditLog(
            officer_id=ctx.officer.id,
            action="nik_reveal",
            target=app.tracking_number or str(app.id),
            detail={"ip": request.client.host if request.client else None},
        )
    )
    db.commit()
    return _detail(request, ctx, db, tracking, reveal=True)


@router.get("/applications/{tracking}/documents/{doc_id}")
def document(tracking: str, doc_id: int, request: Request, ctx: CtxDep, db: DbDep, settings: SettingsDep) -> Response:
    try:
        app = officer_api.scoped_application(db, ctx.officer, tracking)
    except ApiError:
        raise ConsoleError(404, "console.not_found") from None
    doc = db.get(m.Document, doc_id)
    if doc is None or doc.application_id != app.id:
        raise ConsoleError(404, "console.not_found")
    path = settings.data_dir / "documents" / doc.sha256[:2] / doc.sha256
    if not path.is_file():
        raise ConsoleError(404, "console.not_found")
    db.add(m.AuditLog(officer_id=ctx.officer.id, action="document_download", target=str(doc.id), detail={}))
    db.commit()
    response = FileResponse(path, media_type=doc.content_type, filename=doc.filename)
    return harden(request, response)


@router.post("/applications/{tracking}/transition", response_class=HTMLResponse)
def transition(
    tracking: str,
    request: Request,
    ctx: CsrfDep,
    db: DbDep,
    hub: HubDep,
    to: str = Form(max_length=20),
    note: str = Form(default="", max_length=2000),
) -> Response:
    if ctx.read_only:
        raise ConsoleError(403, "console.read_only")
    try:
        officer_api.transition(
            tracking, officer_api.TransitionIn(to=to, note=note or None), db, ctx.officer, hub, request
        )
    except ApiError as exc:
        db.rollback()
        if exc.status == 404:
            raise ConsoleError(404, "console.not_found") from None
        message = exc.message_en if ctx.lang == "en" else exc.message_id
        return _detail(request, ctx, db, tracking, error=message, status=exc.status)
    app = officer_api.scoped_application(db, ctx.officer, tracking)
    notify_application(hub, app)
    return redirect(f"/officer/applications/{tracking}?done={app.state}")


# ------------------------------------------------------------------ queue


def counters_for(db: Any, officer: m.Officer) -> list[m.Counter]:
    q = select(m.Counter).order_by(m.Counter.number)
    if officer.role == "faskes":
        return []
    if officer.role == "officer":
        q = q.where(m.Counter.agency_id == officer.agency_id)
    elif officer.role == "village":
        q = q.where(m.Counter.agency_id == "smart-kampung")
    return list(db.scalars(q))


@router.get("/queue", response_class=HTMLResponse)
def queue(
    request: Request,
    ctx: CtxDep,
    db: DbDep,
    c: int = Query(default=0, ge=0, le=99),
    a: str = Query(default="", max_length=20),
    code: str = Query(default="", max_length=10),
) -> Response:
    counters = counters_for(db, ctx.officer)
    board = {r["counter"]: r for r in queue_ops.board(db, demo=bool(ctx.officer.demo))}
    flash = ""
    if c and a in QUEUE_ACTIONS:
        flash = t(
            "console.queue_done",
            ctx.lang,
            c=c,
            a=t(f"console.q_{a}", ctx.lang),
            t=code or t("console.queue_empty", ctx.lang),
        )
    rows = [{"counter": k, "board": board.get(k.number, {})} for k in counters]
    return render(request, "queue.html", ctx, rows=rows, actions=QUEUE_ACTIONS, flash=flash, page="queue")


@router.post("/queue/{counter}/{action}")
def queue_action(counter: int, action: str, request: Request, ctx: CsrfDep, db: DbDep, hub: HubDep) -> Response:
    if action not in QUEUE_ACTIONS or counter not in {k.number for k in counters_for(db, ctx.officer)}:
        raise ConsoleError(404, "console.not_found")
    if ctx.read_only:
        raise ConsoleError(403, "console.read_only")
    try:
        out = officer_api.queue_action(counter, action, db, ctx.officer, hub)
    except ApiError as exc:
        db.rollback()
        message = exc.message_en if ctx.lang == "en" else exc.message_id
        counters = counters_for(db, ctx.officer)
        board = {r["counter"]: r for r in queue_ops.board(db, demo=bool(ctx.officer.demo))}
        rows = [{"counter": k, "board": board.get(k.number, {})} for k in counters]
        return render(
            request, "queue.html", ctx, status=exc.status, rows=rows, actions=QUEUE_ACTIONS, error=message, page="queue"
        )
    ticket = out.get("ticket") or {}
    return redirect(f"/officer/queue?c={counter}&a={action}&code={ticket.get('code', '')}")
