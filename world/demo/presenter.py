"""The step controller of a demo: next / previous / pause / restart / blank, and the clock.

Pure python (no Panda3D): the hall renderer and the offscreen recorder both drive the
same controller, and tests drive it headless. Time is virtual: ``tick(dt)`` advances it,
so a recording steps with a fixed ``1/fps`` whatever the machine's speed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from world.demo.actions import ActionResult
from world.demo.tour import Action, Step, Tour

__all__ = [
    "KEYMAP",
    "FixedClock",
    "Presenter",
    "Scheduler",
    "SyncScheduler",
    "ThreadScheduler",
    "step_length",
]

log = logging.getLogger(__name__)

# What presentation clickers send, as Panda3D key names -> presenter command. Data, so a
# venue with an odd clicker only edits this table.
KEYMAP: dict[str, str] = {
    "page_down": "next",
    "arrow_right": "next",
    "enter": "next",
    "page_up": "previous",
    "arrow_left": "previous",
    "space": "pause",
    "b": "blank",
    "period": "blank",
    "home": "restart",
    "f5": "restart",
    "escape": "quit",
}

# Pause after the narration ends before a step advances on its own.
NARRATION_TAIL = 0.8


def step_length(step: Step, narration_seconds: float) -> float:
    """Virtual length of a step: its duration, or for 'action' steps long enough to say the narration."""
    if isinstance(step.duration, float | int):
        return float(step.duration)
    last_key = step.camera[-1].t
    return max(step.min_duration, narration_seconds + NARRATION_TAIL, last_key)


class Scheduler(Protocol):
    """Runs a step's action; ``done`` tells the presenter whether the step may end."""

    def start(self, index: int, action: Action, lang: str) -> None: ...

    def done(self, index: int) -> bool: ...

    def result(self, index: int) -> ActionResult | None: ...

    def clear(self) -> None: ...


class SyncScheduler:
    """Runs the action at once, blocking: in a recording it takes zero virtual time (deterministic)."""

    def __init__(self, run: Callable[[Action, str], ActionResult]) -> None:
        self._run = run
        self._results: dict[int, ActionResult] = {}

    def start(self, index: int, action: Action, lang: str) -> None:
        if index not in self._results:
            self._results[index] = self._run(action, lang)

    def done(self, index: int) -> bool:
        return True

    def result(self, index: int) -> ActionResult | None:
        return self._results.get(index)

    def clear(self) -> None:
        self._results.clear()


class ThreadScheduler:
    """Runs actions on one worker thread so the hall keeps rendering while the backend answers."""

    def __init__(self, run: Callable[[Action, str], ActionResult]) -> None:
        self._run = run
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="demo-action")
        self._futures: dict[int, Future[ActionResult]] = {}

    def start(self, index: int, action: Action, lang: str) -> None:
        if index not in self._futures:
            self._futures[index] = self._pool.submit(self._run, action, lang)

    def done(self, index: int) -> bool:
        f = self._futures.get(index)
        return f is None or f.done()

    def result(self, index: int) -> ActionResult | None:
        f = self._futures.get(index)
        if f is None or not f.done():
            return None
        return f.result()

    def clear(self) -> None:
        self._futures.clear()

    def submit(self, fn: Callable[[], object]) -> None:
        """Queue housekeeping (e.g. a fresh demo database) ahead of the next actions, on the same worker."""
        self._pool.submit(fn)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


@dataclass
class FixedClock:
    """Fixed timestep for recording: frame n is at n/fps, never at the wall clock."""

    fps: int
    frame: int = 0

    @property
    def dt(self) -> float:
        return 1.0 / self.fps

    @property
    def now(self) -> float:
        return self.frame / self.fps

    def advance(self) -> float:
        self.frame += 1
        return self.dt


