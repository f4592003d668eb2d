"""The transport-edge attacks of issue 15 (D2, D5) replayed against a real ``mpp serve``.

Each attack runs against a fresh server child; a health probe from another loopback
address (127.0.0.2, so a per-address limit on the attackers does not hide it) measures how
long ``/health`` takes to answer meanwhile, and the child's RSS is read from /proc.
``--baseline DIR`` runs the same attacks against another source tree (e.g. an older
commit unpacked with ``git archive``) in the same run, so the figures compare.

Every loop is bounded in count and time; all traffic stays on the loopback range.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

PROBE_SOURCE = "127.0.0.2"
MASK = b"\x00\x00\x00\x00"  # a zero mask leaves the payload as is; the frame is still a masked client frame


def rss_mib(pid: int) -> float:
    """Resident memory of ``pid`` in MiB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A final, masked client frame (RFC 6455 5.2) with a payload under 126 bytes."""
    return bytes((0x80 | opcode, 0x80 | len(payload))) + MASK + payload


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextlib.contextmanager
def serve(source: Path, env_overrides: dict[str, str] | None = None, timeout: float = 240.0) -> Iterator[Server]:
    """``mpp serve`` from ``source`` on a free port with its own data directory; killed on exit."""
    with tempfile.TemporaryDirectory(prefix="mpp-edge-") as data:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        env = {
            **os.environ,
            "PYTHONPATH": str(source),
            "MPP_DATA_DIR": data,
            "MPP_LOAD_ASSISTANT": "0",
            "MPP_OTP_DELIVERY": "console",
            **(env_overrides or {}),
        }
        env.pop("MPP_DATABASE_URL", None)
        env.pop("MPP_REDIS_URL", None)
        log = Path(data) / "serve.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "mpp.cli", "serve", "--port", str(port)],
                cwd=source,
                env=env,
                stdout=out,
                stderr=out,
            )
        server = Server(proc, port, log)
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("server did not start: " + log.read_text(errors="replace")[-2000:])
                try:
                    if httpx.get(server.base + "/api/v1/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.3)
            yield server
        finally:
            proc.kill()
            proc.wait(10)


@dataclass
class Probe:
    """``/health`` asked every ``interval`` seconds from 127.0.0.2; the worst answer time is the figure."""

    port: int
    interval: float = 0.5
    timeout: float = 30.0
    times: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        transport = httpx.AsyncHTTPTransport(local_address=PROBE_SOURCE)
        async with httpx.AsyncClient(transport=transport, timeout=self.timeout) as client:
            while not stop.is_set():
                start = time.monotonic()
                try:
                    r = await client.get(f"http://127.0.0.1:{self.port}/api/v1/health")
                    if r.status_code != 200:
                        self.failures.append(str(r.status_code))
                except httpx.HTTPError as exc:
                    self.failures.append(type(exc).__name__)
                self.times.append(time.monotonic() - start)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.interval)

    @property
    def worst(self) -> float:
        return max(self.times, default=0.0)


async def open_from(port: int, source: str = "127.0.0.1") -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))


async def ws_open(
    port: int, token: str, source: str = "127.0.0.1"
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A raw websocket: upgrade, then the hello; the welcome is left unread."""
    reader, writer = await open_from(port, source)
    writer.write(
        b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
    if not head.startswith(b"HTTP/1.1 101"):
        raise RuntimeError(head[:60].decode(errors="replace"))
    hello = json.dumps({"type": "hello", "token": token, "protocol_version": 2, "last_seq": 0}).encode()
    writer.write(client_frame(0x1, hello))
    return reader, writer


def close_code(data: bytes) -> int | None:
    """The code of the first close frame in a stream of (unmasked) server frames."""
    pos = 0
    while pos + 2 <= len(data):
        opcode, length, head = data[pos] & 0x0F, data[pos + 1] & 0x7F, 2
        if length == 126:
            length, head = int.from_bytes(data[pos + 2 : pos + 4], "big"), 4
        elif length == 127:
            length, head = int.from_bytes(data[pos + 2 : pos + 10], "big"), 10
        if opcode == 0x8:
            body = data[pos + head : pos + head + length]
            return int.from_bytes(body[:2], "big") if len(body) >= 2 else 1005
        pos += head + length
    return None


async def tiny_frame_flood(server: Server, connections: int, kib: int, hold: float) -> dict[str, Any]:
    """``connections`` sockets each send ``kib`` KiB of empty text frames after their hello, then wait."""
    async with httpx.AsyncClient(base_url=server.base, timeout=30) as http:
        tokens = [(await http.post("/api/v1/sessions", json={})).json()["token"] for _ in range(connections)]
    rss_before = rss_mib(server.proc.pid)
    flood = client_frame(0x1, b"") * (kib * 1024 // 6)
    stop = asyncio.Event()
    probe = Probe(server.port)
    probing = asyncio.create_task(probe.run(stop))
    peak = [rss_before]
    codes: dict[str, int] = {}

    async def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], rss_mib(server.proc.pid))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.2)

    sampling = asyncio.create_task(sample())

    async def one(token: str) -> None:
        reader, writer = await ws_open(server.port, token)
        got = b""
        try:
            writer.write(flood)
            with contextlib.suppress(ConnectionError):
                await asyncio.wait_for(writer.drain(), hold)
            deadline = time.monotonic() + hold
            while time.monotonic() < deadline:
                chunk = await asyncio.wait_for(reader.read(65536), deadline - time.monotonic())
                if not chunk:
                    break
                got += chunk
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
        code = close_code(got)
        key = str(code) if code is not None else "open" if not reader.at_eof() else "eof"
        codes[key] = codes.get(key, 0) + 1

    start = time.monotonic()
    await asyncio.gather(*(one(t) for t in tokens), return_exceptions=True)
    elapsed = time.monotonic() - start
    await asyncio.sleep(3.0)  # the clients are gone: what does the server keep?
    stop.set()
    await asyncio.gather(probing, sampling)
    return {
        "attack": f"tiny-frame flood {connections}x{kib} KiB",
        "close codes": codes,
        "rss MiB before/peak/after": [round(rss_before), round(peak[0]), round(rss_mib(server.proc.pid))],
        "health worst s": round(probe.worst, 2),
        "health failures": len(probe.failures),
        "attack s": round(elapsed, 1),
    }


