"""The remote counter: an officer takes over a conversation the assistant handed off.

While a handoff is ``accepted`` the citizen's chat for that conversation goes to
the officer (``relay_citizen``), and the officer's words reach the citizen as
``chat.reply`` frames with ``sender="officer"`` on the citizen's own socket.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import select, update

from l10n import t
from protocol.feed import HandoffChanged
from protocol.messages import QuickReply, WorldAction
from server.api.deps import DbDep, HubDep
from server.console.web import ConsoleError, CsrfDep, CtxDep, redirect, render
from server.domain.pii import Sealer, blind_mask
from server.persistence import models as m
from server.realtime.calls import ice_servers
from server.realtime.handoffs import (
    append_line,
    citizen_frame,
    clean_transcript,
    mask_person,
    session_target,
    transcript_line,
)
from server.realtime.hub import Hub

router = APIRouter(prefix="/officer", include_in_schema=False)
# Canned replies: the officer sees them in the console's language and sends them in the citizen's.
CANNED = ("greet", "wait", "docs", "form", "counter", "thanks")


# ------------------------------------------------------------------ pages


def _visible(db: Any, ctx: Any) -> Any:
    q = select(m.Handoff)
    role = ctx.officer.role
    if role == "officer":
        q = q.where((m.Handoff.agency_id == ctx.officer.agency_id) | (m.Handoff.agency_id.is_(None)))
    elif role == "village":
        q = q.where(m.Handoff.agency_id == "smart-kampung")
    elif role == "faskes":
        q = q.where(m.Handoff.id.is_(None))  # no counter conversations at a health facility
    return q


def _handoff(db: Any, ctx: Any, hid: int) -> m.Handoff:
    h = db.scalar(_visible(db, ctx).where(m.Handoff.id == hid))
    if h is None:
        raise ConsoleError(404, "console.not_found")
    return h


def _who(db: Any, h: m.Handoff) -> str:
    if h.citizen_id:
        c = db.get(m.Citizen, h.citizen_id)
        if c:
            return c.name
    vs = db.get(m.VisitorSession, h.session_id)
    return (vs.display_name if vs else None) or "—"


def _details(db: Any, h: m.Handoff, online: set[str], now: dt.datetime) -> dict[str, Any]:
    """One row of the desk: masked name, language, last question, guided mode, waiting time, online."""
    vs = db.get(m.VisitorSession, h.session_id)
    lang = (vs.lang if vs else None) or "id"
    last = ""
    for line in reversed(clean_transcript(list(h.transcript or []), lang)):
        if line.get("role") == "citizen" and line.get("text"):
            last = blind_mask(str(line["text"]))  # sealed numbers as stars on the desk
            break
    waited = max(0, int((now - m.utc(h.created_at)).total_seconds() // 60))
    return {
        "name": mask_person(_who(db, h)),
        "lang": lang,
        "last": last[:140],
        "guided": bool(h.guided),
        "waited": waited,
        "online": bool(vs and vs.public_id in online),
    }


def _lists(db: Any, ctx: Any, hub: Hub | None = None) -> dict[str, Any]:
    pending = list(db.scalars(_visible(db, ctx).where(m.Handoff.state == "pending").order_by(m.Handoff.id)))
    mine = list(
        db.scalars(
            select(m.Handoff)
            .where(m.Handoff.officer_id == ctx.officer.id, m.Handoff.state == "accepted")
            .order_by(m.Handoff.id)
        )
    )
    online = {c.public_id for c in hub.conns} if hub is not None else set()
    now = m.now_utc()
    info = {h.id: _details(db, h, online, now) for h in [*pending, *mine]}
    names = {hid: row["name"] for hid, row in info.items()}
    return {"pending": pending, "mine": mine, "names": names, "info": info}


@router.get("/calls/ice")
def officer_ice(request: Request, ctx: CtxDep) -> JSONResponse:
    settings = request.app.state.settings
    return JSONResponse(
        {
            "ice_servers": ice_servers(settings, f"o{ctx.officer.id}"),
            "ttl_seconds": settings.turn_ttl_seconds,
            "ice_transport_policy": "relay" if settings.turn_only else "all",
        },
        headers={"Cache-Control": "no-store"},
    )


@router.get("/remote", response_class=HTMLResponse)
def remote(request: Request, ctx: CtxDep, db: DbDep, hub: HubDep) -> Response:
    return render(request, "remote.html", ctx, page="remote", current=None, **_lists(db, ctx, hub))


@router.get("/remote/list", response_class=HTMLResponse)
def remote_list(request: Request, ctx: CtxDep, db: DbDep, hub: HubDep) -> Response:
    return render(request, "_remote_list.html", ctx, current=None, **_lists(db, ctx, hub))


@router.get("/remote/{hid}", response_class=HTMLResponse)
def conversation(hid: int, request: Request, ctx: CtxDep, db: DbDep) -> Response:
    h = _handoff(db, ctx, hid)
    return _conversation_page(request, ctx, db, h)


def _conversation_page(
    request: Request, ctx: Any, db: Any, h: m.Handoff, error: str = "", status: int = 200, reveal: bool = False
) -> Response:
    sealer: Sealer = request.app.state.sealer
    transcript = sealer.open_obj(h.transcript or []) if reveal else sealer.mask_obj(h.transcript or [])
    catalog = request.app.state.catalog
    lists = _lists(db, ctx, request.app.state.hub)
    _, lang = session_target(db, h)
    services = [s for s in catalog.services]
    if ctx.officer.role == "officer":
        services = [s for s in services if s.agency == ctx.officer.agency_id]
    fields: list[str] = []
    field_options: list[tuple[str, str]] = []
    if h.service_id:
        try:
            form = catalog.service(h.service_id).form
        except KeyError:
            form = []
        fields = [f.name for f in form]
        field_options = [(f.name, f.label.en if ctx.lang == "en" else f.label.id) for f in form]
    return render(
        request,
        "remote.html",
        ctx,
        status=status,
        page="remote",
        current=h,
        revealed=reveal,
        citizen_name=_who(db, h) if h.officer_id == ctx.officer.id else mask_person(_who(db, h)),
        mine=h.officer_id == ctx.officer.id and h.state == "accepted",
        services=[s.id for s in services],
        form_fields=fields,
        field_options=field_options,
        call_requested=h.id in request.app.state.calls.active,
        error=error,
        **{k: v for k, v in lists.items() if k != "mine"},
        my_list=lists["mine"],
        transcript=clean_transcript(list(transcript), lang),
        canned=[(key, t(f"console.canned_{key}", ctx.lang), t(f"console.canned_{key}", lang)) for key in CANNED],
        citizen_lang=lang,
    )


@router.post("/remote/{hid}/reveal", response_class=HTMLResponse)
def reveal_transcript(hid: int, request: Request, ctx: CsrfDep, db: DbDep) -> Response:
    """Full personal numbers in a transcript are personal-data access: audited first, like the NIK reveal."""
    h = _handoff(db, ctx, hid)
    db.add(
        m.AuditLog(
            officer_id=ctx.officer.id,
            action="transcript_reveal",
            target=f"handoff:{h.id}",
            detail={"ip": request.client.host if request.client else None},
        )
    )
    db.commit()
    return _conversation_page(request, ctx, db, h, reveal=True)


def _counter_for(request: Request, db: Any, ctx: Any, h: m.Handoff) -> int | None:
    if h.service_id:
        try:
            return int(request.app.state.catalog.service(h.service_id).counter)
        except KeyError:
            pass
    if ctx.officer.agency_id:
        number = db.scalar(
            select(m.Counter.number).where(m.Counter.agency_id == ctx.officer.agency_id).order_by(m.Counter.number)
        )
        return int(number) if number is not None else None
    return None


@router.post("/remote/{hid}/accept")
def accept(hid: int, request: Request, ctx: CsrfDep, db: DbDep, hub: HubDep) -> Response:
    if ctx.read_only:
        raise ConsoleError(403, "console.read_only")
    h = _handoff(db, ctx, hid)
    taken = db.execute(
        update(m.Handoff)
        .where(m.Handoff.id == h.id, m.Handoff.state == "pending")
        .values(state="accepted", officer_id=ctx.officer.id, updated_at=m.now_utc())
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        db.rollback()
        return _conversation_page(request, ctx, db, _handoff(db, ctx, hid), t("console.handoff_taken", ctx.lang), 409)
    db.refresh(h)
    name = ctx.officer.full_name or ctx.officer.username
    counter = _counter_for(request, db, ctx, h)
    public_id, lang = session_target(db, h)
    greeting = (
        f"Hello, I am {name}, an officer{f' at counter {counter}' if counter else ''}. How can I help?"
        if lang == "en"
        else f"Halo, saya {name}, petugas{f' loket {counter}' if counter else ''}. Ada yang bisa saya bantu?"
    )
    append_line(h, transcript_line("officer", greeting, name), request.app.state.sealer)
    db.commit()
    action = WorldAction(
        kind="handoff", data={"state": "accepted", "officer": name, "counter": counter, "handoff_id": h.id}
    )
    hub.to_session(public_id, citizen_frame(h, greeting, lang, actions=[action]))
    hub.broadcast(HandoffChanged(handoff_id=h.id, agency_id=h.agency_id, state=h.state).wire(), "officer")
    return redirect(f"/officer/remote/{h.id}")


def _mine(db: Any, ctx: Any, hid: int) -> m.Handoff:
    h = _handoff(db, ctx, hid)
    if h.state != "accepted":
        raise ConsoleError(409, "console.handoff_closed")
    if h.officer_id != ctx.officer.id:
        raise ConsoleError(403, "console.handoff_not_yours")
    return h


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


@router.post("/remote/{hid}/say")
def say(
    hid: int, request: Request, ctx: CsrfDep, db: DbDep, hub: HubDep, text: str = Form(min_length=1, max_length=2000)
) -> Response:
    h = _mine(db, ctx, hid)
    text = text.strip()
    if not text:
        raise ConsoleError(422, "console.message")
    name = ctx.officer.full_name or ctx.officer.username
    entry = transcript_line("officer", text, name)
    append_line(h, entry, request.app.state.sealer)
    db.commit()
    public_id, lang = session_target(db, h)
    hub.to_session(public_id, citizen_frame(h, text, lang))
    if _wants_json(request):
        return JSONResponse({"ok": True, "entry": entry})
    return redirect(f"/officer/remote/{h.id}")


@router.post("/remote/{hid}/form")
def push_form(
    hid: int,
    request: Request,
    ctx: CsrfDep,
    db: DbDep,
    hub: HubDep,
    service_id: str = Form(max_length=40),
    attention: str = Form(default="", max_length=500),
) -> Response:
    """Open a service form on the citizen's screen, with the fields the officer wants checked."""
    h = _mine(db, ctx, hid)
    catalog = request.app.state.catalog
    try:
        service = catalog.service(service_id)
    except KeyError:
        raise ConsoleError(404, "console.not_found") from None
    names = {f.name for f in service.form}
    marked = [a.strip() for a in attention.replace(";", ",").split(",") if a.strip() in names]
    public_id, lang = session_target(db, h)
    title = service.name.en if lang == "en" else service.name.id
    labels = [next(f.label.en if lang == "en" else f.label.id for f in service.form if f.name == a) for a in marked]
    if lang == "en":
        text = f"Please fill in the form for {title}." + (
            f" Check these fields: {', '.join(labels)}." if labels else ""
        )
    else:
        text = f"Silakan isi formulir {title}." + (f" Mohon periksa kolom: {', '.join(labels)}." if labels else "")
    h.service_id = h.service_id or service.id
    append_line(
        h, transcript_line("officer", text, ctx.officer.full_name or ctx.officer.username), request.app.state.sealer
    )
    db.commit()
    action = WorldAction(kind="open_form", data={"service_id": service.id, "attention": marked})
    hub.to_session(public_id, citizen_frame(h, text, lang, actions=[action]))
    return redirect(f"/officer/remote/{h.id}")


