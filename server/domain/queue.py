"""Queue tickets, wait estimates and the board.

A demo tour's tickets (taken by a demo session, migration 0040) form a queue of their own at the
same counters: the public board, the wait estimates and an office officer's call-next see only the
office's tickets, and a ``demo-<agency>`` officer only the tour's (issue 18: a tour shown on a
running server never moves the office's figures nor takes its citizens' turns)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from l10n import msg
from server.domain.sessions import today_wib
from server.errors import ApiError, not_found
from server.persistence import models as m

DEFAULT_MINUTES_PER_TICKET = 6
# A tour's tickets are numbered from here (A-901, A-902 ...), so a tour shown on a running server
# never takes numbers from the office's own sequence (a citizen's A-003 is not followed by A-007
# because a tour took three) and its codes never equal an office ticket's of the same day.
DEMO_NUMBER_BASE = 900


def _counter(db: Session, number: int) -> m.Counter:
    c = db.get(m.Counter, number)
    if c is None:
        raise not_found("error.not_found_counter")
    return c


def _kind(q: Any, demo: bool) -> Any:
    """``q`` (over queue tickets) kept to the tour's tickets (``demo``) or to the office's."""
    return q.join(m.VisitorSession, m.VisitorSession.id == m.QueueTicket.session_id).where(
        m.VisitorSession.demo == demo
    )


def ticket_demo(db: Session, t: m.QueueTicket) -> bool:
    vs = db.get(m.VisitorSession, t.session_id)
    return bool(vs is not None and vs.demo)


def minutes_per_ticket(db: Session, counter: int, day: dt.date, *, demo: bool = False) -> float:
    q = select(m.QueueTicket.called_at, m.QueueTicket.finished_at).where(
        m.QueueTicket.counter == counter,
        m.QueueTicket.day == day,
        m.QueueTicket.state == "served",
        m.QueueTicket.called_at.is_not(None),
        m.QueueTicket.finished_at.is_not(None),
    )
    rows = db.execute(_kind(q, demo)).all()
    spans = [(m.utc(f) - m.utc(c)).total_seconds() / 60 for c, f in rows if c and f]
    if not spans:
        return DEFAULT_MINUTES_PER_TICKET
    return max(1.0, sum(spans) / len(spans))


def estimated_wait(db: Session, ticket: m.QueueTicket) -> int:
    demo = ticket_demo(db, ticket)
    q = (
        select(func.count())
        .select_from(m.QueueTicket)
        .where(
            m.QueueTicket.counter == ticket.counter,
            m.QueueTicket.day == ticket.day,
            m.QueueTicket.state == "waiting",
            m.QueueTicket.number < ticket.number,
        )
    )
    ahead = db.scalar(_kind(q, demo))
    return round((ahead or 0) * minutes_per_ticket(db, ticket.counter, ticket.day, demo=demo))


def ticket_dict(db: Session, t: m.QueueTicket) -> dict[str, Any]:
    return {
        "code": t.code,
        "counter": t.counter,
        "state": t.state,
        "day": t.day.isoformat(),
        "estimated_wait_min": estimated_wait(db, t) if t.state == "waiting" else 0,
        "created_at": m.utc(t.created_at).isoformat(),
    }


def _queue_event(db: Session, t: m.QueueTicket, source: str | None, actor: str) -> m.Event:
    ev = m.Event(
        kind="queue",
        session_id=t.session_id,
        citizen_id=t.citizen_id,
        ticket_id=t.id,
        actor=actor,
        from_state=source,
        to_state=t.state,
        payload={
            "ticket_code": t.code,
            "counter": t.counter,
            "estimated_wait_min": estimated_wait(db, t) if t.state == "waiting" else 0,
        },
        created_at=m.now_utc(),
    )
    db.add(ev)
    return ev


def take_ticket(db: Session, vs: m.VisitorSession, counter: int) -> tuple[m.QueueTicket, m.Event]:
    c = _counter(db, counter)
    day = today_wib()
    active_key = f"{vs.id}:{counter}:{day.isoformat()}"
    existing = db.scalar(select(m.QueueTicket).where(m.QueueTicket.active_key == active_key))
    if existing is not None:
        raise ApiError(
            409,
            "ticket_exists",
            msg("error.ticket_exists", code=existing.code),
            ticket=existing.code,
        )
    demo = bool(vs.demo)
    in_range = m.QueueTicket.number > DEMO_NUMBER_BASE if demo else m.QueueTicket.number <= DEMO_NUMBER_BASE
    for _attempt in range(20):
        number = (
            db.scalar(
                select(func.coalesce(func.max(m.QueueTicket.number), 0)).where(
                    m.QueueTicket.counter == counter, m.QueueTicket.day == day, in_range
                )
            )
            or (DEMO_NUMBER_BASE if demo else 0)
        ) + 1
        if not demo and number > DEMO_NUMBER_BASE:
            raise ApiError(503, "queue_busy", "error.queue_busy")  # 900 tickets at one counter in a day
        t = m.QueueTicket(
            counter=counter,
            day=day,
            number=number,
            code=f"{c.code}-{number:03d}",
            session_id=vs.id,
            citizen_id=vs.citizen_id,
            state="waiting",
            active_key=active_key,
            created_at=m.now_utc(),
        )
        try:
            with db.begin_nested():
                db.add(t)
                db.flush()
        except IntegrityError:
            if db.scalar(select(m.QueueTicket).where(m.QueueTicket.active_key == active_key)) is not None:
                raise ApiError(
                    409,
                    "ticket_exists",
                    "error.ticket_exists_plain",
                ) from None
            continue
        return t, _queue_event(db, t, None, f"session:{vs.public_id}")
    raise ApiError(503, "queue_busy", "error.queue_busy")


def board(db: Session, day: dt.date | None = None, *, demo: bool = False) -> list[dict[str, Any]]:
    """Now serving and waiting per counter: the office's tickets, or only a demo tour's (``demo``)."""
    day = day or today_wib()
    out = []
    for c in db.scalars(select(m.Counter).order_by(m.Counter.number)):
        serving = db.scalar(
            _kind(
                select(m.QueueTicket.code).where(
                    m.QueueTicket.counter == c.number, m.QueueTicket.day == day, m.QueueTicket.state == "called"
                ),
                demo,
            )
            .order_by(m.QueueTicket.called_at.desc())
            .limit(1)
        )
        waiting = db.scalar(
            _kind(
                select(func.count())
                .select_from(m.QueueTicket)
                .where(m.QueueTicket.counter == c.number, m.QueueTicket.day == day, m.QueueTicket.state == "waiting"),
                demo,
            )
        )
        out.append(
            {
                "counter": c.number,
                "code": c.code,
                "agency_id": c.agency_id,
                "now_serving": serving,
                "waiting": waiting or 0,
            }
        )
    return out


def queue_action(
    db: Session, counter: int, action: str, actor: str, *, demo: bool = False
) -> tuple[m.QueueTicket | None, list[m.Event]]:
    """call-next / recall / skip / served at one counter; returns the ticket acted on and its events.

    ``demo``: the officer is a demo tour's and acts on the tour's tickets only (and an office's
    officer never on them)."""
    _counter(db, counter)
    day = today_wib()
    now = m.now_utc()
    current = db.scalar(
        _kind(
            select(m.QueueTicket).where(
                m.QueueTicket.counter == counter, m.QueueTicket.day == day, m.QueueTicket.state == "called"
            ),
            demo,
        )
        .order_by(m.QueueTicket.called_at.desc())
        .limit(1)
    )
    events: list[m.Event] = []

    def finish(t: m.QueueTicket, state: str) -> None:
        t.state = state
        t.finished_at = now
        t.active_key = None
        db.flush()
        events.append(_queue_event(db, t, "called", actor))

    if action == "call-next":
        if current is not None:
            finish(current, "served")
        nxt = db.scalar(
            _kind(
                select(m.QueueTicket).where(
                    m.QueueTicket.counter == counter, m.QueueTicket.day == day, m.QueueTicket.state == "waiting"
                ),
                demo,
            )
            .order_by(m.QueueTicket.number)
            .limit(1)
        )
        if nxt is None:
            return None, events
        nxt.state = "called"
        nxt.called_at = now
        db.flush()
        events.append(_queue_event(db, nxt, "waiting", actor))
        return nxt, events
    if current is None:
        raise ApiError(409, "nobody_called", "error.nobody_called")
    if action == "recall":
        current.called_at = now
        events.append(_queue_event(db, current, "called", actor))
    elif action == "skip":
        finish(current, "skipped")
    elif action == "served":
        finish(current, "served")
    else:
        raise ApiError(404, "unknown_action", "error.unknown_action")
    return current, events
