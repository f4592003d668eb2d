"""uvicorn's HTTP protocol with the guards a public socket needs (issue 15 D5).

uvicorn has a keep-alive timeout between requests but none while a request arrives: a
client that sends one header byte every few seconds holds its socket (and a slot of
``limit_concurrency``) for as long as it likes, and so does one that trickles a body.
This subclass adds, per connection:

* a header deadline: the request line and headers must be complete within
  ``MPP_HTTP_HEADER_TIMEOUT`` seconds of the connection (or of the request's first byte
  on a kept-alive connection), else 408 and close;
* a body deadline in the manner of Apache's mod_reqtimeout: ``MPP_HTTP_BODY_TIMEOUT``
  seconds, extended by one second per ``MPP_HTTP_BODY_MIN_RATE`` bytes received, so a
  5 MiB upload over a slow link passes and one byte every 5 seconds does not. Time the
  app itself spends not reading (uvicorn pauses the socket) is not charged to the client;
* a cap on open connections per client address (``MPP_MAX_CONNECTIONS_PER_IP``), websockets
  included, answered with 429 and ``Retry-After``. Trusted proxies (``MPP_TRUSTED_PROXIES``)
  are exempt: behind nginx every connection comes from the proxy, which limits per real
  address itself (deploy/nginx/mpp.conf).

``mpp serve`` uses this class when httptools imports (uvicorn[standard]); otherwise
uvicorn's h11 protocol serves without these guards, and the log says so.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from server.settings import get_settings

log = logging.getLogger(__name__)


class ConnectionRegistry:
    """Open transports per client address; a closed transport leaves at its next count."""

    SWEEP_EVERY = 1024  # upgraded (websocket) connections are not released one by one: swept now and then

    def __init__(self) -> None:
        self.by_address: dict[str, set[Any]] = {}
        self.admitted = 0

    def admit(self, address: str, transport: Any, limit: int) -> bool:
        """Count ``transport`` in, unless ``address`` already holds ``limit`` open connections."""
        self.admitted += 1
        if self.admitted % self.SWEEP_EVERY == 0:
            self.sweep()
        open_ = self.by_address.setdefault(address, set())
        if len(open_) >= limit:
            for t in [t for t in open_ if t.is_closing()]:
                open_.discard(t)
            if len(open_) >= limit:
                return False
        open_.add(transport)
        return True

    def sweep(self) -> None:
        for address in list(self.by_address):
            open_ = {t for t in self.by_address[address] if not t.is_closing()}
            if open_:
                self.by_address[address] = open_
            else:
                del self.by_address[address]

    def release(self, address: str, transport: Any) -> None:
        open_ = self.by_address.get(address)
        if open_ is not None:
            open_.discard(transport)
            if not open_:
                del self.by_address[address]


REGISTRY = ConnectionRegistry()


def _error_response(status: int, phrase: str, code: str, message_id: str, message_en: str, extra: str = "") -> bytes:
    body = json.dumps(
        {"detail": {"code": code, "message": message_id, "message_id": message_id, "message_en": message_en}}
    ).encode()
    head = (
        f"HTTP/1.1 {status} {phrase}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
        f"{extra}connection: close\r\n\r\n"
    )
    return head.encode() + body


HEADER_TIMEOUT_RESPONSE = _error_response(
    408,
    "Request Timeout",
    "header_timeout",
    "Permintaan tidak lengkap dalam batas waktu.",
    "The request headers did not arrive in time.",
)
BODY_TIMEOUT_RESPONSE = _error_response(
    408,
    "Request Timeout",
    "body_timeout",
    "Isi permintaan tidak terkirim dalam batas waktu.",
    "The request body did not arrive in time.",
)
TOO_MANY_CONNECTIONS_RESPONSE = _error_response(
    429,
    "Too Many Requests",
    "too_many_connections",
    "Terlalu banyak koneksi dari alamat ini.",
    "Too many open connections from this address.",
    "retry-after: 5\r\n",
)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """Module level so that ``mpp serve --workers N`` can hand it to its worker processes."""

    deadline: asyncio.TimerHandle | None = None
    body_started = 0.0
    body_seen = 0
    address: str | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        s = get_settings()
        self.header_timeout, self.body_timeout = s.http_header_timeout, s.http_body_timeout
        self.min_rate, self.per_ip, self.trusted = s.http_body_min_rate, s.max_connections_per_ip, s.trusted_proxies

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        host = self.client[0] if self.client else None
        if self.per_ip and host is not None and host not in self.trusted:
            if not REGISTRY.admit(host, transport, self.per_ip):
                transport.write(TOO_MANY_CONNECTIONS_RESPONSE)
                transport.close()
                return
            self.address = host
        self._arm(self.header_timeout, self._header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self.address is not None:
            REGISTRY.release(self.address, self.transport)
        super().connection_lost(exc)

    def handle_websocket_upgrade(self) -> None:
        self._disarm()  # the websocket protocol has its own hello timeout and rate limits
        super().handle_websocket_upgrade()

    # -------------------------------------------------------------- deadlines

    def _arm(self, delay: float, callback: Any) -> None:
        self._disarm()
        if delay > 0:
            self.deadline = self.loop.call_later(delay, callback)

    def _disarm(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm(self.header_timeout, self._header_timeout)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()
        if self.transport.is_closing() or (self.parser.should_upgrade() and self._should_upgrade()):
            return
        if any(name in (b"content-length", b"transfer-encoding") for name, _ in self.headers):
            self.body_started, self.body_seen = self.loop.time(), 0
            self._arm(self.body_timeout, self._body_timeout)

    def on_body(self, body: bytes) -> None:
        super().on_body(body)
        self.body_seen += len(body)

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def _header_timeout(self) -> None:
        self.deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a request is being answered; the next one's headers are timed from its first byte
        self.transport.write(HEADER_TIMEOUT_RESPONSE)
        self.transport.close()

    def _body_timeout(self) -> None:
        self.deadline = None
        if self.transport.is_closing() or self.cycle is None:
            return
        now = self.loop.time()
        if self.flow.read_paused:  # the app has not taken what came: not the client's delay
            self.body_started, self.body_seen = now, 0
            self.deadline = self.loop.call_later(self.body_timeout, self._body_timeout)
            return
        allowed = self.body_started + self.body_timeout + (self.body_seen / self.min_rate if self.min_rate else 0.0)
        if allowed > now:  # the client kept the minimum rate
            self.deadline = self.loop.call_later(allowed - now, self._body_timeout)
            return
        cycle = self.cycle
        started = cycle.response_started
        cycle.disconnected = True  # the app's receive() now returns http.disconnect
        cycle.message_event.set()
        if not started:
            self.transport.write(BODY_TIMEOUT_RESPONSE)
        self.transport.close()


__all__ = ["REGISTRY", "ConnectionRegistry", "GuardedHttpToolsProtocol"]
