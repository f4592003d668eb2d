"""Differential test: the short websocket path against uvicorn's stock protocol, on the same bytes.

Both protocols get the same handshake and the same frame stream cut at the same
random points; the app behind each must receive the same messages, and each
must write the same frames back (pongs, close) and close the same way.
"""

from __future__ import annotations

import asyncio
import base64
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from uvicorn.config import Config
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState

from server.realtime.fastws import FastWebSocketProtocol
from tests.server.test_fastws import frame

MAX = 2048


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.out = bytearray()
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.out += bytes(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self.limits = (high, low)

    def resume_reading(self) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5000), "sockname": ("127.0.0.1", 8000)}.get(name, default)


def _server_frames(out: bytes) -> list[tuple[int, bytes]]:
    """Frames the server wrote after its 101 response."""
    data = out.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in out else b""
    frames, pos = [], 0
    while len(data) - pos >= 2:
        opcode, n, head = data[pos] & 0x0F, data[pos + 1] & 0x7F, 2
        if n == 126:
            n, head = int.from_bytes(data[pos + 2 : pos + 4], "big"), 4
        elif n == 127:
            n, head = int.from_bytes(data[pos + 2 : pos + 10], "big"), 10
        frames.append((opcode, data[pos + head : pos + head + n]))
        pos += head + n
    return frames


async def _run(cls: type[WebSocketsSansIOProtocol], chunks: list[bytes]) -> tuple[Any, ...]:
    received: list[Any] = []
    accepted = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        accepted.set()
        while True:
            msg = await receive()
            received.append((msg["type"], msg.get("text"), msg.get("bytes"), msg.get("code")))
            if msg["type"] == "websocket.disconnect":
                return

    config = Config(app=app, ws_max_size=MAX, ws_ping_interval=None, log_level="critical")
    config.load()
    proto = cls(config=config, server_state=ServerState(), app_state={})
    transport = FakeTransport()
    proto.connection_made(transport)
    key = base64.b64encode(os.urandom(16)).decode()
    proto.data_received(
        (
            f"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    await asyncio.wait_for(accepted.wait(), 5)
    for chunk in chunks:
        if transport.closed:
            break
        proto.data_received(chunk)
        for _ in range(3):
            await asyncio.sleep(0)
    proto.connection_lost(None)
    for _ in range(10):
        await asyncio.sleep(0)
    return received, _server_frames(bytes(transport.out)), transport.closed


texts = st.one_of(st.text(max_size=40).map(str.encode), st.binary(max_size=30), st.just(b"x" * 300))
frames = st.tuples(
    st.sampled_from([0x0, 0x1, 0x2, 0x3, 0x8, 0x9, 0xA]),
    st.one_of(texts, st.just(b"p" * 130), st.just(b"y" * (MAX + 10))),
    st.booleans(),  # fin
    st.booleans() | st.just(True),  # masked (mostly)
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=st.lists(frames, min_size=1, max_size=8), cuts=st.lists(st.integers(1, 400), max_size=6))
def test_short_path_behaves_like_the_library(stream: list[tuple[int, bytes, bool, bool]], cuts: list[int]) -> None:
    data = b"".join(frame(op, payload, fin=fin, masked=masked) for op, payload, fin, masked in stream)
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    chunks = [data[a:b] for a, b in zip(points, points[1:], strict=False) if b > a]
    fast_msgs, fast_frames, fast_closed = asyncio.run(_run(FastWebSocketProtocol, chunks))
    stock_msgs, stock_frames, stock_closed = asyncio.run(_run(WebSocketsSansIOProtocol, chunks))
    where = [(op, len(p), p[:8], fin, m) for op, p, fin, m in stream]
    assert (fast_frames, fast_closed) == (stock_frames, stock_closed), where  # pongs, close frame, closing
    assert fast_msgs[-1] == stock_msgs[-1], where  # the same disconnect code
    fast_data, stock_data = fast_msgs[:-1], stock_msgs[:-1]
    # Given good frames and a protocol error in one read, uvicorn drops the good ones with the
    # connection; the short path has delivered them already. Nothing else may differ.
    assert fast_data[: len(stock_data)] == stock_data, where
    if len(fast_data) > len(stock_data):
        assert stock_msgs[-1][3] in (1002, 1007, 1009), where


def test_one_whole_text_frame_per_read_behaves_like_the_library() -> None:
    """The one-frame shortcut (a move per read, the common case) on its own: good, bad UTF-8, then more."""
    stream = [(0x1, b'{"type":"presence.move"}'), (0x1, "é".encode() * 40), (0x1, b""), (0x1, b"\xff\xfe"), (0x1, b"x")]
    chunks = [frame(op, payload) for op, payload in stream]
    fast = asyncio.run(_run(FastWebSocketProtocol, chunks))
    stock = asyncio.run(_run(WebSocketsSansIOProtocol, chunks))
    assert fast == stock
    assert [m[1] for m in fast[0][:3]] == ['{"type":"presence.move"}', "é" * 40, ""]
    assert fast[0][-1][3] == 1007  # the bad UTF-8 frame closes it, as the library does
