"""Ask the assistant over HTTP (the 2D page and scripts); same brain as ``chat.say``."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from protocol.messages import CHAT_TEXT_MAX
from server.api.deps import DbDep, VisitorDep

router = APIRouter(tags=["assistant"])


class AskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=CHAT_TEXT_MAX)
    conversation_id: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    lang: Literal["id", "en"] | None = None


@router.post("/assistant/ask")
async def ask(body: AskIn, request: Request, vs: VisitorDep, db: DbDep) -> dict[str, Any]:
    chat = request.app.state.chat
    db.close()  # end the lookup transaction: on SQLite it holds the write lock the answer needs
    frame: dict[str, Any] = await chat.answer_frame(vs.id, body.text, body.conversation_id, body.lang, None)
    return frame
