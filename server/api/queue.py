"""Queue tickets per counter and day (WIB), and the now-serving board."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from server.api.deps import DbDep, HubDep, VisitorDep
from server.domain import queue
from server.persistence import models as m

router = APIRouter(tags=["queue"])


class TicketIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    counter: int = Field(ge=1, le=99)


@router.post("/queue/tickets", status_code=201)
def take_ticket(body: TicketIn, db: DbDep, vs: VisitorDep, hub: HubDep) -> dict[str, Any]:
    ticket, ev = queue.take_ticket(db, vs, body.counter)
    out = queue.ticket_dict(db, ticket)
    db.commit()
    hub.wake({ev.citizen_id}, {ev.session_id})
    publish_board(db, hub, body.counter)
    return out


@router.get("/queue/tickets")
def my_tickets(db: DbDep, vs: VisitorDep) -> list[dict[str, Any]]:
    q = select(m.QueueTicket).where(m.QueueTicket.session_id == vs.id).order_by(m.QueueTicket.id.desc()).limit(50)
    return [queue.ticket_dict(db, t) for t in db.scalars(q)]


@router.get("/queue/board")
def board(db: DbDep) -> list[dict[str, Any]]:
    return queue.board(db)


def publish_board(db: Any, hub: HubDep, counter: int) -> None:
    for row in queue.board(db):
        if row["counter"] == counter:
            hub.broadcast(
                {
                    "type": "board.update",
                    "counter": counter,
                    "now_serving": row["now_serving"],
                    "waiting": row["waiting"],
                }
            )
