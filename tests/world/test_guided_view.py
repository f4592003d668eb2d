"""The guided DirectGUI view on the shared offscreen ShowBase: it draws guided.step frames and sends choices.

Here the frames come from the assistant's guided loop in process (a loopback in place of the socket);
``test_guided_e2e.py`` takes them from a real server.
"""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import need
from world.voice import Voice

NIK = "3510014104900001"
NAME = "Siti Aminah"
KK = "3510010101200001"
_ids = itertools.count()


class Loopback:
    """The server's side of guided mode in process: frames the view sends are answered by the loop."""

    def __init__(self, identified: bool = True) -> None:
        from assistant.core import Conversation
        from assistant.dialogue.guided import GuidedLoop
        from assistant.ports import Caller
        from protocol.catalog import default_catalog
        from tests.assistant.fakes import FakePort

        self.loop = GuidedLoop(default_catalog())
        self.port = FakePort()
        caller = Caller("s", 3, NIK, NAME) if identified else Caller("s")
        self.conv = Conversation(f"v-{next(_ids)}", caller, self.port)
        self.view: Any = None
        self.frames: list[dict[str, Any]] = []
        self.errors: list[str] = []

    def send(self, frame: dict[str, Any]) -> None:
        from assistant.dialogue.guided import GuidedRefused

        self.frames.append(frame)
        if frame["type"] == "guided.start":
            step = self.loop.start(self.conv, frame.get("lang"))
        else:
            try:
                step = self.loop.choose(
                    self.conv, frame["step_id"], frame.get("choice"), frame.get("value"), frame.get("auto", False)
                )
            except GuidedRefused as exc:
                from protocol.messages import ErrorFrame

                self.errors.append(exc.code)
                self.view.refused(ErrorFrame(code=exc.code, message=exc.message, ref=frame.get("ref")))
                return
        self.view.show(step)


def _task_names(base: Any) -> set[str]:
    return {t.name for t in base.task_mgr.getAllTasks()}


def test_colours_are_high_contrast() -> None:
    from world.guided_view import BG, BUTTON, BUTTON_INK, INK, NOTE, PROBLEM, TOOL, contrast_ratio

    assert contrast_ratio(INK, BG) >= 7
    assert contrast_ratio(NOTE, BG) >= 7
    assert contrast_ratio(PROBLEM, BG) >= 7
    assert contrast_ratio(BUTTON_INK, BUTTON) >= 7
    assert contrast_ratio(BUTTON_INK, TOOL) >= 7
    assert contrast_ratio((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)) == pytest.approx(1.0)


def test_view_draws_the_frames_and_sends_only_offered_choices(base: Any, tmp_path: Path) -> None:
    from world.guided_view import MIN_SCALE, GuidedView

    server = Loopback()
    walked: list[int] = []
    arrived = {"done": False}
    before = _task_names(base)
    view: Any = GuidedView(
        base,
        send=server.send,
        scale=1.0,  # asked for the normal size: guided mode still uses at least 1.6x
        voice=Voice(enabled=False),
        start_walk=walked.append,
        walk_done=lambda: arrived["done"],
    )
    server.view = view
    try:
        view.start()
        assert view.s >= MIN_SCALE
        assert view.notice is not None and "Suara tidak tersedia" in view.notice  # said once, as text
        assert set(view.buttons) >= {"service:ktp-el", "more", "repeat", "officer"}
        assert view.entry is not None  # typing is possible at the greeting
        ktp = view.buttons["service:ktp-el"]
        x0, x1, z0, z1 = ktp["frameSize"]
        assert (x1 - x0) >= 0.8 and (z1 - z0) >= 0.13  # big targets
        assert min(ktp["text_scale"]) >= 0.05
        base.task_mgr.step()
        view.click("option:hilang")  # not on this step: never sent
        assert [f["type"] for f in server.frames] == ["guided.start"]
        view.click("service:ktp-el")
        sent = server.frames[-1]
        assert sent == {
            "type": "guided.choose",
            "step_id": 2,
            "choice": "service:ktp-el",
            "auto": False,
            "ref": "guided",
        }
        assert "option:hilang" in view.buttons and view.widgets["title"]["text"] == view.step.title
        view.click("option:hilang")
        view.click("next")
        view.click("all_docs")
        base.task_mgr.step()
        assert view.step.kind == "walk" and walked == [1]  # the autopilot heads for counter 1
        base.task_mgr.step()
        assert view.step.kind == "walk"  # still walking
        arrived["done"] = True
        base.task_mgr.step()
        assert view.step.kind == "identity" and view.shown is view.step
        assert server.frames[-1]["auto"] is True and view.presses == 4  # arriving is not a press
        view.click("yes")
        assert view.entry is not None
        view.entry.enterText(KK)
        view.buttons["ok"]["command"]()  # the OK button submits what was typed
        assert view.step.kind == "check" and "3510 0101 0120 0001" in view.widgets["text"]["text"]
        view.click("submit")
        base.task_mgr.step()
        assert view.step.kind == "ticket" and view.widgets["ticket"]["text"] == server.port.tickets[0].code
        assert min(view.widgets["ticket"]["text_scale"]) >= 0.2  # very large
        assert view.presses == 7
        assert server.errors == []
        base.graphics_engine.render_frame()
        base.win.save_screenshot(str(tmp_path / "ticket.png"))
    finally:
        view.destroy()
    assert _task_names(base) == before
    assert view.frame is None


