"""The complaints desk (pengaduan): assign, reply, close; the citizen hears about each reply live."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from server.api.deps import DbDep, HubDep
from server.api.feedback import _no_control, complaint_code, notify_complaint
from server.console.web import ConsoleError, CsrfDep, CtxDep, redirect, render
from server.errors import ApiError
from server.persistence import models as m

router = APIRouter(prefix="/officer", include_in_schema=False)
STATES = ("open", "in_progress", "responded", "closed")


def _scoped(ctx: Any) -> Any:
    # a demo tour's complaints (from its demo sessions) reach only demo-<agency> accounts, and only those
    q = (
        select(m.Complaint)
        .join(m.VisitorSession, m.VisitorSession.id == m.Complaint.session_id)
        .where(m.VisitorSession.demo == bool(ctx.officer.demo))
    )
    role = ctx.officer.role
    if role in ("admin", "supervisor"):
        return q
    if role == "village":
        return q.where(m.Complaint.agency_id == "smart-kampung")
    return q.where(m.Complaint.agency_id == ctx.officer.agency_id)


def _one(db: Any, ctx: Any, cid: int) -> m.Complaint:
    c = db.scalar(_scoped(ctx).where(m.Complaint.id == cid))
    if c is None:
        raise ConsoleError(404, "console.not_found")
    return c


def _writable(ctx: Any, c: m.Complaint) -> None:
    if ctx.read_only:
        raise ConsoleError(403, "console.read_only")
    if c.state == "closed":
        raise ConsoleError(409, "console.complaint_closed")


def _colleagues(db: Any, ctx: Any, c: m.Complaint) -> list[m.Officer]:
    """Who a complaint can go to: active officers of its agency (any agency's for an admin's general one)."""
    q = select(m.Officer).where(m.Officer.active.is_(True), m.Officer.role.in_(("officer", "village", "admin")))
    if c.agency_id is not None:
        q = q.where((m.Officer.agency_id == c.agency_id) | (m.Officer.id == ctx.officer.id))
    return list(db.scalars(q.order_by(m.Officer.username)))


@router.get("/complaints", response_class=HTMLResponse)
def complaints(request: Request, ctx: CtxDep, db: DbDep, state: str = "") -> Response:
    q = _scoped(ctx)
    if state in STATES:
        q = q.where(m.Complaint.state == state)
    rows = list(db.scalars(q.order_by(m.Complaint.id.desc()).limit(300)))
    names = {o.id: o.full_name or o.username for o in db.scalars(select(m.Officer))}
    return render(
        request, "complaints.html", ctx, page="complaints", rows=rows, names=names, code=complaint_code,
        state=state, states=STATES, current=None,
    )  # fmt: skip


@router.get("/complaints/{cid}", response_class=HTMLResponse)
def complaint(cid: int, request: Request, ctx: CtxDep, db: DbDep, saved: str = "") -> Response:
    c = _one(db, ctx, cid)
    names = {o.id: o.full_name or o.username for o in db.scalars(select(m.Officer))}
    return render(
        request, "complaints.html", ctx, page="complaints", rows=[], names=names, code=complaint_code,
        state="", states=STATES, current=c, colleagues=_colleagues(db, ctx, c), saved=saved,
    )  # fmt: skip


@router.post("/complaints/{cid}/assign")
def assign(cid: int, ctx: CsrfDep, db: DbDep, officer_id: int = Form(ge=1)) -> Response:
    c = _one(db, ctx, cid)
    _writable(ctx, c)
    if officer_id not in {o.id for o in _colleagues(db, ctx, c)}:
        raise ConsoleError(422, "console.not_found")
    c.assigned_officer_id = officer_id
    if c.state == "open":
        c.state = "in_progress"
    c.updated_at = m.now_utc()
    db.add(m.AuditLog(officer_id=ctx.officer.id, action="complaint.assign", target=complaint_code(c),
                      detail={"to": officer_id}))  # fmt: skip
    db.commit()
    return redirect(f"/officer/complaints/{c.id}?saved=assigned")


@router.post("/complaints/{cid}/reply")
def reply(
    cid: int,
    ctx: CsrfDep,
    db: DbDep,
    hub: HubDep,
    response: str = Form(min_length=1, max_length=5000),
    state: str = Form(default="responded", max_length=20),
) -> Response:
    c = _one(db, ctx, cid)
    _writable(ctx, c)
    text = response.strip()
    if not text or state not in ("in_progress", "responded", "closed"):
        raise ConsoleError(422, "console.message")
    try:
        c.response = _no_control(text, "response")
    except ApiError as exc:  # control characters
        raise ConsoleError(422, "console.message") from exc
    c.state = state
    c.assigned_officer_id = c.assigned_officer_id or ctx.officer.id
    c.updated_at = m.now_utc()
    db.add(m.AuditLog(officer_id=ctx.officer.id, action="complaint.respond", target=complaint_code(c),
                      detail={"state": state}))  # fmt: skip
    db.commit()
    notify_complaint(db, hub, c)
    return redirect(f"/officer/complaints/{c.id}?saved=replied")


@router.post("/complaints/{cid}/close")
def close(cid: int, ctx: CsrfDep, db: DbDep, hub: HubDep) -> Response:
    c = _one(db, ctx, cid)
    _writable(ctx, c)
    c.state = "closed"
    c.updated_at = m.now_utc()
    db.add(m.AuditLog(officer_id=ctx.officer.id, action="complaint.close", target=complaint_code(c), detail={}))
    db.commit()
    notify_complaint(db, hub, c)
    return redirect(f"/officer/complaints/{c.id}?saved=closed")
