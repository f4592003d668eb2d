"""Ask the assistant over HTTP (the 2D page and scripts); same brain as ``chat.say``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from protocol.api import AskIn
from protocol.messages import ChatReply
from server.api.deps import DbDep, VisitorDep
from server.errors import responses

router = APIRouter(tags=["assistant"])


@router.post("/assistant/ask", response_model=ChatReply, responses=responses(401, 404, 413, 422, 503))
async def ask(body: AskIn, request: Request, vs: VisitorDep, db: DbDep) -> dict[str, Any]:
    chat = request.app.state.chat
    db.close()  # end the lookup transaction: on SQLite it holds the write lock the answer needs
    frame: dict[str, Any] = await chat.answer_frame(vs.id, body.text, body.conversation_id, body.lang, None)
    return frame