def test_a_refused_value_is_shown_as_a_problem_and_a_double_press_waits(base: Any) -> None:
    from world.guided_view import PROBLEM, GuidedView

    server = Loopback(identified=False)
    held: list[dict[str, Any]] = []
    view: Any = GuidedView(base, send=held.append, voice=Voice(enabled=False))
    server.view = view
    try:
        server.send({"type": "guided.start", "lang": "id"})
        view.click("service:ktp-el")
        view.click("more")  # a second press before the answer: not sent
        assert [f.get("choice") for f in held] == ["service:ktp-el"]
        server.send(held.pop())
        view._send = server.send
        view.type_text("ktp")  # no field on the purpose step: nothing sent
        for choice in ("option:hilang", "next", "all_docs", "arrived"):
            view.click(choice)
        view.type_text("1234")
        assert view.step.kind == "field" and view.step.tone == "problem"
        note = view.widgets["note"]
        colour = note.component("text0").textNode.get_text_color()
        assert "16" in note["text"] and tuple(colour) == pytest.approx(PROBLEM)
    finally:
        view.destroy()


def test_a_failing_transport_leaves_the_step_on_screen(base: Any) -> None:
    from world.guided_view import GuidedView

    server = Loopback()

    def broken(frame: dict[str, Any]) -> None:
        if frame["type"] == "guided.choose":
            raise ConnectionError("down")
        server.send(frame)

    view: Any = GuidedView(base, send=broken, voice=Voice(enabled=False))
    server.view = view
    try:
        view.start()
        view.click("service:ktp-el")
        base.task_mgr.step()
        assert view.step is not None and view.step.kind == "greet" and not view.waiting  # the press can be retried
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


def test_spoken_text_has_no_digits_left_for_espeak(base: Any) -> None:
    from world.guided_view import GuidedView

    server = Loopback()
    view: Any = GuidedView(base, send=server.send, voice=Voice(enabled=False))
    server.view = view
    try:
        view.start()
        for choice in ("service:ktp-el", "option:hilang"):
            view.click(choice)
        assert "ka te pe elektronik" in view.spoken[-1]
        for choice in ("next", "all_docs", "arrived", "yes"):
            view.click(choice)
        view.type_text(KK)
        assert "tiga lima satu nol" in view.spoken[-1]
        view.click("submit")
        assert view.step.kind == "ticket" and "a nol nol satu" in view.spoken[-1]
        assert all(not any(ch.isdigit() for ch in said) for said in view.spoken)
    finally:
        view.destroy()


@pytest.mark.slow
def test_view_speaks_each_new_step_with_espeak(base: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from world.guided_view import GuidedView

    need(shutil.which("espeak-ng") is not None, "espeak-ng is not installed (apt-get install espeak-ng)")
    audio = FakeAudio()
    monkeypatch.setattr(base, "sfxManagerList", [audio], raising=False)
    server = Loopback()
    view: Any = GuidedView(base, send=server.send, voice=Voice(cache_dir=tmp_path, enabled=True))
    server.view = view
    try:
        assert view.notice is None
        view.start()
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


def test_the_hall_has_the_code_screen_of_the_second_factor(base: Any) -> None:
    """Identity unknown: NIK, name, KK, then the contact and the one-time code, each a big typed step."""
    from world.guided_view import GuidedView

    server = Loopback(identified=False)
    view: Any = GuidedView(base, send=server.send, voice=Voice(enabled=False))
    server.view = view
    try:
        view.start()
        for choice in ("service:ktp-el", "option:hilang", "next", "all_docs"):
            view.click(choice)
        view.click("arrived", auto=True)  # the autopilot arrived
        for value in (NIK, NAME, KK):
            view.type_text(value)
        view.click("submit")
        assert view.step.kind == "contact" and view.entry is not None
        view.type_text("siti@example.com")
        assert view.step.kind == "code" and view.entry is not None and "code_again" in view.buttons
        assert view.step.field.autocomplete == "one-time-code" and view.widgets["title"]["text"] == view.step.title
        view.type_text("000000")
        assert view.step.kind == "code" and "0 0 0 0 0 0" in view.widgets["note"]["text"]
        code = next(iter(server.port.codes.values()))[0]
        view.type_text(code)
        assert view.step.kind == "ticket" and view.presses == 11  # 10 + the wrong code
    finally:
        view.destroy()


def test_a_stale_press_is_refused_and_the_view_takes_the_current_step(base: Any) -> None:
    """The officer spoke while the visitor pressed: the press names an old step, the server refuses it,
    and the view shows what the server holds now (the officer's words), not an error."""
    from world.guided_view import GuidedView

    server = Loopback()
    view: Any = GuidedView(base, send=server.send, voice=Voice(enabled=False))
    server.view = view
    try:
        view.start()
        view.click("service:ktp-el")
        view.click("officer")
        server.loop.officer_said(server.conv, "Sebentar ya Bu, saya cek dulu.", "Rina")  # its frame is lost
        view.click("back_to_step")  # pressed on the step before the officer's words
        assert server.errors == ["guided_out_of_order"]
        assert view.step.kind == "officer_says" and view.step.tone == "officer"
        assert view.widgets["text"]["text"] == "Sebentar ya Bu, saya cek dulu." and "note" not in view.widgets
        view.click("back_to_step")
        assert view.step.kind == "purpose" and view.retries == 0
    finally:
        view.destroy()
