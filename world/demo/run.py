"""Presenting and recording a tour in the hall (the body of ``mpp demo``).

Recording renders offscreen with a fixed timestep: frame n shows the tour at n/fps
seconds, actions run to completion between frames (zero virtual time) and the hall's
animation clock is the virtual one, so two recordings of a tour are identical frame
for frame whatever the machine's speed. Frames go straight into the ffmpeg binary that
ships with imageio-ffmpeg together with the narration track.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from world.demo.actions import ActionResult, Backend
from world.demo.camera import Shots
from world.demo.captions import clip_cues, cues_for, write_srt
from world.demo.hall import Hall, open_base
from world.demo.narration import build_track, narrate
from world.demo.presenter import KEYMAP, Presenter, SyncScheduler, ThreadScheduler
from world.demo.stage import AudioPlayer, DemoStage, cjk_font, hall_lang, label
from world.demo.tour import Action, Tour

__all__ = ["RecordReport", "choose_lang", "present", "record"]

log = logging.getLogger(__name__)


@dataclass
class RecordReport:
    out: Path | None
    frames: int
    fps: int
    size: tuple[int, int]
    seconds: float
    wall_seconds: float
    audio_segments: int
    hashes: list[str] = field(default_factory=list)
    failed_actions: list[str] = field(default_factory=list)
    notice: str = ""


def choose_lang(lang: str, has_cjk: bool | None = None) -> tuple[str, str]:
    """(language to show, notice): Japanese needs a CJK font, otherwise English with a notice."""
    if lang != "ja":
        return lang, ""
    if has_cjk is None:
        has_cjk = cjk_font() is not None
    if has_cjk:
        return "ja", ""
    return "en", label("japanese_skipped", "en")


def _voice() -> Any:
    from world.voice import Voice

    v = Voice()
    return v if v.available else None


def _offline(action: Action, lang: str) -> ActionResult:
    from world.demo.actions import BUSY

    return ActionResult(action.kind, False, dict(BUSY), error="no backend")


def _shots() -> Shots:
    from protocol.catalog import default_catalog
    from world.layout import load_layout

    catalog = default_catalog()
    return Shots(load_layout(catalog), {s.id: int(s.counter) for s in catalog.services})


def _grab(base: Any) -> bytes:
    """The frame just rendered, as top-down RGB rows."""
    tex = base.win.get_screenshot()
    w, h = tex.get_x_size(), tex.get_y_size()
    raw = bytes(tex.get_ram_image_as("RGB"))
    row = w * 3
    return b"".join(raw[(h - 1 - y) * row : (h - y) * row] for y in range(h))


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def _restart_figures() -> None:
    """Frame 0 of a recording restarts every figure's animation: frames match run to run."""
    try:
        from world.characters import CrowdFigure, Figure
    except ImportError:
        return
    Figure.restart_all()
    CrowdFigure.restart_all()


def apply_boards(hall: Hall, rows: Sequence[dict[str, Any]]) -> None:
    """The seeded queue activity onto the hall's counter strips and overview boards, before frame 0."""
    for row in rows:
        try:
            hall.update_board(int(row["counter"]), row.get("now_serving"), int(row.get("waiting") or 0))
        except (KeyError, TypeError, ValueError):
            continue


def record(
    tour: Tour,
    *,
    lang: str,
    out: Path | None,
    size: tuple[int, int] = (1920, 1080),
    fps: int = 30,
    frames_dir: Path | None = None,
    captions: Path | None = None,
    backend: Backend | None = None,
    hash_frames: int = 0,
    progress: bool = True,
    notice: str = "",
    max_seconds: float | None = None,
    boards: Sequence[dict[str, Any]] = (),
) -> RecordReport:
    """Render the tour offscreen at a fixed timestep into ``out`` (mp4 with narration) and/or PNG frames."""
    started = time.perf_counter()
    voice = _voice()
    audio = narrate(tour, lang, voice)
    run = backend.run if backend is not None else _offline
    presenter = Presenter(tour, lang, SyncScheduler(run), narration={i: a.seconds for i, a in enumerate(audio)})
    spans = presenter.timeline()
    total = presenter.total if max_seconds is None else min(presenter.total, max_seconds)
    nframes = max(1, int(round(total * fps)))
    total = nframes / fps
    tmp = Path(tempfile.mkdtemp(prefix="mpp-rec-"))
    track, placed = build_track(audio, [s for s, _ in spans], total, tmp / "narration.wav")
    if captions is not None:
        texts = [s.captions.get(lang) for s in tour.steps]
        # with --max-seconds the clip ends early: no cue may start or run past its last frame
        write_srt(captions, clip_cues(cues_for(spans, texts), total))
    if frames_dir is not None:
        frames_dir.mkdir(parents=True, exist_ok=True)

    # a recording never probes: the look must not depend on how fast this machine is today
    os.environ.setdefault("MPP_HALL_QUALITY", "low")
    base = open_base(size, offscreen=True, fps=fps)
    frame_clock = [0.0]
    hall = Hall(base, hall_lang(lang), clock=lambda: frame_clock[0])
    stage = DemoStage(base, hall, presenter, _shots(), audio=audio, live=False)
    apply_boards(hall, boards)
    if notice:
        stage.set_notice(notice)
    proc = None
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        w, h = size
        cmd = [
            ffmpeg_exe(),
            "-y",
            "-loglevel",
            "error",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-s",
            f"{w}x{h}",
            "-r",
            str(fps),
            "-i",
            "-",
            "-i",
            str(track),
            "-map",
            "0:v",
            "-map",
            "1:a",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "22",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-b:a",
            "96k",
            "-movflags",
            "+faststart",
            str(out),
        ]
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    hashes: list[str] = []
    failed: list[str] = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=nframes, unit="frame", desc=f"{tour.name} {size[0]}x{size[1]}@{fps}")
    try:
        presenter.start()
        _restart_figures()
        for n in range(nframes):
            frame_clock[0] = n / fps
            stage.update()
            base.task_mgr.step()
            frame = _grab(base)
            if len(frame) != size[0] * size[1] * 3:
                raise RuntimeError(f"frame {n}: got {len(frame)} bytes, expected {size[0]}x{size[1]} RGB")
            if n < hash_frames:
                hashes.append(hashlib.sha256(frame).hexdigest())
            if proc is not None:
                assert proc.stdin is not None
                proc.stdin.write(frame)
            if frames_dir is not None:
                _save_png(frame, size, frames_dir / f"frame_{n:05d}.png")
            presenter.tick(1.0 / fps)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
        if proc is not None:
            assert proc.stdin is not None
            proc.stdin.close()
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            if proc.wait() != 0:
                raise RuntimeError(f"ffmpeg failed: {err.strip()[-400:]}")
        stage.destroy()
        hall.destroy()
        base.destroy()
        shutil.rmtree(tmp, ignore_errors=True)
    for i in range(len(tour.steps)):
        r = presenter.scheduler.result(i)
        if r is not None and not r.ok:
            failed.append(f"{i + 1}:{r.kind}:{r.error}")
    return RecordReport(
        out=out,
        frames=nframes,
        fps=fps,
        size=size,
        seconds=total,
        wall_seconds=time.perf_counter() - started,
        audio_segments=placed,
        hashes=hashes,
        failed_actions=failed,
        notice=notice,
    )


