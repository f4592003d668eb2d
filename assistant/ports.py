"""What the assistant needs from the outside world, as a ``typing.Protocol``.

The server implements this; tests use an in-memory fake. Keeping it small is
the point: the assistant can be reasoned about without the web stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Caller:
    """Who is talking: the visitor session, and the identified citizen if any."""

    session_id: str
    citizen_id: int | None = None
    nik: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class CodeChallenge:
    """A one-time code is on its way (or deliberately not: the reply never says which)."""

    challenge_id: str
    expires_in: int
    code_length: int = 6


@dataclass(frozen=True)
class SubmitResult:
    tracking_number: str
    state: str
    sla_due: str | None = None


@dataclass(frozen=True)
class StatusResult:
    tracking_number: str
    service_id: str
    state: str
    updated_at: str
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class TicketResult:
    code: str
    counter: int
    estimated_wait_min: int
    state: str


@dataclass(frozen=True)
class HandoffResult:
    handoff_id: int
    state: str


class PortError(Exception):
    """A refusal the citizen should hear about (bad NIK, not found, one ticket per counter...)."""

    def __init__(self, code: str, message_id: str, message_en: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message_en)
        self.code = code
        self.message_id = message_id
        self.message_en = message_en
        self.extra = dict(extra or {})  # e.g. the ticket already held (ticket_exists)

    def message(self, lang: str) -> str:
        return self.message_en if lang == "en" else self.message_id


class ServicePort(Protocol):
    def identify(self, caller: Caller, nik: str, name: str) -> Caller:
        """The caller unchanged once proven; otherwise PortError('verify_first'): a NIK and name prove nothing."""
        ...

    def request_code(self, caller: Caller, nik: str, name: str, contact: str | None = None) -> CodeChallenge:
        """Second factor, step 1: a 6-digit code goes to the contact registered for the NIK
        (``contact`` only registers a NIK that has none). Raises PortError('too_many_attempts')."""
        ...

    def verify_code(self, caller: Caller, challenge_id: str, code: str) -> Caller:
        """Second factor, step 2: the identified caller, or PortError('code_invalid' | 'too_many_attempts')."""
        ...

    def submit_application(
        self, caller: Caller, service_id: str, data: dict[str, Any], idempotency_key: str
    ) -> SubmitResult: ...

    def application_status(self, caller: Caller, tracking_number: str) -> StatusResult:
        """Raises PortError(code='not_found') for another citizen's application."""
        ...

    def take_ticket(self, caller: Caller, counter: int) -> TicketResult: ...

    def request_handoff(
        self, caller: Caller, conversation_id: str, transcript: list[dict[str, Any]]
    ) -> HandoffResult: ...

    def load_conversation(self, conversation_id: str) -> list[dict[str, Any]]:
        """The conversation's event log, oldest first, so a restart resumes it."""
        ...

    def append_conversation(self, conversation_id: str, caller: Caller, event: dict[str, Any]) -> None: ...

    def append_conversation_events(self, conversation_id: str, caller: Caller, events: list[dict[str, Any]]) -> None:
        """A turn's events, stored together (one transaction on a database)."""
        ...
