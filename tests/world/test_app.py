"""The hall client on the shared offscreen ShowBase, without a server: screens, panels, input, actions."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from protocol.api import ApplicationOut, ChallengeOut, VerifiedOut
from protocol.catalog import Service, default_catalog
from protocol.messages import ApplicationEvent, ChatReply, QueueEvent, WorldAction
from world.app import HallClient
from world.config import BINDINGS, WorldConfig
from world.net import NetEvent, http_event
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
    assert c.player is not None
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
    c.tickets.toggle_tracker()
    c.set_lang("en")
    c.change_text_scale(0.3)
    c.screens.request("Hall")
    c.chat.perform(WorldAction(kind="walk_to_counter", data={"counter": 1}))
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
    assert client.player is not None
    client.player.root.setPos(start[0], start[1], 0)
    base.messenger.send("enter")
    assert client.screens.state == "Hall"
    near_ai(client)
    base.messenger.send("enter")
    assert client.screens.state == "Conversation"
    assert client.ai is not None
    client.pump(timeout=0.2, min_frames=3)
    assert client.ai.figure.clip == "wave"  # the assistant greets the visitor who came to talk
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
    client.on_frame(reply)
    assert "Kartu Keluarga" in client.bubble_text
    chat = client.screens.chat
    assert chat is not None and "Kartu Keluarga" in chat.text
    assert [b["text"] for b in chat.quick] == ["Ambil antrean"]
    assert client.tickets.ticket is not None and "A-007" in client.tickets.ticket.text
    assert client.layout is not None
    spot = client.layout.counter(1)
    assert client.player_path and math.dist(client.player_path[-1], spot.approach) < 0.6
    assert client.chat.conversation_id == "c-1"
    client.on_frame(
        ChatReply(
            conversation_id="c-1",
            text="Silakan isi formulir.",
            actions=[{"kind": "open_form", "data": {"service_id": "ktp-el"}}],
        )
    )
    assert client.screens.state == "Form"
    client.on_frame(
        ChatReply(
            conversation_id="c-1",
            text="Halo",
            sender="officer",
            actions=[{"kind": "handoff", "data": {"state": "accepted", "officer": "Rina", "counter": 1}}],
        )
    )
    assert any("Rina" in text and "1" in text for who, text in client.chat.history if who == "system")


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
    client.tickets.toggle_tracker()
    tracker = client.tickets.tracker
    assert tracker is not None
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
    assert "Diverifikasi" in tracker.text and "berkas lengkap" in tracker.text
    client.show_ticket({"code": "A-003", "counter": 1, "state": "waiting"})
    client.on_frame(QueueEvent(seq=3, ticket_code="A-003", counter=1, state="called", at=at))
    assert client.tickets.ticket is not None and "Dipanggil" in client.tickets.ticket.text
    assert "A-003" in client.bubble_text and "Loket 1" in client.bubble_text
    client.handle(NetEvent("status", "reconnecting"))
    assert client.banner.message == "Menghubungkan ulang…"
    client.set_lang("en")
    assert client.banner.message == "Reconnecting…"
    client.handle(NetEvent("status", "online"))
    assert client.banner.message == ""


def refusal(code: str, message_id: str, message_en: str, **extra: Any) -> dict[str, Any]:
    """A refusal as the server sends it (``server.errors``)."""
    detail = {"code": code, "message": message_id, "message_id": message_id, "message_en": message_en}
    return {"detail": {**detail, **extra}}


def submitted(tracking: str) -> dict[str, Any]:
    """The server's answer to a created application (``protocol.api.ApplicationOut``)."""
    at = "2026-12-07T02:00:00+00:00"
    return {
        "tracking_number": tracking,
        "service_id": "ktp-el",
        "agency_id": "dukcapil",
        "state": "submitted",
        "version": 1,
        "data": {"nik": "3510********0001"},
        "sla_due": "2026-12-10",
        "created_at": at,
        "updated_at": at,
        "receipt_pin": "123456",
    }


CHALLENGE = {"challenge_id": "ch1", "expires_in": 300, "code_length": 6, "message_id": "Kode.", "message_en": "Code."}


class FakeNet:
    """The NetClient surface the client uses, recording what it would send (no thread, no sockets)."""

    def __init__(self) -> None:
        self.state = "idle"
        self.lang = "id"
        self.sent: list[dict[str, Any]] = []
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.inbox: list[NetEvent] = []

    def start(self) -> None:
        self.state = "online"
        self.inbox.append(NetEvent("status", "online"))

    def stop(self) -> None:
        self.state = "idle"

    def poll(self) -> list[NetEvent]:
        out, self.inbox = self.inbox, []
        return out

    def send(self, frame: dict[str, Any]) -> None:
        self.sent.append(frame)

    def create_application(
        self,
        service_id: str,
        data: dict[str, Any],
        *,
        submit: bool = True,
        key: str | None = None,
        tag: str = "application",
    ) -> str:
        key = key or f"key-{len(self.calls)}"
        self.calls.append(("create_application", (service_id, data, key, tag)))
        return key

    def __getattr__(self, name: str) -> Any:
        def record(*args: Any, **kwargs: Any) -> None:
            self.calls.append((name, args + tuple(kwargs.values())))

        return record


