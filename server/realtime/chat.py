"""The server side of the assistant: the real ServicePort, and answering off the event loop."""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from assistant.ports import (
    Caller,
    CodeChallenge,
    HandoffResult,
    PortError,
    StatusResult,
    SubmitResult,
    TicketResult,
)
from l10n import pair
from protocol.catalog import Catalog
from protocol.feed import HandoffNew
from protocol.messages import BoardUpdate
from protocol.nik import mask_nik
from server.domain import applications, identity, queue, submissions
from server.domain.delivery import CodeDelivery, CodeMessage, deliver
from server.domain.pii import Sealer
from server.domain.sessions import StoredHash
from server.errors import ApiError
from server.persistence import models as m
from server.realtime.handoffs import clean_transcript, relay_citizen
from server.realtime.hub import Hub
from server.realtime.officer_feed import notify_application
from server.settings import Settings, get_settings

log = logging.getLogger(__name__)


def _port_error(exc: ApiError) -> PortError:
    return PortError(exc.code, exc.message_id, exc.message_en, exc.extra)


@dataclass
class Turn:
    """What one chat turn read in its single read transaction, for the port calls the turn makes."""

    conversation_id: str
    history: list[dict[str, Any]]
    session_hash: str | None
    after: list[Callable[[], None]] = field(default_factory=list)


