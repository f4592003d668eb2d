"""Subtitles for a recorded tour (``--captions out.srt``).

Long step captions are split at sentence ends and the pieces share the step's time in
proportion to their length, so a viewer never gets a wall of text for ten seconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = ["Cue", "clip_cues", "cues_for", "srt_time", "write_srt"]

Cue = tuple[float, float, str]
MAX_CUE_CHARS = 110
_SENTENCE = re.compile(r"(?<=[.!?。！？…])\s+|(?<=[。！？])")


def srt_time(seconds: float) -> str:
    ms = max(0, int(round(seconds * 1000)))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def _pieces(text: str) -> list[str]:
    parts = [p.strip() for p in _SENTENCE.split(text.strip()) if p and p.strip()]
    out: list[str] = []
    for p in parts:
        if out and len(out[-1]) + 1 + len(p) <= MAX_CUE_CHARS:
            out[-1] = f"{out[-1]} {p}"
        else:
            out.append(p)
    return out or [text.strip()]


def cues_for(spans: Sequence[tuple[float, float]], texts: Sequence[str]) -> list[Cue]:
    """One or more cues per step, covering [start, end) of that step."""
    cues: list[Cue] = []
    for (start, end), text in zip(spans, texts, strict=True):
        pieces = _pieces(text)
        total = sum(len(p) for p in pieces) or 1
        at = start
        for i, p in enumerate(pieces):
            stop = end if i == len(pieces) - 1 else at + (end - start) * len(p) / total
            cues.append((at, stop, p))
            at = stop
    return cues


def clip_cues(cues: Iterable[Cue], total: float) -> list[Cue]:
    """Cues of a clip ``total`` seconds long: later ones dropped, the last one cut at the end."""
    return [(start, min(end, total), text) for start, end, text in cues if start < total]


def write_srt(path: str | Path, cues: Iterable[Cue]) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    blocks = []
    for n, (start, end, text) in enumerate(cues, start=1):
        blocks.append(f"{n}\n{srt_time(start)} --> {srt_time(end)}\n{text}\n")
    out.write_text("\n".join(blocks), encoding="utf-8")
    return out
