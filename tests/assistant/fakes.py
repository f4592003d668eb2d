"""In-memory ServicePort for assistant tests: the offline port plus a record of every call."""

from __future__ import annotations

from typing import Any

from assistant.offline import OfflinePort
from assistant.ports import Caller, SubmitResult


class FakePort(OfflinePort):
    """Shares nothing between instances; ``calls`` lets tests assert what the assistant asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, Any]] = []

    def submit_application(
        self, caller: Caller, service_id: str, data: dict[str, Any], idempotency_key: str
    ) -> SubmitResult:
        self.calls.append(("submit", {"service": service_id, "data": dict(data), "key": idempotency_key}))
        return super().submit_application(caller, service_id, data, idempotency_key)

    def identify(self, caller: Caller, nik: str, name: str) -> Caller:
        self.calls.append(("identify", {"name": name}))
        return super().identify(caller, nik, name)

    def names(self) -> list[str]:
        return [c[0] for c in self.calls]