class DbServicePort:
    """ServicePort backed by the database and the hub.

    Inside a chat turn (``ChatService.answer``) the history comes from the turn's one read and
    the new events go out in one write; an action the visitor asked for (a ticket, a code, a
    handoff) is its own short transaction, and a submission goes through the same writer as
    ``POST /applications``. Holding one transaction across the assistant's thinking would hold
    SQLite's only write lock for that long, so a turn is one read and one write instead.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        catalog: Catalog,
        hub: Hub,
        settings: Settings | None = None,
        delivery: CodeDelivery | None = None,
    ) -> None:
        self.sessions = sessions
        self.catalog = catalog
        self.hub = hub
        self.settings = settings or get_settings()
        self.delivery = delivery
        self.sealer = Sealer(self.settings)
        self.submissions: Any = None  # the app's writer (group commit / set-based batches), set by create_app
        self._local = threading.local()

    @contextmanager
    def turn(self, turn: Turn) -> Iterator[Turn]:
        self._local.turn = turn
        try:
            yield turn
        finally:
            self._local.turn = None

    def _turn(self) -> Turn | None:
        return getattr(self._local, "turn", None)

    def _visitor(self, db: Session, caller: Caller) -> m.VisitorSession:
        vs = db.scalar(select(m.VisitorSession).where(m.VisitorSession.public_id == caller.session_id))
        if vs is None:
            raise PortError("unauthorized", *pair("error.session_not_found"))
        return vs

    def identify(self, caller: Caller, nik: str, name: str) -> Caller:
        """A NIK and name alone no longer identify anyone: the caller must prove it with a code."""
        if caller.citizen_id is not None:
            return caller
        raise PortError("verify_first", *pair("error.verify_first"))

    def request_code(self, caller: Caller, nik: str, name: str, contact: str | None = None) -> CodeChallenge:
        """Step 1 of the second factor, for chat and guided mode (same rules as the HTTP API)."""
        with self.sessions() as db:
            vs = self._visitor(db, caller)
            try:
                out = identity.request_code(
                    db, self.settings, vs, nik, name, contact, f"session:{vs.public_id}", vs.lang
                )
            except ApiError as exc:
                raise _port_error(exc) from None
            db.commit()
        if out.message is not None and self.delivery is not None:
            self._send(out.message)
        return CodeChallenge(out.reply["challenge_id"], out.reply["expires_in"])

    def verify_code(self, caller: Caller, challenge_id: str, code: str) -> Caller:
        """Step 2: a right code links the session; returns the identified caller."""
        with self.sessions() as db:
            vs = self._visitor(db, caller)
            try:
                citizen = identity.verify_code(db, self.settings, vs, challenge_id, code, f"session:{vs.public_id}")
            except ApiError as exc:
                raise _port_error(exc) from None
            db.commit()
            cid, sid, nik, cname = citizen.id, vs.id, citizen.nik, citizen.name
        self.hub.wake({cid}, {sid})
        return Caller(session_id=caller.session_id, citizen_id=cid, nik=nik, name=cname)

    def _send(self, message: CodeMessage) -> None:
        """Called from an assistant thread: the send runs on the server's loop, off the request."""
        loop = self.hub.loop
        assert self.delivery is not None
        if loop is None or loop.is_closed():
            log.error("code delivery skipped: no running loop")
            return
        fut = asyncio.run_coroutine_threadsafe(deliver(self.delivery, message), loop)
        fut.add_done_callback(lambda f: f.exception())

    def submit_application(
        self, caller: Caller, service_id: str, data: dict[str, Any], idempotency_key: str
    ) -> SubmitResult:
        """The same path as ``POST /applications``: the writer batches it with the API's submissions."""
        turn = self._turn()
        session_hash = turn.session_hash if turn is not None else None
        if session_hash is None:
            with self.sessions() as db:
                session_hash = self._visitor(db, caller).token_hash
        key = StoredHash(session_hash)
        try:
            if self.submissions is not None and self.hub.loop is not None and not self.hub.loop.is_closed():
                job = self.submissions.submit(key, service_id, data, idempotency_key, True)
                out, result = asyncio.run_coroutine_threadsafe(job, self.hub.loop).result(timeout=60)
            else:
                out, result = submissions.submit_alone(
                    self.sessions, self.catalog, key, service_id, data, idempotency_key, True
                )
        except ApiError as exc:
            if exc.code == "invalid_form":
                fields = exc.extra.get("fields", {})
                first = next(iter(fields.values()), {"id": exc.message_id, "en": exc.message_en})
                raise PortError("invalid_form", first["id"], first["en"]) from None
            raise _port_error(exc) from None
        self.hub.wake({e.citizen_id for e in result.events}, {e.session_id for e in result.events})
        if result.created:
            notify_application(self.hub, result.application, "application.new")
        return SubmitResult(out.get("tracking_number") or "", out["state"], out.get("sla_due"))

    def application_status(self, caller: Caller, tracking_number: str) -> StatusResult:
        with self.sessions() as db:
            vs = self._visitor(db, caller)
            try:
                app = applications.own_application(db, vs, tracking_number.upper())
            except ApiError as exc:
                raise _port_error(exc) from None
            history = [
                {"from": e.from_state, "to": e.to_state, "at": m.utc(e.created_at).isoformat(), "note": e.note}
                for e in db.scalars(
                    select(m.Event)
                    .where(m.Event.application_id == app.id, m.Event.kind == "application")
                    .order_by(m.Event.id)
                )
            ]
            return StatusResult(
                app.tracking_number or "", app.service_id, app.state, m.utc(app.updated_at).isoformat(), history
            )

    def take_ticket(self, caller: Caller, counter: int) -> TicketResult:
        with self.sessions() as db:
            vs = self._visitor(db, caller)
            try:
                ticket, ev = queue.take_ticket(db, vs, counter)
            except ApiError as exc:
                raise _port_error(exc) from None
            info = queue.ticket_dict(db, ticket)
            db.commit()
            demo = bool(vs.demo)
            board = [r for r in queue.board(db, demo=demo) if r["counter"] == counter]
        self.hub.wake({ev.citizen_id}, {ev.session_id})
        for row in board:
            update = BoardUpdate(counter=counter, now_serving=row["now_serving"], waiting=row["waiting"])
            self.hub.broadcast(update.model_dump(mode="json"), demo=demo)
        return TicketResult(info["code"], counter, info["estimated_wait_min"], info["state"])

    def request_handoff(self, caller: Caller, conversation_id: str, transcript: list[dict[str, Any]]) -> HandoffResult:
        with self.sessions() as db:
            vs = self._visitor(db, caller)
            service_id = next((t.get("service") for t in reversed(transcript) if t.get("service")), None)
            agency_id = None
            if service_id:
                try:
                    agency_id = self.catalog.service(service_id).agency
                except KeyError:
                    agency_id = None
            h = m.Handoff(
                conversation_id=conversation_id,
                session_id=vs.id,
                citizen_id=vs.citizen_id,
                agency_id=agency_id,
                service_id=service_id,
                state="pending",
                transcript=self.sealer.seal_obj(clean_transcript(transcript[-50:], vs.lang or "id")),
            )
            db.add(h)
            db.commit()
            hid = h.id
        self.hub.broadcast(HandoffNew(handoff_id=hid, agency_id=agency_id).wire(), kind="officer")
        return HandoffResult(hid, "pending")

    def load_conversation(self, conversation_id: str) -> list[dict[str, Any]]:
        turn = self._turn()
        if turn is not None and turn.conversation_id == conversation_id:
            return list(turn.history)
        with self.sessions() as db:
            return self.history(db, conversation_id)

    def history(self, db: Session, conversation_id: str) -> list[dict[str, Any]]:
        rows = db.scalars(
            select(m.ConversationEvent)
            .where(m.ConversationEvent.conversation_id == conversation_id)
            .order_by(m.ConversationEvent.id)
        )
        return [self.sealer.open_obj(dict(r.event)) for r in rows]

    def append_conversation(self, conversation_id: str, caller: Caller, event: dict[str, Any]) -> None:
        self.append_conversation_events(conversation_id, caller, [event])

    def append_conversation_events(self, conversation_id: str, caller: Caller, events: list[dict[str, Any]]) -> None:
        with self.sessions() as db:
            vs = db.scalar(select(m.VisitorSession).where(m.VisitorSession.public_id == caller.session_id))
            sid = vs.id if vs else None
            sealed = [self.sealer.seal_obj(e) for e in events]  # NIK, KK and phone numbers encrypted at rest
            db.add_all(m.ConversationEvent(conversation_id=conversation_id, session_id=sid, event=e) for e in sealed)
            db.commit()


