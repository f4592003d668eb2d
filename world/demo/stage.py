"""Puts a running tour on screen in the hall: camera path, captions, step title, progress, results.

Drives the real hall (``world.app.HallApp``): its camera through ``camera_override``, its
queue boards and lounge screens through the scene, its visitor figure on foot. The
demo's own overlay (captions, result card, progress) lives here, so the hall's panels
stay the product's and the demo adds nothing to them.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from l10n import t
from world.demo.actions import ActionResult
from world.demo.camera import Pose, Shots, pose_at
from world.demo.hall import Hall
from world.demo.narration import StepAudio
from world.demo.presenter import Presenter
from world.demo.tour import Step

__all__ = ["CJK_FONT", "DemoStage", "cjk_font", "hall_lang"]

log = logging.getLogger(__name__)

CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")

INK = (0.10, 0.11, 0.14, 1.0)
ACCENT = (0.10, 0.52, 0.47, 1.0)
CAPTION_BG = (0.06, 0.08, 0.10, 0.72)
CARD_BG = (0.99, 0.98, 0.95, 0.94)


def label(key: str, lang: str) -> str:
    """A card title or caption word of the tour (``demo.*`` in the catalogue; Japanese falls back to English)."""
    return t(f"demo.{key}", lang)


def cjk_font(path: Path = CJK_FONT) -> Path | None:
    """The Noto CJK font from Debian's fonts-noto-cjk, when installed."""
    return path if path.is_file() else None


def hall_lang(lang: str) -> str:
    """The hall itself speaks id or en; a Japanese tour shows the English hall with Japanese captions."""
    return "id" if lang == "id" else "en"


