"""The hall client on the shared offscreen ShowBase, without a server: screens, panels, input, actions."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from typing import Any

import pytest

from protocol.catalog import default_catalog
from protocol.messages import ApplicationEvent, ChatReply, QueueEvent
from world.app import HallClient, approach_of, counter_spot
from world.config import BINDINGS, WorldConfig
from world.net import NetEvent
from world.panels import FormPanel

pytestmark = pytest.mark.render


def counts(base: Any) -> tuple[int, int, int, int]:
    """Tasks, messenger hooks, 2D and 3D scene-graph children: what a leak would grow."""
    hooks = sum(len(v) for v in base.messenger._Messenger__callbacks.values())
    return (len(base.taskMgr.getTasks()), hooks, base.aspect2d.getNumChildren(), base.render.getNumChildren())


@pytest.fixture
def client(base: Any) -> Iterator[HallClient]:
    c = HallClient(base, WorldConfig(connect=False)).start()
    c.pump(lambda: c.screens.state == "Hall", timeout=5)
    yield c
    c.destroy()


def near_ai(c: HallClient) -> None:
    hx, hy = c.ai_xy
    c.player.root.setPos(hx, hy - 2.0, 0)


def test_every_screen_and_overlay_is_destroyed_without_leaks(base: Any) -> None:
    base.taskMgr.step()
    before = counts(base)
    c = HallClient(base, WorldConfig(connect=False)).start()
    c.pump(lambda: c.screens.state == "Hall", timeout=5)
    assert counts(base) != before  # the client really added things
    for state in ("Conversation", "Hall", "Settings", "Hall"):
        c.screens.request(state)
        c.pump(timeout=0.05)
    c.screens.request("Form", "ktp-el")
    c.pump(lambda: bool(c.screens.form and c.screens.form.fields), timeout=5)
    c.show_ticket({"code": "A-001", "counter": 1, "state": "waiting", "estimated_wait_min": 5})
    c.toggle_tracker()
    c.set_lang("en")
    c.change_text_scale(0.3)
    c.screens.request("Hall")
    c.perform("walk_to_counter", {"counter": 1})
    c.pump(timeout=0.2)
    c.destroy()
    base.taskMgr.step()
    assert counts(base) == before


def test_binding_table_drives_walking_talking_and_escape(base: Any, client: HallClient) -> None:
    assert "enter" in BINDINGS["talk"] and "escape" in BINDINGS["escape"] and "f1" in BINDINGS["settings"]
    start = client.player_xy
    base.messenger.send("w")
    client.pump(timeout=0.3, min_frames=10)
    base.messenger.send("w-up")
    moved = math.dist(start, client.player_xy)
    assert moved > 0.2
    # far from the assistant Enter does nothing; next to it Enter opens the conversation
    client.player.root.setPos(start[0], start[1], 0)
    base.messenger.send("enter")
    assert client.screens.state == "Hall"
    near_ai(client)
    base.messenger.send("enter")
    assert client.screens.state == "Conversation"
    # while the chat entry has focus, letters are text: "w" must not walk
    client.set_typing(True)
    here = client.player_xy
    base.messenger.send("w")
    client.pump(timeout=0.2, min_frames=5)
    base.messenger.send("w-up")
    assert client.player_xy == here
    base.messenger.send("escape")
    assert client.screens.state == "Hall"
    base.messenger.send("f1")
    assert client.screens.state == "Settings"
    base.messenger.send("escape")
    assert client.screens.state == "Hall"


def test_click_picks_the_floor_and_walks_a_nav_path(client: HallClient) -> None:
    client.pump(timeout=0.1)
    goal = client.pick_floor(0.0, -0.2)  # a bit below the screen centre: the floor ahead
    assert goal is not None
    px, py = client.player_xy
    assert math.dist((px, py), goal) > 0.5
    assert client.walk_player_to(goal)
    assert client.nav.walkable(client.player_path[-1])
    before = math.dist(client.player_xy, goal)
    client.pump(timeout=0.4, min_frames=10)
    assert math.dist(client.player_xy, goal) < before
    assert client.pick_floor(0.0, 0.9) is None or client.pick_floor(0.0, 0.9) != goal


def test_reply_shows_in_chat_and_bubble_and_runs_its_actions(client: HallClient) -> None:
    near_ai(client)
    client.screens.request("Conversation")
    reply = ChatReply(
        conversation_id="c-1",
        text="Syarat KTP-el: Kartu Keluarga asli.",
        quick_replies=[{"label": "Ambil antrean", "payload": "ambil antrean ktp"}],
        actions=[
            {"kind": "show_ticket", "data": {"code": "A-007", "counter": 1}},
            {"kind": "walk_to_counter", "data": {"counter": 1}},
        ],
    )
    client.on_reply(reply)
    assert "Kartu Keluarga" in client.bubble_text
    chat = client.screens.chat
    assert chat is not None and "Kartu Keluarga" in chat.text
    assert [b["text"] for b in chat.quick] == ["Ambil antrean"]
    assert client.ticket is not None and "A-007" in client.ticket.text
    spot = counter_spot(client.layout, 1)
    assert client.player_path and math.dist(client.player_path[-1], approach_of(spot)) < 0.6
    assert client.conversation_id == "c-1"
    client.on_reply(
        ChatReply(
            conversation_id="c-1",
            text="Silakan isi formulir.",
            actions=[{"kind": "open_form", "data": {"service_id": "ktp-el"}}],
        )
    )
    assert client.screens.state == "Form"
    client.on_reply(
        ChatReply(
            conversation_id="c-1",
            text="Halo",
            sender="officer",
            actions=[{"kind": "handoff", "data": {"state": "accepted", "officer": "Rina", "counter": 1}}],
        )
    )
    assert any("Rina" in text and "1" in text for who, text in client.chat_history if who == "system")


def test_form_gives_local_hints_and_shows_the_servers_field_errors(base: Any) -> None:
    svc = default_catalog().service("ktp-el").model_dump(mode="json")
    sent: list[dict[str, Any]] = []
    form = FormPanel(base.aspect2d, None, "id", 1.0, on_submit=sent.append, on_cancel=lambda: None)
    try:
        form.load(svc)
        form.set_value("nik", "123")
        assert form.check("nik")  # protocol.forms rules, Indonesian wording
        assert form.message("nik")
        form.submit()
        assert sent == []  # nothing goes out while a field is wrong
        form.set_value("nik", "3510011204900001")
        assert form.check("nik") is None and form.message("nik") == ""
        form.show_errors({"full_name": {"id": "Nama wajib diisi.", "en": "Name is required."}})
        assert form.message("full_name") == "Nama wajib diisi."
    finally:
        form.destroy()


def test_tracker_and_ticket_follow_live_events_and_banner_follows_the_connection(client: HallClient) -> None:
    at = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.UTC)
    client.toggle_tracker()
    assert client.tracker is not None
    client.on_frame(
        ApplicationEvent(
            seq=1,
            tracking_number="BWI-2026-000001",
            service_id="ktp-el",
            from_state=None,
            to_state="submitted",
            actor="citizen",
            at=at,
            version=1,
        )
    )
    client.on_frame(
        ApplicationEvent(
            seq=2,
            tracking_number="BWI-2026-000001",
            service_id="ktp-el",
            from_state="submitted",
            to_state="verified",
            actor="officer:rina",
            at=at,
            version=2,
            note="berkas lengkap",
        )
    )
    assert "Diverifikasi" in client.tracker.text and "berkas lengkap" in client.tracker.text
    client.show_ticket({"code": "A-003", "counter": 1, "state": "waiting"})
    client.on_frame(QueueEvent(seq=3, ticket_code="A-003", counter=1, state="called", at=at))
    assert client.ticket is not None and "Dipanggil" in client.ticket.text
    assert "A-003" in client.bubble_text and "Loket 1" in client.bubble_text
    client.handle(NetEvent("status", "reconnecting"))
    assert client.banner.message == "Menghubungkan ulang…"
    client.set_lang("en")
    assert client.banner.message == "Reconnecting…"
    client.handle(NetEvent("status", "online"))
    assert client.banner.message == ""
