"""Text-to-speech through the local espeak-ng binary, with a disk cache and a text-only fallback.

Guided mode for elderly visitors reads everything aloud; the same prompts repeat all day,
so synthesised wavs are cached by content. When espeak-ng is missing or voice is switched
off, the hall keeps working with text only and shows one localized notice instead of failing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from l10n import t
from world.voice.normalize import normalize

__all__ = ["Voice", "play_cli", "play_with_panda"]

log = logging.getLogger(__name__)

VOICES = {"id": "id", "en": "en"}
NORMAL_RATE = 165
SLOW_RATE = 130
MAX_CHARS = 4000


def default_cache_dir() -> Path:
    """``MPP_VOICE_CACHE``, else ``voice-cache`` in the data directory (``MPP_DATA_DIR``, default ``var``).

    The demo used to write ``var/voice-cache`` into whatever directory it was started from.
    """
    explicit = os.environ.get("MPP_VOICE_CACHE")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("MPP_DATA_DIR", "var")) / "voice-cache"


class Voice:
    """Synthesises normalised text to cached wav files; ``speak`` never raises."""

    def __init__(
        self,
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        binary: str = "espeak-ng",
        enabled: bool | None = None,
        normal_rate: int = NORMAL_RATE,
        slow_rate: int = SLOW_RATE,
        pitch: int = 50,
        timeout: float = 30.0,
    ) -> None:
        if enabled is None:
            enabled = os.environ.get("MPP_VOICE", "on").strip().lower() not in {"off", "0", "false", "no"}
        self.enabled = enabled
        self.binary = binary
        self.cache_dir = Path(cache_dir or default_cache_dir())
        self.normal_rate = normal_rate
        self.slow_rate = slow_rate
        self.pitch = pitch
        self.timeout = timeout
        self._path = shutil.which(binary) if enabled else None
        self._version: str | None = None
        self._notice_shown = False

    @property
    def available(self) -> bool:
        return self._path is not None

    def notice(self, lang: str = "id") -> str | None:
        """The localized reason voice is off, or None when voice works."""
        if self.available:
            return None
        if self.enabled:
            return t("hall.voice_missing", lang)
        return t("hall.voice_off", lang)

    def notice_once(self, lang: str = "id") -> str | None:
        """Like ``notice`` but only the first time, so the UI shows the notice exactly once."""
        if self._notice_shown:
            return None
        msg = self.notice(lang)
        if msg is not None:
            self._notice_shown = True
        return msg

    def engine_version(self) -> str:
        """Part of the cache key: a different espeak-ng build may sound different."""
        if self._version is None:
            self._version = "none"
            if self._path is not None:
                try:
                    out = subprocess.run(
                        [self._path, "--version"], capture_output=True, text=True, timeout=10, check=False
                    )
                    self._version = out.stdout.strip() or "unknown"
                except (OSError, subprocess.SubprocessError) as exc:
                    log.warning("espeak-ng --version failed: %s", exc)
        return self._version

    def rate(self, slow: bool) -> int:
        return self.slow_rate if slow else self.normal_rate

    def cache_path(self, spoken: str, lang: str, slow: bool) -> Path:
        key = json.dumps([spoken, VOICES[lang], self.rate(slow), self.pitch, self.engine_version()])
        return self.cache_dir / f"{hashlib.sha256(key.encode()).hexdigest()}.wav"

    def speak(self, text: str, lang: str = "id", *, slow: bool = False) -> Path | None:
        """Return a wav path for ``text`` (from cache when possible), or None when voice is unavailable."""
        if self._path is None:
            return None
        lang = "en" if lang == "en" else "id"
        spoken = normalize(text, lang)[:MAX_CHARS].strip()
        if not spoken:
            return None
        target = self.cache_path(spoken, lang, slow)
        if target.is_file() and target.stat().st_size > 44:
            return target
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(suffix=".wav", dir=self.cache_dir)
            os.close(fd)
        except OSError as exc:
            log.warning("voice cache %s not writable: %s", self.cache_dir, exc)
            return None
        tmp = Path(tmp_name)
        # Text goes through stdin, so text starting with "-" can never be taken as an option.
        cmd = [
            self._path,
            "-v",
            VOICES[lang],
            "-s",
            str(self.rate(slow)),
            "-p",
            str(self.pitch),
            "-w",
            tmp_name,
            "--stdin",
        ]
        try:
            result = subprocess.run(
                cmd, input=spoken, capture_output=True, text=True, timeout=self.timeout, check=False
            )
            if result.returncode != 0 or tmp.stat().st_size <= 44:
                log.warning("espeak-ng failed (rc=%s): %s", result.returncode, result.stderr.strip()[:200])
                tmp.unlink(missing_ok=True)
                return None
            os.replace(tmp, target)
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("espeak-ng failed: %s", exc)
            tmp.unlink(missing_ok=True)
            return None
        return target

    def synthesize(self, text: str, lang: str = "id", *, slow: bool = False) -> Path | None:
        """Same as ``speak``: the wav path (cached) or None; never raises."""
        return self.speak(text, lang, slow=slow)


def play_with_panda(audio_manager: Any, wav_path: str | os.PathLike[str]) -> Any:
    """Play a wav through a Panda3D AudioManager (the world owns the manager); returns the AudioSound."""
    from panda3d.core import Filename

    sound = audio_manager.getSound(Filename.fromOsSpecific(str(wav_path)))
    sound.play()
    return sound


def play_cli(wav_path: str | os.PathLike[str], timeout: float = 120.0) -> bool:
    """Play through ``aplay`` when present; False means nothing was played (no player or no device)."""
    aplay = shutil.which("aplay")
    if aplay is None:
        return False
    try:
        result = subprocess.run([aplay, "-q", str(wav_path)], capture_output=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("aplay failed: %s", exc)
        return False
    return result.returncode == 0
