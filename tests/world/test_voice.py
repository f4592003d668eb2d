"""espeak-ng synthesis: real wavs of plausible length, cache hits without re-running espeak, text-only fallback."""

from __future__ import annotations

import shutil
import subprocess
import sys
import wave
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import need
from world.voice import Voice, normalize, play_with_panda
from world.voice import tts as tts_module

TEXT = "Silakan menuju loket A-012. Biaya Rp30.000, layanan buka 08.00 sampai 15.00."


def _need_espeak() -> None:
    need(shutil.which("espeak-ng") is not None, "espeak-ng is not installed (apt-get install espeak-ng)")


def _duration(path: Path) -> float:
    with wave.open(str(path), "rb") as w:
        assert w.getnchannels() == 1
        assert w.getsampwidth() == 2
        assert w.getframerate() > 8000
        return w.getnframes() / w.getframerate()


class _Spy:
    """Counts synthesis runs (calls with -w) while delegating to the real subprocess.run."""

    def __init__(self) -> None:
        self.synth_calls = 0
        self._real = subprocess.run

    def __call__(self, cmd: list[str], *args: Any, **kwargs: Any) -> Any:
        if "-w" in cmd:
            self.synth_calls += 1
        return self._real(cmd, *args, **kwargs)


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["id", "en"])
def test_synthesis_produces_wav_of_plausible_length(tmp_path: Path, lang: str) -> None:
    _need_espeak()
    voice = Voice(cache_dir=tmp_path, enabled=True)
    assert voice.available and voice.notice(lang) is None
    normal = voice.speak(TEXT, lang)
    slow = voice.speak(TEXT, lang, slow=True)
    assert normal is not None and slow is not None and normal != slow
    chars = len(normalize(TEXT, lang))
    d_normal, d_slow = _duration(normal), _duration(slow)
    assert 0.03 * chars < d_normal < 0.25 * chars
    assert 0.03 * chars < d_slow < 0.25 * chars
    assert d_slow > d_normal * 1.1


@pytest.mark.slow
def test_longer_text_gives_longer_audio(tmp_path: Path) -> None:
    _need_espeak()
    voice = Voice(cache_dir=tmp_path, enabled=True)
    short = voice.speak("Selamat pagi.")
    long = voice.speak("Selamat pagi. Silakan siapkan ka te pe elektronik dan kartu keluarga asli.")
    assert short is not None and long is not None
    assert _duration(long) > 2 * _duration(short)


