"""Voice and video calls of the remote counter: the server only signals.

Offer, answer and ICE candidates are protocol frames relayed between exactly two
parties: the citizen whose handoff it is, and the officer who accepted it. The
handoff row is the authority (checked on every frame, so a closed or reassigned
handoff stops relaying at once); media flows peer to peer, or through coturn
with short-lived TURN REST credentials issued here.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from protocol.messages import (
    CallEnd,
    CallFrame,
    CallHighlight,
    CallRelay,
    CallRequest,
    CallState,
    CallStatus,
)
from server.persistence import models as m
from server.realtime.hub import Hub
from server.settings import Settings

log = logging.getLogger(__name__)

CITIZEN_MAY_SEND = frozenset(
    {"call.request", "call.offer", "call.answer", "call.ice", "call.end", "call.media", "call.status"}
)
OFFICER_MAY_SEND = frozenset(
    {"call.offer", "call.answer", "call.ice", "call.end", "call.media", "call.status", "call.highlight"}
)


def turn_credentials(secret: str, user: str, ttl_seconds: int, now: float | None = None) -> tuple[str, str]:
    """TURN REST API (coturn ``use-auth-secret``): the username carries its own expiry, the password signs it."""
    expiry = int((time.time() if now is None else now) + ttl_seconds)
    username = f"{expiry}:{user}"
    digest = hmac.new(secret.encode("utf-8"), username.encode("utf-8"), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")


def ice_servers(settings: Settings, user: str) -> list[dict[str, Any]]:
    """The RTCConfiguration.iceServers for one party; empty on a LAN without STUN/TURN (host candidates suffice)."""
    servers: list[dict[str, Any]] = []
    if settings.stun_urls:
        servers.append({"urls": list(settings.stun_urls)})
    if settings.turn_urls and settings.turn_secret:
        username, credential = turn_credentials(settings.turn_secret, user, settings.turn_ttl_seconds)
        servers.append({"urls": list(settings.turn_urls), "username": username, "credential": credential})
    return servers


class CallRefused(Exception):
    """A signalling frame that must not be relayed; becomes an ``error`` frame for its sender."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Parties:
    handoff_id: int
    session_id: int
    public_id: str
    officer_id: int
    lang: str


@dataclass
class ActiveCall:
    parties: Parties
    started: float = field(default_factory=time.monotonic)
    connected: set[str] = field(default_factory=set)
    connected_at: float | None = None
    video: bool = True
    offered: bool = False
    requested: bool = False
    webrtc: bool = True