class ChatService:
    """Runs the assistant in a small thread pool so a slow answer never stalls the event loop."""

    def __init__(self, assistant: Any, port: DbServicePort, sessions: sessionmaker[Session], workers: int = 2) -> None:
        self.assistant = assistant
        self.port = port
        self.sessions = sessions
        self.workers = workers
        self.pool: ThreadPoolExecutor | None = None

    def caller_for(self, session_id: int) -> Caller:
        with self.sessions() as db:
            return self._caller(db, self._session(db, session_id))

    @staticmethod
    def _session(db: Session, session_id: int) -> m.VisitorSession:
        vs = db.get(m.VisitorSession, session_id)
        if vs is None:
            raise ApiError(401, "unauthorized", "error.session_not_found")
        return vs

    @staticmethod
    def _caller(db: Session, vs: m.VisitorSession) -> Caller:
        citizen = db.get(m.Citizen, vs.citizen_id) if vs.citizen_id else None
        return Caller(
            session_id=vs.public_id,
            citizen_id=citizen.id if citizen else None,
            nik=citizen.nik if citizen else None,
            name=citizen.name if citizen else vs.display_name,
        )

    @staticmethod
    def _owner_ok(db: Session, conversation_id: str, session_id: int) -> bool:
        first = db.scalar(
            select(m.ConversationEvent.session_id)
            .where(m.ConversationEvent.conversation_id == conversation_id)
            .order_by(m.ConversationEvent.id)
            .limit(1)
        )
        return first is None or first == session_id

    def conversation_owner_ok(self, conversation_id: str, session_id: int) -> bool:
        with self.sessions() as db:
            return self._owner_ok(db, conversation_id, session_id)

    def answer(
        self, session_id: int, text: str, conversation_id: str | None, lang: str | None, ref: str | None
    ) -> dict[str, Any]:
        """One turn: one read (handoff, owner, caller, history), the assistant, then one write of its events."""
        conv_id = conversation_id or secrets.token_hex(8)
        after: list[Callable[[], None]] = []
        with self.sessions() as db:
            relayed = relay_citizen(db, self.port.hub, session_id, conversation_id, text, ref, self.port.sealer, after)
            if relayed is not None:  # an officer has taken over this conversation: a person answers
                db.commit()
            else:
                if self.assistant is None:
                    raise ApiError(
                        503,
                        "assistant_unavailable",
                        "error.assistant_unavailable",
                    )
                if not self._owner_ok(db, conv_id, session_id):
                    raise ApiError(404, "not_found", "error.not_found_conversation")
                vs = self._session(db, session_id)
                caller = self._caller(db, vs)
                turn = Turn(conv_id, self.port.history(db, conv_id), vs.token_hash)
        if relayed is not None:
            for effect in after:
                effect()
            return relayed
        from assistant.core import Conversation

        with self.port.turn(turn):
            conversation = Conversation(conv_id, caller, self.port)
            reply = self.assistant.respond(conversation, text, lang=lang)
        frame: dict[str, Any] = reply.to_frame(conv_id).model_dump(mode="json")
        frame["ref"] = ref
        log.info("chat answered", extra={"ctx_intent": frame.get("intent"), "ctx_caller": mask_nik(caller.nik or "")})
        return frame

    async def answer_frame(
        self, session_id: int, text: str, conversation_id: str | None, lang: str | None, ref: str | None
    ) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.start(), self.answer, session_id, text, conversation_id, lang, ref)

    def start(self) -> ThreadPoolExecutor:
        """The pool lives between lifespan start and shutdown; a restarted app gets a fresh one."""
        if self.pool is None:
            self.pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="assistant")
        return self.pool

    def shutdown(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = None