@dataclass
class Presenter:
    """Which step is showing, how far into it, and what the clicker asked for."""

    tour: Tour
    lang: str
    scheduler: Scheduler
    narration: dict[int, float] = field(default_factory=dict)
    loop: bool = False
    on_enter: Callable[[int, Step], None] | None = None
    on_round: Callable[[int], None] | None = None
    index: int = 0
    t: float = 0.0
    paused: bool = False
    blank: bool = False
    finished: bool = False
    quit: bool = False
    round: int = 1
    started: bool = False
    visited: list[int] = field(default_factory=list)

    @property
    def step(self) -> Step:
        return self.tour.steps[self.index]

    @property
    def count(self) -> int:
        return len(self.tour.steps)

    def length(self, index: int | None = None) -> float:
        i = self.index if index is None else index
        return step_length(self.tour.steps[i], self.narration.get(i, 0.0))

    def timeline(self) -> list[tuple[float, float]]:
        """Start and end of every step in virtual seconds (exact for recordings)."""
        out = []
        at = 0.0
        for i in range(self.count):
            out.append((at, at + self.length(i)))
            at += self.length(i)
        return out

    @property
    def total(self) -> float:
        return sum(self.length(i) for i in range(self.count))

    @property
    def progress(self) -> float:
        """0..1 over the whole tour, for the unobtrusive progress bar."""
        done = sum(self.length(i) for i in range(self.index)) + min(self.t, self.length())
        return min(1.0, done / self.total) if self.total else 1.0

    def label(self) -> str:
        return f"{self.index + 1}/{self.count} · {self.step.title.get(self.lang)}"

    def result(self) -> ActionResult | None:
        return self.scheduler.result(self.index)

    # ------------------------------------------------------------------ control

    def start(self) -> None:
        if not self.started:
            self.started = True
            self._enter(self.index)

    def _enter(self, index: int) -> None:
        self.index = index
        self.t = 0.0
        self.visited.append(index)
        step = self.step
        if step.action is not None:
            self.scheduler.start(index, step.action, self.lang)
        if self.on_enter is not None:
            self.on_enter(index, step)

    def command(self, name: str) -> None:
        """Apply a presenter command (from ``KEYMAP`` or a button)."""
        self.start()
        if name == "next":
            self.next()
        elif name == "previous":
            self.previous()
        elif name == "pause":
            self.paused = not self.paused
        elif name == "blank":
            self.blank = not self.blank
        elif name == "restart":
            self.restart()
        elif name == "quit":
            self.quit = True
        else:
            raise KeyError(name)

    def key(self, key: str) -> bool:
        """Handle a key name; False when the key means nothing to the presenter."""
        cmd = KEYMAP.get(key)
        if cmd is None:
            return False
        self.command(cmd)
        return True

    def next(self) -> None:
        if self.index + 1 < self.count:
            self._enter(self.index + 1)
        elif self.loop:
            self._new_round()
        else:
            self.t = self.length()
            self.finished = True

    def previous(self) -> None:
        was_finished, self.finished = self.finished, False
        # Like slide software: a step well under way restarts itself; near its start, go back one.
        if (self.t > 2.0 and not was_finished) or self.index == 0:
            self._enter(self.index)
        else:
            self._enter(self.index - 1)

    def restart(self) -> None:
        self.finished = False
        self.paused = False
        self._enter(0)

    def _new_round(self) -> None:
        self.round += 1
        self.scheduler.clear()
        if self.on_round is not None:
            self.on_round(self.round)
        self.finished = False
        self._enter(0)

    def tick(self, dt: float) -> None:
        """Advance virtual time; a finished step moves on when its action is done too."""
        self.start()
        if self.paused or self.finished or self.quit:
            return
        self.t += dt
        length = self.length()
        if self.t + 1e-9 >= length and self.scheduler.done(self.index):
            over = self.t - length
            if over < 0.0 or over > dt + 1e-9:  # ended by waiting for the action: start fresh
                over = 0.0
            self.next()
            if not self.finished:
                self.t = over  # carry the remainder: step starts stay on the exact timeline
