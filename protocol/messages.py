"""Websocket frames, discriminated by ``type``.

Client frames forbid unknown fields so that a citizen can never smuggle in
``status`` or ``role``: the server answers such a frame with an ``error``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from protocol import PROTOCOL_VERSION
from protocol.guided import GuidedChoose, GuidedStart, GuidedStep

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


# A chat line may be long (a story before the question); the assistant answers from its end.
CHAT_TEXT_MAX = 8000


class ChatSay(_ClientFrame):
    type: Literal["chat.say"] = "chat.say"
    text: str = Field(min_length=1, max_length=CHAT_TEXT_MAX)
    conversation_id: str | None = Field(default=None, max_length=64)
    lang: Literal["id", "en"] | None = None
    ref: str | None = Field(default=None, max_length=64)


# ---- calls: WebRTC signalling between the citizen and the officer of an accepted handoff

MAX_SDP_CHARS = 32_000  # a browser's audio+video offer is 4-10 KB; far more is abuse
MAX_CANDIDATE_CHARS = 1_000
CallEndReason = Literal["hangup", "declined", "no_path", "failed", "busy", "closed", "disconnected", "timeout"]
CallMediaState = Literal["connecting", "connected", "disconnected", "failed"]


class CallRequest(_ClientFrame):
    """The citizen asks the officer of their handoff for a call (the officer then sends the offer)."""

    type: Literal["call.request"] = "call.request"
    handoff_id: int = Field(ge=1)
    video: bool = True
    webrtc: bool = True


class CallOffer(_ClientFrame):
    type: Literal["call.offer"] = "call.offer"
    handoff_id: int = Field(ge=1)
    sdp: str = Field(min_length=10, max_length=MAX_SDP_CHARS, pattern=r"^v=0")


class CallAnswer(_ClientFrame):
    type: Literal["call.answer"] = "call.answer"
    handoff_id: int = Field(ge=1)
    sdp: str = Field(min_length=10, max_length=MAX_SDP_CHARS, pattern=r"^v=0")


class CallIce(_ClientFrame):
    """One trickled ICE candidate; an empty ``candidate`` means end of candidates."""

    type: Literal["call.ice"] = "call.ice"
    handoff_id: int = Field(ge=1)
    candidate: str = Field(default="", max_length=MAX_CANDIDATE_CHARS)
    sdp_mid: str | None = Field(default=None, max_length=64)
    sdp_mline_index: int | None = Field(default=None, ge=0, le=64)


class CallEnd(_ClientFrame):
    type: Literal["call.end"] = "call.end"
    handoff_id: int = Field(ge=1)
    reason: CallEndReason = "hangup"


class CallMedia(_ClientFrame):
    """What a party sends (mute, camera off) and which devices it lacks; shown to the other party."""

    type: Literal["call.media"] = "call.media"
    handoff_id: int = Field(ge=1)
    audio: bool = True
    video: bool = False
    missing: list[Literal["camera", "microphone", "speaker"]] = Field(default_factory=list, max_length=3)


class CallStatus(_ClientFrame):
    """A party's RTCPeerConnection state, so the other side and the server know the call is up."""

    type: Literal["call.status"] = "call.status"
    handoff_id: int = Field(ge=1)
    state: CallMediaState


class CallHighlight(_ClientFrame):
    """The officer points at one field of the form on the citizen's screen ("isi yang ini, Bu"); None clears."""

    type: Literal["call.highlight"] = "call.highlight"
    handoff_id: int = Field(ge=1)
    service_id: str | None = Field(default=None, max_length=40)
    field: str | None = Field(default=None, max_length=60)


CallFrame = CallRequest | CallOffer | CallAnswer | CallIce | CallEnd | CallMedia | CallStatus | CallHighlight
CALL_TYPES = frozenset(
    t.model_fields["type"].default
    for t in (CallRequest, CallOffer, CallAnswer, CallIce, CallEnd, CallMedia, CallStatus, CallHighlight)
)

