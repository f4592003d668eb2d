"""DirectGUI view of guided mode: big buttons, large high-contrast text, everything spoken.

The server drives the visit: each ``guided.step`` frame (``protocol.guided.GuidedStep``) carries the
text, the big choices, the field asked, what to speak and the press count; this view only draws the
latest frame, speaks it through espeak-ng (synthesis off the frame thread, so the hall never
stutters), leads the walk, and sends the visitor's answer back as ``guided.choose``. It keeps no flow
and no texts of its own. It takes the ShowBase and small callables instead of the whole hall app,
so it also runs on a bare offscreen ShowBase in tests::

    view = GuidedView(base, send=net.send, lang="id", voice=Voice(),
                      start_walk=lambda counter: ..., walk_done=lambda: not citizen.path)
    view.start()                          # guided.start; the server answers with the first step
    view.show(step)                       # a guided.step frame arrived (attach_to_hall wires this)
    view.click("service:ktp-el"); view.type_text("3510..."); view.destroy()

``attach_to_hall(client)`` wires it to a started ``world.app.HallClient`` (the AI avatar leads,
frames come through the client's NetClient). For ``mpp hall --guided``::

    client.pump(lambda: client.screens.state == "Hall" and client.layout is not None, timeout=15)
    if cfg.guided:
        from world.guided_view import attach_to_hall
        guided = attach_to_hall(client)        # guided.destroy() before client.destroy()
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from direct.gui import DirectGuiGlobals as DGG
from direct.gui.DirectButton import DirectButton
from direct.gui.DirectEntry import DirectEntry
from direct.gui.DirectFrame import DirectFrame
from direct.gui.DirectLabel import DirectLabel
from direct.showbase.DirectObject import DirectObject
from panda3d.core import TextNode

from protocol.guided import GuidedChoice, GuidedStep
from protocol.messages import ErrorFrame, Welcome
from world.voice.normalize import normalize
from world.voice.tts import Voice, play_with_panda

__all__ = ["BG", "BUTTON", "INK", "MIN_SCALE", "GuidedView", "attach_to_hall", "contrast_ratio"]

log = logging.getLogger(__name__)

MIN_SCALE = 1.6  # guided mode is for elderly visitors: never smaller than 1.6x the normal UI
# High contrast: near-black panel, white text, yellow action buttons with black text.
BG = (0.05, 0.05, 0.07, 0.94)
INK = (1.0, 1.0, 1.0, 1.0)
BUTTON = (1.0, 0.84, 0.0, 1.0)
BUTTON_INK = (0.0, 0.0, 0.0, 1.0)
TOOL = (0.85, 0.92, 1.0, 1.0)
NOTE = (1.0, 0.84, 0.0, 1.0)
PROBLEM = (1.0, 0.75, 0.75, 1.0)  # a refused value: pale red text on the dark panel (still >= 7:1)
REF = "guided"  # refusals of our frames come back with it

Point = tuple[float, float]


def _lum(c: Sequence[float]) -> float:
    def ch(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    return 0.2126 * ch(c[0]) + 0.7152 * ch(c[1]) + 0.0722 * ch(c[2])


def contrast_ratio(a: Sequence[float], b: Sequence[float]) -> float:
    """WCAG contrast ratio between two RGB colours (7:1 is the AAA level we aim for)."""
    la, lb = sorted((_lum(a), _lum(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


class GuidedView(DirectObject):
    """Draws the latest ``guided.step`` frame; every widget, task and hook is released in ``destroy``."""

    def __init__(
        self,
        base: Any,
        *,
        send: Callable[[dict[str, Any]], Any],
        lang: str = "id",
        scale: float = MIN_SCALE,
        font: Any = None,
        voice: Voice | None = None,
        slow: bool = True,
        start_walk: Callable[[int], Any] | None = None,
        walk_done: Callable[[], bool] | None = None,
    ) -> None:
        super().__init__()
        self.base = base
        self._send = send
        self.lang = "en" if lang == "en" else "id"
        self.s = max(MIN_SCALE, scale)
        self.font = font
        self.voice = voice
        self.slow = slow
        self._start_walk = start_walk
        self._walk_done = walk_done
        # An invisible full-screen frame takes every click, so nothing behind the guide reacts
        # (no click-to-walk, no free camera) even while the panel is a small banner.
        self.shield: Any = DirectFrame(
            parent=base.aspect2d,
            frameColor=(0, 0, 0, 0),
            frameSize=(-10, 10, -10, 10),
            state=DGG.NORMAL,
            sortOrder=-100,  # below the panel: its buttons keep their clicks
        )
        self.frame: Any = None
        self.widgets: dict[str, Any] = {}
        self.buttons: dict[str, Any] = {}
        self.entry: Any = None
        self.step: GuidedStep | None = None  # the latest frame from the server
        self.shown: GuidedStep | None = None  # the frame on screen
        self.steps: list[GuidedStep] = []
        self.sent: list[dict[str, Any]] = []
        self.spoken: list[str] = []
        self.conversation: str | None = None
        self.waiting = False  # a choice is on its way: further presses wait for the next step
        self.retries = 0  # refusals in a row (each restarts from the server's current step)
        self.notice: str | None = voice.notice_once(self.lang) if voice is not None else None
        self.played: list[Path] = []
        self.sound: Any = None
        self._walking: GuidedStep | None = None
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="mpp-voice")
        self._speech: list[concurrent.futures.Future[Path | None]] = []
        self._task = f"mpp-guided-{id(self)}"
        self._extra_tasks: list[str] = []
        self.on_destroy: list[Callable[[], Any]] = []
        base.task_mgr.add(self._tick, self._task)

    @property
    def presses(self) -> int:
        """The press count the server keeps (carried by every step)."""
        return self.step.presses if self.step is not None else 0

    # ------------------------------------------------------------------ the wire

    def _out(self, frame: dict[str, Any]) -> None:
        frame["ref"] = REF
        self.sent.append(frame)
        try:
            self._send(frame)
        except Exception:  # a failing transport must not break the frame loop; the step stays on screen
            log.exception("guided view: sending %s failed", frame.get("type"))
            self.waiting = False

    def start(self) -> None:
        """Begin (or, after a reconnect, resume) the visit; the server answers with its current step."""
        frame: dict[str, Any] = {"type": "guided.start", "lang": self.lang}
        if self.conversation:
            frame["conversation_id"] = self.conversation
        self.waiting = False
        self._out(frame)

    def show(self, step: GuidedStep) -> None:
        """A ``guided.step`` arrived: draw it and say it."""
        self.waiting = False
        self.retries = 0
        self.conversation = step.conversation_id
        self.step = step
        self.steps.append(step)
        self.redraw()
        self._say(step.speak)

    def refused(self, frame: ErrorFrame) -> None:
        """A refusal of our frame (the officer spoke meanwhile): take the server's current step again."""
        self.waiting = False
        if not frame.code.startswith("guided_") or frame.code == "guided_failed":
            self.conversation = None  # not resumable: a new visit
        self.retries += 1
        if self.retries <= 3:  # a few tries; then the step on screen stays, Panggil Petugas included
            self.start()

    # ------------------------------------------------------------------ input

    def click(self, choice: str, auto: bool = False) -> None:
        """A big button was pressed (also used by tests and the keyboard); only offered choices are sent."""
        step = self.step
        if step is None or self.waiting:
            return
        if choice not in {c.id for c in (*step.choices, *step.tools)}:
            log.info("guided view: %r is not offered on %s", choice[:40], step.kind)
            return
        self.waiting = True
        self._out({"type": "guided.choose", "step_id": step.step_id, "choice": choice, "auto": auto})

    def type_text(self, text: str) -> None:
        step = self.step
        if step is None or step.field is None or self.waiting or not text.strip():
            return
        self.waiting = True
        self._out({"type": "guided.choose", "step_id": step.step_id, "value": text[:200]})

    def _submit_entry(self, text: str | None = None) -> None:
        if self.entry is None:
            return
        self.type_text(text if text is not None else self.entry.get())

    # ------------------------------------------------------------------ drawing

    def _aspect(self) -> float:
        try:
            return float(self.base.get_aspect_ratio())
        except (AttributeError, TypeError):
            return 16 / 9

    def redraw(self) -> None:
        step = self.step
        self._clear()
        self.shown = step
        if step is None:
            return
        a = self._aspect()
        compact = step.kind == "walk"  # let the visitor watch the walk
        left, right = -a + 0.04, a - 0.04
        top, bottom = (-0.3, -0.98) if compact else (0.96, -0.98)
        width = right - left
        self.frame = DirectFrame(
            parent=self.base.aspect2d,
            frameColor=BG,
            frameSize=(left, right, bottom, top),
            state=DGG.NORMAL,  # swallow clicks: nothing behind the panel reacts
        )
        ts = 0.042 * self.s
        y = top - 0.05 - 0.055 * self.s
        if self.notice:
            notice_y = top - 0.06
            self.widgets["notice"] = self._label(self.notice, left + 0.05, notice_y, 0.022 * self.s, NOTE, width - 0.1)
            y -= 0.03 * self.s
        self.widgets["title"] = self._label(step.title, left + 0.05, y, 0.055 * self.s, NOTE, width - 0.1)
        y -= 0.06 * self.s
        if step.note:
            colour = PROBLEM if step.tone == "problem" else NOTE  # a refusal is a problem; an officer never is
            note = self._label(step.note, left + 0.05, y, ts, colour, width - 0.1)
            self.widgets["note"] = note
            y -= max(1, note.component("text0").textNode.get_num_rows()) * ts * 1.2 + 0.02
        if step.ticket:
            big = self._label(step.ticket, 0.0, y - 0.16 * self.s, 0.16 * self.s, INK, None, TextNode.A_center)
            self.widgets["ticket"] = big
            y -= 0.27 * self.s
        body = self._label(step.text, left + 0.05, y, ts, INK, width - 0.1)
        self.widgets["text"] = body
        rows = max(1, body.component("text0").textNode.get_num_rows())
        y -= rows * ts * 1.2 + 0.03
        if step.field is not None:
            self._add_entry(step, left + 0.05, y, width)
            y -= 0.1 * self.s
        if not compact:
            self._add_buttons(step.choices, left + 0.05, right - 0.05, y, big=True)
        tool_h = 0.07 * self.s
        tool_y = bottom + 0.03 + tool_h / 2
        tools = list(step.tools) + (list(step.choices) if compact else [])  # one row while walking
        tw = min(1.0, (width - 0.1) / max(1, len(tools)) - 0.04)
        for i, b in enumerate(tools):
            x = left + 0.05 + tw / 2 + i * (tw + 0.04)
            self.buttons[b.id] = self._button(b.label, b.id, x, tool_y, tw, tool_h, TOOL, 0.032 * self.s)

    def _add_entry(self, step: GuidedStep, x: float, y: float, width: float) -> None:
        assert step.field is not None
        ts = 0.045 * self.s
        self.entry = DirectEntry(
            parent=self.frame,
            initialText=step.field.prefill,
            scale=ts,
            width=(width * 0.62) / ts,
            pos=(x, 0, y - 0.04 * self.s),
            text_font=self.font,
            frameColor=(1, 1, 1, 1),
            text_fg=BUTTON_INK,
            focus=1,
            command=self._submit_entry,
        )
        ok_x = x + width * 0.62 + 0.05 + 0.2 * self.s / 2
        self.buttons["ok"] = self._button("OK", None, ok_x, y - 0.025 * self.s, 0.2 * self.s, 0.08 * self.s, BUTTON)

    def _add_buttons(self, buttons: Sequence[GuidedChoice], left: float, right: float, y: float, *, big: bool) -> None:
        if not buttons:
            return
        cols = 1 if len(buttons) == 1 else 2 if len(buttons) <= 6 else 3
        gap = 0.04
        bw = min(1.6, (right - left - gap * (cols - 1)) / cols)
        bh = 0.1 * self.s
        for i, b in enumerate(buttons):
            r, c = divmod(i, cols)
            x = left + bw / 2 + c * (bw + gap)
            self.buttons[b.id] = self._button(
                b.label, b.id, x, y - bh / 2 - r * (bh + gap), bw, bh, BUTTON, 0.036 * self.s
            )

    def _label(
        self,
        text: str,
        x: float,
        y: float,
        scale: float,
        color: tuple[float, ...],
        width: float | None,
        align: int = TextNode.A_left,
    ) -> Any:
        return DirectLabel(
            parent=self.frame,
            text=text,
            text_fg=color,
            text_align=align,
            text_scale=scale,
            text_wordwrap=(width / scale) if width else None,
            text_font=self.font,
            frameColor=(0, 0, 0, 0),
            pos=(x, 0, y),
        )

    def _button(
        self,
        label: str,
        action: str | None,
        x: float,
        y: float,
        w: float,
        h: float,
        color: tuple[float, ...],
        ts: float | None = None,
    ) -> Any:
        ts = ts or 0.032 * self.s
        btn = DirectButton(
            parent=self.frame,
            text=label,
            text_scale=ts,
            text_fg=BUTTON_INK,
            text_font=self.font,
            text_wordwrap=(w - 0.06) / ts,
            text_pos=(0, -ts * 0.35),
            frameColor=color,
            frameSize=(-w / 2, w / 2, -h / 2, h / 2),
            pos=(x, 0, y),
            relief=DGG.FLAT,
            command=self._submit_entry if action is None else self.click,
            extraArgs=[] if action is None else [action],
        )
        rows = max(1, btn.component("text0").textNode.get_num_rows())
        btn["text_pos"] = (0, -ts * 0.35 + (rows - 1) * ts * 0.55)  # keep wrapped labels centred
        return btn

    def _clear(self) -> None:
        if self.frame is not None:
            self.frame.destroy()
        self.frame = None
        self.entry = None
        self.widgets.clear()
        self.buttons.clear()

    # ------------------------------------------------------------------ per frame

    def _tick(self, task: Any) -> Any:
        step = self.step
        if step is not None and step.kind == "walk" and step is not self._walking:
            self._walking = step
            if self._start_walk is not None and step.counter is not None:
                self._start_walk(step.counter)
        elif (
            step is not None and step.kind == "walk" and self._walk_done is not None and self._walk_done()
            and not self.waiting
        ):  # fmt: skip
            self.click("arrived", auto=True)  # the autopilot arrived: not a press
        if self.step is not self.shown:
            self.redraw()
        self._play_ready()
        return task.cont

    def _say(self, text: str) -> None:
        """Speak a step (the latest only: a quick visitor should not hear a backlog)."""
        if not text:
            return
        spoken = normalize(text, self.lang)  # numbers, codes and abbreviations in words for espeak
        self.spoken.append(spoken)
        if self.voice is None or not self.voice.available:
            return
        self._speech.append(self._pool.submit(self.voice.speak, spoken, self.lang, slow=self.slow))

    def _play_ready(self) -> None:
        done = [f for f in self._speech if f.done()]
        for fut in done:
            self._speech.remove(fut)
            try:
                wav = fut.result()
            except Exception:
                log.exception("guided view: speech synthesis failed")
                continue
            if wav is None:
                continue
            self.played.append(wav)
            managers = getattr(self.base, "sfxManagerList", None) or []
            if managers:
                try:
                    if self.sound is not None:
                        self.sound.stop()  # a new step interrupts the old sentence: never two voices at once
                    self.sound = play_with_panda(managers[0], wav)
                except Exception:
                    log.exception("guided view: playing %s failed", wav)

    def add_task(self, fn: Callable[[Any], Any], name: str) -> None:
        """A task that lives exactly as long as the view."""
        unique = f"{name}-{id(self)}"
        self.base.task_mgr.add(fn, unique)
        self._extra_tasks.append(unique)

    def wait_for_speech(self, timeout: float = 30.0) -> None:
        """Tests and tours: finish pending synthesis, then play it."""
        concurrent.futures.wait(list(self._speech), timeout=timeout)
        self._play_ready()

    def destroy(self) -> None:
        self.base.task_mgr.remove(self._task)
        for name in self._extra_tasks:
            self.base.task_mgr.remove(name)
        self._extra_tasks.clear()
        self._clear()
        if self.shield is not None:
            self.shield.destroy()
            self.shield = None
        for fn in self.on_destroy:
            fn()
        self.on_destroy.clear()
        self.ignore_all()
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self.sound is not None:
            self.sound.stop()
            self.sound = None


