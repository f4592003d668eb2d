"""An in-memory ServicePort for ``mpp ask`` and ``mpp eval`` without a server.

Applications, tickets and handoffs live only in this process and are marked
as a rehearsal: nothing is sent to the real MPP. The server provides the real
port (database-backed) to the same Assistant.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
from typing import Any

from assistant.ports import (
    Caller,
    CodeChallenge,
    HandoffResult,
    PortError,
    StatusResult,
    SubmitResult,
    TicketResult,
)
from l10n import pair
from protocol.catalog import Catalog, default_catalog


class OfflinePort:
    """Everything a ServicePort does, kept in dictionaries; thread-safe for the CLI and tests."""

    def __init__(self, catalog: Catalog | None = None) -> None:
        self.catalog = catalog or default_catalog()
        self._lock = threading.Lock()
        self.conversations: dict[str, list[dict[str, Any]]] = {}
        self.applications: dict[str, dict[str, Any]] = {}
        self.by_key: dict[str, str] = {}
        self.tickets: list[TicketResult] = []
        self.handoffs: list[dict[str, Any]] = []
        self.citizens: dict[str, str] = {}
        self._serial = 0
        self._ticket_no: dict[int, int] = {}
        self.codes: dict[str, tuple[str, str, str]] = {}

    def identify(self, caller: Caller, nik: str, name: str) -> Caller:
        from protocol.nik import NikError, validate_nik

        try:
            validate_nik(nik)
        except NikError as exc:
            raise PortError("invalid_nik", exc.message_id, exc.message_en) from None
        with self._lock:
            known = self.citizens.setdefault(nik, name)
        if " ".join(known.lower().split()) != " ".join(name.lower().split()):
            # As the server does: a NIK belongs to one name, the first one it was registered with.
            raise PortError("identity_mismatch", *pair("assistant.offline_name_mismatch"))
        return Caller(session_id=caller.session_id, citizen_id=abs(hash(nik)) % 10**6 + 1, nik=nik, name=name)

    def request_code(self, caller: Caller, nik: str, name: str, contact: str | None = None) -> CodeChallenge:
        """Rehearsal: the code is kept in ``codes`` (nothing is sent anywhere)."""
        import secrets

        caller = self.identify(caller, nik, name)  # validates the NIK
        challenge = secrets.token_hex(8)
        with self._lock:
            self.codes[challenge] = (f"{secrets.randbelow(10**6):06d}", nik, name)
        return CodeChallenge(challenge, 300)

    def verify_code(self, caller: Caller, challenge_id: str, code: str) -> Caller:
        with self._lock:
            entry = self.codes.get(challenge_id)
            if entry is None or entry[0] != code.strip():
                raise PortError("code_invalid", *pair("assistant.offline_code_wrong"))
            del self.codes[challenge_id]
        return self.identify(caller, entry[1], entry[2])

    def _owner(self, caller: Caller) -> str:
        return caller.nik or caller.session_id

    def submit_application(
        self, caller: Caller, service_id: str, data: dict[str, Any], idempotency_key: str
    ) -> SubmitResult:
        from protocol.forms import validate_form

        with self._lock:
            if idempotency_key in self.by_key:
                app = self.applications[self.by_key[idempotency_key]]
                return SubmitResult(app["tracking_number"], app["state"], app["sla_due"])
            try:
                svc = self.catalog.service(service_id)
            except KeyError:
                raise PortError("unknown_service", *pair("assistant.offline_unknown_service")) from None
            clean, errors = validate_form(svc, data)
            if errors:
                first = next(iter(errors.values()))
                raise PortError("invalid_form", first.id, first.en)
            self._serial += 1
            tracking = f"BWI-{dt.date.today().year}-{self._serial:06d}"
            due = (dt.date.today() + dt.timedelta(days=max(1, svc.processing_days))).isoformat()
            self.applications[tracking] = {
                "tracking_number": tracking,
                "service_id": service_id,
                "state": "submitted",
                "owner": self._owner(caller),
                "data": clean,
                "sla_due": due,
                "updated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            }
            self.by_key[idempotency_key] = tracking
            return SubmitResult(tracking, "submitted", due)

    def application_status(self, caller: Caller, tracking_number: str) -> StatusResult:
        app = self.applications.get(tracking_number.upper())
        if app is None or app["owner"] != self._owner(caller):
            raise PortError("not_found", *pair("assistant.offline_not_yours", tracking=tracking_number))
        return StatusResult(app["tracking_number"], app["service_id"], app["state"], app["updated_at"])

    def take_ticket(self, caller: Caller, counter: int) -> TicketResult:
        with self._lock:
            _agency, c = self.catalog.counter(counter)
            n = self._ticket_no.get(counter, 0) + 1
            self._ticket_no[counter] = n
            ticket = TicketResult(code=f"{c.code}-{n:03d}", counter=counter, estimated_wait_min=5 * n, state="waiting")
            self.tickets.append(ticket)
            return ticket

    def request_handoff(self, caller: Caller, conversation_id: str, transcript: list[dict[str, Any]]) -> HandoffResult:
        with self._lock:
            self.handoffs.append({"conversation_id": conversation_id, "transcript": copy.deepcopy(transcript)})
            return HandoffResult(handoff_id=len(self.handoffs), state="waiting")

    def load_conversation(self, conversation_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self.conversations.get(conversation_id, []))

    def append_conversation(self, conversation_id: str, caller: Caller, event: dict[str, Any]) -> None:
        with self._lock:
            self.conversations.setdefault(conversation_id, []).append(copy.deepcopy(event))

    def append_conversation_events(self, conversation_id: str, caller: Caller, events: list[dict[str, Any]]) -> None:
        with self._lock:
            self.conversations.setdefault(conversation_id, []).extend(copy.deepcopy(events))
