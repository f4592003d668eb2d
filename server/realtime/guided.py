"""The server drives guided mode: ``guided.start``/``guided.choose`` in, one ``guided.step`` out.

The visit is the assistant's guided loop (``assistant.dialogue.guided``) over the conversation
event log, run in the assistant's thread pool so the database and the port never block the
event loop. What the officer says and does on the visit's handoff, and a document issued to the
visitor, become steps of the visit too: the socket's sender is watched for them.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from typing import Any

from sqlalchemy import update

from assistant.core import Conversation
from assistant.dialogue.guided import GuidedLoop, GuidedRefused
from assistant.ports import Caller, HandoffResult
from protocol.guided import GuidedChoose, GuidedStart
from server.errors import ApiError
from server.persistence import models as m

log = logging.getLogger(__name__)

Send = Callable[[Any], None]


class _GuidedPort:
    """The server's port, with handoffs marked as guided (the officer desk shows it)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def request_handoff(self, caller: Caller, conversation_id: str, transcript: list[dict[str, Any]]) -> HandoffResult:
        out: HandoffResult = self._inner.request_handoff(caller, conversation_id, transcript)
        with self._inner.sessions() as db:
            db.execute(update(m.Handoff).where(m.Handoff.id == out.handoff_id).values(guided=True))
            db.commit()
        return out


class GuidedService:
    """One guided visit per socket at a time; its steps are built off the event loop."""

    def __init__(self, chat: Any, catalog: Any) -> None:
        self.chat = chat  # ChatService: its thread pool, its port and the caller lookup
        self.loop = GuidedLoop(catalog)
        self.port = _GuidedPort(chat.port)

    def _conversation(self, session_id: int, conversation_id: str) -> Conversation:
        return Conversation(conversation_id, self.chat.caller_for(session_id), self.port)

    def _start(self, session_id: int, msg: GuidedStart) -> dict[str, Any]:
        cid = msg.conversation_id or f"g-{secrets.token_hex(8)}"
        if msg.conversation_id and not self.chat.conversation_owner_ok(cid, session_id):
            raise ApiError(404, "not_found", "error.not_found_conversation")
        step = self.loop.start(self._conversation(session_id, cid), msg.lang)
        return step.model_dump(mode="json") | {"ref": msg.ref}

    def _choose(self, session_id: int, cid: str, msg: GuidedChoose) -> dict[str, Any]:
        conv = self._conversation(session_id, cid)
        step = self.loop.choose(conv, msg.step_id, msg.choice, msg.value, msg.auto)
        return step.model_dump(mode="json") | {"ref": msg.ref}

    def _officer(self, session_id: int, cid: str, frame: dict[str, Any]) -> dict[str, Any] | None:
        conv = self._conversation(session_id, cid)
        handoff = next((a.get("data") or {} for a in frame.get("actions") or [] if a.get("kind") == "handoff"), {})
        state = handoff.get("state")
        if state == "accepted":
            step = self.loop.officer_connected(conv, handoff.get("officer"), handoff.get("counter"))
        elif state in ("closed", "expired"):
            step = self.loop.officer_closed(conv)
        elif frame.get("sender") == "officer" and frame.get("text"):
            step = self.loop.officer_said(conv, str(frame["text"]), handoff.get("officer"))
        else:
            return None
        return step.model_dump(mode="json")

    def _document(self, session_id: int, cid: str, frame: dict[str, Any]) -> dict[str, Any]:
        step = self.loop.document_ready(self._conversation(session_id, cid), str(frame.get("tracking_number")))
        return step.model_dump(mode="json")

    async def _run(self, fn: Callable[..., dict[str, Any] | None], *args: Any) -> dict[str, Any] | None:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.chat.start(), fn, *args)

    async def handle(self, conn: Any, msg: GuidedStart | GuidedChoose, send: Send, error: Callable[..., Any]) -> None:
        """Answer one client frame with the next step, or a protocol ``error`` (never an exception)."""
        async with conn.guided_lock:  # in order: a choice is folded after the one before it
            try:
                if isinstance(msg, GuidedStart):
                    frame = await self._run(self._start, conn.session_id, msg)
                    if frame is not None:
                        conn.guided = frame["conversation_id"]
                elif conn.guided is None:
                    send(error("guided_not_started", "Send guided.start first.", msg.ref))
                    return
                else:
                    frame = await self._run(self._choose, conn.session_id, conn.guided, msg)
            except GuidedRefused as exc:
                send(error(exc.code, exc.message, msg.ref))
                return
            except ApiError as exc:
                send(error(exc.code, exc.message_en, msg.ref))
                return
            except Exception:  # a broken visit must still answer: the client never waits forever
                log.exception("guided: %s failed", msg.type)
                send(error("guided_failed", "The guided step could not be built; start again.", msg.ref))
                return
            if frame is not None:
                send(frame)

    def watch(self, conn: Any, send: Send) -> Send:
        """The socket's sender, also turning the visit's officer lines and documents into steps."""

        def watched(frame: Any) -> None:
            send(frame)
            cid = conn.guided
            if cid is None or not isinstance(frame, dict):
                return
            kind = frame.get("type")
            if kind == "chat.reply" and frame.get("conversation_id") == cid and frame.get("sender") != "assistant":
                asyncio.ensure_future(self._follow(conn, send, self._officer, conn.session_id, cid, frame))
            elif kind == "document.event" and frame.get("state") == "issued":
                asyncio.ensure_future(self._follow(conn, send, self._document, conn.session_id, cid, frame))

        return watched

    async def _follow(self, conn: Any, send: Send, fn: Callable[..., Any], *args: Any) -> None:
        async with conn.guided_lock:
            try:
                frame = await self._run(fn, *args)
            except Exception:  # the officer's line still reached the chat frame; only its guided step is lost
                log.exception("guided: officer step skipped")
                return
            if frame is not None:
                send(frame)
