"""A citizen's own applications: create (idempotent), read, submit, cancel."""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from protocol.api import (
    IDEMPOTENCY_KEY_MAX,
    IDEMPOTENCY_KEY_RE,
    ApplicationIn,
    ApplicationOut,
    NoteIn,
    TrackedOut,
    TrackIn,
)
from protocol.messages import ApplicationEvent
from server.api.deps import CatalogDep, DbDep, HubDep, SettingsDep, VisitorDep, bearer, client_address
from server.domain import applications, identity
from server.domain import events as app_events
from server.domain.submissions import submit_alone
from server.errors import responses
from server.persistence import models as m
from server.realtime.officer_feed import notify_application

router = APIRouter(tags=["applications"])


def _wake(hub: HubDep, events: list[Any]) -> None:
    if events:
        hub.wake({e.citizen_id for e in events}, {e.session_id for e in events})


def _commit_and_wake(db: Any, hub: HubDep, events: list[m.Event]) -> None:
    db.commit()
    _wake(hub, events)


def _writers(request: Request) -> anyio.CapacityLimiter:
    """Threads that run submissions on a server database (SQLite uses the group-commit writer)."""
    limiter: anyio.CapacityLimiter | None = getattr(request.app.state, "submit_limiter", None)
    if limiter is None:
        settings = request.app.state.settings
        n = settings.submit_threads or 8
        limiter = request.app.state.submit_limiter = anyio.CapacityLimiter(n)
    return limiter


@router.post(
    "/applications",
    status_code=201,
    response_model=ApplicationOut,
    responses=responses(400, 401, 403, 404, 409, 413, 422, 503),
)
async def create_application(
    body: ApplicationIn,
    request: Request,
    catalog: CatalogDep,
    hub: HubDep,
    idempotency_key: str = Header(
        min_length=1,
        max_length=IDEMPOTENCY_KEY_MAX,
        pattern=IDEMPOTENCY_KEY_RE,
        description="One key per form: a retry with it never creates a second application",
    ),
) -> JSONResponse:
    # The busiest write. The token lookup, the insert and the commit run in one thread (sync
    # dependencies would each take a hop of their own): on SQLite the group-commit writer's,
    # elsewhere a bounded pool's.
    token = bearer(request)
    writer = getattr(request.app.state, "submissions", None)
    if writer is not None:
        out, result = await writer.submit(token, body.service_id, body.data, idempotency_key, body.submit)
        return _answer(request, hub, out, result)
    out, result = await anyio.to_thread.run_sync(
        submit_alone,
        request.app.state.sessions,
        catalog,
        token,
        body.service_id,
        body.data,
        idempotency_key,
        body.submit,
        limiter=_writers(request),
    )
    return _answer(request, hub, out, result)


def _with_pin(request: Request, out: dict[str, Any]) -> dict[str, Any]:
    """The owner's views carry the receipt PIN (printed on the receipt for tracking without logging in)."""
    tn = out.get("tracking_number")
    if tn:
        out["receipt_pin"] = identity.receipt_pin(request.app.state.settings, tn)
    return out


def _answer(request: Request, hub: HubDep, out: dict[str, Any], result: applications.Created) -> JSONResponse:
    _wake(hub, result.events)
    out = _with_pin(request, dict(out))
    if result.created:
        notify_application(hub, result.application, "application.new")
        return JSONResponse(out, status_code=201)
    return JSONResponse(out, status_code=201, headers={"Idempotent-Replay": "true"})


@router.get("/applications", response_model=list[ApplicationOut], responses=responses(401))
def list_applications(request: Request, db: DbDep, vs: VisitorDep) -> list[dict[str, Any]]:
    if vs.citizen_id is None:
        return []
    apps = db.scalars(
        select(m.Application).where(m.Application.citizen_id == vs.citizen_id).order_by(m.Application.id.desc())
    )
    return [_with_pin(request, applications.application_dict(a)) for a in apps]


@router.post("/track", response_model=TrackedOut, responses=responses(404, 413, 422, 429))
def track_receipt(body: TrackIn, request: Request, db: DbDep, settings: SettingsDep) -> dict[str, Any]:
    """Anonymous: one application by its tracking number and the PIN on its receipt (personal data masked)."""
    app = identity.check_receipt(db, settings, body.tracking_number.strip().upper(), body.pin, client_address(request))
    evs = db.scalars(select(m.Event).where(m.Event.application_id == app.id).order_by(m.Event.id))
    out = applications.application_dict(app)
    out["events"] = [app_events.event_frame(e) for e in evs]
    return out


@router.get("/applications/{tracking}", response_model=ApplicationOut, responses=responses(401, 404))
def get_application(tracking: str, request: Request, db: DbDep, vs: VisitorDep) -> dict[str, Any]:
    return _with_pin(request, applications.application_dict(applications.own_application(db, vs, tracking)))


@router.get("/applications/{tracking}/events", response_model=list[ApplicationEvent], responses=responses(401, 404))
def application_events(tracking: str, db: DbDep, vs: VisitorDep) -> list[dict[str, Any]]:
    app = applications.own_application(db, vs, tracking)
    evs = db.scalars(
        select(m.Event).where(m.Event.application_id == app.id, m.Event.kind == "application").order_by(m.Event.id)
    )
    return [app_events.event_frame(e) for e in evs]


def _citizen_transition(tracking: str, target: str, db: Any, vs: Any, hub: HubDep, note: str | None) -> dict[str, Any]:
    app = applications.own_application(db, vs, tracking)
    citizen = db.get(m.Citizen, vs.citizen_id)
    ev = applications.transition(db, app, target, applications.actor_for(citizen), "citizen", note)
    out = applications.application_dict(app)
    _commit_and_wake(db, hub, [ev])
    notify_application(hub, app)
    return out


@router.post("/applications/{tracking}/submit", response_model=ApplicationOut, responses=responses(401, 404, 409))
def submit(tracking: str, db: DbDep, vs: VisitorDep, hub: HubDep) -> dict[str, Any]:
    return _citizen_transition(tracking, "submitted", db, vs, hub, None)


@router.post(
    "/applications/{tracking}/cancel", response_model=ApplicationOut, responses=responses(401, 404, 409, 413, 422)
)
def cancel(tracking: str, db: DbDep, vs: VisitorDep, hub: HubDep, body: NoteIn | None = None) -> dict[str, Any]:
    return _citizen_transition(tracking, "cancelled", db, vs, hub, body.note if body else None)