def _save_png(frame: bytes, size: tuple[int, int], path: Path) -> None:
    """A plain RGB PNG (zlib + CRCs): no imaging library needed for a few PNGs."""
    import struct
    import zlib

    w, h = size
    row = w * 3
    raw = b"".join(b"\x00" + frame[y * row : (y + 1) * row] for y in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
    path.write_bytes(png)


def _live_net(backend: Backend | None, lang: str) -> Any:
    """Presenting live, the hall listens on the tour visitor's own websocket: status changes and
    queue calls reach it exactly as they reach a citizen. (Recordings stay offline: deterministic.)"""
    if backend is None:
        return None
    token = backend.session_token("main", lang, "Siti Aminah")
    if token is None:
        return None
    try:
        from world.net import NetClient
    except ImportError:
        return None
    net = NetClient(backend.base_url, lang=hall_lang(lang), name="Siti Aminah", demo=True)
    net.token = token
    return net


def present(
    tour: Tour,
    *,
    lang: str,
    backend: Backend | None,
    size: tuple[int, int] = (1280, 720),
    fullscreen: bool = False,
    loop: bool = False,
    reset: Callable[[int], None] | None = None,
    offscreen: bool = False,
    keys: Sequence[str] = (),
    key_interval: float = 1.0,
    max_seconds: float | None = None,
    notice: str = "",
    voice: bool = True,
    boards: Sequence[dict[str, Any]] = (),
) -> Presenter:
    """Run the tour live in a window (or offscreen for rehearsal/tests); returns the final presenter state."""
    audio = narrate(tour, lang, _voice() if voice else None)
    run = backend.run if backend is not None else _offline
    sched = ThreadScheduler(run)

    def on_round(n: int) -> None:
        if reset is not None:
            sched.submit(lambda: reset(n))  # the round's first action waits for the fresh data

    presenter = Presenter(
        tour, lang, sched, narration={i: a.seconds for i, a in enumerate(audio)}, loop=loop, on_round=on_round
    )
    base = open_base(size, offscreen=offscreen, fullscreen=fullscreen)
    hall = Hall(base, hall_lang(lang), net=_live_net(backend, lang))
    stage = DemoStage(
        base, hall, presenter, _shots(), audio=audio, player=None if offscreen else AudioPlayer(), live=True
    )
    apply_boards(hall, boards)
    if notice:
        stage.set_notice(notice)
    for key in KEYMAP:
        base.ignore(key)
        base.accept(key, presenter.key, [key])
    script = list(keys)
    # A scripted rehearsal runs on a fixed 30 Hz step (keys every key_interval of tour time), so
    # it behaves the same on a loaded machine; a live audience gets the wall clock.
    fixed = 1.0 / 30 if script else None
    key_every = max(1, round(key_interval * 30))
    frame = 0
    started = time.monotonic()
    last = started
    try:
        presenter.start()
        while not presenter.quit:
            now = time.monotonic()
            presenter.tick(fixed if fixed is not None else min(1.0, now - last))
            last = now
            stage.update()
            base.task_mgr.step()
            frame += 1
            if script and frame % key_every == 0:
                base.messenger.send(script.pop(0))
                if not script and max_seconds is None:
                    break
            if max_seconds is not None and now - started > max_seconds:
                break
            if presenter.finished and not loop and offscreen and not script:
                break
            if offscreen and fixed is None:
                time.sleep(0.005)
    finally:
        sched.shutdown()
        stage.destroy()
        hall.destroy()
        base.destroy()
    return presenter
