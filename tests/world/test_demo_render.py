"""Rendering the demo offscreen through ``mpp demo`` in a child process (one ShowBase per process).

Checks the recorded mp4 by probing it with the ffmpeg binary bundled in imageio-ffmpeg.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import need

pytestmark = [pytest.mark.render, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
SIZE = (320, 180)
FPS = 10


def _mpp(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPP_VOICE_CACHE=str(ROOT / "var" / "voice-cache"))
    return subprocess.run(
        [sys.executable, "-m", "mpp.cli", "demo", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _need_render(proc: subprocess.CompletedProcess[str]) -> None:
    text = proc.stdout + proc.stderr
    need(
        "no window or offscreen buffer" not in text and "Could not open" not in text, "offscreen rendering unavailable"
    )


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pixels(folder: Path, n: int) -> list[np.ndarray]:
    from PIL import Image

    return [np.asarray(Image.open(f).convert("RGB")) for f in sorted(folder.glob("frame_*.png"))[:n]]


def _digests(folder: Path, n: int) -> list[str]:
    files = sorted(folder.glob("frame_*.png"))[:n]
    return [hashlib.sha256(f.read_bytes()).hexdigest() for f in files]


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | str]:
    d = tmp_path_factory.mktemp("rec")
    out, frames, srt = d / "short.mp4", d / "frames", d / "short.srt"
    proc = _mpp(
        "--tour", "test-short", "--record", str(out), "--size", f"{SIZE[0]}x{SIZE[1]}", "--fps", str(FPS),
        "--frames", str(frames), "--captions", str(srt),
    )  # fmt: skip
    _need_render(proc)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {"out": out, "frames": frames, "srt": srt, "stdout": proc.stdout}


def test_short_tour_records_an_mp4_with_expected_frames_size_and_audio(recording: dict[str, Path | str]) -> None:
    out = Path(recording["out"])
    assert out.is_file() and out.stat().st_size > 1000
    probe = subprocess.run([_ffmpeg(), "-hide_banner", "-i", str(out)], capture_output=True, text=True, check=False)
    info = probe.stderr
    assert re.search(rf"Video: h264.*\b{SIZE[0]}x{SIZE[1]}\b", info), info
    assert re.search(r"Audio: aac", info), info
    assert re.search(rf"\b{FPS} fps\b", info), info
    count = subprocess.run(
        [_ffmpeg(), "-hide_banner", "-i", str(out), "-map", "0:v:0", "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=False,
    )
    frames = [int(n) for n in re.findall(r"frame=\s*(\d+)", count.stderr)]
    # test-short: 1.2 s + 1.0 s of steps at 10 fps
    assert frames and frames[-1] == 22, count.stderr[-400:]
    assert len(list(Path(recording["frames"]).glob("frame_*.png"))) == 22
    assert "recorded 22 frames (2.2 s of tour)" in str(recording["stdout"])


def test_audio_track_carries_the_narration(recording: dict[str, Path | str]) -> None:
    need(any(Path(p, "espeak-ng").exists() for p in os.environ.get("PATH", "").split(os.pathsep)), "espeak-ng missing")
    out = Path(recording["out"])
    vol = subprocess.run(
        [_ffmpeg(), "-hide_banner", "-i", str(out), "-map", "0:a:0", "-af", "volumedetect", "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=False,
    )
    peak = re.search(r"max_volume: (-?[\d.]+) dB", vol.stderr)
    assert peak is not None, vol.stderr[-400:]
    assert float(peak.group(1)) > -30.0  # speech, not silence
    assert "narration segments: 2" in str(recording["stdout"])


def test_captions_follow_the_recorded_steps(recording: dict[str, Path | str]) -> None:
    text = Path(recording["srt"]).read_text(encoding="utf-8")
    assert text.startswith("1\n00:00:00,000 --> 00:00:01,200\nSelamat datang.\n")
    assert "2\n00:00:01,200 --> 00:00:02,200\nMeja informasi." in text


def test_two_recordings_have_identical_frames(recording: dict[str, Path | str], tmp_path: Path) -> None:
    again = tmp_path / "again"
    proc = _mpp(
        "--tour", "test-short", "--frames", str(again), "--size", f"{SIZE[0]}x{SIZE[1]}", "--fps", str(FPS),
        "--max-seconds", "1.2",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    first = _digests(Path(recording["frames"]), 12)
    second = _digests(again, 12)
    assert len(first) == len(second) == 12
    # The same picture to the eye. Under load a handful of channel values near a counter's officer
    # differ in one frame now and then: 15 of 172,800 by at most 2/255 (also on session 9's start
    # code, 1 of 12 runs under load), and 7 by at most 5/255 (session 9: once in CI, 2 of 12 runs
    # under load). The cause is not found. Exact bytes are too strict; anything a viewer could see
    # (more than 8 levels, or more than 0.1% of values) fails.
    for a, b in zip(_pixels(Path(recording["frames"]), 12), _pixels(again, 12), strict=True):
        assert a.shape == b.shape
        delta = np.abs(a.astype(np.int16) - b.astype(np.int16))
        changed = int(np.count_nonzero(delta))
        assert int(delta.max()) <= 8 and changed <= delta.size // 1000, (int(delta.max()), changed)
    assert len(set(first)) > 3  # the camera moves: the frames are not all the same picture


LONG_STEPS = """name: clicker
title: {id: "Klik", en: "Click"}
steps:
  - title: {id: "Satu", en: "One"}
    captions: {id: "Satu", en: "One"}
    camera: [{t: 0, shot: overview}]
    duration: 60
  - title: {id: "Dua", en: "Two"}
    captions: {id: "Dua", en: "Two"}
    camera: [{t: 0, shot: info_desk}]
    duration: 60
  - title: {id: "Tiga", en: "Three"}
    captions: {id: "Tiga", en: "Three"}
    camera: [{t: 0, shot: lounge}]
    duration: 60
"""


def test_clicker_keys_move_through_steps_in_a_headless_run(tmp_path: Path) -> None:
    tour = tmp_path / "clicker.yaml"
    tour.write_text(LONG_STEPS, encoding="utf-8")
    proc = _mpp(
        "--tour", str(tour), "--offscreen", "--size", "320x180",
        "--keys", "page_down,arrow_right,page_up,arrow_left,space,b,page_down",
    )  # fmt: skip
    _need_render(proc)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "visited steps: 1,2,3,2,1,2" in proc.stdout
    assert "ended at step 2/3" in proc.stdout


FAILING = """name: failing
title: {id: "Gagal", en: "Failing"}
steps:
  - title: {id: "Status", en: "Status"}
    captions: {id: "Cek status", en: "Check status"}
    camera: [{t: 0, shot: overview}]
    action: {kind: dashboard, names: [budget]}
    duration: 1.0
  - title: {id: "Lanjut", en: "Next"}
    captions: {id: "Lanjut", en: "Next"}
    camera: [{t: 0, shot: lounge}]
    duration: 0.5
"""


def test_backend_down_records_calmly_and_moves_on(tmp_path: Path) -> None:
    tour = tmp_path / "failing.yaml"
    tour.write_text(FAILING, encoding="utf-8")
    frames = tmp_path / "f"
    proc = _mpp(
        "--tour", str(tour), "--server", f"http://127.0.0.1:{_closed_port()}", "--frames", str(frames),
        "--size", "320x180", "--fps", "10",
    )  # fmt: skip
    _need_render(proc)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "recorded 15 frames" in proc.stdout
    assert "actions that fell back to a calm caption: 1:dashboard:" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
