"""The guided DirectGUI view on the shared offscreen ShowBase: big buttons, contrast, walk, speech, cleanup."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from protocol.catalog import Localized, default_catalog
from tests.conftest import need
from world.guided import GuidedFlow, Pending
from world.voice import Voice

NIK = "3510014104900001"
NAME = "Siti Aminah"
KK = "3510010101200001"


@pytest.fixture
def flow() -> GuidedFlow:
    identity = {"nik": NIK, "full_name": NAME}
    return GuidedFlow(default_catalog(), identity=identity, path_to_counter=lambda c: [(0, 0), (0, 5)])


def _task_names(base: Any) -> set[str]:
    return {t.name for t in base.task_mgr.getAllTasks()}


def test_colours_are_high_contrast() -> None:
    from world.guided_view import BG, BUTTON, BUTTON_INK, INK, NOTE, TOOL, contrast_ratio

    assert contrast_ratio(INK, BG) >= 7
    assert contrast_ratio(NOTE, BG) >= 7
    assert contrast_ratio(BUTTON_INK, BUTTON) >= 7
    assert contrast_ratio(BUTTON_INK, TOOL) >= 7
    assert contrast_ratio((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)) == pytest.approx(1.0)


def test_view_draws_big_buttons_and_walks_the_flow(base: Any, flow: GuidedFlow, tmp_path: Path) -> None:
    from world.guided_view import MIN_SCALE, GuidedView

    walked: list[tuple[tuple[float, float], ...]] = []
    arrived = {"done": False}
    sent: list[Pending] = []
    before = _task_names(base)
    view = GuidedView(
        base,
        flow,
        scale=1.0,  # asked for the normal size: guided mode still uses at least 1.6x
        voice=Voice(enabled=False),
        start_walk=walked.append,
        walk_done=lambda: arrived["done"],
        send=sent.append,
    )
    try:
        assert view.s >= MIN_SCALE
        assert view.notice is not None and "Suara tidak tersedia" in view.notice  # said once, as text
        assert set(view.buttons) >= {"service:ktp-el", "more", "repeat", "officer"}
        assert view.entry is not None  # typing is possible at the greeting
        ktp = view.buttons["service:ktp-el"]
        x0, x1, z0, z1 = ktp["frameSize"]
        assert (x1 - x0) >= 0.8 and (z1 - z0) >= 0.13  # big targets
        assert min(ktp["text_scale"]) >= 0.05
        base.task_mgr.step()
        view.click("service:ktp-el")
        assert "option:hilang" in view.buttons
        view.click("option:hilang")
        view.click("next")
        view.click("all_docs")
        base.task_mgr.step()
        assert flow.step.kind == "walk" and walked == [((0.0, 0.0), (0.0, 5.0))]
        base.task_mgr.step()
        assert flow.step.kind == "walk"  # still walking
        arrived["done"] = True
        base.task_mgr.step()
        assert flow.step.kind == "identity" and view.shown is flow.step
        view.click("yes")
        assert view.entry is not None
        view.entry.enterText(KK)
        view.buttons["ok"]["command"]()  # the OK button submits what was typed
        assert flow.step.kind == "review" and "3510 0101 0120 0001" in view.widgets["text"]["text"]
        view.click("submit")
        base.task_mgr.step()
        assert [p.kind for p in sent] == ["submit"]
        flow.resolve("submit", {"tracking_number": "BWI-2026-000001"})
        base.task_mgr.step()
        assert [p.kind for p in sent] == ["submit", "ticket"]
        flow.resolve("ticket", {"code": "A-012"})
        base.task_mgr.step()
        assert view.widgets["ticket"]["text"] == "A-012"
        assert min(view.widgets["ticket"]["text_scale"]) >= 0.2  # very large
        assert flow.presses == 7
        base.graphics_engine.render_frame()
        base.win.save_screenshot(str(tmp_path / "ticket.png"))
    finally:
        view.destroy()
    assert _task_names(base) == before
    assert view.frame is None


def test_a_failing_transport_becomes_a_calm_failure(base: Any, flow: GuidedFlow) -> None:
    from world.guided_view import GuidedView

    def broken(p: Pending) -> None:
        raise ConnectionError("down")

    view = GuidedView(base, flow, voice=Voice(enabled=False), send=broken)
    try:
        flow.enter("ktp hilang")
        for action in ("next", "all_docs", "arrived", "yes"):
            flow.press(action)
        flow.enter(KK)
        flow.press("yes")
        view.click("submit")
        base.task_mgr.step()
        assert flow.step.kind == "failed" and view.shown is flow.step and "submit" in view.buttons
        flow.reject("submit", Localized(id="x", en="x"))  # nothing pending any more: ignored
        assert flow.step.kind == "failed"
    finally:
        view.destroy()


class FakeSound:
    def __init__(self, log: list[str], name: str) -> None:
        self.log, self.name = log, name

    def play(self) -> None:
        self.log.append(f"play {self.name}")

    def stop(self) -> None:
        self.log.append(f"stop {self.name}")


class FakeAudio:
    def __init__(self) -> None:
        self.log: list[str] = []
        self.n = 0

    def getSound(self, filename: Any) -> FakeSound:
        self.n += 1
        return FakeSound(self.log, str(self.n))

    def update(self) -> None:  # ShowBase's audio loop calls this every frame
        pass


@pytest.mark.slow
def test_view_speaks_each_new_step_with_espeak(
    base: Any, flow: GuidedFlow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from world.guided_view import GuidedView

    need(shutil.which("espeak-ng") is not None, "espeak-ng is not installed (apt-get install espeak-ng)")
    audio = FakeAudio()
    monkeypatch.setattr(base, "sfxManagerList", [audio], raising=False)
    view = GuidedView(base, flow, voice=Voice(cache_dir=tmp_path, enabled=True))
    try:
        assert view.notice is None
        base.task_mgr.step()
        view.wait_for_speech()
        view.click("service:ktp-el")
        view.wait_for_speech()
        view.click("repeat")
        view.wait_for_speech()
        assert len(view.played) == 3
        assert view.played[1] == view.played[2]  # "Ulangi" replays the same (cached) audio
        assert view.played[0] != view.played[1]
        # each new sentence stops the one before: never two voices at once
        assert audio.log == ["play 1", "stop 1", "play 2", "stop 2", "play 3"]
    finally:
        view.destroy()
    assert audio.log[-1] == "stop 3"


class FakeNet:
    """Answers REST helpers like the server would, through the same poll() queue as NetClient."""

    state = "online"

    def __init__(self) -> None:
        from world.net import NetEvent

        self._event = NetEvent
        self.inbox: list[Any] = []
        self.calls: list[tuple[str, Any]] = []
        self.sent: list[dict[str, Any]] = []
        self.fail_ticket = 0

    def __getattr__(self, name: str) -> Any:  # board(), dashboard(), applications()...: nothing to answer
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *a, **k: None

    def start(self) -> None:
        self.inbox.append(self._event("status", "online"))

    def stop(self) -> None:
        pass

    def send(self, frame: dict[str, Any]) -> None:
        self.sent.append(frame)

    def poll(self, limit: int = 200) -> list[Any]:
        out, self.inbox = self.inbox, []
        return out

    def _http(self, tag: str, status: int, body: Any) -> None:
        self.inbox.append(self._event("http", {"tag": tag, "status": status, "body": body}))

    def identify(self, nik: str, name: str, tag: str = "identify") -> None:
        self.calls.append(("identify", nik))
        self._http(tag, 202, {"challenge_id": "ch-1"})  # as the server: a code goes to the NIK's contact

    def create_application(
        self,
        service_id: str,
        data: dict[str, Any],
        *,
        submit: bool = True,
        key: str | None = None,
        tag: str = "application",
    ) -> str:
        key = key or "key-1"
        self.calls.append(("application", (service_id, key)))
        self._http(tag, 201, {"tracking_number": "BWI-2026-000042", "state": "submitted"})
        return key

    def take_ticket(self, counter: int, tag: str = "ticket") -> None:
        self.calls.append(("ticket", counter))
        if self.fail_ticket:
            self.fail_ticket -= 1
            detail = {"code": "queue_closed", "message_id": "Antrean sudah ditutup.", "message_en": "Queue closed."}
            self._http(tag, 409, {"detail": detail})
            return
        self._http(tag, 201, {"code": "A-042", "counter": counter, "state": "waiting", "estimated_wait_min": 4})


def test_guided_mode_in_the_hall_client_reaches_a_ticket(base: Any, tmp_path: Path) -> None:
    from world.app import HallClient
    from world.config import WorldConfig
    from world.guided_view import attach_to_hall

    net = FakeNet()
    net.fail_ticket = 1
    client = HallClient(base, WorldConfig(lang="id", name="Siti", text_scale=1.3), net=net).start()  # type: ignore[arg-type]
    view = None
    try:
        assert client.pump(lambda: client.screens.state == "Hall" and client.layout is not None, timeout=10)
        client.identified = True  # the session already proved itself with the second factor (identity known)
        view = attach_to_hall(client, identity={"nik": NIK, "full_name": NAME}, voice=Voice(enabled=False))
        flow = view.flow
        assert client.typing  # no free walking while guided
        view.click("service:ktp-el")
        view.click("option:hilang")
        view.click("next")
        view.click("all_docs")
        assert flow.step.kind == "walk" and flow.step.path
        start = client.player_xy
        approach = client.layout.counter(1).approach
        assert client.pump(lambda: bool(client.player_path), timeout=5)
        assert client.player_path[-1] == approach  # the autopilot heads for counter 1
        assert client.pump(lambda: client.player_xy != start, timeout=10)
        assert flow.step.kind == "walk"
        # Offscreen frames are slow; finish the walk at once instead of rendering every step of it.
        client.player.root.setPos(approach[0], approach[1], 0)
        client.player_path = []
        assert client.pump(lambda: flow.step.kind != "walk", timeout=5)
        assert flow.step.kind == "identity"
        view.click("yes")
        view.type_text(KK)
        view.click("yes")
        view.click("submit")
        assert client.pump(lambda: flow.step.kind in ("ticket", "failed"), timeout=5)
        assert flow.step.kind == "failed" and "Antrean sudah ditutup." in flow.step.text
        view.click("submit")  # retry: only the ticket again, same application
        assert client.pump(lambda: flow.step.kind == "ticket", timeout=5)
        assert flow.step.ticket == "A-042" and flow.step.tracking == "BWI-2026-000042"
        assert [c[0] for c in net.calls] == ["application", "ticket", "ticket"]  # no identify: already proved
        assert client.ticket is not None  # the hall's own ticket card follows queue updates
        assert flow.presses == 8  # 7 + the retry
        client.screenshot(tmp_path / "guided-hall.png")
        view.click("officer")
        client.pump(timeout=0.1)
        assert any(f.get("type") == "chat.say" and "petugas" in f.get("text", "") for f in net.sent)
        view.destroy()
        view = None
        assert not client.typing and "handle" not in client.__dict__
    finally:
        if view is not None:
            view.destroy()  # a failed assertion must not leave the full-screen panel on the shared window
        client.destroy()


def test_guided_hall_shows_the_officer_as_steps(base: Any) -> None:
    """Issue 14: after Panggil Petugas the officer's words reach the guided visitor (large, spoken)."""
    from protocol.messages import ChatReply, WorldAction
    from world.app import HallClient
    from world.config import WorldConfig
    from world.guided_view import attach_to_hall

    net = FakeNet()
    client = HallClient(base, WorldConfig(lang="id", name="Siti", text_scale=1.3), net=net).start()  # type: ignore[arg-type]
    try:
        assert client.pump(lambda: client.screens.state == "Hall" and client.layout is not None, timeout=10)
        view = attach_to_hall(client, identity={"nik": NIK, "full_name": NAME}, voice=Voice(enabled=False))
        flow = view.flow
        view.click("service:ktp-el")
        view.click("officer")
        assert flow.step.kind == "handoff"
        accepted = WorldAction(kind="handoff", data={"state": "accepted", "officer": "Rina Petugas", "counter": 1})
        client.on_reply(
            ChatReply(conversation_id="c1", text="Halo, saya Rina Petugas, petugas loket 1.", sender="officer",
                      actions=[accepted])
        )  # fmt: skip
        client.on_reply(ChatReply(conversation_id="c1", text="Silakan duduk di kursi 3, Ibu.", sender="officer"))
        assert client.pump(lambda: view.shown is flow.step, timeout=5)
        assert flow.step.kind == "officer" and "kursi 3" in flow.step.text
        assert "kursi tiga" in flow.spoken[-1]  # spoken, numbers in words
        view.click("back")
        assert flow.step.kind == "purpose"
        view.destroy()  # its full-screen panel must not stay on the shared test window
    finally:
        client.destroy()


