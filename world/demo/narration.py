"""Narration of a tour: one espeak-ng wav per spoken segment, and the whole soundtrack.

Step lengths of 'action' steps follow the narration, so the wavs are made before the
tour starts; the recorder then lays every segment at its step's start time on a silent
track, which keeps sound and picture in sync by construction.
"""

from __future__ import annotations

import logging
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from world.demo.tour import Step, Tour

__all__ = ["Segment", "StepAudio", "build_track", "narrate", "spoken_lang", "wav_seconds"]

log = logging.getLogger(__name__)

GAP = 0.35  # silence between segments of one step
LEAD_IN = 0.3  # the narrator starts a moment after the step does


@dataclass(frozen=True)
class Segment:
    offset: float  # seconds after the step starts
    seconds: float
    wav: Path | None
    text: str
    slow: bool = False


@dataclass
class StepAudio:
    segments: list[Segment] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        if not self.segments:
            return 0.0
        last = self.segments[-1]
        return last.offset + last.seconds


def spoken_lang(lang: str) -> str:
    """espeak-ng has no usable Japanese voice without mbrola: a Japanese tour is narrated in English."""
    return "id" if lang == "id" else "en"


def wav_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / float(w.getframerate())


def _texts(step: Step, lang: str) -> list[tuple[str, bool]]:
    speak = spoken_lang(lang)
    out = [(step.spoken(speak), False)]
    action = step.action
    if action is not None and action.kind == "guided":
        out += [(p.get(speak), True) for p in action.prompts]  # guided mode reads its prompts slowly
    return out


def narrate(tour: Tour, lang: str, voice: object | None) -> list[StepAudio]:
    """Synthesize every step's segments; without a voice, steps are silent (captions still show)."""
    speak = spoken_lang(lang)
    out: list[StepAudio] = []
    for step in tour.steps:
        sa = StepAudio()
        at = LEAD_IN
        for text, slow in _texts(step, lang):
            wav = None
            if voice is not None:
                wav = voice.speak(text, speak, slow=slow)  # type: ignore[attr-defined]
            if wav is None:
                continue
            try:
                secs = wav_seconds(Path(wav))
            except (OSError, wave.Error, EOFError) as exc:
                log.warning("narration wav %s unreadable: %s", wav, exc)
                continue
            sa.segments.append(Segment(at, secs, Path(wav), text, slow))
            at += secs + GAP
        out.append(sa)
    return out


def build_track(
    audio: list[StepAudio], starts: list[float], total: float, out: Path, rate: int = 22050
) -> tuple[Path, int]:
    """One mono 16-bit wav of ``total`` seconds with each segment at its step's start; returns (path, segments)."""
    import numpy as np

    track = np.zeros(int(round(total * rate)) + 1, dtype=np.int16)
    placed = 0
    for sa, start in zip(audio, starts, strict=True):
        for seg in sa.segments:
            if seg.wav is None:
                continue
            samples = _read_mono(seg.wav, rate)
            at = int(round((start + seg.offset) * rate))
            end = min(len(track), at + len(samples))
            if end > at:
                track[at:end] = samples[: end - at]
                placed += 1
    out.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(track.tobytes())
    return out, placed


def _read_mono(path: Path, rate: int) -> Any:
    import numpy as np

    with wave.open(str(path), "rb") as w:
        channels, width, src_rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
        raw = w.readframes(w.getnframes())
    if width != 2:
        raise wave.Error(f"{path}: {8 * width}-bit audio, expected 16-bit")
    data = np.frombuffer(raw, dtype=np.int16)
    if channels > 1:
        data = data.reshape(-1, channels).mean(axis=1).astype(np.int16)
    if src_rate != rate:  # linear resampling is plenty for speech
        n = int(len(data) * rate / src_rate)
        data = np.interp(np.linspace(0, len(data) - 1, n), np.arange(len(data)), data).astype(np.int16)
    return data
