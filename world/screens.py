"""The client's screens as FSM states: Boot → Connecting → Hall → Conversation → Form (+ Settings).

Each ``enterX`` creates what the screen shows and its ``exitX`` destroys exactly that, so
any sequence of transitions leaves no panel, task or event hook behind. Ticket and tracker
cards are overlays owned by the client (they stay up while the citizen walks), not states.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from direct.fsm.FSM import FSM
from direct.gui.DirectGui import DirectLabel
from panda3d.core import TextNode

from l10n import t
from world.panels import ChatPanel, FormPanel, SettingsPanel

if TYPE_CHECKING:
    from world.app import HallClient

CONNECT_GRACE_S = 3.0  # after this the hall opens anyway; the banner keeps saying "reconnecting"


class Screens(FSM):
    def __init__(self, client: HallClient) -> None:
        FSM.__init__(self, "MPPScreens")
        self.client = client
        self.boot_label: DirectLabel | None = None
        self.hint: DirectLabel | None = None
        self.chat: ChatPanel | None = None
        self.form: FormPanel | None = None
        self.settings: SettingsPanel | None = None
        self.form_service: str | None = None
        self._back_to = "Hall"

    # ------------------------------------------------------------------ boot / connecting

    def enterBoot(self) -> None:
        c = self.client
        self.boot_label = DirectLabel(
            parent=c.aspect2d,
            text=t("hall.booting", c.lang),
            text_font=c.font,
            scale=0.06,
            pos=(0, 0, 0),
            frameColor=(0, 0, 0, 0),
            text_fg=(0.2, 0.2, 0.2, 1),
        )
        c.load_world()

    def exitBoot(self) -> None:
        if self.boot_label is not None:
            self.boot_label.destroy()
            self.boot_label = None

    def enterConnecting(self) -> None:
        c = self.client
        c.banner.set_state("connecting")
        c.connect_started = c.now()
        if c.net is not None:
            c.net.start()

    def exitConnecting(self) -> None:
        pass

    # ------------------------------------------------------------------ hall

    def enterHall(self) -> None:
        c = self.client
        self.hint = DirectLabel(
            parent=c.aspect2d,
            text=t("hall.hint_keys", c.lang),
            text_font=c.font,
            scale=0.036 * c.cfg.text_scale,
            pos=(0, 0, -0.96),
            frameColor=(0.1, 0.15, 0.2, 0.7),
            pad=(0.5, 0.3),
            text_fg=(1, 1, 1, 1),
            text_align=TextNode.ACenter,
        )
        c.on_hall_entered()

    def exitHall(self) -> None:
        if self.hint is not None:
            self.hint.destroy()
            self.hint = None

    # ------------------------------------------------------------------ conversation

    def enterConversation(self) -> None:
        c = self.client
        self.chat = ChatPanel(
            c.aspect2d,
            c.font,
            c.lang,
            c.cfg.text_scale,
            on_send=c.say,
            on_close=c.back,
            on_focus=c.set_typing,
        )
        self.chat.set_history(c.chat_history)
        if c.last_quick:
            self.chat.set_quick_replies(c.last_quick, c.say)
        self.chat.focus()
        c.ai_face_player()

    def exitConversation(self) -> None:
        if self.chat is not None:
            self.chat.destroy()
            self.chat = None
        self.client.set_typing(False)

    # ------------------------------------------------------------------ form

    def enterForm(self, service_id: str, attention: tuple[str, ...] = ()) -> None:
        c = self.client
        self.form_service = service_id
        self.form = FormPanel(
            c.aspect2d,
            c.font,
            c.lang,
            c.cfg.text_scale,
            on_submit=c.submit_form,
            on_cancel=c.back,
            on_focus=c.set_typing,
        )
        c.form_attention = tuple(attention)
        c.form_key = None
        c.request_service(service_id)

    def exitForm(self) -> None:
        if self.form is not None:
            self.form.destroy()
            self.form = None
        self.form_service = None
        self.client.set_typing(False)

    # ------------------------------------------------------------------ settings

    def enterSettings(self) -> None:
        c = self.client
        self.settings = SettingsPanel(
            c.aspect2d,
            c.font,
            c.lang,
            c.cfg.text_scale,
            on_lang=c.set_lang,
            on_scale=c.change_text_scale,
            on_close=c.back,
        )

    def exitSettings(self) -> None:
        if self.settings is not None:
            self.settings.destroy()
            self.settings = None

    def refresh_settings(self) -> None:
        """Rebuild the settings panel in place (after a language or text-size change)."""
        if self.state == "Settings":
            self.exitSettings()
            self.enterSettings()

    # ------------------------------------------------------------------ helpers

    def panels(self) -> list[Any]:
        return [p for p in (self.boot_label, self.hint, self.chat, self.form, self.settings) if p is not None]


__all__ = ["CONNECT_GRACE_S", "Screens"]
