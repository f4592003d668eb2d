"""Demo tours without rendering: schema errors, clicker navigation, calm failing actions, SRT."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx
import pytest

from tests.conftest import need
from world.demo import tour as T
from world.demo.actions import BUSY, Backend
from world.demo.camera import Pose, Shots, ease, pose_at
from world.demo.captions import cues_for, srt_time, write_srt
from world.demo.presenter import KEYMAP, FixedClock, Presenter, SyncScheduler, ThreadScheduler, step_length
from world.demo.tour import TourError, load_tour

STEP = """
  - title: {{id: "{title}", en: "{title}"}}
    captions: {{id: "Teks", en: "Text"}}
    camera:
      - {{t: 0, shot: overview}}
    duration: {duration}
"""


def _write(tmp_path: Path, body: str, name: str = "x.yaml") -> Path:
    d = tmp_path / "tours"
    d.mkdir(exist_ok=True)
    p = d / name
    p.write_text(body, encoding="utf-8")
    return p


def _tour_text(*steps: str) -> str:
    return 'name: x\ntitle: {id: "X", en: "X"}\nsteps:\n' + "".join(steps)


def _ok_step(title: str = "Langkah", duration: str = "2") -> str:
    return STEP.format(title=title, duration=duration)


# ------------------------------------------------------------------ schema


def test_default_tour_loads_with_japanese_and_every_shot_resolves() -> None:
    from protocol.catalog import default_catalog
    from world.layout import load_layout

    tour = load_tour("default")
    assert tour.has_japanese()
    kinds = {s.action.kind for s in tour.steps if s.action is not None}
    assert kinds >= {"ask", "apply", "ticket", "officer_transition", "status", "dashboard", "handoff", "guided"}
    services = {s.action.service for s in tour.steps if s.action is not None and hasattr(s.action, "service")}
    assert {"akta-kelahiran", "ktp-el"} <= services
    catalog = default_catalog()
    shots = Shots(load_layout(catalog), {s.id: int(s.counter) for s in catalog.services})
    assert shots.check(tour) == []


def test_missing_english_caption_names_file_step_and_field(tmp_path: Path) -> None:
    bad = """
  - title: {id: "Antrean", en: "Queue"}
    captions: {id: "Ambil nomor"}
    camera:
      - {t: 0, shot: overview}
    duration: 3
