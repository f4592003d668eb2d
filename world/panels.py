"""The hall's 2D interface (DirectGUI): chat, form, ticket, tracker, settings, connection banner.

Every panel is a class that owns one root frame and nothing else on the scene graph, so
``destroy()`` removes all of it; panels add no tasks and accept no messenger events of their
own (DirectGUI widgets unbind theirs when destroyed), which the leak tests check.
Strings come from the catalogue (:mod:`l10n`, ``hall.*`` keys) in the panel's language.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from direct.gui.DirectGui import DGG, DirectButton, DirectEntry, DirectFrame, DirectLabel
from panda3d.core import TextNode
from pydantic import ValidationError

from l10n import t, t_or
from protocol.catalog import FormField
from protocol.forms import FieldError, validate_field
from world.labels import state_label

BASE_TEXT = 0.045
PANEL_BG = (0.07, 0.12, 0.16, 0.88)
CARD_BG = (0.98, 0.96, 0.91, 0.96)
INK = (0.1, 0.12, 0.14, 1)
LIGHT = (0.97, 0.97, 0.95, 1)
ACCENT = (0.18, 0.49, 0.42, 1)
ERROR = (0.78, 0.12, 0.1, 1)
MUTED = (0.55, 0.6, 0.62, 1)


def localized(value: Any, lang: str) -> str:
    """``{"id":..,"en":..}`` → the text in ``lang``; plain strings pass through."""
    if isinstance(value, dict):
        return str(value.get(lang) or value.get("id") or value.get("en") or "")
    return "" if value is None else str(value)


class Panel:
    """One root frame on ``parent`` (aspect2d); subclasses build inside it."""

    def __init__(self, parent: Any, font: Any, lang: str, text_scale: float = 1.0) -> None:
        self.font = font
        self.lang = lang
        self.ts = BASE_TEXT * text_scale
        self.root = DirectFrame(parent=parent, frameColor=(0, 0, 0, 0))

    def label(
        self,
        text: str,
        pos: tuple[float, float],
        *,
        scale: float = 1.0,
        fg: Sequence[float] = LIGHT,
        align: int = TextNode.ALeft,
        wrap: float | None = None,
        parent: Any = None,
    ) -> DirectLabel:
        return DirectLabel(
            parent=parent or self.root,
            text=text,
            text_font=self.font,
            text_fg=fg,
            text_align=align,
            text_wordwrap=wrap,
            scale=self.ts * scale,
            pos=(pos[0], 0, pos[1]),
            frameColor=(0, 0, 0, 0),
        )

    def button(
        self,
        text: str,
        pos: tuple[float, float],
        command: Callable[..., Any],
        *,
        extra: Sequence[Any] = (),
        scale: float = 1.0,
        color: Sequence[float] = ACCENT,
    ) -> DirectButton:
        return DirectButton(
            parent=self.root,
            text=text,
            text_font=self.font,
            text_fg=LIGHT,
            scale=self.ts * scale,
            pos=(pos[0], 0, pos[1]),
            frameColor=color,
            pad=(0.4, 0.25),
            relief=DGG.FLAT,
            command=command,
            extraArgs=list(extra),
        )

    @property
    def visible(self) -> bool:
        return not self.root.isEmpty() and not self.root.isHidden()

    def destroy(self) -> None:
        if not self.root.isEmpty():
            self.root.destroy()


class ConnectionBanner(Panel):
    """Top strip telling the citizen the hall is (re)connecting; hidden while online."""

    def __init__(self, parent: Any, font: Any, lang: str, text_scale: float = 1.0) -> None:
        super().__init__(parent, font, lang, text_scale)
        self.state = "idle"
        self.root.reparentTo(parent, 100)  # drawn over any other panel (guided mode covers the screen)
        self.root.setPos(0, 0, 0.93)
        self.root["frameColor"] = (0.72, 0.45, 0.05, 0.92)
        self.root["frameSize"] = (-0.75, 0.75, -0.05, 0.06)
        self.text = self.label("", (0, -0.012), align=TextNode.ACenter)
        self.root.hide()

    def set_state(self, state: str) -> None:
        self.state = state
        if state in ("connecting", "reconnecting"):
            self.text["text"] = t(f"hall.{state}", self.lang)
            self.root.show()
        else:
            self.root.hide()

    @property
    def message(self) -> str:
        return str(self.text["text"]) if self.visible else ""


class ChatPanel(Panel):
    """History, a text entry and the assistant's quick replies."""

    MAX_ROWS = 15

    def __init__(
        self,
        parent: Any,
        font: Any,
        lang: str,
        text_scale: float,
        *,
        on_send: Callable[[str], None],
        on_close: Callable[[], None],
        on_focus: Callable[[bool], None] | None = None,
    ) -> None:
        super().__init__(parent, font, lang, text_scale)
        self.on_send = on_send
        self.on_focus = on_focus
        self.history: list[tuple[str, str]] = []
        self.root.setPos(1.12, 0, 0.02)
        self.root["frameColor"] = PANEL_BG
        self.root["frameSize"] = (-0.62, 0.62, -0.9, 0.84)
        self.label(t("hall.chat_title", lang), (-0.58, 0.76), scale=1.15, fg=(1, 0.86, 0.5, 1))
        self.button(t("hall.close", lang), (0.5, 0.765), on_close, scale=0.8, color=(0.35, 0.38, 0.4, 1))
        self.body = self.label("", (-0.58, 0.68), scale=0.85, wrap=26.0 / (text_scale or 1.0))
        self.body["text_align"] = TextNode.ALeft
        self.quick: list[DirectButton] = []
        self.entry = DirectEntry(
            parent=self.root,
            scale=self.ts * 0.9,
            pos=(-0.58, 0, -0.84),
            width=20.0 / (text_scale or 1.0),
            numLines=1,
            entryFont=font,
            text_fg=INK,
            frameColor=(1, 1, 1, 0.95),
            command=self._submit,
            initialText="",
            focus=0,
            focusInCommand=self._focus,
            focusInExtraArgs=[True],
            focusOutCommand=self._focus,
            focusOutExtraArgs=[False],
        )
        self.send_button = self.button(t("hall.send", lang), (0.5, -0.835), self._send_click, scale=0.8)
        self.placeholder = self.label(t("hall.chat_placeholder", lang), (-0.57, -0.915), scale=0.6, fg=MUTED)

    def _focus(self, on: bool) -> None:
        if self.on_focus is not None:
            self.on_focus(on)

    def focus(self) -> None:
        self.entry["focus"] = 1

    def _send_click(self) -> None:
        self._submit(self.entry.get())

    def _submit(self, text: str) -> None:
        text = text.strip()
        self.entry.enterText("")
        self.entry["focus"] = 1
        if text:
            self.on_send(text)

    def speaker(self, who: str) -> str:
        keys = {"you": "hall.you", "assistant": "hall.assistant_name", "officer": "hall.officer"}
        return t(keys.get(who, "hall.system"), self.lang)

    def add(self, who: str, text: str) -> None:
        self.history.append((who, text))
        self.render_history()

    def set_history(self, history: Sequence[tuple[str, str]]) -> None:
        self.history = list(history)
        self.render_history()

    def render_history(self) -> None:
        """Show the newest messages that fit; older ones scroll off the top."""
        node: TextNode = self.body.component("text0").node()
        shown: list[str] = []
        for who, text in reversed(self.history):
            shown.insert(0, f"{self.speaker(who)}: {text}")
            self.body["text"] = "\n\n".join(shown)
            if node.getNumRows() > self.MAX_ROWS:
                shown.pop(0)
                break
        self.body["text"] = "\n\n".join(shown)

    @property
    def text(self) -> str:
        return str(self.body["text"])

    def set_quick_replies(self, replies: Sequence[tuple[str, str]], on_pick: Callable[[str], None]) -> None:
        for b in self.quick:
            b.destroy()
        self.quick = []
        x = -0.58
        for label, payload in list(replies)[:4]:
            b = self.button(label[:28], (0, -0.74), on_pick, extra=[payload], scale=0.72, color=(0.22, 0.36, 0.55, 1))
            width = b.getWidth() * self.ts * 0.72
            if x + width > 0.6:
                b.destroy()
                break
            b.setX(x + width / 2)
            x += width + 0.03
            self.quick.append(b)


