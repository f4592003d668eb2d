"""The application event stream a visitor's socket replays and follows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.persistence import models as m


def append_event(
    db: Session,
    app: m.Application,
    source: str | None,
    target: str,
    actor: str,
    note: str | None,
    version: int | None = None,
) -> m.Event:
    ev = m.Event(
        kind="application",
        citizen_id=app.citizen_id,
        application_id=app.id,
        actor=actor,
        from_state=source,
        to_state=target,
        note=note,
        payload={
            "tracking_number": app.tracking_number,
            "service_id": app.service_id,
            "version": version if version is not None else app.version,
        },
        created_at=m.now_utc(),
    )
    db.add(ev)
    return ev


def stream_filter(citizen_id: int | None, session_id: int) -> Any:
    cond = m.Event.session_id == session_id
    if citizen_id is not None:
        cond = cond | (m.Event.citizen_id == citizen_id)
    return cond


def events_after(db: Session, citizen_id: int | None, session_id: int, after: int, limit: int = 500) -> list[m.Event]:
    q = (
        select(m.Event)
        .where(stream_filter(citizen_id, session_id), m.Event.id > after)
        .order_by(m.Event.id)
        .limit(limit)
    )
    return list(db.scalars(q))


def last_seq(db: Session, citizen_id: int | None, session_id: int) -> int:
    return int(
        db.scalar(select(func.coalesce(func.max(m.Event.id), 0)).where(stream_filter(citizen_id, session_id))) or 0
    )


def event_frame(ev: m.Event) -> dict[str, Any]:
    at = m.utc(ev.created_at).isoformat()
    if ev.kind == "application":
        return {
            "type": "application.event",
            "seq": ev.id,
            "tracking_number": ev.payload.get("tracking_number"),
            "service_id": ev.payload.get("service_id"),
            "from_state": ev.from_state,
            "to_state": ev.to_state,
            "note": ev.note,
            "actor": ev.actor,
            "at": at,
            "version": ev.payload.get("version", 1),
        }
    if ev.kind == "document":
        return {
            "type": "document.event",
            "seq": ev.id,
            "tracking_number": ev.payload.get("tracking_number"),
            "service_id": ev.payload.get("service_id"),
            "state": ev.to_state,
            "number": ev.payload.get("number"),
            "title": ev.payload.get("title"),
            "claim_slip": bool(ev.payload.get("claim_slip")),
            "at": at,
        }
    return {
        "type": "queue.event",
        "seq": ev.id,
        "ticket_code": ev.payload.get("ticket_code"),
        "counter": ev.payload.get("counter"),
        "state": ev.to_state,
        "estimated_wait_min": ev.payload.get("estimated_wait_min"),
        "at": at,
    }
