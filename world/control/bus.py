"""Where the network's events go: typed subscriptions instead of patching ``client.handle``.

A controller (or guided mode) subscribes to a frame class or to the answers of the REST
calls it tagged; unsubscribing is the callable that :meth:`Bus.on_frame` / :meth:`Bus.on_http`
return, so whoever subscribes also knows how to leave.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from protocol.api import ErrorDetail
from world.net import NetEvent

log = logging.getLogger("world.bus")
F = TypeVar("F")


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """One REST answer: ``data`` is the ``protocol.api`` model on success, ``problem`` the typed refusal."""

    tag: str
    status: int
    data: Any = None
    problem: ErrorDetail | None = None
    error: str | None = None
    body: Any = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300 and self.error is None

    @classmethod
    def of(cls, event: NetEvent) -> HttpAnswer:
        d: dict[str, Any] = event.data
        return cls(
            tag=str(d.get("tag", "")),
            status=int(d.get("status") or 0),
            data=d.get("data"),
            problem=d.get("problem"),
            error=d.get("error"),
            body=d.get("body"),
        )

    @property
    def suffix(self) -> str:
        """What follows ``prefix:`` in the tag (``service:ktp-el`` -> ``ktp-el``)."""
        return self.tag.split(":", 1)[1] if ":" in self.tag else ""


class Bus:
    def __init__(self) -> None:
        self._frames: dict[type, list[Callable[[Any], None]]] = {}
        self._http: list[tuple[str, bool, Callable[[HttpAnswer], None]]] = []
        self._status: list[Callable[[str], None]] = []

    def on_frame(self, kind: type[F], fn: Callable[[F], None]) -> Callable[[], None]:
        """Call ``fn`` with every frame of class ``kind``, after those subscribed before it."""
        subs = self._frames.setdefault(kind, [])
        subs.append(fn)
        return lambda: subs.remove(fn) if fn in subs else None

    def on_http(self, tag: str, fn: Callable[[HttpAnswer], None], *, prefix: bool = False) -> Callable[[], None]:
        """Answers whose tag is ``tag`` (or starts with it, with ``prefix``) go to ``fn``."""
        entry = (tag, prefix, fn)
        self._http.append(entry)
        return lambda: self._http.remove(entry) if entry in self._http else None

    def on_status(self, fn: Callable[[str], None]) -> Callable[[], None]:
        self._status.append(fn)
        return lambda: self._status.remove(fn) if fn in self._status else None

    def subscribers(self, kind: type) -> list[Callable[[Any], None]]:
        return list(self._frames.get(kind, ()))

    def dispatch(self, event: NetEvent) -> None:
        if event.kind == "status":
            for fn in list(self._status):
                fn(str(event.data))
        elif event.kind == "http":
            self.answer(HttpAnswer.of(event))
        elif event.kind == "frame":
            self.frame(event.data)

    def frame(self, frame: Any) -> None:
        for fn in list(self._frames.get(type(frame), ())):
            fn(frame)

    def answer(self, answer: HttpAnswer) -> None:
        handled = False
        for tag, prefix, fn in list(self._http):
            if answer.tag == tag or (prefix and answer.tag.startswith(tag)):
                fn(answer)
                handled = True
        if not handled:
            log.debug("no subscriber for the answer tagged %s", answer.tag)