@router.post("/remote/{hid}/close")
def close(
    hid: int,
    request: Request,
    ctx: CsrfDep,
    db: DbDep,
    hub: HubDep,
    summary: str = Form(default="", max_length=4000),
) -> Response:
    h = _mine(db, ctx, hid)
    summary = summary.strip()
    if not summary:
        return _conversation_page(request, ctx, db, h, t("console.summary", ctx.lang), 422)
    public_id, lang = session_target(db, h)
    h.state = "closed"
    h.summary = summary
    head = "Summary of your conversation with the officer" if lang == "en" else "Ringkasan percakapan dengan petugas"
    text = f"{head}: {summary}"
    append_line(
        h, transcript_line("officer", text, ctx.officer.full_name or ctx.officer.username), request.app.state.sealer
    )
    db.commit()
    survey_label = "Rate this service" if lang == "en" else "Isi survei kepuasan"
    action = WorldAction(
        kind="handoff",
        data={
            "state": "closed",
            "summary": summary,
            "survey": {"handoff_id": h.id, "service_id": h.service_id, "endpoint": "/api/v1/survey"},
        },
    )
    quick = [QuickReply(label=survey_label, payload=f"survey:handoff:{h.id}")]
    request.app.state.calls.end(h.id, "closed")
    hub.to_session(public_id, citizen_frame(h, text, lang, actions=[action], quick=quick))
    hub.broadcast(HandoffChanged(handoff_id=h.id, agency_id=h.agency_id, state=h.state).wire(), "officer")
    return redirect("/officer/remote")
