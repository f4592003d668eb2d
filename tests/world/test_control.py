"""The hall client's seams: the event bus, and the screens as state objects."""

from __future__ import annotations

from typing import Any

import pytest

from protocol.api import TicketOut
from protocol.messages import BoardUpdate, ChatReply
from world.control.bus import Bus, HttpAnswer
from world.net import NetEvent, http_event


def test_bus_routes_frames_by_class_and_answers_by_tag_and_lets_subscribers_leave() -> None:
    bus = Bus()
    seen: list[Any] = []
    leave_reply = bus.on_frame(ChatReply, lambda f: seen.append(("reply", f.text)))
    bus.on_frame(BoardUpdate, lambda f: seen.append(("board", f.counter)))
    leave_guided = bus.on_http("guided:", lambda a: seen.append(("guided", a.suffix, a.status)), prefix=True)
    bus.on_http("ticket", lambda a: seen.append(("ticket", a.data.code if a.ok else a.problem)))
    bus.on_status(lambda s: seen.append(("status", s)))

    bus.dispatch(NetEvent("frame", ChatReply(conversation_id="c", text="halo")))
    bus.dispatch(NetEvent("frame", BoardUpdate(counter=2, now_serving="A-001", waiting=3)))
    bus.dispatch(http_event("guided:identify", 202, {}))
    ticket = {"code": "A-001", "counter": 1, "state": "waiting", "day": "2026-12-07"}
    bus.dispatch(
        http_event("ticket", 201, ticket | {"estimated_wait_min": 0, "created_at": "2026-12-07T01:00:00Z"}, TicketOut)
    )
    bus.dispatch(http_event("tickets", 200, []))  # another tag: not "ticket"
    bus.dispatch(NetEvent("status", "online"))
    assert seen == [
        ("reply", "halo"),
        ("board", 2),
        ("guided", "identify", 202),
        ("ticket", "A-001"),
        ("status", "online"),
    ]
    leave_reply()
    leave_guided()
    leave_guided()  # leaving twice is harmless
    bus.dispatch(NetEvent("frame", ChatReply(conversation_id="c", text="lagi")))
    bus.dispatch(http_event("guided:ticket", 201, {}))
    assert len(seen) == 5 and bus.subscribers(ChatReply) == []


def test_an_answer_knows_success_from_refusal_and_transport_failure() -> None:
    refusal = {"detail": {"code": "not_found", "message": "x", "message_id": "Tidak ada.", "message_en": "Missing."}}
    no = HttpAnswer.of(http_event("ticket", 404, refusal, TicketOut))
    assert not no.ok and no.problem is not None and no.problem.text("id") == "Tidak ada."
    down = HttpAnswer.of(http_event("ticket", 0, None, TicketOut, error="ConnectError"))
    assert not down.ok and down.error == "ConnectError" and down.problem is None


@pytest.mark.render
def test_each_screen_is_a_state_object_and_only_known_screens_are_entered(base: Any) -> None:
    from world.app import HallClient
    from world.config import WorldConfig
    from world.screens import SCREENS, ConversationScreen, Screen

    c = HallClient(base, WorldConfig(connect=False)).start()
    try:
        assert c.pump(lambda: c.screens.state == "Hall", timeout=5)
        assert {cls.name for cls in SCREENS} == {"Boot", "Connecting", "Hall", "Conversation", "Form", "Settings"}
        assert all(isinstance(s, Screen) for s in c.screens.by_name.values())
        conversation = c.screens.by_name["Conversation"]
        assert isinstance(conversation, ConversationScreen) and not conversation.loaded
        c.screens.request("Conversation")
        assert conversation.loaded and c.screens.chat is conversation.chat is not None
        c.screens.request("Lobby")  # no such screen: refused, the conversation stays up
        assert c.screens.state == "Conversation"
        c.screens.request("Hall")
        assert conversation.chat is None and c.screens.panels() == [c.screens.hall.hint]
    finally:
        c.destroy()
    assert not conversation.loaded  # destroy unloads every screen
