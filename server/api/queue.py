"""Queue tickets per counter and day (WIB), and the now-serving board."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select

from protocol.api import BoardRow, TicketIn, TicketOut
from protocol.messages import BoardUpdate
from server.api.deps import DbDep, HubDep, VisitorDep, bearer
from server.domain import queue, sessions
from server.errors import ApiError, responses
from server.persistence import models as m

router = APIRouter(tags=["queue"])


@router.post(
    "/queue/tickets", status_code=201, response_model=TicketOut, responses=responses(401, 404, 409, 413, 422, 503)
)
def take_ticket(body: TicketIn, db: DbDep, vs: VisitorDep, hub: HubDep) -> dict[str, Any]:
    ticket, ev = queue.take_ticket(db, vs, body.counter)
    out = queue.ticket_dict(db, ticket)
    db.commit()
    hub.wake({ev.citizen_id}, {ev.session_id})
    publish_board(db, hub, body.counter, demo=bool(vs.demo))
    return out


@router.get("/queue/tickets", response_model=list[TicketOut], responses=responses(401))
def my_tickets(db: DbDep, vs: VisitorDep) -> list[dict[str, Any]]:
    q = select(m.QueueTicket).where(m.QueueTicket.session_id == vs.id).order_by(m.QueueTicket.id.desc()).limit(50)
    return [queue.ticket_dict(db, t) for t in db.scalars(q)]


@router.get("/queue/board", response_model=list[BoardRow])
def board(request: Request, db: DbDep) -> list[dict[str, Any]]:
    """The public board: the office's tickets. A demo tour's session (its bearer token) sees the tour's."""
    return queue.board(db, demo=_demo_caller(request, db))


def _demo_caller(request: Request, db: Any) -> bool:
    token = bearer(request)
    if token is None:
        return False
    try:
        return bool(sessions.session_for_token(db, token).demo)
    except ApiError:
        return False  # a stale token still reads the public board


def publish_board(db: Any, hub: HubDep, counter: int, *, demo: bool = False) -> None:
    """One counter's row to the hall: the office's board to everyone else, a tour's to its own sessions."""
    for row in queue.board(db, demo=demo):
        if row["counter"] == counter:
            hub.broadcast(board_update(row), demo=demo)


def board_update(row: dict[str, Any]) -> dict[str, Any]:
    """The hall-wide frame for one counter's row of ``domain.board``."""
    return BoardUpdate(counter=row["counter"], now_serving=row["now_serving"], waiting=row["waiting"]).model_dump(
        mode="json"
    )
