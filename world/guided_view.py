"""DirectGUI view of guided mode: big buttons, large high-contrast text, everything spoken.

The flow logic lives in ``world.guided`` (pure, tested without rendering); this view only
draws the current step, forwards presses, speaks new lines through espeak-ng (synthesis runs
off the frame thread so the hall never stutters) and drives the autopilot walk. It takes the
ShowBase and small callables instead of the whole hall app, so it also runs on a bare
offscreen ShowBase in tests::

    view = GuidedView(base, flow, lang="id", voice=Voice(),
                      start_walk=lambda path: ..., walk_done=lambda: not citizen.path,
                      send=lambda pending: ...)   # async mode: send flow.pending via NetClient
    view.click("service:ktp-el"); view.type_text("3510..."); view.destroy()

``attach_to_hall(client, identity=...)`` wires it to a started ``world.app.HallClient`` (the AI
avatar leads, answers come through the client's NetClient). For ``mpp hall --guided``::

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

from world.guided import GuidedFlow, Pending, Step
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
    """Draws one ``Step`` at a time; every widget, task and hook is released in ``destroy``."""

    def __init__(
        self,
        base: Any,
        flow: GuidedFlow,
        *,
        scale: float = MIN_SCALE,
        font: Any = None,
        voice: Voice | None = None,
        slow: bool = True,
        start_walk: Callable[[tuple[Point, ...]], Any] | None = None,
        walk_done: Callable[[], bool] | None = None,
        send: Callable[[Pending], Any] | None = None,
    ) -> None:
        super().__init__()
        self.base = base
        self.flow = flow
        self.lang = flow.lang
        self.s = max(MIN_SCALE, scale)
        self.font = font
        self.voice = voice
        self.slow = slow
        self._start_walk = start_walk
        self._walk_done = walk_done
        self._send = send
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
        self.shown: Step | None = None
        self.notice: str | None = voice.notice_once(self.lang) if voice is not None else None
        self.played: list[Path] = []
        self.sound: Any = None
        self._spoken_upto = 0
        self._walking: Step | None = None
        self._sent: Pending | None = None
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="mpp-voice")
        self._speech: list[concurrent.futures.Future[Path | None]] = []
        self._task = f"mpp-guided-{id(self)}"
        self._extra_tasks: list[str] = []
        self.on_destroy: list[Callable[[], Any]] = []
        base.task_mgr.add(self._tick, self._task)
        self.redraw()

    # ------------------------------------------------------------------ input

    def click(self, action: str) -> Step:
        """A big button was pressed (also used by tests and the keyboard)."""
        step = self.flow.press(action)
        self._after_input()
        return step

    def type_text(self, text: str) -> Step:
        step = self.flow.enter(text)
        self._after_input()
        return step

    def _submit_entry(self, text: str | None = None) -> None:
        if self.entry is None:
            return
        self.type_text(text if text is not None else self.entry.get())

    def _after_input(self) -> None:
        if self.flow.step is not self.shown:
            self.redraw()
        self._flush_speech()

    # ------------------------------------------------------------------ drawing

    def _aspect(self) -> float:
        try:
            return float(self.base.get_aspect_ratio())
        except (AttributeError, TypeError):
            return 16 / 9

    def redraw(self) -> None:
        step = self.flow.step
        self._clear()
        self.shown = step
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
        if step.ticket:
            big = self._label(step.ticket, 0.0, y - 0.16 * self.s, 0.16 * self.s, INK, None, TextNode.A_center)
            self.widgets["ticket"] = big
            y -= 0.27 * self.s
        body = self._label(step.text, left + 0.05, y, ts, INK, width - 0.1)
        self.widgets["text"] = body
        rows = max(1, body.component("text0").textNode.get_num_rows())
        y -= rows * ts * 1.2 + 0.03
        if step.input is not None:
            self._add_entry(step, left + 0.05, y, width)
            y -= 0.1 * self.s
        if not compact:
            self._add_buttons(step.buttons, left + 0.05, right - 0.05, y, big=True)
        tool_h = 0.07 * self.s
        tool_y = bottom + 0.03 + tool_h / 2
        tools = list(step.tools) + (list(step.buttons) if compact else [])  # one row while walking
        tw = min(1.0, (width - 0.1) / max(1, len(tools)) - 0.04)
        for i, b in enumerate(tools):
            x = left + 0.05 + tw / 2 + i * (tw + 0.04)
            self.buttons[b.action] = self._button(b.label, b.action, x, tool_y, tw, tool_h, TOOL, 0.032 * self.s)

    def _add_entry(self, step: Step, x: float, y: float, width: float) -> None:
        assert step.input is not None
        ts = 0.045 * self.s
        self.entry = DirectEntry(
            parent=self.frame,
            initialText=step.input.prefill,
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

    def _add_buttons(self, buttons: Sequence[Any], left: float, right: float, y: float, *, big: bool) -> None:
        if not buttons:
            return
        cols = 1 if len(buttons) == 1 else 2 if len(buttons) <= 6 else 3
        gap = 0.04
        bw = min(1.6, (right - left - gap * (cols - 1)) / cols)
        bh = 0.1 * self.s
        for i, b in enumerate(buttons):
            r, c = divmod(i, cols)
            x = left + bw / 2 + c * (bw + gap)
            self.buttons[b.action] = self._button(
                b.label, b.action, x, y - bh / 2 - r * (bh + gap), bw, bh, BUTTON, 0.036 * self.s
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
        step = self.flow.step
        if step.kind == "walk" and step is not self._walking:
            self._walking = step
            if step.path and self._start_walk is not None:
                self._start_walk(step.path)
        elif step.kind == "walk" and self._walk_done is not None and step.path and self._walk_done():
            self.flow.arrived()
        if self.flow.pending is not None and self.flow.pending is not self._sent and self._send is not None:
            self._sent = self.flow.pending
            try:
                self._send(self.flow.pending)
            except Exception:  # a failing transport is reported to the visitor, not raised into the frame loop
                log.exception("guided view: sending %s failed", self.flow.pending.kind)
                self.flow.reject(self.flow.pending.kind)
        if self.flow.step is not self.shown:
            self.redraw()
        self._flush_speech()
        self._play_ready()
        return task.cont

    def _flush_speech(self) -> None:
        new = self.flow.spoken[self._spoken_upto :]
        self._spoken_upto = len(self.flow.spoken)
        if self.voice is None or not self.voice.available:
            return
        for text in new[-1:]:  # only the latest line: a quick visitor should not hear a backlog
            self._speech.append(self._pool.submit(self.voice.speak, text, self.lang, slow=self.slow))

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


_OFFICER_REQUEST = {"id": "Saya ingin dibantu petugas.", "en": "I would like to talk to an officer."}
_DOC_READY = {"id": "Dokumen Anda sudah jadi, bisa dicetak.", "en": "Your document is ready, you can print it."}


def _detail_message(body: Any) -> Any:
    """A server 4xx ``detail`` as a Localized message (first field error for a 422), or None."""
    from protocol.catalog import Localized

    detail = body.get("detail") if isinstance(body, dict) else None
    if not isinstance(detail, dict):
        return None
    fields = detail.get("fields")
    if isinstance(fields, dict):
        for msg in fields.values():
            if isinstance(msg, dict) and msg.get("id") and msg.get("en"):
                return Localized(id=str(msg["id"]), en=str(msg["en"]))
    if detail.get("message_id") and detail.get("message_en"):
        return Localized(id=str(detail["message_id"]), en=str(detail["message_en"]))
    return None


_CODE_NEEDED = {
    "id": "Kode verifikasi sudah dikirim ke kontak Anda. Masukkan kode di formulir loket, "
    "atau tekan Panggil Petugas agar petugas membantu.",
    "en": "A verification code was sent to your contact. Enter it in the counter's form, "
    "or press Call an officer for help.",
}


def attach_to_hall(client: Any, *, identity: dict[str, str] | None = None, voice: Voice | None = None) -> GuidedView:
    """Guided mode on a started ``world.app.HallClient`` (call once its world is loaded).

    Free walking is switched off; the AI avatar leads the visitor to the counter
    (``lead_to_counter``) and the camera follows calmly. The application (after identifying the
    session with the NIK, so it is the citizen's own) and the ticket go through the client's
    NetClient with tags ``guided:*``; those answers are fed back into the flow, not to the client.
    """
    from world.guided import counter_path_fn

    net = client.net
    layout = client.layout
    flow = GuidedFlow(
        client.catalog,
        lang=client.lang,
        identity=identity,
        path_to_counter=counter_path_fn(layout) if layout is not None else None,
        handoff=lambda ctx: client.say(_OFFICER_REQUEST["en" if client.lang == "en" else "id"]),
    )
    state: dict[str, Any] = {"key": None, "data": None}

    def create(p: Pending) -> None:
        state["key"] = net.create_application(p.service_id, p.data, submit=True, key=state["key"], tag="guided:submit")

    def send(p: Pending) -> None:
        if net is None:
            flow.reject(p.kind)
        elif p.kind == "ticket":
            net.take_ticket(p.counter, tag="guided:ticket")
        elif p.data.get("nik") and not client.identified:
            state["data"] = p
            name = str(p.data.get("full_name") or client.cfg.name)
            net.identify(str(p.data["nik"]), name, tag="guided:identify")
        else:
            create(p)

    def start_walk(path: tuple[Point, ...]) -> None:
        counter = flow.step.counter
        if counter is None or not client.lead_to_counter(counter):
            client.player_path = list(path[1:])

    view = GuidedView(
        client.base,
        flow,
        scale=max(MIN_SCALE, client.cfg.text_scale),
        font=client.font,
        voice=voice if voice is not None else Voice(),
        start_walk=start_walk,
        walk_done=lambda: not client.player_path,
        send=send,
    )
    original = client.handle

    def handle(ev: Any) -> None:
        data = ev.data if ev.kind == "http" and isinstance(ev.data, dict) else None
        tag = str(data.get("tag", "")) if data is not None else ""
        if data is None or not tag.startswith("guided:"):
            original(ev)
            return
        status, body = int(data.get("status") or 0), data.get("body")
        kind = tag.split(":", 1)[1]
        if kind == "identify":
            if status == 202:
                # The code sent to the citizen's contact still has to be typed: the guided code screen
                # is not built yet, so guided mode points to the form's code field or an officer.
                client.challenge = str(body.get("challenge_id")) if isinstance(body, dict) else None
                from protocol.catalog import Localized

                flow.reject("submit", Localized(**_CODE_NEEDED))
            else:
                # 403 (the name does not match the NIK): retrying the same data is a dead end
                flow.reject("submit", _detail_message(body), retry=status not in (401, 403))
        elif status in (200, 201):
            if kind == "ticket" and isinstance(body, dict):
                client.show_ticket(body)  # the usual ticket card too, so the queue updates show on it
            flow.resolve(kind, body)
        else:
            flow.reject(kind, _detail_message(body))

    def on_reply(reply: Any) -> None:
        """The officer's words and "connected to officer X at counter N" become steps of the visit."""
        for action in reply.actions:
            if action.kind == "handoff" and action.data.get("state") == "accepted" and reply.sender != "officer":
                flow.officer_connected(action.data.get("officer"), action.data.get("counter"))
        if reply.sender == "officer":
            who = next((str(a.data.get("officer")) for a in reply.actions if a.data.get("officer")), None)
            flow.officer_said(reply.text, who)

    def on_document(ev: Any) -> None:
        """The signed document is issued: said to the guided visitor as a large spoken step."""
        if ev.state == "issued":
            flow.officer_said(_DOC_READY["en" if client.lang == "en" else "id"], None)

    client.handle = handle
    client.reply_listeners.append(on_reply)
    client.document_listeners.append(on_document)
    client.set_typing(True)  # no free walking or camera while guided

    def restore() -> None:
        client.__dict__.pop("handle", None)
        if on_reply in client.reply_listeners:
            client.reply_listeners.remove(on_reply)
        if on_document in client.document_listeners:
            client.document_listeners.remove(on_document)
        client.set_typing(False)

    view.on_destroy.append(restore)
    return view
