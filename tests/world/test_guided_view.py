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
        assert flow.step.kind == "confirm" and "3510 0101 0120 0001" in view.widgets["text"]["text"]
        view.click("yes")
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
        assert flow.presses == 8
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


@pytest.mark.slow
def test_view_speaks_each_new_step_with_espeak(base: Any, flow: GuidedFlow, tmp_path: Path) -> None:
    from world.guided_view import GuidedView

    need(shutil.which("espeak-ng") is not None, "espeak-ng is not installed (apt-get install espeak-ng)")
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
    finally:
        view.destroy()
