"""Smooth remote visitors: snapshots are buffered and replayed ~100 ms in the past.

Pure python so it is tested without rendering. Positions arrive at the server's
tick rate (10 Hz); drawing them at render time minus a small delay always has two
samples to blend between, so movement looks continuous despite jitter.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from protocol.messages import PresenceEntity, PresenceSnapshot
from protocol.presence import PresenceView, apply_snapshot


@dataclass
class Track:
    name: str
    samples: deque[tuple[float, float, float, float]] = field(default_factory=lambda: deque(maxlen=8))
    # Typical time between samples: far walkers arrive every 2nd-4th tick (distance rates), so
    # they are replayed further in the past, or they would stop and jump between samples.
    gap: float = 0.0
    # This track's own playout clock (the time it is drawn at) and when it was last drawn. The clock
    # runs a little slow or fast to glide toward its target delay, instead of jumping, which drew a
    # walker back by a step or froze it whenever its rate band changed.
    clock: float | None = None
    drawn_at: float | None = None

    def push(self, t: float, x: float, y: float, heading: float) -> None:
        if self.samples:
            last = self.samples[-1][0]
            if t <= last:
                t = last + 1e-3
            elif len(self.samples) > 1:
                step = t - last
                # a longer gap is believed at once (the sender's rate just dropped), a shorter one slowly
                self.gap = min(1.0, step if step > self.gap else 0.7 * self.gap + 0.3 * step)
        self.samples.append((t, x, y, heading))

    def sample(self, t: float) -> tuple[float, float, float]:
        s = self.samples
        first, last = s[0], s[-1]
        if t <= first[0]:
            return first[1], first[2], first[3]
        if t >= last[0]:
            return last[1], last[2], last[3]
        # render time is nearly always within the last two or three samples: search from the end
        for k in range(len(s) - 1, 0, -1):
            a, b = s[k - 1], s[k]
            if a[0] <= t <= b[0]:
                f = (t - a[0]) / (b[0] - a[0])
                return a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f, _lerp_angle(a[3], b[3], f)
        return last[1], last[2], last[3]


def _lerp_angle(a: float, b: float, f: float) -> float:
    d = (b - a + 180.0) % 360.0 - 180.0
    return a + d * f


class Interpolator:
    """Holds the presence view and a short track per visitor."""

    def __init__(self, delay: float = 0.1, self_id: str | None = None) -> None:
        self.delay = delay
        self.self_id = self_id
        self.view: PresenceView = {}
        self.tracks: dict[str, Track] = {}

    def apply(self, snap: PresenceSnapshot, now: float) -> tuple[list[str], list[str]]:
        """Fold one snapshot in; returns (ids that appeared, ids that left)."""
        before = set(self.view)
        self.view = apply_snapshot(self.view, snap)
        if self.self_id is not None:
            self.view.pop(self.self_id, None)
        after = set(self.view)
        for gone in before - after:
            self.tracks.pop(gone, None)
        touched: list[PresenceEntity] = [*snap.entered]
        touched.extend(self.view[row[0]] for row in snap.changed if row[0] in self.view)
        if snap.full:
            touched = list(self.view.values())
        for ent in touched:
            if ent.id not in self.view:
                continue
            tr = self.tracks.get(ent.id)
            if tr is None:
                tr = self.tracks[ent.id] = Track(ent.name)
                tr.push(now - self.delay - 1e-3, ent.x, ent.y, ent.heading)
            tr.name = ent.name
            tr.push(now, ent.x, ent.y, ent.heading)
        return sorted(after - before), sorted(before - after)

    # The playout clock runs at 50-110 % of real time while it glides toward its target delay.
    SLOWEST = 0.5
    FASTEST = 1.1
    # Never further than this behind the target (a visitor who stood still and walks again).
    MAX_BEHIND = 0.5

    def target_lag(self, tr: Track) -> float:
        """A track sent every tick keeps the base delay; a slower one is replayed a little over one gap late."""
        delay = self.delay
        return delay if tr.gap < max(1.5 * delay, 0.15) else 1.15 * tr.gap

    def positions(self, now: float) -> dict[str, tuple[float, float, float]]:
        if self.delay <= 0:  # no delay at all means "draw the latest sample", as the tests and tools ask
            return {k: tr.sample(now) for k, tr in self.tracks.items()}
        out: dict[str, tuple[float, float, float]] = {}
        for k, tr in self.tracks.items():
            out[k] = tr.sample(self._advance(tr, now))
        return out

    def _advance(self, tr: Track, now: float) -> float:
        """Move a track's playout clock to ``now``; it slows as it nears its newest sample.

        A late sample (the sender's rate just dropped to every 2nd or 4th tick) is then waited for
        at a crawl rather than at a standstill, and the delay it costs is the larger delay the
        sparser samples need anyway. A visitor who stopped is approached, never passed.
        """
        lag = self.target_lag(tr)
        goal = now - lag
        if tr.clock is None or tr.drawn_at is None or now < tr.drawn_at:
            tr.clock = goal
        else:
            dt = now - tr.drawn_at
            rate = 1.0 + max(self.SLOWEST - 1.0, min(self.FASTEST - 1.0, goal - tr.clock))
            lead = tr.samples[-1][0] - tr.clock
            if lead < 0.5 * lag:
                rate = min(rate, max(0.0, lead / (0.5 * lag)))
            tr.clock = max(tr.clock + rate * dt, goal - self.MAX_BEHIND)
        tr.drawn_at = now
        return tr.clock


def display_name(name: str) -> str:
    """Only a first name (or an already-masked label) is ever drawn over a head."""
    first = name.strip().split()[0] if name.strip() else "?"
    if any(ch.isdigit() for ch in first) and len(first) >= 8:
        return first[:4] + "…"
    return first[:16]


def heading_towards(dx: float, dy: float) -> float:
    """Panda heading (degrees) of a figure looking along (dx, dy); 0 looks +y."""
    return math.degrees(math.atan2(-dx, dy))


__all__ = ["Interpolator", "Track", "display_name", "heading_towards"]
