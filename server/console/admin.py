"""Supervisor reports (read-only) and account administration (admin only)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select

from server import domain, officers, states
from server import models as m
from server.console import live
from server.console.web import ConsoleError, CsrfDep, CtxDep, redirect, render, require_roles
from server.deps import DbDep, HubDep

router = APIRouter(prefix="/officer", include_in_schema=False)


# ------------------------------------------------------------------ reports


def report_data(db: Any, today: dt.date | None = None) -> dict[str, Any]:
    """Volumes, handling time (first submitted → completed), SLA breaches, SKM and complaints."""
    today = today or domain.today_wib()
    apps = list(db.scalars(select(m.Application).where(m.Application.state != "draft")))
    submitted: dict[int, dt.datetime] = {}
    completed: dict[int, dt.datetime] = {}
    for app_id, to_state, at in db.execute(
        select(m.Event.application_id, m.Event.to_state, m.Event.created_at)
        .where(m.Event.kind == "application", m.Event.to_state.in_(("submitted", "completed")))
        .order_by(m.Event.id)
    ):
        if to_state == "submitted":
            submitted.setdefault(app_id, m.utc(at))
        else:
            completed[app_id] = m.utc(at)
    per: dict[str, dict[str, Any]] = defaultdict(lambda: {"total": 0, "completed": 0, "hours": []})
    breaches = []
    for a in apps:
        row = per[a.service_id]
        row["total"] += 1
        if a.id in completed and a.id in submitted:
            row["completed"] += 1
            row["hours"].append((completed[a.id] - submitted[a.id]).total_seconds() / 3600)
        if a.sla_due is None:
            continue
        if a.state == "completed" and a.id in completed:
            done_day = completed[a.id].astimezone(domain.WIB).date()
            late = (done_day - a.sla_due).days
        elif a.state not in states.FINAL:
            late = (today - a.sla_due).days
        else:
            late = 0
        if late > 0:
            breaches.append({"app": a, "days_late": late})
    volumes = [
        {
            "service_id": sid,
            "total": r["total"],
            "completed": r["completed"],
            "avg_hours": round(sum(r["hours"]) / len(r["hours"]), 1) if r["hours"] else None,
        }
        for sid, r in sorted(per.items())
    ]
    skm = [
        {"service_id": sid, "count": int(n), "avg": round(float(avg), 2)}
        for sid, n, avg in db.execute(
            select(m.SurveyResponse.service_id, func.count(), func.avg(m.SurveyResponse.score))
            .group_by(m.SurveyResponse.service_id)
            .order_by(m.SurveyResponse.service_id)
        )
    ]
    complaints = list(db.scalars(select(m.Complaint).order_by(m.Complaint.id.desc()).limit(50)))
    breaches.sort(key=lambda b: -b["days_late"])
    return {"volumes": volumes, "breaches": breaches, "skm": skm, "complaints": complaints}


@router.get("/reports", response_class=HTMLResponse)
def reports(request: Request, ctx: CtxDep, db: DbDep) -> Response:
    require_roles(ctx, "supervisor", "admin")
    return render(request, "reports.html", ctx, page="reports", **report_data(db))


# ------------------------------------------------------------------ accounts


def _accounts_page(
    request: Request, ctx: Any, db: Any, error: str = "", saved: str = "", status: int = 200
) -> Response:
    return render(
        request,
        "admin.html",
        ctx,
        status=status,
        page="admin",
        accounts=list(db.scalars(select(m.Officer).order_by(m.Officer.username))),
        agencies=list(db.scalars(select(m.Agency).order_by(m.Agency.id))),
        roles=officers.ROLES,
        error=error,
        saved=saved,
    )


@router.get("/admin", response_class=HTMLResponse)
def accounts(request: Request, ctx: CtxDep, db: DbDep, saved: str = "") -> Response:
    require_roles(ctx, "admin")
    return _accounts_page(request, ctx, db, saved=saved[:60])


@router.post("/admin/accounts", response_class=HTMLResponse)
def create_account(
    request: Request,
    ctx: CsrfDep,
    db: DbDep,
    username: str = Form(min_length=1, max_length=60),
    password: str = Form(min_length=1, max_length=200),
    full_name: str = Form(default="", max_length=120),
    role: str = Form(default="officer", max_length=20),
    agency_id: str = Form(default="", max_length=40),
    village_code: str = Form(default="", max_length=60),
    facility: str = Form(default="", max_length=120),
) -> Response:
    require_roles(ctx, "admin")
    try:
        o = officers.create_officer(
            db,
            username.strip(),
            password,
            role,
            agency_id or None,
            village_code.strip() or None,
            full_name.strip(),
            facility,
        )
    except ValueError as exc:
        db.rollback()
        return _accounts_page(request, ctx, db, error=str(exc), status=422)
    db.add(m.AuditLog(officer_id=ctx.officer.id, action="officer_create", target=o.username, detail={"role": role}))
    db.commit()
    return redirect(f"/officer/admin?saved={o.username}")


@router.post("/admin/accounts/{officer_id}", response_class=HTMLResponse)
def update_account(
    officer_id: int,
    request: Request,
    ctx: CsrfDep,
    db: DbDep,
    hub: HubDep,
    role: str = Form(max_length=20),
    agency_id: str = Form(default="", max_length=40),
    village_code: str = Form(default="", max_length=60),
    active: str = Form(default="", max_length=5),
) -> Response:
    """Role, agency and disable changes apply at once: pages re-read the officer on every request,
    and open console sockets are closed so they reconnect with the new scope (or not at all)."""
    require_roles(ctx, "admin")
    o = db.get(m.Officer, officer_id)
    if o is None:
        raise ConsoleError(404, "not_found")
    agency = agency_id or None
    village = village_code.strip() or None
    problem = ""
    if role not in officers.ROLES:
        problem = f"role must be one of {', '.join(officers.ROLES)}"
    elif role == "officer" and not agency:
        problem = "an agency officer needs an agency"
    elif role == "village" and not village:
        problem = "a village officer needs a village code"
    elif agency and db.get(m.Agency, agency) is None:
        problem = f"unknown agency {agency!r}"
    if problem:
        return _accounts_page(request, ctx, db, error=problem, status=422)
    before = {"role": o.role, "agency_id": o.agency_id, "village_code": o.village_code, "active": o.active}
    o.role, o.agency_id, o.village_code = role, agency, village
    o.active = active == "1"
    after = {"role": o.role, "agency_id": o.agency_id, "village_code": o.village_code, "active": o.active}
    if not o.active:
        officers.revoke_all(db, o.id)
    db.add(
        m.AuditLog(
            officer_id=ctx.officer.id,
            action="officer_update",
            target=o.username,
            detail={"before": before, "after": after},
        )
    )
    db.commit()
    if before != after:
        code = live.CLOSE_LOGGED_OUT if not o.active else live.CLOSE_RESCOPED
        hub.close_officer(o.id, code, "account changed")
    return redirect(f"/officer/admin?saved={o.username}")
