"""Queue tickets, the now-serving boards, and the visitor's applications and issued documents.

The ticket card and the tracker are overlays (they stay up while the visitor walks), so
they belong here and not to a screen; live events update them and the chat says what changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from l10n import t
from protocol.api import ApplicationOut, BoardRow, IssuedDocumentOut, TicketOut
from protocol.messages import ApplicationEvent, BoardUpdate, DocumentEvent, QueueEvent
from world.control.bus import HttpAnswer
from world.labels import state_label
from world.net import SavedDocument
from world.panels import ApplicationTracker, TicketCard

if TYPE_CHECKING:
    from world.app import HallClient


class TicketController:
    def __init__(self, client: HallClient) -> None:
        self.client = client
        self.ticket: TicketCard | None = None
        self.tracker: ApplicationTracker | None = None
        self.applications: dict[str, dict[str, Any]] = {}
        self.documents: dict[str, dict[str, Any]] = {}  # tracking -> issued document (number, state)
        self.app_events: list[ApplicationEvent] = []
        self.queue_events: list[QueueEvent] = []
        self.board: dict[int, tuple[str | None, int]] = {}
        self.download_dir = Path.home() / "Downloads"
        bus = client.bus
        bus.on_frame(ApplicationEvent, self.on_application_event)
        bus.on_frame(QueueEvent, self.on_queue_event)
        bus.on_frame(DocumentEvent, self.on_document_event)
        bus.on_frame(BoardUpdate, lambda f: self.set_board(f.counter, f.now_serving, f.waiting))
        bus.on_http("board", self.on_board)
        bus.on_http("applications", self.on_applications)
        bus.on_http("documents", self.on_documents)
        bus.on_http("document.saved", self.on_saved)
        bus.on_http("timeline:", self.on_timeline, prefix=True)
        bus.on_http("ticket", self.on_ticket)

    @property
    def lang(self) -> str:
        return self.client.lang

    def refresh(self) -> None:
        """After (re)connecting: the boards and the visitor's applications as the server has them."""
        net = self.client.net
        if net is not None:
            net.board()
            net.applications()

    # ------------------------------------------------------------------ overlays

    def show_ticket(self, ticket: dict[str, Any]) -> TicketCard:
        if self.ticket is not None:
            self.ticket.destroy()
        c = self.client
        self.ticket = TicketCard(
            c.aspect2d,
            c.font,
            self.lang,
            c.cfg.text_scale,
            ticket,
            on_close=self.close_ticket,
            on_go=c.lead_to_counter,
        )
        return self.ticket

    def close_ticket(self) -> None:
        if self.ticket is not None:
            self.ticket.destroy()
            self.ticket = None

    def toggle_tracker(self) -> None:
        if self.tracker is not None:
            self.close_tracker()
            return
        c = self.client
        self.tracker = ApplicationTracker(
            c.aspect2d, c.font, self.lang, c.cfg.text_scale, on_close=self.close_tracker, on_save=self.save_document
        )
        self.tracker.set_applications(list(self.applications.values()))
        for ev in self.app_events:
            self.tracker.add_event(ev.tracking_number, ev.service_id, ev.to_state, ev.at, ev.note, ev.seq)
        for tracking, doc in self.documents.items():
            self.tracker.set_document(tracking, doc["number"], doc["state"])
        if c.net is not None:
            c.net.applications()
            c.net.issued_documents()

    def close_tracker(self) -> None:
        if self.tracker is not None:
            self.tracker.destroy()
            self.tracker = None

    def rebuild(self) -> None:
        """The language or text size changed: the overlays are drawn again."""
        if self.ticket is not None:
            self.show_ticket(dict(self.ticket.ticket))
        if self.tracker is not None:
            self.close_tracker()
            self.toggle_tracker()

    def destroy(self) -> None:
        self.close_ticket()
        self.close_tracker()

    def show_application(self, tracking: str) -> None:
        if self.tracker is None:
            self.toggle_tracker()
        assert self.tracker is not None
        self.tracker.set_applications([self.applications.get(tracking, {"tracking_number": tracking})])
        if self.client.net is not None:
            self.client.net.application_events(tracking, tag=f"timeline:{tracking}")

    def save_document(self, tracking: str) -> None:
        """The hall's "print": the signed PDF saved where the visitor's own printer can take it."""
        doc = self.documents.get(tracking)
        if self.client.net is None or doc is None:
            return
        name = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in str(doc["number"])) + ".pdf"
        self.client.net.save_document(tracking, self.download_dir / name)

    def remember_application(self, app: ApplicationOut) -> None:
        if app.tracking_number:
            self.applications.setdefault(app.tracking_number, {}).update(app.model_dump(mode="json"))

    def set_board(self, counter: int, now_serving: str | None, waiting: int) -> None:
        self.board[counter] = (now_serving, waiting)
        if self.client.scene is not None:
            self.client.scene.set_board(counter, now_serving, waiting)

    # ------------------------------------------------------------------ live events

    def on_document_event(self, ev: DocumentEvent) -> None:
        """Issued: the tracker offers the PDF. Handed over: the counter officer gives it (said in the chat)."""
        self.documents[ev.tracking_number] = {"number": ev.number, "state": ev.state, "title": ev.title}
        if self.tracker is not None:
            self.tracker.set_document(ev.tracking_number, ev.number, ev.state)
        chat = self.client.chat
        if ev.state == "issued":
            chat.log("system", f"{ev.title} {ev.number}: {t('hall.doc_ready', self.lang)}")
        elif ev.state == "handed_over":
            chat.log("officer", t("hall.doc_handed_over", self.lang, number=ev.number))
            if self.client.ai is not None:
                self.client.ai.set_talking(True)
        elif ev.state == "revoked":
            chat.log("system", t("hall.doc_revoked", self.lang, number=ev.number))

    def on_application_event(self, ev: ApplicationEvent) -> None:
        self.app_events.append(ev)
        rec = self.applications.setdefault(ev.tracking_number, {"tracking_number": ev.tracking_number})
        rec.update(service_id=ev.service_id, state=ev.to_state)
        if self.tracker is not None:
            self.tracker.add_event(ev.tracking_number, ev.service_id, ev.to_state, ev.at, ev.note, ev.seq)
        if ev.actor != "citizen":
            note = f" — {ev.note}" if ev.note else ""
            self.client.chat.log("system", f"{ev.tracking_number}: {state_label(ev.to_state, self.lang)}{note}")

    def on_queue_event(self, ev: QueueEvent) -> None:
        self.queue_events.append(ev)
        if self.ticket is not None and self.ticket.ticket.get("code") == ev.ticket_code:
            self.ticket.update(state=ev.state, estimated_wait_min=ev.estimated_wait_min)
        if ev.state == "called":
            if self.ticket is None:
                self.show_ticket({"code": ev.ticket_code, "counter": ev.counter, "state": "called"})
            text = t("hall.called_invite", self.lang, code=ev.ticket_code, n=ev.counter)
            chat = self.client.chat
            chat.ai_say(text)
            chat.log("assistant", text)
            chat.quick = [(t("hall.go_there", self.lang), f"__walk:{ev.counter}")]

    # ------------------------------------------------------------------ REST answers

    def on_board(self, answer: HttpAnswer) -> None:
        if isinstance(answer.data, list):
            for row in answer.data:
                assert isinstance(row, BoardRow)
                self.set_board(row.counter, row.now_serving, row.waiting)

    def on_applications(self, answer: HttpAnswer) -> None:
        if not isinstance(answer.data, list):
            return
        for app in answer.data:
            self.remember_application(app)
        if self.tracker is not None:
            self.tracker.set_applications([a.model_dump(mode="json") for a in answer.data])

    def on_documents(self, answer: HttpAnswer) -> None:
        if not isinstance(answer.data, list):
            return
        for doc in answer.data:
            assert isinstance(doc, IssuedDocumentOut)
            if doc.tracking_number:
                self.documents[doc.tracking_number] = {"number": doc.number, "state": doc.state}
                if self.tracker is not None:
                    self.tracker.set_document(doc.tracking_number, doc.number, doc.state)

    def on_saved(self, answer: HttpAnswer) -> None:
        if isinstance(answer.data, SavedDocument):
            self.client.chat.log("system", t("hall.doc_saved", self.lang, path=answer.data.path))
        else:
            self.client.chat.log("system", t("hall.doc_save_failed", self.lang))

    def on_timeline(self, answer: HttpAnswer) -> None:
        if isinstance(answer.data, list) and self.tracker is not None:
            self.tracker.set_timeline(answer.suffix, [e.model_dump(mode="json") for e in answer.data])

    def on_ticket(self, answer: HttpAnswer) -> None:
        if isinstance(answer.data, TicketOut):
            self.show_ticket(answer.data.model_dump(mode="json"))