@pytest.mark.slow
def test_cache_hit_does_not_rerun_espeak(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _need_espeak()
    spy = _Spy()
    monkeypatch.setattr(tts_module.subprocess, "run", spy)
    voice = Voice(cache_dir=tmp_path, enabled=True)
    first = voice.speak(TEXT)
    assert first is not None and spy.synth_calls == 1
    mtime = first.stat().st_mtime_ns
    # Same spoken form (written differently) -> same cache entry, espeak not run again.
    again = Voice(cache_dir=tmp_path, enabled=True).speak(TEXT.replace("Rp30.000", "Rp 30.000"))
    assert again == first and spy.synth_calls == 1
    assert first.stat().st_mtime_ns == mtime
    # A different rate, language or text is a different entry.
    assert voice.speak(TEXT, slow=True) != first
    assert voice.speak(TEXT, "en") != first
    assert spy.synth_calls == 3
    assert len(list(tmp_path.glob("*.wav"))) == 3


@pytest.mark.parametrize(
    "kwargs",
    [{"enabled": False}, {"binary": "nonexistent-espeak-binary"}, {"binary": "/nonexistent/dir/espeak-ng"}],
)
def test_fallback_returns_none_and_one_localized_notice(tmp_path: Path, kwargs: dict[str, Any]) -> None:
    voice = Voice(cache_dir=tmp_path / "c", **kwargs)
    assert not voice.available
    assert voice.speak(TEXT) is None
    assert voice.speak(TEXT, "en", slow=True) is None
    assert voice.synthesize(TEXT) is None
    notice_id = voice.notice("id")
    notice_en = voice.notice("en")
    assert notice_id is not None and notice_id.startswith("Suara tidak tersedia")
    assert notice_id.endswith("Teks tetap ditampilkan.")
    assert notice_en is not None and notice_en.startswith("Voice unavailable")
    assert voice.notice_once("id") == notice_id
    assert voice.notice_once("id") is None  # shown exactly once
    assert not (tmp_path / "c").exists()


def test_missing_binary_notice_names_espeak(tmp_path: Path) -> None:
    voice = Voice(cache_dir=tmp_path, binary="nonexistent-espeak-binary")
    assert voice.notice("id") == "Suara tidak tersedia: espeak-ng tidak terpasang. Teks tetap ditampilkan."
    assert voice.notice("en") == "Voice unavailable: espeak-ng is not installed. Text is still shown."


def test_env_switch_turns_voice_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MPP_VOICE", "off")
    voice = Voice(cache_dir=tmp_path)
    assert voice.speak("Selamat pagi") is None
    assert voice.notice("id") is not None


@pytest.mark.slow
def test_espeak_failure_returns_none_without_raising(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _need_espeak()

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise subprocess.TimeoutExpired(cmd="espeak-ng", timeout=1)

    voice = Voice(cache_dir=tmp_path, enabled=True)
    voice.engine_version()
    monkeypatch.setattr(tts_module.subprocess, "run", boom)
    assert voice.speak("Selamat pagi") is None
    assert list(tmp_path.glob("*.wav")) == []


@pytest.mark.slow
def test_text_starting_with_dash_is_spoken_not_parsed_as_option(tmp_path: Path) -> None:
    _need_espeak()
    wav = Voice(cache_dir=tmp_path, enabled=True).speak("--help saya butuh bantuan")
    assert wav is not None and _duration(wav) > 0.5


def test_empty_text_gives_no_audio(tmp_path: Path) -> None:
    assert Voice(cache_dir=tmp_path, enabled=True).speak("   ") is None


def test_play_with_panda_uses_the_given_manager(tmp_path: Path) -> None:
    pytest.importorskip("panda3d.core", reason="panda3d is not installed")

    class FakeSound:
        played = False

        def play(self) -> None:
            self.played = True

    class FakeManager:
        def __init__(self) -> None:
            self.requested: list[str] = []

        def getSound(self, filename: Any) -> FakeSound:  # Panda3D API name
            self.requested.append(filename.toOsSpecific())
            return FakeSound()

    manager = FakeManager()
    sound = play_with_panda(manager, tmp_path / "a.wav")
    assert sound.played
    assert manager.requested == [str(tmp_path / "a.wav")]


def test_voice_package_does_not_import_panda3d_or_server() -> None:
    code = (
        "import sys, world.voice, world.commands; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('panda3d', 'server', 'assistant')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_cli_say_writes_wav(tmp_path: Path) -> None:
    _need_espeak()
    from typer.testing import CliRunner

    from mpp.cli import app

    out = tmp_path / "out.wav"
    result = CliRunner().invoke(app, ["say", "Antrean A-012 silakan ke loket 3", "--out", str(out), "--slow"])
    assert result.exit_code == 0, result.output
    assert _duration(out) > 1.0


def test_cli_say_without_voice_prints_notice_and_text(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from mpp.cli import app

    monkeypatch.setenv("MPP_VOICE", "off")
    result = CliRunner().invoke(app, ["say", "Biaya Rp30.000", "--lang", "en"])
    assert result.exit_code == 0
    assert "Voice unavailable" in result.output
    assert "thirty thousand rupiah" in result.output
    bad = CliRunner().invoke(app, ["say", "x", "--lang", "fr"])
    assert bad.exit_code == 2


@pytest.mark.slow
def test_play_with_a_real_panda_audio_manager_never_raises(tmp_path: Path) -> None:
    """Headless machines have no sound card: Panda3D hands back a null manager, playback must still not fail."""
    _need_espeak()
    core = pytest.importorskip("panda3d.core", reason="panda3d is not installed")
    wav = Voice(cache_dir=tmp_path, enabled=True).speak("Selamat pagi")
    assert wav is not None
    manager = core.AudioManager.createAudioManager()
    sound = play_with_panda(manager, wav)
    assert sound is not None
    if manager.isValid():  # a real device: the sound knows its length
        assert sound.length() > 0.3