async def slow_sender(
    server: Server,
    sockets: int,
    interval: float,
    hold: float,
    request: bytes,
    label: str,
    source: str = "127.0.0.1",
    head_first: bool = False,
) -> dict[str, Any]:
    """``sockets`` connections each send ``request`` one byte every ``interval`` s for up to ``hold`` s.

    ``head_first``: the headers go in one write, so the server is past them and only the body trickles.
    """
    first = request.index(b"\r\n\r\n") + 4 if head_first else 0
    stop = asyncio.Event()
    probe = Probe(server.port)
    probing = asyncio.create_task(probe.run(stop))
    rss_before = rss_mib(server.proc.pid)
    statuses: dict[str, int] = {}
    closed_at: list[float] = []
    start = time.monotonic()

    async def one() -> None:
        try:
            reader, writer = await open_from(server.port, source)
        except OSError:
            statuses["refused"] = statuses.get("refused", 0) + 1
            return
        outcome = "open"
        try:
            writer.write(request[:first])
            for i in range(first, len(request)):
                if time.monotonic() - start > hold:
                    break
                writer.write(request[i : i + 1])
                await writer.drain()
                try:
                    data = await asyncio.wait_for(reader.read(4096), interval)
                except TimeoutError:
                    continue
                outcome = data[9:12].decode(errors="replace") if data.startswith(b"HTTP/") else "closed"
                closed_at.append(time.monotonic() - start)
                break
        except ConnectionError:
            outcome = "reset"
            closed_at.append(time.monotonic() - start)
        finally:
            writer.close()
        statuses[outcome] = statuses.get(outcome, 0) + 1

    await asyncio.gather(*(one() for _ in range(sockets)), return_exceptions=True)
    stop.set()
    await probing
    closed_at.sort()
    return {
        "attack": f"{label} {sockets} sockets from {source}, 1 byte/{interval:g} s, {hold:g} s",
        "outcomes": statuses,
        "median s to close": round(closed_at[len(closed_at) // 2], 1) if closed_at else None,
        "rss MiB before/after": [round(rss_before), round(rss_mib(server.proc.pid))],
        "health worst s": round(probe.worst, 2),
        "health failures": len(probe.failures),
    }


SLOW_HEADERS = b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 200 + b"\r\n\r\n"
SLOW_BODY_HEAD = b"POST /api/v1/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"


def slow_body_request(size: int = 200) -> bytes:
    """Headers arrive at once (the first write), then a body of ``size`` bytes one byte at a time."""
    return SLOW_BODY_HEAD + f"Content-Length: {size}\r\n\r\n".encode() + b" " * (size - 2) + b"{}"


async def attacks(server: Server, scale: float) -> list[dict[str, Any]]:
    hold = 40.0 * scale
    out = [await tiny_frame_flood(server, int(200 * scale) or 1, 256, hold=10.0)]
    out.append(await slow_sender(server, int(750 * scale) or 1, 5.0, hold, SLOW_HEADERS, "slow headers"))
    # one untrusted address (not a proxy) holding many sockets
    out.append(
        await slow_sender(server, int(750 * scale) or 1, 5.0, hold, SLOW_HEADERS, "slow headers", source="127.0.0.3")
    )
    body = slow_body_request()
    # the head goes in one write so the server is past the headers; then the body trickles
    out.append(await _slow_body(server, int(300 * scale) or 1, 5.0, hold, body))
    return out


async def _slow_body(server: Server, sockets: int, interval: float, hold: float, request: bytes) -> dict[str, Any]:
    return await slow_sender(server, sockets, interval, hold, request, "slow body", head_first=True)


def run(sources: list[tuple[str, Path]], scale: float, stock: bool) -> list[dict[str, Any]]:
    """Every attack against every source tree (fast path; with ``stock`` also the stock websocket path)."""
    rows: list[dict[str, Any]] = []
    variants: list[tuple[str, dict[str, str]]] = [("fast", {})] + (
        [("stock", {"MPP_WS_FAST_PATH": "0"})] if stock else []
    )
    for label, source in sources:
        for variant, env in variants:
            with serve(source, env) as server:
                found = asyncio.run(attacks(server, scale) if variant == "fast" else _flood_only(server, scale))
            for row in found:
                rows.append({"code": label, "ws path": variant, **row})
                print(json.dumps(rows[-1]), flush=True)
    return rows


async def _flood_only(server: Server, scale: float) -> list[dict[str, Any]]:
    return [await tiny_frame_flood(server, int(200 * scale) or 1, 256, hold=10.0)]
