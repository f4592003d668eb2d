"""The short websocket path (server/realtime/fastws.py) against a real ``mpp serve``, byte by byte.

Every frame the short path does not handle must reach the websockets library
intact, so these tests send what real clients and broken clients send: split
frames, pings, fragments, bad UTF-8, oversize and unmasked frames, and a
hello pipelined before the 101.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port, start_mpp_serve

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    data_dir: Path = tmp_path_factory.mktemp("fastws")
    port = free_port()
    # a stalled client fills a small buffer sooner; every change every tick (no distance or rank rates), so the
    # watcher's "one snapshot per tick" below measures the send path, not the rate bands
    proc = start_mpp_serve(
        data_dir, port, MPP_WS_SEND_BUFFER="16384", MPP_PRESENCE_NEAR_M="0", MPP_PRESENCE_RANK_NEAR="0"
    )
    try:
        yield port
    finally:
        proc.kill()
        proc.wait(10)


def frame(opcode: int, payload: bytes, *, fin: bool = True, masked: bool = True, length: int | None = None) -> bytes:
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | opcode])
    bit = 0x80 if masked else 0
    if n < 126:
        head += bytes([bit | n])
    elif n < 65536:
        head += bytes([bit | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([bit | 127]) + n.to_bytes(8, "big")
    if not masked:
        return head + payload
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class Raw:
    """A blocking RFC 6455 client that sends exactly the bytes a test asks for."""

    def __init__(self, port: int, *, pipelined: bytes = b"", rcvbuf: int | None = None) -> None:
        token = httpx.post(f"http://127.0.0.1:{port}/api/v1/sessions", json={"lang": "id"}).json()["token"]
        self.token = token
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:  # before connecting, so the TCP window stays this small
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        self.sock.sendall(request + pipelined)
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self.buf += self.sock.recv(4096)
        status, _, self.buf = self.buf.partition(b"\r\n\r\n")
        assert b" 101 " in status.split(b"\r\n")[0] + b" "

    def hello_bytes(self, name: str | None = None) -> bytes:
        body = {"type": "hello", "token": self.token, "protocol_version": 2, "last_seq": 0}
        if name:
            body["name"] = name
        return frame(0x1, json.dumps(body).encode())

    def _need(self, n: int) -> None:
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk

    def recv_frame(self) -> tuple[int, bytes]:
        self._need(2)
        opcode, n, head = self.buf[0] & 0x0F, self.buf[1] & 0x7F, 2
        if n == 126:
            self._need(4)
            n, head = int.from_bytes(self.buf[2:4], "big"), 4
        elif n == 127:
            self._need(10)
            n, head = int.from_bytes(self.buf[2:10], "big"), 10
        self._need(head + n)
        payload, self.buf = self.buf[head : head + n], self.buf[head + n :]
        return opcode, payload

    def recv_json(self, kind: str, limit: int = 200) -> dict[str, Any]:
        for _ in range(limit):
            opcode, payload = self.recv_frame()
            if opcode == 0x1:
                msg = json.loads(payload)
                if msg["type"] == kind:
                    return dict(msg)
        raise AssertionError(f"no {kind}")

    def close_code(self) -> int:
        for _ in range(200):
            opcode, payload = self.recv_frame()
            if opcode == 0x8:
                return int.from_bytes(payload[:2], "big")
        raise AssertionError("no close frame")


def test_frames_split_anywhere_and_pings_are_answered(server: int) -> None:
    c = Raw(server)
    for byte in c.hello_bytes():  # one byte per TCP segment: the short path must buffer
        c.sock.sendall(bytes([byte]))
        time.sleep(0.001)
    assert c.recv_json("welcome")["session_id"]
    c.sock.sendall(frame(0x9, b"are you there"))
    assert c.recv_frame() == (0xA, b"are you there")
    # two app frames and half of a third in one segment, the rest later
    third = frame(0x1, b'{"type":"ping","nonce":3}')
    c.sock.sendall(frame(0x1, b'{"type":"ping","nonce":1}') + frame(0x1, b'{"type":"ping","nonce":2}') + third[:5])
    time.sleep(0.05)
    c.sock.sendall(third[5:])
    assert [c.recv_json("pong")["nonce"] for _ in range(3)] == [1, 2, 3]
    c.sock.sendall(frame(0x1, b'{"type":"presence.join","x":1.0,"y":2.0}'))
    snap = c.recv_json("presence.snapshot")  # written by the tick straight to the socket
    assert snap["full"] is True and snap["hall"] == "Aula 1"


def test_a_fragmented_message_goes_to_the_library_which_keeps_the_connection(server: int) -> None:
    c = Raw(server)
    c.sock.sendall(c.hello_bytes())
    c.recv_json("welcome")
    body = b'{"type":"ping","nonce":42}'
    c.sock.sendall(frame(0x1, body[:10], fin=False) + frame(0x0, body[10:]))
    assert c.recv_json("pong")["nonce"] == 42
    c.sock.sendall(frame(0x9, b"x") + frame(0x1, b'{"type":"ping","nonce":43}'))
    assert c.recv_frame() == (0xA, b"x")
    assert c.recv_json("pong")["nonce"] == 43
    c.sock.sendall(frame(0x1, b'{"type":"presence.join","x":0,"y":0}'))
    assert c.recv_json("presence.snapshot")["full"] is True  # snapshots still flow


def test_a_frame_sent_before_the_101_never_breaks_the_server(server: int) -> None:
    """A client that does not wait for the 101 gets what the websockets library gives it.

    Depending on how TCP splits the segment the library refuses the connection, or
    drops the early frame and the app closes after its hello timeout, or (frame
    after the 101) serves it. We check that nobody else notices, and the server
    stays up.
    """
    probe = Raw(server)  # only for a token
    c = Raw(server, pipelined=probe.hello_bytes())
    c.sock.settimeout(1.0)
    with contextlib.suppress(ConnectionError, TimeoutError):
        c.recv_json("welcome")
    other = Raw(server)
    other.sock.sendall(other.hello_bytes())
    assert other.recv_json("welcome")["session_id"]
    other.sock.sendall(frame(0x1, b'{"type":"ping","nonce":5}'))
    assert other.recv_json("pong")["nonce"] == 5


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (frame(0x1, b"\xff\xfe not utf-8"), 1007),
        (frame(0x1, b"x" * 70_000), 1009),  # over the 64 KiB frame limit, 64-bit length
        (frame(0x1, b'{"type":"ping","nonce":1}', masked=False), 1002),  # clients must mask
        (frame(0x3, b"reserved opcode"), 1002),
        (frame(0x9, b"p" * 200), 1002),  # control frames carry at most 125 bytes
    ],
    ids=["bad-utf8", "oversize", "unmasked", "reserved-opcode", "long-ping"],
)
def test_broken_frames_get_the_library_close_code(server: int, raw: bytes, code: int) -> None:
    c = Raw(server)
    c.sock.sendall(c.hello_bytes())
    c.recv_json("welcome")
    c.sock.sendall(raw)
    assert c.close_code() == code
    # the server is fine for everybody else
    other = Raw(server)
    other.sock.sendall(other.hello_bytes())
    assert other.recv_json("welcome")


def test_a_client_close_is_echoed(server: int) -> None:
    c = Raw(server)
    c.sock.sendall(c.hello_bytes())
    c.recv_json("welcome")
    c.sock.sendall(frame(0x8, (1000).to_bytes(2, "big") + b"bye"))
    assert c.close_code() == 1000


def test_moves_taken_from_the_socket_reach_other_visitors_and_keep_the_rules(server: int) -> None:
    a, b = Raw(server), Raw(server)
    for c, x in ((a, 0.0), (b, 1.0)):
        c.sock.sendall(c.hello_bytes())
        c.recv_json("welcome")
        c.sock.sendall(frame(0x1, json.dumps({"type": "presence.join", "x": x, "y": 0.0}).encode()))
    b.recv_json("presence.snapshot")
    a.sock.sendall(frame(0x1, b'{"type":"presence.move","x":0.75,"y":0.0,"heading":90,"ts":11.5}'))
    for _ in range(50):
        snap = b.recv_json("presence.snapshot")
        moved = [r for r in snap.get("changed", []) if r[1] == 75]
        if moved:
            assert moved[0][1:] == [75, 0, 64]  # 0.75 m, 90 degrees as 64/256 of a turn
            break
    else:
        raise AssertionError("the move never reached the other visitor")
    a.sock.sendall(frame(0x1, b'{"type":"presence.move","x":900,"y":0.0,"ts":12.5}'))  # a teleport
    fix = a.recv_json("presence.correct")  # clamped as on the validated path
    assert fix["x"] < 20.0
    a.sock.sendall(frame(0x1, b'{"type":"presence.move","x":"far","y":0}'))  # bad: explained, not dropped
    assert a.recv_json("error")["code"] == "invalid_frame"


def test_a_move_flood_is_closed_by_the_shared_rate_limit(server: int) -> None:
    c = Raw(server)
    c.sock.sendall(c.hello_bytes())
    c.recv_json("welcome")
    c.sock.sendall(frame(0x1, b'{"type":"presence.join","x":0,"y":0}'))
    move = frame(0x1, b'{"type":"presence.move","x":0.1,"y":0.0,"ts":1}')
    c.sock.sendall(move * 500)  # far beyond rate x burst, all taken on the short path
    assert c.close_code() == 1008


def test_a_stalled_client_loses_snapshots_but_no_event_and_others_keep_their_rate(server: int) -> None:
    """A visitor whose client stops reading (tiny TCP window) in a crowd of 40 that keeps moving."""
    slow = Raw(server, rcvbuf=4096)
    watcher = Raw(server)
    movers = [Raw(server) for _ in range(40)]
    for i, c in enumerate([slow, watcher, *movers]):
        c.sock.sendall(c.hello_bytes(name=f"Pengunjung Nomor {i:02d} Banyuwangi"))
        c.recv_json("welcome")
        x, y = (i % 7) * 1.5 - 5.0, (i // 7) * 1.5 - 5.0
        c.sock.sendall(frame(0x1, json.dumps({"type": "presence.join", "x": x, "y": y}).encode()))
    for c in (watcher, *movers):
        c.sock.setblocking(False)
    auth = {"Authorization": f"Bearer {slow.token}"}
    watcher_snapshots, step, started = 0, 0, time.monotonic()
    while time.monotonic() - started < 8.0:  # the slow client reads nothing meanwhile
        step += 1
        for i, c in enumerate(movers):
            dx = 0.1 if step % 2 else -0.1
            move = {"type": "presence.move", "x": (i % 7) * 1.5 - 5.0 + dx, "y": 5.0 + (i // 7) * 1.5, "ts": step}
            c.sock.sendall(frame(0x1, json.dumps(move).encode()))
            with contextlib.suppress(BlockingIOError):
                while c.sock.recv(1 << 20):  # movers read (and ignore) their own snapshots
                    pass
        with contextlib.suppress(BlockingIOError):
            while chunk := watcher.sock.recv(1 << 20):
                watcher_snapshots += chunk.count(b'"presence.snapshot"')
        if step == 20:  # an event for the stalled client while its socket is full
            assert httpx.post(f"http://127.0.0.1:{server}/api/v1/queue/tickets", json={"counter": 1}, headers=auth)
        time.sleep(0.1)
    elapsed = time.monotonic() - started
    # the watcher got (nearly) every tick: the stalled client cost it nothing
    assert watcher_snapshots >= 0.7 * elapsed * 10, (watcher_snapshots, elapsed)
    # the stalled client now reads: its event is there once, and far fewer snapshots than ticks
    slow.sock.settimeout(3)
    kinds: list[str] = []
    slow_bytes = 0
    with contextlib.suppress(TimeoutError):
        while True:
            opcode, payload = slow.recv_frame()
            slow_bytes += len(payload)
            if opcode == 0x1:
                kinds.append(json.loads(payload)["type"])
    assert kinds.count("queue.event") == 1, kinds
    assert 0 < kinds.count("presence.snapshot") < 0.8 * elapsed * 10, (kinds.count("presence.snapshot"), slow_bytes)


def test_the_installed_uvicorn_is_one_fastws_supports() -> None:
    """Fails loudly when uvicorn moves (a new minor, a renamed internal): re-read fastws.py against it."""
    from server.realtime.fastws import unsupported_reason

    unsupported_reason.cache_clear()
    assert unsupported_reason() is None


def test_an_unsupported_or_renamed_uvicorn_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from server.realtime import fastws

    monkeypatch.setattr(uvicorn, "__version__", "0.99.0")
    fastws.unsupported_reason.cache_clear()
    try:
        reason = fastws.unsupported_reason()
        assert reason is not None and "0.99.0" in reason
    finally:
        monkeypatch.undo()
        fastws.unsupported_reason.cache_clear()
    # a renamed internal is caught even within the supported versions
    monkeypatch.setitem(fastws.UVICORN_INTERNALS, "protocol", (*fastws.UVICORN_INTERNALS["protocol"], "renamed_queue"))
    try:
        reason = fastws.unsupported_reason()
        assert reason is not None and "protocol.renamed_queue" in reason
    finally:
        monkeypatch.undo()
        fastws.unsupported_reason.cache_clear()
    assert fastws.unsupported_reason() is None
