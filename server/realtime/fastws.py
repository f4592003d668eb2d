"""uvicorn's websockets (sans-I/O) protocol with a short path for the frames presence lives on.

At 1,000 visitors a node receives 10,000 small masked text frames a second and
sends 10,000 snapshots. Per frame, the stock protocol runs the websockets
parser (a Python generator per frame), pauses and resumes the socket, and
serialises outgoing frames through the same library. Here:

* complete, final, uncompressed text/binary frames and pings are parsed with
  a few byte operations and the library's C unmasking; anything else (a
  close, a fragment, a 64-bit length, a bad UTF-8 payload, an extension) and
  everything after it goes to the stock parser, which then owns the
  connection for good. It starts at a frame boundary, so it sees exactly the
  bytes it would have seen;
* reading pauses only when 32 small messages wait unread, or at once after
  a large one (the stock protocol pauses after each), so a flooding client
  holds at most ~128 KiB of small messages plus one large one;
* outgoing text frames are framed here (server frames are not masked), and
  the ASGI scope extension ``mpp.fastws`` offers the app a synchronous send:
  the presence tick writes 1,000 snapshots straight to their sockets instead
  of waking 1,000 writer tasks. It refuses (and the caller queues) whenever
  the socket is not plainly writable;
* the app may take text messages synchronously (``on_text``), in order: the
  10,000 moves a second then skip the receive queue and a task wake-up each.

Everything else (handshake, close handshake, keepalive, errors) is uvicorn's.

Why not picows (Cython framing, per-frame callbacks, a synchronous send)? ``mpp bench
ws-transport`` runs the same presence relay on websockets, on uvicorn with this class and
on picows 2.3.1, driven by the presence bots (moves at 10 Hz, K=40). Measured 2026-12-07 on
this 2-core machine while other jobs kept its load average at 15-20, two runs each:

=============  ===========================  ==========================
visitors       picows CPU / this path's     picows p99 / this path's
=============  ===========================  ==========================
200            0.90x, 0.88x                 1.07x, 2.47x
1,000          0.94x, 1.18x                 2.12x, 2.89x
=============  ===========================  ==========================

At 200 both deliver every update and picows saves ~10% of a transport's CPU; at 1,000 the
bots, not the servers, are the limit, and picows' latency tail is the worse one. That does
not match this path at 1,000 visitors, and it would not pay for moving ``/ws`` (replay,
events, chat and calls share it) to a second listener with its own handshake, origin check,
limits and close handling.

This class reads uvicorn internals. They are listed once, in :data:`UVICORN_INTERNALS`, and
:func:`unsupported_reason` checks them (and the version) before ``mpp serve`` picks the class;
on a uvicorn that renamed one it says so and the stock protocol serves (slower, still right).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import socket
import struct
from typing import Any

from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.speedups import apply_mask

from server.settings import get_settings

log = logging.getLogger(__name__)
_TEXT, _BINARY, _PING, _PONG = 0x1, 0x2, 0x9, 0xA
READ_PAUSE_AT = 32
_TEXT16 = struct.Struct("!BBH").pack  # final frame, 16-bit length
SMALL_MESSAGE = 4096  # a queued message above this pauses reading at once, as the stock protocol does
FEED_CHUNK = 1024  # bytes handed to the stock parser at a time: at most ~170 empty frames parsed per step
FEED_BUDGET = 16384  # bytes parsed by the stock parser per turn of the event loop, per connection
# ASGI scope extension, a dict: "send" (str -> bool) is a synchronous send for the presence tick; the app
# may set "on_text" (str -> bool): called with each text message while nothing else waits unread,
# True means "handled" (the message is not queued for receive()); and "charge" (() -> bool): called once
# per frame (data, ping, pong) before the short path acts on it, False means "over the rate limit".
FAST_HOOKS = "mpp.fastws"
# Keys of queued receive events: CHARGED, the frame was charged by "charge" already; OVER_LIMIT, "charge"
# refused a frame, nothing more is parsed and the app should close with 1008.
CHARGED = "mpp.charged"
OVER_LIMIT = "mpp.over_limit"


# The uvicorn versions this file was read against and measured on.
UVICORN_SUPPORTED = ((0, 55), (0, 55))  # keep pyproject's uvicorn pin inside it
# Everything of WebSocketsSansIOProtocol (and of its websockets ServerProtocol, ``conn``) used here.
UVICORN_INTERNALS = {
    "protocol": (
        "config",
        "conn",
        "queue",
        "transport",
        "read_paused",
        "writable",
        "handshake_initiated",
        "handshake_complete",
        "initial_response",
        "close_sent",
        "disconnected",
        "data_received",
        "connection_made",
        "handle_connect",
        "handle_pong",
        "send",
        "receive",
        "resume_writing",
        "loop",
    ),
    "conn": ("reader", "state", "extensions"),
}


@functools.cache
def unsupported_reason() -> str | None:
    """Why this class cannot run on the installed uvicorn, or None when it can."""
    import asyncio

    import uvicorn
    from uvicorn.config import Config
    from uvicorn.server import ServerState

    try:
        version = tuple(int(part) for part in uvicorn.__version__.split(".")[:2])
    except ValueError:
        return f"uvicorn {uvicorn.__version__}: unrecognised version"
    low, high = UVICORN_SUPPORTED
    if not low <= version <= high:
        return f"uvicorn {uvicorn.__version__} is outside {low}..{high}, the versions fastws.py supports"

    async def app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover - never called
        return None

    loop = asyncio.new_event_loop()
    try:
        config = Config(app, ws="websockets-sansio", ws_per_message_deflate=False, log_config=None)  # keep our logs
        config.load()
        probe = WebSocketsSansIOProtocol(config, ServerState(), {}, _loop=loop)
    except Exception as exc:  # noqa: BLE001 - any failure to build it means "unsupported"
        return f"uvicorn {uvicorn.__version__}: cannot build its websocket protocol ({exc!r})"
    finally:
        loop.close()
    missing = [f"protocol.{name}" for name in UVICORN_INTERNALS["protocol"] if not hasattr(probe, name)]
    missing += [f"conn.{name}" for name in UVICORN_INTERNALS["conn"] if not hasattr(probe.conn, name)]
    if missing:
        return f"uvicorn {uvicorn.__version__} lacks what server/realtime/fastws.py uses: {', '.join(missing)}"
    return None


def frame_header(opcode: int, length: int) -> bytes:
    """An unmasked, final frame header (RFC 6455 section 5.2)."""
    if length < 126:
        return bytes((0x80 | opcode, length))
    if length < 65536:
        return bytes((0x80 | opcode, 126)) + length.to_bytes(2, "big")
    return bytes((0x80 | opcode, 127)) + length.to_bytes(8, "big")


class BoundedWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's protocol, its parser fed in steps while the app keeps up (issue 15 D2).

    The stock ``data_received`` parses a whole read (up to 256 KiB) at once and queues every
    message in it: 40,000 empty frames per read held the event loop for seconds (``/health``
    over 20 s with 200 such clients) and the queue for longer. Here a read waits in
    ``backlog`` and reaches the parser ``FEED_CHUNK`` bytes at a time, only while fewer than
    ``READ_PAUSE_AT`` messages wait unread and the socket is writable (a client that floods
    pings and reads no pongs stops being parsed), and at most ``FEED_BUDGET`` bytes per turn
    of the event loop (after our close frame messages are dropped, not queued, so the queue
    alone would not stop it); the socket stays paused meanwhile.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.backlog = b""  # read from the socket, not yet given to the stock parser
        self.feed_scheduled = False

    def data_received(self, data: bytes) -> None:
        self.backlog = self.backlog + data if self.backlog else data
        self._feed()

    def _feed(self) -> None:
        budget = FEED_BUDGET
        while (
            self.backlog
            and self.queue.qsize() < READ_PAUSE_AT
            and self.writable.is_set()
            and not self.transport.is_closing()
        ):
            if budget <= 0:  # parsed enough for one turn of the event loop: others' turn first
                if not self.feed_scheduled:
                    self.feed_scheduled = True
                    self.loop.call_soon(self._scheduled_feed)
                break
            chunk, self.backlog = self.backlog[:FEED_CHUNK], self.backlog[FEED_CHUNK:]
            budget -= len(chunk)
            WebSocketsSansIOProtocol.data_received(self, chunk)
        self._pause_or_resume(bool(self.backlog))

    def _scheduled_feed(self) -> None:
        self.feed_scheduled = False
        self._parse_waiting()

    def _pause_or_resume(self, waiting: bool) -> None:
        """Keep the socket paused while parsed-but-unread bytes wait; else as the stock protocol does."""
        if waiting and not self.read_paused:
            self.read_paused = True
            self.transport.pause_reading()
        elif not waiting and self.read_paused and self.queue.empty() and not self.transport.is_closing():
            self.read_paused = False
            self.transport.resume_reading()

    def _parse_waiting(self) -> None:
        if self.backlog:
            self._feed()

    async def receive(self) -> Any:
        message = await super().receive()
        self._parse_waiting()  # the app took a message: room for what waits
        return message

    def resume_writing(self) -> None:
        super().resume_writing()
        self._parse_waiting()


class FastWebSocketProtocol(BoundedWebSocketProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fast = True  # False once the stock parser has been given frame bytes
        self.pending = b""  # frame bytes the short path has not parsed yet (a partial frame, or a full queue)
        self.refused = False  # "charge" said no: nothing from this client is parsed any more
        self.max_size = self.config.ws_max_size
        self.hooks: dict[str, Any] = {}

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        size = get_settings().ws_send_buffer
        if not size:
            return
        # Linux grows a socket's send buffer up to 4 MiB: for a client that stops reading that is
        # minutes of stale snapshots held in the kernel, out of reach of the send queue that merges
        # them. Small buffers (kernel and transport) hand the backlog to the queue within a few snapshots.
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):  # the peer may already be gone; the close follows
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)
        transport.set_write_buffer_limits(high=max(16384, size // 4))

    # ------------------------------------------------------------------ receiving

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return  # over the rate limit: the app is closing; uvicorn's close timer ends the socket
        if not self.handshake_complete:
            # Bytes after the upgrade request and before our 101 (a client that does not wait)
            # reach the stock parser, which then keeps the connection.
            if self.handshake_initiated:
                self.fast = False
            super().data_received(data)
            if self.conn.reader.buffer or self.backlog or self.queue.qsize() > 1:
                self.fast = False
            return
        if not self.fast or self.initial_response is not None or self.conn.extensions:
            self.fast = False
            super().data_received(data)
            return
        if (
            not self.pending
            and not self.read_paused
            and 6 <= len(data) <= 131
            and data[0] == 0x80 | _TEXT
            and data[1] == 0x80 | (len(data) - 6)  # masked, and exactly one frame: a move, 10,000 a second
            and len(data) - 6 <= self.max_size
            and self.queue.empty()
        ):
            self._parse_one_text(data)  # a move, without the parse loop
            return
        self._parse(data)

    def _parse_waiting(self) -> None:
        if self.fast and self.pending and not self.refused:
            self._parse(b"")
        else:
            super()._parse_waiting()

    def _parse(self, data: bytes) -> None:
        """Frames from ``pending + data`` until the queue is full; the rest waits in ``pending``.

        One whole small text frame with nothing waiting never gets here: ``data_received`` takes it.
        """
        buf = self.pending + data if self.pending else data
        pos, n = 0, len(buf)
        queue: Any = self.queue  # its events carry the CHARGED mark, which the ASGI types do not list
        pause = False
        charge = self.hooks.get("charge")
        mark = {CHARGED: True} if charge is not None else {}
        while n - pos >= 2:
            if queue.qsize() >= READ_PAUSE_AT or (pause and not queue.empty()):
                break  # the app is behind: parse the rest when it has read (receive())
            b0, b1 = buf[pos], buf[pos + 1]
            opcode, length, head = b0 & 0x0F, b1 & 0x7F, 2
            # final, no RSV bits, masked (clients must mask), and a kind this path knows
            if b0 & 0xF0 != 0x80 or not b1 & 0x80 or opcode not in (_TEXT, _BINARY, _PING, _PONG):
                return self._hand_over(buf[pos:])
            if length == 127 or (opcode >= _PING and length > 125):  # huge, or a control frame over 125
                return self._hand_over(buf[pos:])
            if length == 126:
                if n - pos < 4:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            if length > self.max_size:
                return self._hand_over(buf[pos:])  # the stock parser closes with 1009
            end = pos + head + 4 + length
            if end > n:
                break
            if charge is not None and not self.close_sent and not charge():
                return self._refuse()
            payload = apply_mask(buf[pos + head + 4 : end], buf[pos + head : pos + head + 4])
            pause = pause or length > SMALL_MESSAGE
            if opcode == _TEXT:
                try:
                    text = payload.decode()
                except UnicodeDecodeError:
                    return self._hand_over(buf[pos:])  # the stock parser closes with 1007
                if not self.close_sent and not self._handled(text):
                    queue.put_nowait({"type": "websocket.receive", "text": text, **mark})
            elif opcode == _BINARY:
                if not self.close_sent:
                    queue.put_nowait({"type": "websocket.receive", "bytes": payload, **mark})
            elif opcode == _PING:
                if not self.close_sent:
                    self.transport.write(frame_header(_PONG, len(payload)) + payload)
            else:
                self.handle_pong(Frame(Opcode.PONG, payload))  # uvicorn's keepalive bookkeeping
            pos = end
        self.pending = buf[pos:] if pos < n else b""
        full = queue.qsize() >= READ_PAUSE_AT or (pause and not queue.empty())
        if full and not self.read_paused:
            self.read_paused = True
            self.transport.pause_reading()
        elif not full and self.read_paused and queue.empty():
            self.read_paused = False  # parsed what waited after receive(); uvicorn resumed already or we do
            self.transport.resume_reading()

    def _parse_one_text(self, data: bytes) -> None:
        """:meth:`_parse` for one whole small text frame with nothing queued (the loop's steps, in order)."""
        charge = self.hooks.get("charge")
        if charge is not None and not self.close_sent and not charge():
            return self._refuse()
        try:
            text = apply_mask(data[6:], data[2:6]).decode()
        except UnicodeDecodeError:
            return self._hand_over(data)  # the stock parser closes with 1007
        handler = self.hooks.get("on_text")  # _handled, inlined; the queue is empty (the caller checked)
        if handler is not None and not self.close_sent:
            try:
                if handler(text):
                    return None
            except Exception:  # the app's bug must not take the socket's parser down: queue it instead
                log.exception("websocket on_text hook failed")
        if not self.close_sent:
            queue: Any = self.queue
            if charge is not None:
                queue.put_nowait({"type": "websocket.receive", "text": text, CHARGED: True})
            else:
                queue.put_nowait({"type": "websocket.receive", "text": text})
        return None

    def _refuse(self) -> None:
        """Over the rate limit: drop what is unparsed, stop reading, and tell the app (it closes 1008)."""
        self.refused = True
        self.pending = b""
        if not self.read_paused:
            self.read_paused = True
            self.transport.pause_reading()
        queue: Any = self.queue
        queue.put_nowait({"type": "websocket.receive", "text": "", OVER_LIMIT: True})

    def _handled(self, text: str) -> bool:
        """Offer a message to the app's synchronous handler; only in order (nothing queued before it)."""
        handler = self.hooks.get("on_text")
        if handler is None or not self.queue.empty():
            return False
        try:
            return bool(handler(text))
        except Exception:  # the app's bug must not take the socket's parser down: queue it instead
            log.exception("websocket on_text hook failed")
            return False

    def _hand_over(self, rest: bytes) -> None:
        self.fast = False
        self.pending = b""
        super().data_received(rest)  # fed in steps (BoundedWebSocketProtocol)

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        if self.handshake_initiated and not self.handshake_complete:
            self.hooks = {"send": self.send_text_nowait}
            self.scope["extensions"][FAST_HOOKS] = self.hooks  # type: ignore[index, assignment]

    # ------------------------------------------------------------------ sending

    def send_text_nowait(self, text: str) -> bool:
        """Write a text frame now if the socket takes it without waiting; False means "queue it instead"."""
        if (
            not self.handshake_complete
            or self.close_sent
            or self.disconnected
            or not self.writable.is_set()
            or self.initial_response is not None
            or self.conn.state is not State.OPEN
            or self.conn.extensions
        ):
            return False
        payload = text.encode()
        n = len(payload)
        # a snapshot is 126..65535 bytes: its header is one struct pack (frame_header's general case costs more)
        self.transport.write((_TEXT16(0x80 | _TEXT, 126, n) if 125 < n < 65536 else frame_header(_TEXT, n)) + payload)
        return True

    async def send(self, message: Any) -> None:
        text = message.get("text") if message["type"] == "websocket.send" else None
        if (
            text is None
            or message.get("bytes") is not None
            or not self.handshake_complete
            or self.close_sent
            or self.initial_response is not None
            or self.conn.state is not State.OPEN
            or self.conn.extensions
        ):
            await super().send(message)
            return
        if not self.writable.is_set():
            await self.writable.wait()
        if self.disconnected:
            raise ClientDisconnected()
        payload = text.encode()
        self.transport.write(frame_header(_TEXT, len(payload)) + payload)


__all__ = [
    "CHARGED",
    "FAST_HOOKS",
    "OVER_LIMIT",
    "BoundedWebSocketProtocol",
    "READ_PAUSE_AT",
    "UVICORN_INTERNALS",
    "FastWebSocketProtocol",
    "frame_header",
    "unsupported_reason",
]
