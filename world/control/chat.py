"""The conversation with the assistant (and, after a handoff, the officer): lines, bubble, actions."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from l10n import t
from protocol.messages import CHAT_TEXT_MAX, ChatReply, ChatSay, ErrorFrame, WorldAction

if TYPE_CHECKING:
    from world.app import HallClient

HISTORY = 60  # lines kept for the chat panel when it is opened again


class ChatController:
    def __init__(self, client: HallClient) -> None:
        self.client = client
        self.history: list[tuple[str, str]] = []
        self.quick: list[tuple[str, str]] = []
        self.replies: list[ChatReply] = []
        self.conversation_id: str | None = None
        self.bubble_text = ""
        client.bus.on_frame(ChatReply, self.on_reply)
        client.bus.on_frame(ErrorFrame, self.on_error)

    @property
    def lang(self) -> str:
        return self.client.lang

    def say(self, text: str) -> None:
        """Send a chat line (typed or a quick-reply payload) to the assistant."""
        text = text.strip()
        if not text:
            return
        if len(text) > CHAT_TEXT_MAX:  # refused clearly, never cut so that the question is lost
            self.log("system", t("hall.too_long", self.lang, n=CHAT_TEXT_MAX))
            return
        if text.startswith("__walk:"):  # a local quick reply ("take me there"), not a question
            self.client.lead_to_counter(_int(text.split(":", 1)[1]))
            return
        self.log("you", text)
        self._talking(True)
        net = self.client.net
        if net is None:
            return
        if net.state != "online":
            # kept in the outbox and sent after reconnecting; say so instead of staying silent
            self.log("system", t("hall.queued_offline", self.lang))
        net.send(self._frame(text))

    def _frame(self, text: str) -> dict[str, Any]:
        lang = "en" if self.lang == "en" else "id"
        frame = ChatSay(text=text, lang=lang, conversation_id=self.conversation_id, ref=uuid.uuid4().hex[:12])
        return frame.model_dump(exclude_none=True)

    def tell_submitted(self, service_id: str, tracking: str) -> None:
        """The panel sent the application the chat was asking about: the chat closes its form."""
        last = self.replies[-1] if self.replies else None
        if not (self.conversation_id and last is not None and last.intent == "start_application"):
            return
        net = self.client.net
        if net is not None and service_id:
            net.send(self._frame(f"/submitted {service_id} {tracking}"))

    def log(self, who: str, text: str) -> None:
        self.history.append((who, text))
        del self.history[:-HISTORY]
        panel = self.client.screens.chat
        if panel is not None:
            panel.add(who, text)

    def ai_say(self, text: str) -> None:
        """The bubble gets the first lines (the chat panel keeps the whole answer)."""
        self.bubble_text = bubble_summary(text)
        if self.client.ai is not None:
            self.client.ai.say(self.bubble_text, self.lang)

    def offer(self, quick: list[tuple[str, str]]) -> None:
        self.quick = quick
        panel = self.client.screens.chat
        if panel is not None:
            panel.set_quick_replies(self.quick, self.say)

    def on_reply(self, reply: ChatReply) -> None:
        self.replies.append(reply)
        self.conversation_id = reply.conversation_id
        self.log(reply.sender, reply.text)
        if reply.sender != "officer":
            self.ai_say(reply.text)
        self._talking(False)
        self.offer([(q.label, q.payload) for q in reply.quick_replies])
        for action in reply.actions:
            self.perform(action)

    def on_error(self, frame: ErrorFrame) -> None:
        self._talking(False)

    def _talking(self, on: bool) -> None:
        if self.client.ai is not None:
            self.client.ai.set_talking(on)

    def perform(self, action: WorldAction) -> None:
        """Carry out an assistant action in the world."""
        c, data = self.client, action.data
        if action.kind == "walk_to_counter":
            c.lead_to_counter(_int(data.get("counter")))
        elif action.kind == "open_form":
            sid = str(data.get("service_id") or "")
            if sid:
                attention = tuple(str(a) for a in (data.get("attention") or ()))
                if c.screens.state == "Form":
                    c.screens.request("Hall")
                c.screens.request("Form", sid, attention)
        elif action.kind == "show_ticket":
            c.tickets.show_ticket(dict(data))
        elif action.kind == "show_application":
            tn = str(data.get("tracking_number") or "")
            if tn:
                c.tickets.show_application(tn)
        elif action.kind == "handoff":
            if data.get("state") == "accepted":
                counter = _int(data.get("counter"))
                officer = str(data.get("officer") or t("hall.officer", self.lang))
                if c.visitors is not None and counter:
                    c.visitors.officer_at(counter, officer)
                c.join_call(_int(data.get("handoff_id")), counter)
                if counter:
                    self.log("system", t("hall.handoff_accepted", self.lang, officer=officer, n=counter))
                else:
                    self.log("system", t("hall.handoff", self.lang))
            else:
                self.log("system", t("hall.handoff", self.lang))


def bubble_summary(text: str, limit: int = 200) -> str:
    """Cut at a line or word boundary so a speech bubble stays readable above the avatar's head."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[:limit]
    for sep in ("\n", ". ", " "):
        i = cut.rfind(sep)
        if i > limit // 2:
            return cut[:i].rstrip() + " …"
    return cut + "…"


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