def attach_to_hall(client: Any, *, voice: Voice | None = None) -> GuidedView:
    """Guided mode on a started ``world.app.HallClient`` (call once its world is loaded).

    Free walking is switched off; the AI avatar leads the visitor to the step's counter
    (``lead_to_counter``) and the camera follows calmly. The visit is the server's: the view sends
    ``guided.start``/``guided.choose`` on the client's socket and draws the ``guided.step`` frames
    that come back (the officer's words and an issued document arrive as steps too).
    """
    from world.guided import counter_path_fn

    net = client.net
    layout = client.layout
    paths = counter_path_fn(layout) if layout is not None else None

    def send(frame: dict[str, Any]) -> None:
        if net is None:
            raise ConnectionError("no server")
        net.send(frame)

    def start_walk(counter: int) -> None:
        if client.lead_to_counter(counter):
            return
        path = paths(counter) if paths is not None else None
        if path:
            client.player_path = list(path[1:])

    view = GuidedView(
        client.base,
        send=send,
        lang=client.lang,
        scale=max(MIN_SCALE, client.cfg.text_scale),
        font=client.font,
        voice=voice if voice is not None else Voice(),
        start_walk=start_walk,
        walk_done=lambda: not client.player_path,
    )

    def on_error(frame: ErrorFrame) -> None:
        if frame.ref == REF:
            view.refused(frame)

    def on_welcome(frame: Welcome) -> None:
        if view.step is not None:
            view.start()  # a reconnect: the visit resumes where it was

    leave = [  # world.control.bus: guided mode subscribes to its frames and leaves with its view
        client.bus.on_frame(GuidedStep, view.show),
        client.bus.on_frame(ErrorFrame, on_error),
        client.bus.on_frame(Welcome, on_welcome),
    ]
    client.set_typing(True)  # no free walking or camera while guided
    view.start()

    def restore() -> None:
        for unsubscribe in leave:
            unsubscribe()
        client.set_typing(False)

    view.on_destroy.append(restore)
    return view