def test_presence_join_then_moves_at_most_ten_per_second(base: Any) -> None:
    net = FakeNet()
    c = HallClient(base, WorldConfig(), net=net).start()  # type: ignore[arg-type]
    try:
        assert c.pump(lambda: c.screens.state == "Hall", timeout=5)
        joins = [f for f in net.sent if f["type"] == "presence.join"]
        assert len(joins) == 1
        assert {name for name, _ in net.calls} >= {"board", "dashboard", "applications"}
        c.pump(timeout=0.3)
        assert not [f for f in net.sent if f["type"] == "presence.move"]  # standing still sends nothing
        t0 = c.now()
        base.messenger.send("w")
        c.pump(timeout=1.0)
        base.messenger.send("w-up")
        elapsed = c.now() - t0
        moves = [f for f in net.sent if f["type"] == "presence.move"]
        assert 3 <= len(moves) <= elapsed * 10 + 1
        assert moves[-1]["y"] > joins[0]["y"]
    finally:
        c.destroy()


def test_form_submit_identifies_first_reuses_its_key_and_shows_server_errors(base: Any) -> None:
    net = FakeNet()
    c = HallClient(base, WorldConfig(), net=net).start()  # type: ignore[arg-type]
    try:
        assert c.pump(lambda: c.screens.state == "Hall", timeout=5)
        c.screens.request("Form", "ktp-el")
        assert ("service", ("ktp-el", "service:ktp-el")) in net.calls
        svc = default_catalog().service("ktp-el").model_dump(mode="json")
        c.handle(http_event("service:ktp-el", 200, svc, Service))
        form = c.screens.form
        assert form is not None and form.fields
        from protocol.forms import example_answers

        for k, v in example_answers(default_catalog().service("ktp-el"), "3510011204900001", "Budi Santoso").items():
            form.set_value(k, v)
        form.submit()
        assert net.calls[-1][0] == "identify"  # the application must belong to the citizen
        c.handle(http_event("identify", 202, CHALLENGE, ChallengeOut))
        form.enter_code("12 34")
        assert net.calls[-1][0] == "identify"  # not six digits: nothing sent
        form.enter_code("123456")
        assert net.calls[-1][0] == "verify_code" and list(net.calls[-1][1]) == ["ch1", "123456", "verify"]
        bad = refusal("code_invalid", "Kode salah.", "Wrong code.")
        c.handle(http_event("verify", 400, bad, VerifiedOut))
        assert "Kode salah" in form.status["text"] and net.calls[-1][0] == "verify_code"
        proved = {"session_id": "s1", "citizen": "3510********0001", "name": "Budi Santoso"}
        c.handle(http_event("verify", 200, proved, VerifiedOut))
        name, (sid, _data, key, _tag) = net.calls[-1]
        assert (name, sid) == ("create_application", "ktp-el")
        fields = {"kk_number": {"id": "Nomor KK harus 16 angka.", "en": "KK number must be 16 digits."}}
        invalid = refusal("invalid_form", "Ada isian yang belum benar.", "Some answers are not valid.", fields=fields)
        c.handle(http_event("submit", 422, invalid, ApplicationOut))
        assert form.message("kk_number") == "Nomor KK harus 16 angka."
        form.submit()  # the retry keeps the same Idempotency-Key
        assert net.calls[-1][0] == "create_application" and net.calls[-1][1][2] == key
        c.handle(http_event("submit", 201, submitted("BWI-2026-000009"), ApplicationOut))
        assert "BWI-2026-000009" in str(form.status["text"])
        assert c.tickets.tracker is not None and "BWI-2026-000009" in c.tickets.tracker.text
    finally:
        c.destroy()


def test_form_submitted_from_the_panel_closes_the_chat_form_and_disables_submit(base: Any) -> None:
    """Issue 14 (hall): after the panel submits, the chat must not keep asking "(1/5) NIK?"; Ajukan is off."""
    from protocol.forms import example_answers
    from protocol.messages import ChatReply, QuickReply, WorldAction

    net = FakeNet()
    c = HallClient(base, WorldConfig(), net=net).start()  # type: ignore[arg-type]
    try:
        assert c.pump(lambda: c.screens.state == "Hall", timeout=5)
        c.identified = True
        c.on_frame(
            ChatReply(
                conversation_id="conv-1",
                text="(1/5) NIK?",
                intent="start_application",
                service="ktp-el",
                quick_replies=[QuickReply(label="Batal", payload="/cancel")],
                actions=[WorldAction(kind="open_form", data={"service_id": "ktp-el"})],
            )
        )
        assert c.pump(lambda: c.screens.state == "Form", timeout=5)
        svc = default_catalog().service("ktp-el")
        c.handle(http_event("service:ktp-el", 200, svc.model_dump(mode="json"), Service))
        form = c.screens.form
        assert form is not None
        for k, v in example_answers(svc, "3510011204900001", "Budi Santoso").items():
            form.set_value(k, v)
        form.submit()
        assert net.calls[-1][0] == "create_application"
        c.handle(http_event("submit", 201, submitted("BWI-2026-000010"), ApplicationOut))
        told = [f for f in net.sent if f["type"] == "chat.say"]
        assert told and told[-1]["text"] == "/submitted ktp-el BWI-2026-000010"
        assert told[-1]["conversation_id"] == "conv-1"
        assert form.submit_button is not None and form.submit_button["state"] == "disabled"
        n = len(net.calls)
        form.submit()  # a second press creates nothing
        assert len(net.calls) == n and "BWI-2026-000010" in str(form.status["text"])
    finally:
        c.destroy()