ClientMessage = Annotated[
    Hello
    | Ping
    | Pong
    | PresenceJoin
    | PresenceMove
    | PresenceLeave
    | ChatSay
    | CallRequest
    | CallOffer
    | CallAnswer
    | CallIce
    | CallEnd
    | CallMedia
    | CallStatus
    | CallHighlight
    | GuidedStart
    | GuidedChoose,
    Field(discriminator="type"),
]
client_adapter: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)
OfficerCallMessage = Annotated[
    Ping | Pong | CallOffer | CallAnswer | CallIce | CallEnd | CallMedia | CallStatus | CallHighlight,
    Field(discriminator="type"),
]
officer_adapter: TypeAdapter[OfficerCallMessage] = TypeAdapter(OfficerCallMessage)

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


class DocumentEvent(_ServerFrame):
    """The visitor's signed document: issued (ready to download and print), handed over, or revoked."""

    type: Literal["document.event"] = "document.event"
    seq: int
    tracking_number: str
    service_id: str
    state: Literal["issued", "handed_over", "revoked"]
    number: str
    title: str
    claim_slip: bool = False
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


# A moved entity as ``[id, x_cm, y_cm, heading_256]``: no name, no timestamp, integers only.
# At 10 Hz with 40 walkers in view this row is most of a visitor's bandwidth (about a third of
# the size of a full entity object), which matters to citizens who pay per gigabyte.
PresenceChange = tuple[str, int, int, int]


class PresenceSnapshot(_ServerFrame):
    """One batched, delta-encoded view per tick: who entered, who left, who changed (compact rows)."""

    type: Literal["presence.snapshot"] = "presence.snapshot"
    tick: int
    hall: str
    full: bool = False
    entered: list[PresenceEntity] = Field(default_factory=list)
    changed: list[PresenceChange] = Field(default_factory=list)
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


class CallState(_ServerFrame):
    """The server's view of a call, to both parties: ringing, up, or ended (and why)."""

    type: Literal["call.state"] = "call.state"
    handoff_id: int
    state: Literal["requested", "ringing", "connected", "ended", "unavailable"]
    reason: str | None = None
    ice_servers: list[dict[str, Any]] = Field(default_factory=list)
    sender: Literal["citizen", "officer"] | None = None

    def wire(self) -> dict[str, Any]:
        """Only what is set: an ``ended`` frame carries no ICE servers."""
        return _lean(self.model_dump(mode="json", exclude_none=True))


class CallRelay(_ServerFrame):
    """A signalling frame from the other party of the call, relayed as is (``from_`` says who)."""

    type: Literal[
        "call.request",
        "call.offer",
        "call.answer",
        "call.ice",
        "call.end",
        "call.media",
        "call.status",
        "call.highlight",
    ]
    handoff_id: int
    sdp: str | None = None
    candidate: str | None = None
    sdp_mid: str | None = None
    sdp_mline_index: int | None = None
    reason: str | None = None
    audio: bool | None = None
    video: bool | None = None
    missing: list[str] = Field(default_factory=list)
    state: str | None = None
    field: str | None = None
    service_id: str | None = None
    sender: Literal["citizen", "officer"] = "officer"

    def wire(self) -> dict[str, Any]:
        """Only the fields of this kind of frame (an ``end`` has no SDP)."""
        return _lean(self.model_dump(mode="json", exclude_none=True))


def _lean(frame: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in frame.items() if v != []}


ServerMessage = Annotated[
    Welcome
    | ErrorFrame
    | ServerPing
    | ServerPong
    | ApplicationEvent
    | QueueEvent
    | DocumentEvent
    | BoardUpdate
    | PresenceSnapshot
    | PresenceCorrect
    | ChatReply
    | CallState
    | CallRelay
    | GuidedStep,
    Field(discriminator="type"),
]
server_adapter: TypeAdapter[ServerMessage] = TypeAdapter(ServerMessage)


def parse_server(raw: str | bytes) -> ServerMessage:
    return server_adapter.validate_json(raw)
