"""Websocket frames, discriminated by ``type``.

Client frames forbid unknown fields so that a citizen can never smuggle in
``status`` or ``role``: the server answers such a frame with an ``error``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from protocol import PROTOCOL_VERSION

MAX_FRAME_BYTES = 64 * 1024


class _ClientFrame(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _ServerFrame(BaseModel):
    model_config = ConfigDict(extra="ignore")


# --------------------------------------------------------------- client → server


class Hello(_ClientFrame):
    type: Literal["hello"] = "hello"
    token: str = Field(min_length=16, max_length=256)
    protocol_version: int = PROTOCOL_VERSION
    last_seq: int = Field(default=0, ge=0)
    name: str | None = Field(default=None, max_length=60)


class Ping(_ClientFrame):
    type: Literal["ping"] = "ping"
    nonce: int = 0


class Pong(_ClientFrame):
    type: Literal["pong"] = "pong"
    nonce: int = 0


class PresenceJoin(_ClientFrame):
    type: Literal["presence.join"] = "presence.join"
    x: float = Field(default=0.0, allow_inf_nan=False)
    y: float = Field(default=0.0, allow_inf_nan=False)
    heading: float = Field(default=0.0, allow_inf_nan=False)


class PresenceMove(_ClientFrame):
    type: Literal["presence.move"] = "presence.move"
    x: float = Field(allow_inf_nan=False)
    y: float = Field(allow_inf_nan=False)
    heading: float = Field(default=0.0, allow_inf_nan=False)
    ts: float = Field(default=0.0, allow_inf_nan=False, description="Client clock, echoed back for latency")


class PresenceLeave(_ClientFrame):
    type: Literal["presence.leave"] = "presence.leave"


class ChatSay(_ClientFrame):
    type: Literal["chat.say"] = "chat.say"
    text: str = Field(min_length=1, max_length=2000)
    conversation_id: str | None = Field(default=None, max_length=64)
    lang: Literal["id", "en"] | None = None
    ref: str | None = Field(default=None, max_length=64)


ClientMessage = Annotated[
    Hello | Ping | Pong | PresenceJoin | PresenceMove | PresenceLeave | ChatSay,
    Field(discriminator="type"),
]
client_adapter: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)

# --------------------------------------------------------------- server → client


class Welcome(_ServerFrame):
    type: Literal["welcome"] = "welcome"
    protocol_version: int = PROTOCOL_VERSION
    session_id: str
    citizen: str | None = Field(default=None, description="Masked NIK when identified")
    last_seq: int = Field(description="Highest event seq the server holds for this visitor")
    hall: str = "Aula 1"


class ErrorFrame(_ServerFrame):
    type: Literal["error"] = "error"
    code: str
    message: str
    ref: str | None = None


class ServerPing(_ServerFrame):
    type: Literal["ping"] = "ping"
    nonce: int = 0


class ServerPong(_ServerFrame):
    type: Literal["pong"] = "pong"
    nonce: int = 0


class ApplicationEvent(_ServerFrame):
    """A state change of the visitor's own application; ``seq`` is monotonic per visitor stream."""

    type: Literal["application.event"] = "application.event"
    seq: int
    tracking_number: str
    service_id: str
    from_state: str | None
    to_state: str
    note: str | None = None
    actor: str
    at: dt.datetime
    version: int


class QueueEvent(_ServerFrame):
    type: Literal["queue.event"] = "queue.event"
    seq: int
    ticket_code: str
    counter: int
    state: Literal["waiting", "called", "served", "skipped"]
    estimated_wait_min: int | None = None
    at: dt.datetime


class BoardUpdate(_ServerFrame):
    """Now-serving board change, sent to everyone in the hall (not part of the replayed stream)."""

    type: Literal["board.update"] = "board.update"
    counter: int
    now_serving: str | None
    waiting: int


class PresenceEntity(_ServerFrame):
    id: str
    name: str
    x: float
    y: float
    heading: float = 0.0
    ts: float = 0.0


class PresenceSnapshot(_ServerFrame):
    """One batched, delta-encoded view per tick: who entered, who left, who changed."""

    type: Literal["presence.snapshot"] = "presence.snapshot"
    tick: int
    hall: str
    full: bool = False
    entered: list[PresenceEntity] = Field(default_factory=list)
    changed: list[PresenceEntity] = Field(default_factory=list)
    left: list[str] = Field(default_factory=list)


class PresenceCorrect(_ServerFrame):
    """Only to the mover: the server clamped its move (speed or walls); this is where it really is."""

    type: Literal["presence.correct"] = "presence.correct"
    x: float
    y: float
    heading: float = 0.0


class QuickReply(_ServerFrame):
    label: str
    payload: str


class Citation(_ServerFrame):
    service_id: str | None = None
    source: str
    url: str | None = None
    checked: str | None = None


class WorldAction(_ServerFrame):
    """Something the world should do: walk_to_counter, open_form, show_ticket, show_application, handoff."""

    kind: Literal["walk_to_counter", "open_form", "show_ticket", "show_application", "handoff"]
    data: dict[str, Any] = Field(default_factory=dict)


class ChatReply(_ServerFrame):
    type: Literal["chat.reply"] = "chat.reply"
    conversation_id: str
    text: str
    lang: Literal["id", "en"] = "id"
    quick_replies: list[QuickReply] = Field(default_factory=list)
    actions: list[WorldAction] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list)
    intent: str | None = None
    service: str | None = None
    ref: str | None = None
    sender: Literal["assistant", "officer", "system"] = "assistant"


ServerMessage = Annotated[
    Welcome
    | ErrorFrame
    | ServerPing
    | ServerPong
    | ApplicationEvent
    | QueueEvent
    | BoardUpdate
    | PresenceSnapshot
    | PresenceCorrect
    | ChatReply,
    Field(discriminator="type"),
]
server_adapter: TypeAdapter[ServerMessage] = TypeAdapter(ServerMessage)


def parse_server(raw: str | bytes) -> ServerMessage:
    return server_adapter.validate_json(raw)