def test_over_long_chat_line_is_refused_not_cut(base: Any) -> None:
    from protocol.messages import CHAT_TEXT_MAX

    net = FakeNet()
    c = HallClient(base, WorldConfig(), net=net).start()  # type: ignore[arg-type]
    try:
        assert c.pump(lambda: c.screens.state == "Hall", timeout=5)
        c.say("cerita panjang. " * 200 + "berapa biaya paspor?")
        sent = [f for f in net.sent if f["type"] == "chat.say"]
        assert len("cerita panjang. " * 200) > 2000
        assert sent and sent[-1]["text"].endswith("berapa biaya paspor?")  # whole, not cut at 2000
        c.say("x" * (CHAT_TEXT_MAX + 1))
        assert len([f for f in net.sent if f["type"] == "chat.say"]) == len(sent)
        assert "terlalu panjang" in c.chat.history[-1][1]
    finally:
        c.destroy()


@pytest.mark.slow
def test_mpp_hall_screenshot_without_a_server_shows_the_hall_and_the_banner(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.conftest import free_port

    out = tmp_path / "hall.png"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "mpp.cli",
            "hall",
            "--offscreen",
            "--size",
            "640x360",
            "--screenshot",
            str(out),
            "--server",
            f"http://127.0.0.1:{free_port()}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    from panda3d.core import PNMImage

    img = PNMImage()
    assert img.read(str(out)) and (img.getXSize(), img.getYSize()) == (640, 360)
    # the reconnect banner is amber at the top centre
    red, green, blue = img.getXel(200, 5)
    assert red > 0.5 and blue < 0.3


def test_presence_snapshots_draw_other_visitors_but_not_oneself(client: HallClient) -> None:
    from protocol.messages import PresenceEntity, PresenceSnapshot, Welcome

    assert client.visitors is not None
    client.on_frame(Welcome(session_id="me", last_seq=0))
    snap = PresenceSnapshot(
        tick=1,
        hall="Aula 1",
        full=True,
        entered=[PresenceEntity(id="me", name="Budi", x=0, y=-15), PresenceEntity(id="v2", name="Siti", x=2, y=-10)],
    )
    client.on_frame(snap)
    client.pump(timeout=0.3, min_frames=5)
    assert client.visitors.count == 1
    client.on_frame(PresenceSnapshot(tick=2, hall="Aula 1", left=["v2"]))
    client.pump(timeout=0.3, min_frames=5)
    assert client.visitors.count == 0


def test_a_server_correction_puts_the_player_where_the_server_says(client: HallClient) -> None:
    from protocol.messages import PresenceCorrect

    assert client.player is not None
    client.player.root.setPos(40.0, 0.0, 0)  # walked through a wall, as the server sees it
    client.on_frame(PresenceCorrect(x=3.25, y=-1.5, heading=90.0))
    client.pump(timeout=0.2, min_frames=2)
    assert client.player.root.getX() == pytest.approx(3.25, abs=1e-3)
    assert client.player.root.getY() == pytest.approx(-1.5, abs=1e-3)
    assert client.presence.last_sent == (3.25, -1.5, 90.0)  # not sent back as a new move


def test_a_question_asked_while_reconnecting_is_queued_and_the_citizen_is_told(base: Any) -> None:
    net = FakeNet()
    c = HallClient(base, WorldConfig(), net=net).start()  # type: ignore[arg-type]
    try:
        assert c.pump(lambda: c.screens.state == "Hall", timeout=5)
        net.state = "reconnecting"
        c.say("jam buka MPP?")
        assert net.sent[-1]["type"] == "chat.say" and net.sent[-1]["text"] == "jam buka MPP?"
        assert c.chat.history[-1] == ("system", "Sedang terputus; pertanyaan Anda dikirim begitu tersambung lagi.")
        net.state = "online"
        c.say("jam buka MPP?")
        assert c.chat.history[-1] == ("you", "jam buka MPP?")
    finally:
        c.destroy()
        c.destroy()  # idempotent: a second destroy is harmless