class CallService:
    """Checks who may signal to whom and relays through the hub (which spans nodes over Redis)."""

    def __init__(self, sessions: sessionmaker[Session], hub: Hub, settings: Settings) -> None:
        self.sessions = sessions
        self.hub = hub
        self.settings = settings
        self.active: dict[int, ActiveCall] = {}
        self.relayed = 0
        self._tasks: set[asyncio.Task[None]] = set()

    def _spawn(self, handoff_id: int, key: str, seconds: float | None = None) -> None:
        task = asyncio.get_running_loop().create_task(run_in_threadpool(self._note, handoff_id, key, seconds))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---------------------------------------------------------------- checks

    def _parties(self, handoff_id: int) -> Parties | None:
        with self.sessions() as db:
            h = db.get(m.Handoff, handoff_id)
            if h is None or h.state != "accepted" or h.officer_id is None:
                return None
            vs = db.get(m.VisitorSession, h.session_id)
            if vs is None:
                return None
            return Parties(h.id, h.session_id, vs.public_id, h.officer_id, vs.lang or "id")

    async def _check(self, handoff_id: int) -> Parties:
        parties = await run_in_threadpool(self._parties, handoff_id)
        if parties is None:
            raise CallRefused("not_in_call", "No accepted handoff of yours with this id.")
        return parties

    # ---------------------------------------------------------------- relaying

    async def from_citizen(self, session_id: int, msg: CallFrame) -> None:
        if msg.type not in CITIZEN_MAY_SEND:
            raise CallRefused("forbidden", "Only the officer may send this frame.")
        parties = await self._check(msg.handoff_id)
        if parties.session_id != session_id:
            raise CallRefused("not_in_call", "No accepted handoff of yours with this id.")
        frame = self._frame(msg, "citizen")
        if isinstance(msg, CallRequest):
            call = self.active.setdefault(parties.handoff_id, ActiveCall(parties, video=msg.video))
            again, call.requested = call.requested, True
            if not again:  # the citizen's page repeats its ask until the offer comes: note it once,
                # also when the officer's offer overtook it (the offer, not the ask, made the entry)
                await run_in_threadpool(
                    self._note, parties.handoff_id, "call_requested" if msg.webrtc else "call_unsupported"
                )
            if call.offered:
                return  # an ask that crossed the officer's offer: already ringing
            call.webrtc = msg.webrtc
            frame["ice_servers"] = ice_servers(self.settings, f"o{parties.officer_id}")
            if not msg.webrtc:
                self._to_officer(parties, self._unavailable(parties.handoff_id))
                return
        self._after(parties, msg, "citizen")
        self._to_officer(parties, frame)

    async def from_officer(self, officer_id: int, msg: CallFrame) -> None:
        if msg.type not in OFFICER_MAY_SEND:
            raise CallRefused("forbidden", "Only the citizen may send this frame.")
        parties = await self._check(msg.handoff_id)
        if parties.officer_id != officer_id:
            raise CallRefused("not_in_call", "This handoff is not yours.")
        if isinstance(msg, CallHighlight) and msg.field is not None and not msg.field.replace("_", "").isalnum():
            raise CallRefused("invalid_field", "Unknown form field.")
        if msg.type == "call.offer":
            self.active.setdefault(parties.handoff_id, ActiveCall(parties)).offered = True
        self._after(parties, msg, "officer")
        self._to_citizen(parties, self._frame(msg, "officer"))

    def _frame(self, msg: CallFrame, sender: str) -> dict[str, Any]:
        frame = msg.model_dump(mode="json")
        frame["sender"] = sender
        self.relayed += 1
        return frame

    def _to_officer(self, parties: Parties, frame: dict[str, Any]) -> None:
        self.hub.broadcast({**frame, "to_officer": parties.officer_id}, kind="officer")

    def _to_citizen(self, parties: Parties, frame: dict[str, Any]) -> None:
        self.hub.to_session(parties.public_id, frame)

    def _after(self, parties: Parties, msg: CallFrame, sender: str) -> None:
        """Book-keeping: which calls are up (for the transcript and the CPU figure)."""
        call = self.active.get(parties.handoff_id)
        if isinstance(msg, CallStatus) and call is not None:
            if msg.state == "connected":
                call.connected.add(sender)
                if call.connected_at is None:
                    call.connected_at = time.monotonic()
                    self._spawn(parties.handoff_id, "call_connected")
            elif msg.state in ("failed", "disconnected"):
                call.connected.discard(sender)
        elif isinstance(msg, CallEnd):
            ended = self.active.pop(parties.handoff_id, None)
            if ended is not None and ended.connected_at is not None:
                self._spawn(parties.handoff_id, "call_ended", time.monotonic() - ended.connected_at)
            state = CallState(handoff_id=parties.handoff_id, state="ended", reason=msg.reason).wire()
            # the sender learns it too: every tab and the hall of that party close their call
            if sender == "citizen":
                self._to_citizen(parties, state)
            else:
                self._to_officer(parties, state)

    # ---------------------------------------------------------------- ends from outside

    def end(self, handoff_id: int, reason: str = "closed") -> None:
        """The handoff closed or expired: both sides hang up."""
        call = self.active.pop(handoff_id, None)
        if call is None:
            return
        state = CallState(handoff_id=handoff_id, state="ended", reason=reason)
        self._to_citizen(call.parties, state.model_copy(update={"sender": "officer"}).wire())
        self._to_officer(call.parties, state.wire())

    def citizen_gone(self, session_id: int) -> None:
        """The citizen's last socket closed mid-call: the officer must not keep talking to a frozen picture."""
        for hid, call in list(self.active.items()):
            if not call.offered:
                continue  # only asked for: the officer may still pick up after the citizen reconnects
            if call.parties.session_id == session_id and not self._citizen_online(call.parties.public_id):
                self.active.pop(hid, None)
                end = CallRelay(type="call.end", handoff_id=hid, reason="disconnected", sender="citizen").wire()
                self._to_officer(call.parties, end)

    def officer_gone(self, officer_id: int) -> None:
        for hid, call in list(self.active.items()):
            if not call.offered:
                continue  # a page change between accepting and taking the call
            if call.parties.officer_id == officer_id and not self._officer_online(officer_id):
                self.active.pop(hid, None)
                end = CallRelay(type="call.end", handoff_id=hid, reason="disconnected", sender="officer").wire()
                self._to_citizen(call.parties, end)

    def waiting_for(self, officer_id: int) -> list[dict[str, Any]]:
        """Call requests not picked up yet, replayed to an officer socket that (re)connects."""
        frames = []
        for hid, c in self.active.items():
            if c.parties.officer_id != officer_id or c.offered:
                continue
            if c.webrtc:
                frames.append(CallRelay(type="call.request", handoff_id=hid, video=c.video, sender="citizen").wire())
            else:
                frames.append(self._unavailable(hid))
        return [{**f, "to_officer": officer_id} for f in frames]

    @staticmethod
    def _unavailable(handoff_id: int) -> dict[str, Any]:
        return CallState(handoff_id=handoff_id, state="unavailable", reason="no_webrtc").wire()

    def _citizen_online(self, public_id: str) -> bool:
        return any(c.public_id == public_id for c in self.hub.conns)

    def _officer_online(self, officer_id: int) -> bool:
        return any(c.kind == "officer" and c.officer_id == officer_id for c in self.hub.conns)

    # ---------------------------------------------------------------- transcript

    def _note(self, handoff_id: int, key: str, seconds: float | None = None) -> None:
        """A system line in the handoff transcript, so the desk sees when a call happened."""
        with self.sessions() as db:
            h = db.get(m.Handoff, handoff_id)
            if h is None:
                return
            entry: dict[str, Any] = {"role": "system", "event": key, "text": "", "at": m.now_utc().isoformat()}
            if seconds is not None:
                entry["seconds"] = round(seconds)
            h.transcript = [*(h.transcript or []), entry][-500:]
            h.updated_at = m.now_utc()
            db.commit()