"""
    p = _write(tmp_path, _tour_text(_ok_step("Satu"), _ok_step("Dua"), bad))
    with pytest.raises(TourError) as exc:
        load_tour(p)
    assert str(exc.value) == "tours/x.yaml: step 3 'Antrean': captions.en: field required"


def test_unknown_action_field_and_kind_are_named(tmp_path: Path) -> None:
    step = _ok_step("Tanya").rstrip("\n") + "\n    action: {kind: ask, text: {id: a, en: b}, colour: red}\n"
    p = _write(tmp_path, _tour_text(step))
    with pytest.raises(TourError, match=r"step 1 'Tanya': action\.colour: unknown field"):
        load_tour(p)
    step = _ok_step("Terbang").rstrip("\n") + "\n    action: {kind: fly}\n"
    p = _write(tmp_path, _tour_text(step))
    with pytest.raises(TourError, match=r"step 1 'Terbang': action: .*'ask'"):
        load_tour(p)


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (_ok_step(duration="action"), r"step 1 'Langkah': step: duration 'action' needs an action"),
        (_ok_step(duration="-1"), r"step 1 'Langkah': duration: must be between"),
        (
            _ok_step().replace("shot: overview", "shot: roof"),
            r"step 1 'Langkah': camera\[0\]\.shot: unknown anchor",
        ),
        (
            _ok_step().replace("{t: 0, shot: overview}", "{t: 0, pos: [0, 0, 2]}"),
            r"step 1 'Langkah': camera\[0\]: give either shot, or both pos and look",
        ),
        (
            _ok_step().replace("{t: 0, shot: overview}", "{t: 5, shot: overview}\n      - {t: 1, shot: lounge}"),
            r"step 1 'Langkah': step: camera keyframes must be in time order",
        ),
        (
            _ok_step().replace("{t: 0, shot: overview}", "{t: 0, shot: lounge, ease: bounce}"),
            r"step 1 'Langkah': camera\[0\]\.ease: Input should be",
        ),
    ],
)
def test_bad_steps_give_step_and_field(tmp_path: Path, step: str, expected: str) -> None:
    p = _write(tmp_path, _tour_text(step))
    with pytest.raises(TourError, match=r"^tours/x\.yaml: " + expected):
        load_tour(p)


def test_broken_yaml_missing_file_and_empty_steps(tmp_path: Path) -> None:
    p = _write(tmp_path, "name: x\nsteps: [\n", "broken.yaml")
    with pytest.raises(TourError, match=r"^tours/broken\.yaml: line \d+ not valid YAML"):
        load_tour(p)
    with pytest.raises(TourError, match="file not found"):
        load_tour(tmp_path / "tours" / "nope.yaml")
    p = _write(tmp_path, 'name: x\ntitle: {id: "X", en: "X"}\nsteps: []\n', "empty.yaml")
    with pytest.raises(TourError, match=r"^tours/empty\.yaml: steps: List should have at least 1 item"):
        load_tour(p)
    p = _write(tmp_path, "- just\n- a list\n", "list.yaml")
    with pytest.raises(TourError, match="expected a mapping"):
        load_tour(p)


def test_text_falls_back_to_english_when_japanese_missing() -> None:
    t = T.Text(id="Halo", en="Hello")
    assert (t.get("id"), t.get("en"), t.get("ja")) == ("Halo", "Hello", "Hello")
    assert T.Text(id="Halo", en="Hello", ja="こんにちは").get("ja") == "こんにちは"


# ------------------------------------------------------------------ camera


def test_easing_endpoints_and_shape() -> None:
    for kind in ("linear", "in", "out", "in_out"):
        assert ease(kind, 0.0) == pytest.approx(0.0)
        assert ease(kind, 1.0) == pytest.approx(1.0)
        values = [ease(kind, i / 20) for i in range(21)]
        assert values == sorted(values)
    assert ease("in", 0.5) < 0.5 < ease("out", 0.5)
    assert ease("in_out", 0.5) == pytest.approx(0.5)
    assert ease("hold", 0.99) == 0.0


def test_first_key_after_zero_glides_from_previous_pose() -> None:
    from protocol.catalog import default_catalog
    from world.layout import load_layout

    catalog = default_catalog()
    shots = Shots(load_layout(catalog), {s.id: int(s.counter) for s in catalog.services})
    step = T.Step(
        title=T.Text(id="a", en="a"),
        captions=T.Text(id="a", en="a"),
        camera=[T.CameraKey(t=2.0, shot="lounge", ease="linear")],
        duration=3.0,
    )
    before = Pose((0.0, 0.0, 5.0), (0.0, 10.0, 0.0))
    target = shots.resolve("lounge")
    assert pose_at(shots, step, 0.0, before) == before
    mid = pose_at(shots, step, 1.0, before)
    assert mid.pos[0] == pytest.approx((before.pos[0] + target.pos[0]) / 2)
    assert pose_at(shots, step, 2.5, before) == target
    assert pose_at(shots, step, 0.0, None) == target


# ------------------------------------------------------------------ presenter


def _tour(n: int = 4, duration: float = 2.0) -> T.Tour:
    steps = [
        T.Step(
            title=T.Text(id=f"Langkah {i}", en=f"Step {i}"),
            captions=T.Text(id="c", en="c"),
            camera=[T.CameraKey(t=0.0, shot="overview")],
            duration=duration,
        )
        for i in range(n)
    ]
    return T.Tour(name="t", title=T.Text(id="t", en="t"), steps=steps)


def _never(action: T.Action, lang: str) -> object:
    raise AssertionError("no action expected")


def test_clicker_keys_walk_forward_and_back() -> None:
    entered: list[int] = []
    p = Presenter(_tour(4, 4.0), "id", SyncScheduler(_never), on_enter=lambda i, s: entered.append(i))  # type: ignore[arg-type]
    for key in ("page_down", "arrow_right", "page_down"):
        assert p.key(key)
    assert p.index == 3
    p.key("page_down")  # past the end: finished, not wrapped
    assert p.finished and p.index == 3
    p.key("page_up")
    assert p.index == 2 and not p.finished
    p.key("arrow_left")
    assert p.index == 1
    p.tick(3.0)  # well into the step: "previous" restarts it first
    p.key("arrow_left")
    assert (p.index, p.t) == (1, 0.0)
    assert entered == [0, 1, 2, 3, 2, 1, 1]
    assert not p.key("q")
    assert p.label() == "2/4 · Langkah 1"


def test_pause_blank_restart_and_auto_advance() -> None:
    p = Presenter(_tour(3, 2.0), "en", SyncScheduler(_never))  # type: ignore[arg-type]
    p.key("space")
    p.tick(10.0)
    assert (p.index, p.t) == (0, 0.0)
    p.key("space")
    clock = FixedClock(10)
    for _ in range(25):
        p.tick(clock.advance())
    assert p.index == 1 and p.t == pytest.approx(0.5)
    p.key("b")
    assert p.blank
    p.key("home")
    assert p.index == 0
    assert p.progress == pytest.approx(0.0)
    for _ in range(200):
        p.tick(0.1)
    assert p.finished and p.index == 2 and p.progress == pytest.approx(1.0)


def test_loop_starts_a_new_round_with_fresh_data() -> None:
    rounds: list[int] = []
    p = Presenter(_tour(2, 1.0), "id", SyncScheduler(_never), loop=True, on_round=rounds.append)  # type: ignore[arg-type]
    for _ in range(45):
        p.tick(0.1)
    assert rounds == [2, 3]  # 4.5 s of 2-second rounds: half a second into round 3
    assert not p.finished and (p.index, p.round) == (0, 3) and p.t == pytest.approx(0.5)


def test_timeline_matches_fixed_clock_frames() -> None:
    tour = _tour(3, 1.05)
    p = Presenter(tour, "id", SyncScheduler(_never))  # type: ignore[arg-type]
    spans = p.timeline()
    assert spans[1] == pytest.approx((1.05, 2.1))
    clock = FixedClock(30)
    starts: dict[int, int] = {}
    for frame in range(int(p.total * 30)):
        starts.setdefault(p.index, frame)
        p.tick(clock.advance())
    # a step starts on the first frame at or after its timeline start (no drift across steps)
    assert starts == {0: 0, 1: 32, 2: 63}


def test_action_steps_last_as_long_as_the_narration() -> None:
    step = T.Step(
        title=T.Text(id="a", en="a"),
        captions=T.Text(id="a", en="a"),
        camera=[T.CameraKey(t=0.0, shot="overview")],
        action=T.StatusAction(kind="status"),
        duration="action",
        min_duration=4.0,
    )
    assert step_length(step, 0.0) == 4.0
    assert step_length(step, 10.0) == pytest.approx(10.8)


def test_keymap_is_plain_data_with_clicker_keys() -> None:
    assert json.loads(json.dumps(KEYMAP)) == KEYMAP
    assert {KEYMAP[k] for k in ("page_down", "page_up", "arrow_right", "arrow_left", "space", "b")} == {
        "next",
        "previous",
        "pause",
        "blank",
    }


# ------------------------------------------------------------------ actions: failures stay calm


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_backend_down_retries_then_calm_caption() -> None:
    sleeps: list[float] = []
    b = Backend(f"http://127.0.0.1:{_closed_port()}", retries=3, backoff=0.2, sleep=sleeps.append)
    r = b.run(T.AskAction(kind="ask", text=T.Text(id="Halo", en="Hello")), "id")
    assert not r.ok and r.caption == BUSY and r.attempts == 3
    assert sleeps == [0.2, 0.4]
    assert r.text("en").startswith("One moment")
    assert "Traceback" not in r.text("id")


def test_server_500_is_retried_then_reported_and_a_later_success_recovers() -> None:
    calls: list[str] = []
    fail = {"n": 2}

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path == "/api/v1/sessions":
            return httpx.Response(201, json={"token": "t" * 32, "session_id": "s"})
        if fail["n"] > 0:
            fail["n"] -= 1
            return httpx.Response(500, text="boom")
        return httpx.Response(200, json={"name": "budget", "sample": True, "label": {"id": "A", "en": "B"}})

    b = Backend("http://demo", transport=httpx.MockTransport(handler), retries=3, sleep=lambda s: None)
    r = b.run(T.DashboardAction(kind="dashboard", names=["budget"]), "en")
    assert r.ok and r.attempts == 3 and r.text("en") == "B (sample data)"
    fail["n"] = 10
    r = b.run(T.DashboardAction(kind="dashboard", names=["budget"]), "en")
    assert not r.ok and r.error == "HTTP 500" and r.caption == BUSY


def test_refusal_is_not_retried_and_shows_the_servers_words() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path == "/api/v1/sessions":
            return httpx.Response(201, json={"token": "t" * 32, "session_id": "s"})
        detail = {"code": "x", "message": "m", "message_id": "NIK tidak valid.", "message_en": "NIK is not valid."}
        return httpx.Response(422, json={"detail": detail})

    b = Backend("http://demo", transport=httpx.MockTransport(handler), sleep=lambda s: None)
    r = b.run(T.ApplyAction(kind="apply", service="ktp-el", nik="3510011011080002", name="Rizky"), "en")
    assert not r.ok and r.error == "HTTP 422"
    assert calls == ["/api/v1/sessions", "/api/v1/sessions/identify"]  # the refusal was not retried
    assert r.text("en") == "One moment… NIK is not valid."
    assert r.text("id") == "Sebentar… NIK tidak valid."


def test_a_failing_action_does_not_stop_the_tour() -> None:
    b = Backend(f"http://127.0.0.1:{_closed_port()}", retries=2, sleep=lambda s: None)
    tour = _tour(2, 1.0)
    steps = list(tour.steps)
    steps[0] = steps[0].model_copy(update={"action": T.StatusAction(kind="status")})
    tour = tour.model_copy(update={"steps": steps})
    sched = ThreadScheduler(b.run)
    p = Presenter(tour, "id", sched)
    try:
        for _ in range(400):
            p.tick(0.01)
            if p.index == 1:
                break
        else:
            # the worker may still be retrying: the step waits for it, then moves on
            import time

            deadline = time.monotonic() + 10
            while p.index == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
                p.tick(0.01)
        assert p.index == 1
        r = sched.result(0)
        assert r is not None and not r.ok and r.caption == BUSY
    finally:
        sched.shutdown()


# ------------------------------------------------------------------ captions


def test_srt_times_and_cues(tmp_path: Path) -> None:
    assert srt_time(3723.4567) == "01:02:03,457"
    assert srt_time(0) == "00:00:00,000"
    long = "Kalimat pertama yang cukup panjang sekali untuk dipecah di sini. " * 3 + "Akhir."
    cues = cues_for([(0.0, 2.0), (2.0, 12.0)], ["Halo.", long.strip()])
    assert cues[0] == (0.0, 2.0, "Halo.")
    assert cues[1][0] == 2.0 and cues[-1][1] == 12.0 and len(cues) > 2
    for a, b in zip(cues, cues[1:], strict=False):
        assert a[1] == pytest.approx(b[0])
    out = write_srt(tmp_path / "x.srt", cues)
    text = out.read_text(encoding="utf-8")
    assert text.startswith("1\n00:00:00,000 --> 00:00:02,000\nHalo.\n")
    assert f"{len(cues)}\n" in text


def test_default_tour_lasts_three_to_five_minutes() -> None:
    tour = load_tour("default")
    silent = Presenter(tour, "id", SyncScheduler(_never))  # type: ignore[arg-type]
    assert 180.0 <= silent.total <= 300.0
    from world.demo.narration import narrate
    from world.voice import Voice

    voice = Voice()
    need(voice.available, "espeak-ng missing: narration lengths unknown")
    for lang in ("id", "en"):
        audio = narrate(tour, lang, voice)
        spoken = Presenter(tour, lang, SyncScheduler(_never), narration={i: a.seconds for i, a in enumerate(audio)})  # type: ignore[arg-type]
        assert 180.0 <= spoken.total <= 300.0
        assert all(a.segments for a in audio)  # every step is narrated
        for i, a in enumerate(audio):  # narration never runs past its step
            assert a.seconds <= spoken.length(i) + 1e-6, i


def test_japanese_needs_a_cjk_font_else_english_with_a_notice() -> None:
    from world.demo.run import choose_lang

    assert choose_lang("ja", has_cjk=True) == ("ja", "")
    lang, notice = choose_lang("ja", has_cjk=False)
    assert lang == "en" and "Japanese is skipped" in notice
    assert choose_lang("id", has_cjk=False) == ("id", "")


def test_guided_action_without_a_socket_still_ends_with_a_ticket() -> None:
    """An HTTP-only backend cannot run the server's guided mode (it is a websocket conversation): the
    action still gives the visitor a real ticket, with no screens to show. The default tour's guided
    action against a real server (tests/world/test_demo_backend.py) presses through the real steps."""
    from protocol.catalog import default_catalog

    service = default_catalog().service("ktp-el").model_dump(mode="json")
    posted: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        posted.append(path)
        if path == "/api/v1/sessions":
            return httpx.Response(201, json={"token": "t" * 32, "session_id": "s"})
        if path == "/api/v1/sessions/identify":
            return httpx.Response(200, json={"session_id": "s", "citizen": "3510********0003", "name": "Sarinah"})
        if path == "/api/v1/services/ktp-el":
            return httpx.Response(200, json=service)
        if path == "/api/v1/queue/tickets":
            return httpx.Response(201, json={"code": "A-004", "counter": 1, "state": "waiting"})
        return httpx.Response(404, json={"detail": {"message_id": "x", "message_en": path}})

    b = Backend("http://demo", transport=httpx.MockTransport(handler), sleep=lambda s: None)
    action = T.GuidedAction(
        kind="guided",
        name="Mbah Sarinah",
        nik="3510026506550003",
        service="ktp-el",
        choose=["option:hilang"],
        prompts=[T.Text(id="Selamat datang", en="Welcome")],
    )
    r = b.run(action, "id")
    assert r.ok, r.caption
    assert r.data["ticket"] == "A-004" and r.data["screens"] == [] and r.data["presses"] == 0
    assert "/api/v1/applications" not in posted  # nothing is submitted behind the visitor's back
