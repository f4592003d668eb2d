"""Supervisor reports (read-only) and account administration (admin only)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select

from server.api.deps import DbDep, HubDep
from server.console import live
from server.console.web import ConsoleError, CsrfDep, CtxDep, redirect, render, require_roles, service_name
from server.domain import officers, sessions, states
from server.persistence import models as m

router = APIRouter(prefix="/officer", include_in_schema=False)


# ------------------------------------------------------------------ reports


MAX_RANGE_DAYS = 366


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """WIB calendar days [start, end] as UTC instants."""
    lo = dt.datetime.combine(start, dt.time(), tzinfo=sessions.WIB).astimezone(dt.UTC)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=sessions.WIB).astimezone(dt.UTC)
    return lo, hi


def report_range(start: str, end: str, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The report's days (default: the last 30); a bad or reversed range is a 422, never a 500."""
    today = today or sessions.today_wib()
    try:
        hi = dt.date.fromisoformat(end) if end else today
        lo = dt.date.fromisoformat(start) if start else hi - dt.timedelta(days=29)
    except ValueError:
        raise ConsoleError(422, "console.bad_range") from None
    if lo > hi or (hi - lo).days >= MAX_RANGE_DAYS:
        raise ConsoleError(422, "console.bad_range")
    return lo, hi


def report_data(
    db: Any,
    today: dt.date | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    *,
    demo: bool = False,
) -> dict[str, Any]:
    """Volumes, handling time (first submitted → completed), SLA breaches, SKM and complaints, in a date range.

    ``demo``: a demo tour's applications, survey answers and complaints instead of the office's (never
    both: a tour must not move the office's figures)."""
    today = today or sessions.today_wib()
    q = select(m.Application).where(m.Application.state != "draft", m.Application.demo == demo)
    lo = hi = None
    if start is not None and end is not None:
        lo, hi = _bounds(start, end)
        q = q.where(m.Application.created_at >= lo, m.Application.created_at < hi)
    apps = list(db.scalars(q))
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
            done_day = completed[a.id].astimezone(sessions.WIB).date()
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
    # survey answers and complaints come from visitor sessions: a tour's (demo) sessions count only in its report
    sq = (
        select(m.SurveyResponse.service_id, func.count(), func.avg(m.SurveyResponse.score))
        .join(m.VisitorSession, m.VisitorSession.id == m.SurveyResponse.session_id)
        .where(m.VisitorSession.demo == demo)
    )
    cq = (
        select(m.Complaint)
        .join(m.VisitorSession, m.VisitorSession.id == m.Complaint.session_id)
        .where(m.VisitorSession.demo == demo)
    )
    if lo is not None and hi is not None:
        sq = sq.where(m.SurveyResponse.created_at >= lo, m.SurveyResponse.created_at < hi)
        cq = cq.where(m.Complaint.created_at >= lo, m.Complaint.created_at < hi)
    skm = [
        {"service_id": sid, "count": int(n), "avg": round(float(avg), 2)}
        for sid, n, avg in db.execute(sq.group_by(m.SurveyResponse.service_id).order_by(m.SurveyResponse.service_id))
    ]
    complaints = list(db.scalars(cq.order_by(m.Complaint.id.desc()).limit(50)))
    breaches.sort(key=lambda b: -b["days_late"])
    daily: dict[dt.date, int] = defaultdict(int)
    for a in apps:
        daily[m.utc(a.created_at).astimezone(sessions.WIB).date()] += 1
    days: list[dict[str, Any]] = []
    if start is not None and end is not None:
        day = start
        while day <= end:
            days.append({"day": day, "count": daily.get(day, 0)})
            day += dt.timedelta(days=1)
    top = max([v["total"] for v in volumes] + [1])
    for v in volumes:
        v["bar"] = round(100 * v["total"] / top, 1)
    peak = max([row["count"] for row in days] + [1])
    for row in days:
        row["bar"] = round(100 * row["count"] / peak, 1)
    return {"volumes": volumes, "breaches": breaches, "skm": skm, "complaints": complaints, "days": days}


CSV_COLUMNS = (
    "service_id", "service", "submitted", "completed", "avg_handling_hours", "sla_breaches", "skm_responses", "skm_avg",
)  # fmt: skip


def report_csv(data: dict[str, Any], names: Any) -> str:
    """One row per service; numbers plain (a spreadsheet reads them), names in the console's language."""
    import csv
    import io

    late: dict[str, int] = defaultdict(int)
    for b in data["breaches"]:
        late[b["app"].service_id] += 1
    skm = {s["service_id"]: s for s in data["skm"]}
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for v in data["volumes"]:
        sid = v["service_id"]
        s = skm.get(sid, {})
        w.writerow([sid, names(sid), v["total"], v["completed"], v["avg_hours"] if v["avg_hours"] is not None else "",
                    late.get(sid, 0), s.get("count", 0), s.get("avg", "")])  # fmt: skip
    return out.getvalue()


@router.get("/reports", response_class=HTMLResponse)
def reports(request: Request, ctx: CtxDep, db: DbDep, start: str = Query("", alias="from", max_length=10),
            end: str = Query("", alias="to", max_length=10)) -> Response:  # fmt: skip
    require_roles(ctx, "supervisor", "admin")
    lo, hi = report_range(start, end)
    data = report_data(db, start=lo, end=hi, demo=bool(ctx.officer.demo))
    return render(request, "reports.html", ctx, page="reports", range_from=lo, range_to=hi, **data)


@router.get("/reports.csv")
def reports_csv(request: Request, ctx: CtxDep, db: DbDep, start: str = Query("", alias="from", max_length=10),
                end: str = Query("", alias="to", max_length=10)) -> Response:  # fmt: skip
    require_roles(ctx, "supervisor", "admin")
    lo, hi = report_range(start, end)
    catalog = request.app.state.catalog
    body = report_csv(
        report_data(db, start=lo, end=hi, demo=bool(ctx.officer.demo)), lambda sid: service_name(catalog, sid, ctx.lang)
    )
    return Response(
        "\ufeff" + body,  # a BOM, so spreadsheet programs read the Indonesian names as UTF-8
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="laporan-mpp-{lo}-{hi}.csv"',
            "Cache-Control": "no-store",
        },
    )


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
        raise ConsoleError(404, "console.not_found")
    agency = agency_id or None
    village = village_code.strip() or None
    problem = ""
    if role not in officers.ROLES:
        problem = f"role must be one of {', '.join(officers.ROLES)}"
    elif role == "officer" and not agency:
        problem = "an agency officer needs an agency"
    elif role == "village" and not village:
        problem = "a village officer needs a village code"
    elif role == "faskes" and not o.facility:
        problem = "a health-facility officer is created with its facility (mpp officer add --role faskes --facility)"
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