class FormPanel(Panel):
    """A form generated from the service's schema, with local hints and the server's 422 messages."""

    def __init__(
        self,
        parent: Any,
        font: Any,
        lang: str,
        text_scale: float,
        *,
        on_submit: Callable[[dict[str, Any]], None],
        on_cancel: Callable[[], None],
        on_focus: Callable[[bool], None] | None = None,
    ) -> None:
        super().__init__(parent, font, lang, text_scale)
        self.on_submit = on_submit
        self.on_focus = on_focus
        self.root.setPos(0.72, 0, 0.0)
        self.root["frameColor"] = CARD_BG
        self.root["frameSize"] = (-0.95, 0.95, -0.93, 0.88)
        self.title = self.label(t("hall.form_title", lang), (-0.9, 0.8), scale=1.2, fg=ACCENT)
        self.status = self.label(t("hall.form_loading", lang), (-0.9, -0.86), scale=0.85, fg=INK)
        self.fields: list[FormField | dict[str, Any]] = []
        self.inputs: dict[str, Any] = {}
        self.choice: dict[str, int] = {}
        self.messages: dict[str, DirectLabel] = {}
        self.service_id: str | None = None
        self.cancel_button = self.button(t("hall.cancel", lang), (0.55, -0.855), on_cancel, color=(0.45, 0.45, 0.45, 1))
        self.submit_button: DirectButton | None = None
        self.submitted: str | None = None

    # -------------------------------------------------------------- building

    def load(
        self, service: dict[str, Any], *, attention: Sequence[str] = (), prefill: dict[str, Any] | None = None
    ) -> None:
        self.service_id = str(service.get("id", ""))
        self.title["text"] = f"{t('hall.form_title', self.lang)}: {localized(service.get('name'), self.lang)}"[:60]
        rows = list(service.get("form") or [])
        step = min(0.2, 1.45 / max(1, len(rows)))
        y = 0.66
        for raw in rows:
            try:
                f: FormField | dict[str, Any] = FormField.model_validate(raw)
            except ValidationError:
                f = dict(raw)
            self.fields.append(f)
            name = self._attr(f, "name")
            req = " *" if self._attr(f, "required", True) else ""
            self.label(localized(self._label(f), self.lang) + req, (-0.9, y), scale=0.8, fg=INK)
            if self._attr(f, "type") == "select":
                self.choice[name] = -1
                w = self.button(
                    t("hall.choose", self.lang) + " ▾",
                    (-0.24, y - 0.005),
                    self._cycle,
                    extra=[name],
                    scale=0.8,
                    color=(0.3, 0.42, 0.5, 1),
                )
                w["text_align"] = TextNode.ALeft  # grows to the right as the chosen label changes
                w.resetFrameSize()
            else:
                w = DirectEntry(
                    parent=self.root,
                    scale=self.ts * 0.8,
                    pos=(-0.25, 0, y),
                    width=22,
                    numLines=1,
                    entryFont=self.font,
                    text_fg=INK,
                    frameColor=(1, 1, 1, 1),
                    initialText="",
                    command=self._entered,
                    extraArgs=[name],
                    focusInCommand=self._focus,
                    focusInExtraArgs=[name, True],
                    focusOutCommand=self._focus,
                    focusOutExtraArgs=[name, False],
                )
            self.inputs[name] = w
            msg = self.label("", (-0.25, y - 0.055), scale=0.62, fg=ERROR)
            self.messages[name] = msg
            if name in attention:
                msg["text"] = "⚠ " + ("periksa kembali" if self.lang == "id" else "please check")
            y -= step
        if prefill:
            for k, v in prefill.items():
                self.set_value(k, v)
        self.submit_button = self.button(t("hall.submit", self.lang), (0.82, -0.855), self._submit_click)
        self.status["text"] = ""

    @staticmethod
    def _attr(f: FormField | dict[str, Any], key: str, default: Any = None) -> Any:
        return f.get(key, default) if isinstance(f, dict) else getattr(f, key, default)

    def _label(self, f: FormField | dict[str, Any]) -> Any:
        lab = self._attr(f, "label")
        return lab.model_dump() if hasattr(lab, "model_dump") else lab

    def field(self, name: str) -> FormField | dict[str, Any]:
        for f in self.fields:
            if self._attr(f, "name") == name:
                return f
        raise KeyError(name)

    # -------------------------------------------------------------- values

    def _options(self, name: str) -> list[tuple[str, str]]:
        out = []
        for o in self._attr(self.field(name), "options", ()) or ():
            value = o["value"] if isinstance(o, dict) else o.value
            label = o["label"] if isinstance(o, dict) else o.label.model_dump()
            out.append((str(value), localized(label, self.lang)))
        return out

    def _cycle(self, name: str) -> None:
        opts = self._options(name)
        if not opts:
            return
        self.choice[name] = (self.choice[name] + 1) % len(opts)
        self.inputs[name]["text"] = opts[self.choice[name]][1] + " ▾"
        self.inputs[name].resetFrameSize()
        self.check(name)

    def set_value(self, name: str, value: Any) -> None:
        if name not in self.inputs:
            return
        if name in self.choice:
            for i, (v, label) in enumerate(self._options(name)):
                if str(value) in (v, label):
                    self.choice[name] = i
                    self.inputs[name]["text"] = label + " ▾"
                    self.inputs[name].resetFrameSize()
        else:
            self.inputs[name].enterText("" if value is None else str(value))

    def values(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for name, w in self.inputs.items():
            if name in self.choice:
                i = self.choice[name]
                if i >= 0:
                    data[name] = self._options(name)[i][0]
            else:
                text = w.get().strip()
                if text:
                    data[name] = text
        return data

    # -------------------------------------------------------------- validation

    def _focus(self, name: str, on: bool) -> None:
        if self.on_focus is not None:
            self.on_focus(on)
        if not on:
            self.check(name)

    def _entered(self, _text: str, name: str) -> None:
        self.check(name)
        names = list(self.inputs)
        nxt = names.index(name) + 1
        if nxt < len(names) and names[nxt] not in self.choice:
            self.inputs[names[nxt]]["focus"] = 1

    def check(self, name: str) -> str | None:
        """Local hint from protocol.forms (the server's own rules); returns the message shown."""
        f = self.field(name)
        if not isinstance(f, FormField):
            return None
        try:
            validate_field(f, self.values().get(name))
        except FieldError as exc:
            text = exc.message.en if self.lang == "en" else exc.message.id
            self.messages[name]["text"] = text
            return text
        self.messages[name]["text"] = ""
        return None

    def check_all(self) -> dict[str, str]:
        return {n: msg for n in self.inputs if (msg := self.check(n)) is not None}

    def show_errors(self, fields: dict[str, Any]) -> None:
        """The server's 422 ``detail.fields``: messages are ``{"id","en"}`` or plain text."""
        for name, msg in fields.items():
            if name in self.messages:
                self.messages[name]["text"] = localized(msg, self.lang)
        self.status["text"] = t("hall.form_invalid", self.lang)
        self.status["text_fg"] = ERROR

    def message(self, name: str) -> str:
        return str(self.messages[name]["text"])

    def _submit_click(self) -> None:
        if self.submitted is not None:  # sent once: a second press must not look like a new application
            self.set_status(
                f"{t('hall.form_sent', self.lang)} · {t('hall.tracking_number', self.lang)}: {self.submitted}"
            )
            return
        if self.check_all():
            self.status["text"] = t("hall.form_invalid", self.lang)
            self.status["text_fg"] = ERROR
            return
        self.status["text"] = t("hall.form_sending", self.lang)
        self.status["text_fg"] = INK
        self.on_submit(self.values())

    def submit(self) -> None:
        """Same as clicking the submit button (used by the guided tour and tests)."""
        self._submit_click()

    def set_status(self, text: str, ok: bool = True) -> None:
        self.status["text"] = text
        self.status["text_fg"] = ACCENT if ok else ERROR

    def show_done(self, tracking: str) -> None:
        """The application is in: Ajukan is disabled and says so; the form stays readable."""
        self.submitted = tracking
        self.set_status(f"{t('hall.form_sent', self.lang)} · {t('hall.tracking_number', self.lang)}: {tracking}")
        if self.submit_button is not None:
            self.submit_button["state"] = DGG.DISABLED
            self.submit_button["text"] = t("hall.form_sent", self.lang)

    # -------------------------------------------------------------- second factor

    def ask_code(self, on_code: Callable[[str], None]) -> None:
        """The one-time code step: one entry (6 digits) and a button, above the status line."""
        self.on_code = on_code
        if getattr(self, "code_entry", None) is None:
            self.code_label = self.label(t("hall.code_prompt", self.lang), (-0.9, -0.70), scale=0.7, fg=INK)
            self.code_entry = DirectEntry(
                parent=self.root,
                scale=self.ts * 0.9,
                pos=(-0.9, 0, -0.79),
                width=8,
                numLines=1,
                entryFont=self.font,
                text_fg=INK,
                frameColor=(1, 1, 0.85, 1),
                initialText="",
                command=lambda _text: self._code_click(),
                focusInCommand=self._focus_code,
                focusInExtraArgs=[True],
                focusOutCommand=self._focus_code,
                focusOutExtraArgs=[False],
            )
            self.code_button = self.button(t("hall.code_verify", self.lang), (0.0, -0.785), self._code_click)
        self.code_entry.enterText("")
        self.code_entry["focus"] = 1
        self.set_status(t("hall.code_prompt", self.lang))

    def _focus_code(self, on: bool) -> None:
        if self.on_focus is not None:
            self.on_focus(on)

    def enter_code(self, code: str) -> None:
        """Same as typing the code and pressing Verify (tests, the demo)."""
        self.code_entry.enterText(code)
        self._code_click()

    def _code_click(self) -> None:
        code = "".join(self.code_entry.get().split())
        if not (len(code) == 6 and code.isdigit()):
            self.set_status(t("hall.code_wrong", self.lang), ok=False)
            return
        self.set_status(t("hall.form_sending", self.lang))
        self.on_code(code)


class TicketCard(Panel):
    """The citizen's queue ticket, updated by queue.event frames."""

    def __init__(
        self,
        parent: Any,
        font: Any,
        lang: str,
        text_scale: float,
        ticket: dict[str, Any],
        *,
        on_close: Callable[[], None],
        on_go: Callable[[int], object] | None = None,
    ) -> None:
        super().__init__(parent, font, lang, text_scale)
        self.root.setPos(-1.38, 0, 0.5)
        self.root["frameColor"] = CARD_BG
        self.root["frameSize"] = (-0.36, 0.36, -0.36, 0.38)
        self.ticket = dict(ticket)
        self.label(t("hall.ticket_title", lang), (0, 0.3), align=TextNode.ACenter, fg=ACCENT)
        self.code = self.label("", (0, 0.1), scale=3.0, align=TextNode.ACenter, fg=INK)
        self.where = self.label("", (0, 0.0), align=TextNode.ACenter, fg=INK)
        self.state = self.label("", (0, -0.08), scale=0.8, align=TextNode.ACenter, fg=INK, wrap=16)
        self.wait = self.label("", (0, -0.2), scale=0.75, align=TextNode.ACenter, fg=MUTED)
        self.button(t("hall.close", lang), (0.22, -0.3), on_close, scale=0.7, color=(0.45, 0.45, 0.45, 1))
        if on_go is not None:
            self.button(
                t("hall.go_there", lang), (-0.12, -0.3), lambda: on_go(int(self.ticket.get("counter", 0))), scale=0.7
            )
        self.refresh()

    def update(self, **changes: Any) -> None:
        self.ticket.update({k: v for k, v in changes.items() if v is not None})
        self.refresh()

    def refresh(self) -> None:
        tk = self.ticket
        self.code["text"] = str(tk.get("code", "—"))
        self.where["text"] = f"{t('hall.counter', self.lang)} {tk.get('counter', '?')}"
        st = str(tk.get("state", "waiting"))
        self.state["text"] = t_or(f"hall.ticket_state_{st}", self.lang, st)
        self.state["text_fg"] = ERROR if st == "called" else INK
        wait = tk.get("estimated_wait_min")
        self.wait["text"] = (
            f"{t('hall.estimated_wait', self.lang)}: {wait} {t('hall.minutes', self.lang)}" if wait is not None else ""
        )

    @property
    def text(self) -> str:
        return " ".join(str(w["text"]) for w in (self.code, self.where, self.state, self.wait))


class ApplicationTracker(Panel):
    """The citizen's applications with a live timeline (application.event frames)."""

    MAX_APPS = 3

    def __init__(
        self,
        parent: Any,
        font: Any,
        lang: str,
        text_scale: float,
        *,
        on_close: Callable[[], None],
        on_save: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(parent, font, lang, text_scale)
        self.on_save = on_save
        self.documents: dict[str, dict[str, Any]] = {}
        self.save_button: Any = None
        self.root.setPos(-1.2, 0, -0.35)
        self.root["frameColor"] = CARD_BG
        self.root["frameSize"] = (-0.55, 0.55, -0.6, 0.42)
        self.label(t("hall.tracker_title", lang), (-0.5, 0.34), scale=1.1, fg=ACCENT)
        self.button(t("hall.close", lang), (0.42, 0.35), on_close, scale=0.7, color=(0.45, 0.45, 0.45, 1))
        self.body = self.label("", (-0.5, 0.24), scale=0.72, fg=INK, wrap=28)
        self.apps: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []
        self.refresh()

    def _app(self, tracking: str) -> dict[str, Any]:
        if tracking not in self.apps:
            self.apps[tracking] = {"tracking_number": tracking, "service_id": "", "state": "", "timeline": []}
        if tracking in self.order:
            self.order.remove(tracking)
        self.order.insert(0, tracking)
        return self.apps[tracking]

    def set_applications(self, apps: Sequence[dict[str, Any]]) -> None:
        for a in sorted(apps, key=lambda a: str(a.get("created_at", ""))):
            rec = self._app(str(a.get("tracking_number")))
            rec["service_id"] = a.get("service_id", rec["service_id"])
            rec["state"] = a.get("state", rec["state"])
        self.refresh()

    def set_timeline(self, tracking: str, events: Sequence[dict[str, Any]]) -> None:
        rec = self._app(tracking)
        for e in events:
            self._add(rec, str(e.get("to_state", "")), e.get("at"), e.get("note"), e.get("seq"))
        self.refresh()

    def add_event(
        self, tracking: str, service_id: str, to_state: str, at: Any, note: str | None = None, seq: int | None = None
    ) -> None:
        rec = self._app(tracking)
        rec["service_id"] = service_id or rec["service_id"]
        self._add(rec, to_state, at, note, seq)
        self.refresh()

    @staticmethod
    def _add(rec: dict[str, Any], to_state: str, at: Any, note: str | None, seq: int | None) -> None:
        line = (to_state, _clock(at), note or "", seq)
        if any(x[3] == seq and seq is not None for x in rec["timeline"]):
            return
        if seq is None and any(x[:2] == line[:2] for x in rec["timeline"]):
            return
        rec["timeline"].append(line)
        rec["state"] = to_state

    def set_document(self, tracking: str, number: str, state: str) -> None:
        """An issued document of one application: the panel offers to save it while it is valid."""
        self._app(tracking)
        self.documents[tracking] = {"number": number, "state": state}
        self.refresh()

    def printable(self) -> str | None:
        """The newest application whose document can be saved and printed."""
        for tracking in self.order:
            doc = self.documents.get(tracking)
            if doc and doc["state"] != "revoked":
                return tracking
        return None

    def save(self) -> None:
        tracking = self.printable()
        if tracking and self.on_save is not None:
            self.on_save(tracking)

    def refresh(self) -> None:
        if not self.order:
            self.body["text"] = t("hall.no_applications", self.lang)
            return
        blocks = []
        for tracking in self.order[: self.MAX_APPS]:
            rec = self.apps[tracking]
            head = f"{tracking} · {rec['service_id']} · {state_label(rec['state'], self.lang)}"
            steps = [
                f"  • {clock} {state_label(st, self.lang)}" + (f" — {note[:40]}" if note else "")
                for st, clock, note, _ in rec["timeline"][-5:]
            ]
            doc = self.documents.get(tracking)
            if doc:
                state = t_or(f"hall.doc_state_{doc['state']}", self.lang, str(doc["state"]))
                steps.append("  ▸ " + t("hall.doc_line", self.lang, number=doc["number"], state=state))
            blocks.append("\n".join([head, *steps]))
        self.body["text"] = "\n\n".join(blocks)
        if self.printable() and self.on_save is not None and self.save_button is None:
            self.save_button = self.button(t("hall.doc_save", self.lang), (0.28, -0.52), self.save, scale=0.75)

    @property
    def text(self) -> str:
        return str(self.body["text"])


def _clock(at: Any) -> str:
    if isinstance(at, dt.datetime):
        return at.astimezone().strftime("%H:%M") if at.tzinfo else at.strftime("%H:%M")
    if isinstance(at, str):
        try:
            return _clock(dt.datetime.fromisoformat(at.replace("Z", "+00:00")))
        except ValueError:
            return at[:16]
    return ""


class SettingsPanel(Panel):
    """Language and text size; changes apply at once (the client rebuilds its panels)."""

    def __init__(
        self,
        parent: Any,
        font: Any,
        lang: str,
        text_scale: float,
        *,
        on_lang: Callable[[str], None],
        on_scale: Callable[[float], None],
        on_close: Callable[[], None],
    ) -> None:
        super().__init__(parent, font, lang, text_scale)
        self.root.setPos(0, 0, 0.1)
        self.root["frameColor"] = PANEL_BG
        self.root["frameSize"] = (-0.6, 0.6, -0.42, 0.42)
        self.label(t("hall.settings", lang), (-0.55, 0.32), scale=1.2, fg=(1, 0.86, 0.5, 1))
        self.label(t("hall.language", lang), (-0.55, 0.15))
        self.button(
            t("hall.lang_id", lang),
            (0.05, 0.16),
            on_lang,
            extra=["id"],
            color=ACCENT if lang == "id" else (0.3, 0.3, 0.3, 1),
        )
        self.button(
            t("hall.lang_en", lang),
            (0.4, 0.16),
            on_lang,
            extra=["en"],
            color=ACCENT if lang == "en" else (0.3, 0.3, 0.3, 1),
        )
        self.label(t("hall.text_size", lang), (-0.55, -0.05))
        self.size = self.label(f"{text_scale:.2f}×", (0.15, -0.05), align=TextNode.ACenter)
        self.button(t("hall.smaller", lang), (-0.05, -0.04), on_scale, extra=[-0.15], color=(0.3, 0.42, 0.5, 1))
        self.button(t("hall.larger", lang), (0.38, -0.04), on_scale, extra=[0.15], color=(0.3, 0.42, 0.5, 1))
        self.button(t("hall.close", lang), (0.42, -0.33), on_close, color=(0.45, 0.45, 0.45, 1))


__all__ = [
    "ApplicationTracker",
    "ChatPanel",
    "ConnectionBanner",
    "FormPanel",
    "Panel",
    "SettingsPanel",
    "TicketCard",
    "localized",
]