class AudioPlayer:
    """Live narration through ``aplay`` in the background; a new step cuts the previous line off."""

    def __init__(self) -> None:
        self._aplay = shutil.which("aplay")
        self._proc: subprocess.Popen[bytes] | None = None

    def play(self, wav: Path) -> None:
        self.stop()
        if self._aplay is None:
            return
        try:
            self._proc = subprocess.Popen(
                [self._aplay, "-q", str(wav)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        except OSError as exc:
            log.warning("aplay failed: %s", exc)
            self._proc = None

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
        self._proc = None


class DemoStage:
    """Per-frame glue between a :class:`Presenter` and the hall app."""

    def __init__(
        self,
        base: Any,
        hall: Hall,
        presenter: Presenter,
        shots: Shots,
        *,
        audio: list[StepAudio] | None = None,
        player: AudioPlayer | None = None,
        live: bool = False,
    ) -> None:
        self.base = base
        self.hall = hall
        self.p = presenter
        self.shots = shots
        self.lang = presenter.lang
        self.audio = audio or []
        self.player = player
        self.live = live
        self.pose: Pose | None = None
        self.before: Pose | None = None
        self._applied_for: int | None = None
        self._reveals: list[tuple[float, Callable[[], None]]] = []
        self._played: set[tuple[int, int]] = set()
        self._entered_round = presenter.round
        self.card_lines: list[str] = []
        self.caption_text = ""
        self.caption_scale = 0.05
        self.notice = ""
        self.font = self._font()
        self._build_overlay()
        presenter.on_enter = self.enter

    # ------------------------------------------------------------------ overlay

    def _font(self) -> Any:
        path = cjk_font() if self.lang == "ja" else None
        if path is None:
            path = Path(self.hall.assets) / "fonts" / "DejaVuSans.ttf"
        font = self.base.loader.load_font(str(path)).make_copy()
        font.set_pixels_per_unit(48)
        return font

    def _build_overlay(self) -> None:
        from direct.gui.DirectFrame import DirectFrame
        from direct.gui.OnscreenText import OnscreenText
        from panda3d.core import TextNode

        app = self.base
        self.root = app.aspect2d.attach_new_node("demo-overlay")
        self.root.set_bin("gui-popup", 50)
        self.title = OnscreenText(
            parent=app.a2dTopLeft,
            text="",
            pos=(0.05, -0.07),
            scale=0.042,
            fg=(1, 1, 1, 0.92),
            shadow=(0, 0, 0, 0.6),
            align=TextNode.A_left,
            font=self.font,
            mayChange=True,
        )
        self.title.textNode.set_card_color(0.06, 0.08, 0.10, 0.45)
        self.title.textNode.set_card_as_margin(0.4, 0.4, 0.25, 0.2)
        self.pause_text = OnscreenText(
            parent=app.a2dTopRight,
            text="",
            pos=(-0.06, -0.07),
            scale=0.045,
            fg=(1, 0.9, 0.5, 1),
            shadow=(0, 0, 0, 0.7),
            align=TextNode.A_right,
            font=self.font,
            mayChange=True,
        )
        self.bar_bg = DirectFrame(parent=app.a2dBottomLeft, frameColor=(0, 0, 0, 0.25), frameSize=(0, 1, 0, 0.012))
        self.bar = DirectFrame(parent=app.a2dBottomLeft, frameColor=ACCENT, frameSize=(0, 1, 0, 0.012))
        self.caption_box = DirectFrame(
            parent=app.a2dBottomCenter, frameColor=CAPTION_BG, frameSize=(-1.25, 1.25, 0.04, 0.30)
        )
        self.caption = OnscreenText(
            parent=self.caption_box,
            text="",
            pos=(0, 0.235),
            scale=0.05,
            fg=(1, 1, 1, 1),
            align=TextNode.A_center,
            wordwrap=48,
            font=self.font,
            mayChange=True,
        )
        self.status = OnscreenText(
            parent=self.caption_box,
            text="",
            pos=(0, 0.065),
            scale=0.038,
            fg=(1.0, 0.86, 0.45, 1),
            align=TextNode.A_center,
            wordwrap=62,
            font=self.font,
            mayChange=True,
        )
        self.card = DirectFrame(
            parent=app.a2dTopRight, frameColor=CARD_BG, frameSize=(-0.82, 0, -1.0, 0), pos=(-0.04, 0, -0.14)
        )
        self.card_head = DirectFrame(parent=self.card, frameColor=ACCENT, frameSize=(-0.82, 0, -0.08, 0))
        self.card_title = OnscreenText(
            parent=self.card,
            text="",
            pos=(-0.79, -0.055),
            scale=0.042,
            fg=(1, 1, 1, 1),
            align=TextNode.A_left,
            font=self.font,
            mayChange=True,
        )
        self.card_body = OnscreenText(
            parent=self.card,
            text="",
            pos=(-0.79, -0.14),
            scale=0.034,
            fg=INK,
            align=TextNode.A_left,
            wordwrap=22.5,
            font=self.font,
            mayChange=True,
        )
        self.card.hide()
        self.blank = DirectFrame(parent=app.render2d, frameColor=(0, 0, 0, 1), frameSize=(-1, 1, -1, 1), sortOrder=100)
        self.blank.set_bin("gui-popup", 100)
        self.blank.hide()

    def set_notice(self, text: str) -> None:
        self.notice = text

    def destroy(self) -> None:
        if self.player is not None:
            self.player.stop()
        for w in (self.title, self.pause_text, self.caption, self.status, self.card_title, self.card_body):
            w.destroy()
        for f in (self.bar_bg, self.bar, self.caption_box, self.card, self.blank):
            f.destroy()
        self.root.remove_node()

    # ------------------------------------------------------------------ steps

    def enter(self, index: int, step: Step) -> None:
        self.before = self.pose
        self._reveals = []
        self._applied_for = None
        if self.p.round != self._entered_round:
            self._entered_round = self.p.round
            self._played.clear()
        self._played = {k for k in self._played if k[0] != index}  # stepping back replays the narration
        self.caption_text = step.captions.get(self.lang)
        self.caption.setText(self.caption_text)
        self.caption_scale = 0.062 if step.action is not None and step.action.kind == "guided" else 0.05
        self.caption.setScale(self.caption_scale)
        self.caption["wordwrap"] = 2.4 / self.caption_scale
        self._set_status(self.notice)
        self.notice = ""
        if step.action is None:
            self.card.hide()
        if self.player is not None:
            self.player.stop()

    def _apply(self, r: ActionResult) -> None:
        lang = self.lang
        if not r.ok:
            self._set_status(r.text(lang))
            return
        self._set_status("")
        handler = getattr(self, f"_show_{r.kind}", None)
        if handler is not None:
            handler(r)

    def _set_status(self, text: str) -> None:
        self.status.setText(text)
        self._layout_caption()

    def _layout_caption(self) -> None:
        """Size the caption box to its text: captions grow upwards from the bottom edge."""
        c_rows = max(1, self.caption.textNode.get_num_rows())
        s_text = self.status.textNode.get_text()
        s_rows = self.status.textNode.get_num_rows() if s_text else 0
        c_lh, s_lh, pad = self.caption_scale * 1.2, 0.038 * 1.2, 0.035
        bottom = 0.04
        y = bottom + pad
        if s_rows:
            self.status.setPos(0, y + (s_rows - 1) * s_lh + 0.008)
            y += s_rows * s_lh + 0.015
        self.caption.setPos(0, y + (c_rows - 1) * c_lh + 0.012)
        top = y + c_rows * c_lh + pad * 0.6
        self.caption_box["frameSize"] = (-1.25, 1.25, bottom, top)

    def _card(self, kind: str, lines: list[str]) -> None:
        self.card_title.setText(label(kind, self.lang))
        self.card_lines = list(lines)
        self.card_body.setText("\n".join(self.card_lines))
        self._fit_card()
        self.card.show()

    def _fit_card(self) -> None:
        """The card ends just below its last line."""
        rows = max(1, self.card_body.textNode.get_num_rows())
        self.card["frameSize"] = (-0.82, 0, -(0.14 + rows * 0.034 * 1.2 + 0.03), 0)

    def _later(self, delay: float, fn: Callable[[], None]) -> None:
        self._reveals.append((self.p.t + delay, fn))

    def _add_line(self, text: str) -> Callable[[], None]:
        def add() -> None:
            self.card_lines.append(text)
            self.card_body.setText("\n".join(self.card_lines[-16:]))
            self._fit_card()

        return add

    def _show_ask(self, r: ActionResult) -> None:
        q = str(r.data.get("question", ""))
        reply = str(r.data.get("reply", ""))
        lines = reply.splitlines()
        short = "\n".join(lines[:9]) + ("\n…" if len(lines) > 9 else "")
        self._card("ask", [f"{label('citizen', self.lang)}: {q}"])
        self._later(1.2, self._add_line(""))
        self._later(1.2, self._add_line(short))
        if self.live:
            self.hall.say(reply)

    def _show_apply(self, r: ActionResult) -> None:
        self._card("apply", [r.text(self.lang)])

    def _show_ticket(self, r: ActionResult) -> None:
        d = r.data
        counter = int(d.get("counter", 0))
        self._card("ticket", [str(d.get("ticket", "")), r.text(self.lang)])
        if counter:
            self.hall.update_board(counter, d.get("now_serving"), int(d.get("waiting") or 0))
            self.hall.walk_visitor_to(counter)

    def _show_officer_transition(self, r: ActionResult) -> None:
        from world.demo.actions import _state

        states = [str(s) for s in r.data.get("states", [])]
        self._card("officer_transition", [str(r.data.get("tracking", ""))])
        for i, s in enumerate(states):  # one update at a time, as they would reach the visitor's screen
            self._later(1.0 + 1.6 * i, self._add_line(f"✓ {_state(s, self.lang)}"))

    def _show_lahir_procot(self, r: ActionResult) -> None:
        d = r.data
        self._card("lahir_procot", [str(d.get("facility", "")), str(d.get("tracking", ""))])
        steps = [f"✓ {d.get('number', '')}", "✓ PDF + TTE (PAdES)", f"✓ QR: {d.get('verify', '')}"]
        for i, line in enumerate(steps):
            self._later(1.0 + 1.6 * i, self._add_line(line))

    def _show_status(self, r: ActionResult) -> None:
        from world.demo.actions import _state

        timeline = [str(s) for s in r.data.get("timeline", [])]
        self._card("status", [r.text(self.lang), ""] + [f"• {_state(s, self.lang)}" for s in timeline])

    def _show_dashboard(self, r: ActionResult) -> None:
        sets = r.data.get("datasets") or {}
        for name, payload in sets.items():
            if isinstance(payload, dict):
                self.hall.update_screen(str(name), payload)
        self.card.hide()  # the screens themselves are the show here

    def _show_handoff(self, r: ActionResult) -> None:
        self._card("handoff", [r.text(self.lang)])
        for i, (who, text) in enumerate(r.data.get("transcript", [])):
            self._later(1.5 + 2.2 * i, self._add_line(f"{label(str(who), self.lang)}: {text}"))

    def _show_guided(self, r: ActionResult) -> None:
        """The guided visit screen by screen on the card; the slow spoken prompts become the big caption."""
        self._card("guided", [r.text(self.lang)])
        screens = [tuple(x) for x in r.data.get("screens", [])]
        for i, (title, text, choice) in enumerate(screens):
            line = f"{i + 1}. {title}: {choice}" if choice else f"{i + 1}. {text}"
            self._later(0.8 + 1.1 * i, self._add_line(line[:90]))
        audio = self.audio[self.p.index] if self.p.index < len(self.audio) else None
        prompts = [str(p) for p in r.data.get("prompts", [])]
        offsets = [s.offset for s in audio.segments[1:]] if audio is not None else []
        for i, text in enumerate(prompts):
            at = offsets[i] if i < len(offsets) else 2.0 + 3.0 * i
            self._later(max(0.0, at - self.p.t), self._caption_setter(f"“{text}”"))

    def _caption_setter(self, text: str) -> Callable[[], None]:
        def show() -> None:
            self.caption.setText(text)
            self._layout_caption()

        return show

    # ------------------------------------------------------------------ per frame

    def update(self) -> None:
        p = self.p
        step = p.step
        self.pose = pose_at(self.shots, step, p.t, self.before)
        self.hall.set_camera(self.pose.pos, self.pose.look)
        if self._applied_for != p.index:
            result = p.result()
            if result is not None:
                self._applied_for = p.index
                self._apply(result)
        due = [r for r in self._reveals if r[0] <= p.t]
        if due:
            self._reveals = [r for r in self._reveals if r[0] > p.t]
            for _, fn in due:
                fn()
        if self.live and self.player is not None and not p.paused and p.index < len(self.audio):
            for k, seg in enumerate(self.audio[p.index].segments):
                key = (p.index, k)
                if key not in self._played and seg.wav is not None and p.t >= seg.offset:
                    self._played.add(key)
                    self.player.play(seg.wav)
        self.title.setText(p.label())
        self.pause_text.setText(label("paused", self.lang) if p.paused else "")
        ratio = float(self.base.win.get_x_size()) / max(1, self.base.win.get_y_size())
        self.bar.setScale(max(0.0001, p.progress) * 2 * ratio, 1, 1)
        self.bar_bg.setScale(2 * ratio, 1, 1)
        if p.blank:
            self.blank.show()
        else:
            self.blank.hide()
