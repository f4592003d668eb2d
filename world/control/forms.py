"""The form panel's round trips: the service's form, the second factor, then the application.

A form that carries a NIK is sent only after the session proved that NIK (code to the
NIK's registered contact), so the application is the citizen's; one Idempotency-Key per
opened form makes any retry safe.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from l10n import t
from protocol.api import ApplicationOut, ChallengeOut
from protocol.catalog import Service
from protocol.messages import Welcome
from world.control.bus import HttpAnswer
from world.panels import localized

if TYPE_CHECKING:
    from world.app import HallClient
    from world.panels import FormPanel


class FormController:
    def __init__(self, client: HallClient) -> None:
        self.client = client
        self.identified = False
        self.challenge: str | None = None  # the pending one-time-code challenge
        self.pending: dict[str, Any] | None = None  # service_id and data waiting for the second factor
        self.key: str | None = None
        self.attention: tuple[str, ...] = ()
        bus = client.bus
        bus.on_frame(Welcome, self.on_welcome)
        bus.on_http("service:", self.on_service, prefix=True)
        bus.on_http("identify", self.on_identify)
        bus.on_http("verify", self.on_verified)
        bus.on_http("submit", self.on_submitted)

    @property
    def lang(self) -> str:
        return self.client.lang

    @property
    def panel(self) -> FormPanel | None:
        return self.client.screens.form

    def on_welcome(self, frame: Welcome) -> None:
        self.identified = frame.citizen is not None

    def open(self, service_id: str, attention: tuple[str, ...] = ()) -> None:
        """A fresh form: its own Idempotency-Key, the fields the assistant pointed at, the service's form."""
        self.attention = tuple(attention)
        self.key = None
        net = self.client.net
        if net is None:
            self._load(self.client.catalog.service(service_id))
            return
        net.service(service_id, tag=f"service:{service_id}")

    def on_service(self, answer: HttpAnswer) -> None:
        if self.client.screens.state != "Form" or answer.suffix != self.client.screens.form_service:
            return  # an answer for a form already closed
        if isinstance(answer.data, Service):
            self._load(answer.data)
        elif self.panel is not None:
            self.panel.set_status(t("hall.form_load_failed", self.lang), ok=False)

    def _load(self, service: Service) -> None:
        if self.panel is not None:
            self.panel.load(service.model_dump(mode="json"), attention=self.attention)

    def submit(self, data: dict[str, Any]) -> None:
        """Identify first when the form carries a NIK (so the application is the citizen's), then create it."""
        sid = self.client.screens.form_service
        net = self.client.net
        if sid is None or net is None:
            return
        self.pending = {"service_id": sid, "data": data}
        nik = data.get("nik")
        if nik and not self.identified:
            name = str(data.get("full_name") or data.get("name") or self.client.cfg.name)
            contact = data.get("email") or data.get("phone")  # registers a NIK that has no contact yet
            net.identify(str(nik), name, tag="identify", contact=str(contact) if contact else None)
            return
        self._create_pending()

    def _create_pending(self) -> None:
        p, net = self.pending, self.client.net
        if p is None or net is None:
            return
        # one key per form: a retry after a lost answer can never create a second application
        self.key = net.create_application(p["service_id"], p["data"], submit=True, key=self.key, tag="submit")

    def on_identify(self, answer: HttpAnswer) -> None:
        if isinstance(answer.data, ChallengeOut):
            self.challenge = answer.data.challenge_id
            if self.panel is not None:
                self.panel.ask_code(self.verify_code)
            return
        self._identify_failed(answer)

    def verify_code(self, code: str) -> None:
        if self.client.net is not None and self.challenge:
            self.client.net.verify_code(self.challenge, code, tag="verify")

    def on_verified(self, answer: HttpAnswer) -> None:
        if answer.ok:
            self.identified = True
            self.challenge = None
            self._create_pending()
            return
        self._identify_failed(answer)

    def _identify_failed(self, answer: HttpAnswer) -> None:
        panel, problem = self.panel, answer.problem
        if panel is None:
            return
        if problem is not None and answer.status in (400, 429):
            panel.set_status(problem.text(self.lang), ok=False)
        elif problem is not None and answer.status == 422:
            panel.show_errors({problem.field or "nik": {"id": problem.message_id, "en": problem.message_en}})
        else:
            panel.set_status(t("hall.form_error", self.lang), ok=False)

    def on_submitted(self, answer: HttpAnswer) -> None:
        panel, c = self.panel, self.client
        if isinstance(answer.data, ApplicationOut) and answer.data.tracking_number:
            app = answer.data
            tn = app.tracking_number
            assert tn is not None
            c.tickets.remember_application(app)
            self.pending = None
            if panel is not None:
                panel.show_done(tn)
            c.chat.log("system", f"{t('hall.form_sent', self.lang)}: {tn}")
            c.chat.tell_submitted(app.service_id or c.screens.form_service or "", tn)
            c.tickets.show_application(tn)
            return
        if panel is None:
            return
        problem = answer.problem
        if problem is not None and answer.status == 422 and problem.fields:
            panel.show_errors(problem.fields)
        elif problem is not None and 400 <= answer.status < 500:
            panel.set_status(localized({"id": problem.message_id, "en": problem.message_en}, self.lang), ok=False)
        else:
            panel.set_status(t("hall.form_error", self.lang), ok=False)