def test_guided_hall_says_the_document_is_ready(base: Any) -> None:
    """Issue 16: an issued document reaches the guided visitor as a large spoken step."""
    import datetime as dt

    from protocol.messages import DocumentEvent
    from world.app import HallClient
    from world.config import WorldConfig
    from world.guided_view import attach_to_hall

    net = FakeNet()
    client = HallClient(base, WorldConfig(lang="id", name="Siti", text_scale=1.3), net=net).start()  # type: ignore[arg-type]
    try:
        assert client.pump(lambda: client.screens.state == "Hall" and client.layout is not None, timeout=10)
        view = attach_to_hall(client, identity={"nik": NIK, "full_name": NAME}, voice=Voice(enabled=False))
        flow = view.flow
        at = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
        doc = {"tracking_number": "BWI-2026-000001", "service_id": "akta-kelahiran", "number": "3510-LU-1", "at": at}
        client.on_frame(DocumentEvent(seq=9, state="handed_over", title="Kutipan Akta Kelahiran", **doc))
        assert flow.step.kind != "officer"  # only an issued document is announced
        client.on_frame(DocumentEvent(seq=10, state="issued", title="Kutipan Akta Kelahiran", **doc))
        assert client.pump(lambda: view.shown is flow.step, timeout=5)
        assert flow.step.kind == "officer" and "Dokumen Anda sudah jadi, bisa dicetak" in flow.step.text
        view.destroy()
        assert not client.document_listeners
    finally:
        client.destroy()
