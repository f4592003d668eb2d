"""The client's screens as FSM states: Boot → Connecting → Hall → Conversation → Form (+ Settings).

One class per screen with ``load`` / ``unload`` / ``enter`` / ``exit``: ``enter`` creates what
the screen shows and ``exit`` destroys exactly that, so any sequence of transitions leaves no
panel, task or event hook behind; ``load`` / ``unload`` hold what a screen keeps between
visits (none keeps anything yet: every panel is rebuilt in the current language and text
size). Ticket and tracker cards are overlays owned by ``world.control.tickets``, not states.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from direct.fsm.FSM import FSM
from direct.gui.DirectGui import DirectLabel
from panda3d.core import TextNode

from l10n import t
from world.panels import ChatPanel, FormPanel, SettingsPanel

if TYPE_CHECKING:
    from world.app import HallClient

CONNECT_GRACE_S = 3.0  # after this the hall opens anyway; the banner keeps saying "reconnecting"


class Screen:
    """One state of the screens FSM (the StateData pattern)."""

    name: ClassVar[str] = ""

    def __init__(self, client: HallClient) -> None:
        self.client = client
        self.loaded = False

    def load(self) -> None:
        self.loaded = True

    def unload(self) -> None:
        self.loaded = False

    def enter(self, *args: Any) -> None:
        """Show the screen; ``args`` are those of ``Screens.request``."""

    def exit(self) -> None:
        """Destroy what ``enter`` created."""

    def panels(self) -> list[Any]:
        return []


class BootScreen(Screen):
    name = "Boot"

    def __init__(self, client: HallClient) -> None:
        super().__init__(client)
        self.label: DirectLabel | None = None

    def enter(self, *args: Any) -> None:
        c = self.client
        self.label = DirectLabel(
            parent=c.aspect2d,
            text=t("hall.booting", c.lang),
            text_font=c.font,
            scale=0.06,
            pos=(0, 0, 0),
            frameColor=(0, 0, 0, 0),
            text_fg=(0.2, 0.2, 0.2, 1),
        )
        c.load_world()

    def exit(self) -> None:
        if self.label is not None:
            self.label.destroy()
            self.label = None

    def panels(self) -> list[Any]:
        return [self.label] if self.label is not None else []


class ConnectingScreen(Screen):
    name = "Connecting"

    def enter(self, *args: Any) -> None:
        c = self.client
        c.banner.set_state("connecting")
        c.connect_started = c.now()
        if c.net is not None:
            c.net.start()


class HallScreen(Screen):
    name = "Hall"

    def __init__(self, client: HallClient) -> None:
        super().__init__(client)
        self.hint: DirectLabel | None = None

    def enter(self, *args: Any) -> None:
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
        c.presence.join()

    def exit(self) -> None:
        if self.hint is not None:
            self.hint.destroy()
            self.hint = None

    def panels(self) -> list[Any]:
        return [self.hint] if self.hint is not None else []


class ConversationScreen(Screen):
    name = "Conversation"

    def __init__(self, client: HallClient) -> None:
        super().__init__(client)
        self.chat: ChatPanel | None = None

    def enter(self, *args: Any) -> None:
        c = self.client
        self.chat = ChatPanel(
            c.aspect2d,
            c.font,
            c.lang,
            c.cfg.text_scale,
            on_send=c.chat.say,
            on_close=c.back,
            on_focus=c.set_typing,
        )
        self.chat.set_history(c.chat.history)
        if c.chat.quick:
            self.chat.set_quick_replies(c.chat.quick, c.chat.say)
        self.chat.focus()
        c.ai_greet_player()

    def exit(self) -> None:
        if self.chat is not None:
            self.chat.destroy()
            self.chat = None
        self.client.set_typing(False)

    def panels(self) -> list[Any]:
        return [self.chat] if self.chat is not None else []


class FormScreen(Screen):
    name = "Form"

    def __init__(self, client: HallClient) -> None:
        super().__init__(client)
        self.form: FormPanel | None = None
        self.service_id: str | None = None

    def enter(self, *args: Any) -> None:
        service_id = str(args[0])
        attention: tuple[str, ...] = tuple(args[1]) if len(args) > 1 else ()
        c = self.client
        self.service_id = service_id
        self.form = FormPanel(
            c.aspect2d,
            c.font,
            c.lang,
            c.cfg.text_scale,
            on_submit=c.forms.submit,
            on_cancel=c.back,
            on_focus=c.set_typing,
        )
        c.forms.open(service_id, attention)

    def exit(self) -> None:
        if self.form is not None:
            self.form.destroy()
            self.form = None
        self.service_id = None
        self.client.set_typing(False)

    def panels(self) -> list[Any]:
        return [self.form] if self.form is not None else []


class SettingsScreen(Screen):
    name = "Settings"

    def __init__(self, client: HallClient) -> None:
        super().__init__(client)
        self.panel: SettingsPanel | None = None

    def enter(self, *args: Any) -> None:
        c = self.client
        self.panel = SettingsPanel(
            c.aspect2d,
            c.font,
            c.lang,
            c.cfg.text_scale,
            on_lang=c.set_lang,
            on_scale=c.change_text_scale,
            on_close=c.back,
        )

    def exit(self) -> None:
        if self.panel is not None:
            self.panel.destroy()
            self.panel = None

    def panels(self) -> list[Any]:
        return [self.panel] if self.panel is not None else []


SCREENS: tuple[type[Screen], ...] = (
    BootScreen,
    ConnectingScreen,
    HallScreen,
    ConversationScreen,
    FormScreen,
    SettingsScreen,
)


class Screens(FSM):
    """The FSM: each transition exits the old screen object and enters the new one."""

    defaultTransitions = None

    def __init__(self, client: HallClient) -> None:
        FSM.__init__(self, "MPPScreens")
        self.by_name: dict[str, Screen] = {cls.name: cls(client) for cls in SCREENS}
        self.boot = self._get(BootScreen)
        self.hall = self._get(HallScreen)
        self.conversation = self._get(ConversationScreen)
        self.form_screen = self._get(FormScreen)
        self.settings_screen = self._get(SettingsScreen)

    def _get(self, cls: type[Any]) -> Any:
        found = self.by_name[cls.name]
        assert isinstance(found, cls)
        return found

    def defaultFilter(self, request: str, args: Any) -> Any:
        """Only the screens above (and Off) are states; anything else is refused, not entered."""
        if request in self.by_name or request == "Off":
            return (request, *args)
        return None

    def defaultEnter(self, *args: Any) -> None:
        screen = self.by_name.get(str(self.newState))
        if screen is not None:
            if not screen.loaded:
                screen.load()
            screen.enter(*args)

    def defaultExit(self) -> None:
        screen = self.by_name.get(str(self.oldState))
        if screen is not None:
            screen.exit()

    def unload(self) -> None:
        for screen in self.by_name.values():
            if screen.loaded:
                screen.unload()

    # ---- what the client and the tests look at

    @property
    def chat(self) -> ChatPanel | None:
        return self.conversation.chat

    @property
    def form(self) -> FormPanel | None:
        return self.form_screen.form

    @property
    def form_service(self) -> str | None:
        return self.form_screen.service_id

    @property
    def settings(self) -> SettingsPanel | None:
        return self.settings_screen.panel

    def refresh_settings(self) -> None:
        """Rebuild the settings panel in place (after a language or text-size change)."""
        if self.state == "Settings":
            self.settings_screen.exit()
            self.settings_screen.enter()

    def panels(self) -> list[Any]:
        return [p for screen in self.by_name.values() for p in screen.panels()]


__all__ = ["CONNECT_GRACE_S", "SCREENS", "Screen", "Screens"]
