"""Issue 15 D2 and D5 replayed against a real ``mpp serve``: each attack is bounded and stops itself.

The attackers come from 127.0.0.1 (a trusted proxy address by default, so only the timeouts
apply) or from 127.0.0.3/127.0.0.4 (ordinary clients, so the per-address cap applies too);
``/health`` is probed from 127.0.0.2. See ``mpp bench edge`` for the full-size figures.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from packaging.requirements import Requirement

from bench.edge import (
    SLOW_HEADERS,
    Server,
    open_from,
    rss_mib,
    slow_body_request,
    slow_sender,
    tiny_frame_flood,
    ws_open,
)
from bench.edge import _slow_body as slow_body
from tests.conftest import free_port, start_mpp_serve

ROOT = Path(__file__).resolve().parents[2]


def _serve(tmp: Path, **env: str) -> Iterator[Server]:
    port = free_port()
    proc = start_mpp_serve(tmp, port, timeout=60.0, **env)
    try:
        yield Server(proc, port, tmp / f"serve-{port}.log")
    finally:
        proc.kill()
        proc.wait(10)


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Short deadlines and a small per-address cap, so the attacks are seen within seconds."""
    yield from _serve(
        tmp_path_factory.mktemp("edge"),
        MPP_HTTP_HEADER_TIMEOUT="2",
        MPP_HTTP_BODY_TIMEOUT="2",
        MPP_HTTP_BODY_MIN_RATE="500",
        MPP_MAX_CONNECTIONS_PER_IP="5",
    )


@pytest.mark.slow
@pytest.mark.parametrize("fast_path", ["1", "0"], ids=["fast-path", "stock-path"])
def test_a_tiny_frame_flood_is_refused_as_it_arrives_and_costs_little(tmp_path: Path, fast_path: str) -> None:
    """20 clients x 256 KiB of empty frames: each is closed 1008, memory stays flat, /health answers.

    Before: the short path queued every frame of a read (+86 MiB for 20 clients, +835 MiB for 200,
    never given back); the stock path parsed whole reads at once (/health over 20 s at 200 clients).
    """
    for server in _serve(tmp_path, MPP_WS_FAST_PATH=fast_path):
        found = asyncio.run(tiny_frame_flood(server, connections=20, kib=256, hold=15.0))
        before, peak, after = found["rss MiB before/peak/after"]
        assert found["close codes"] == {"1008": 20}, found
        assert peak - before < 40, found
        assert found["health worst s"] < 3.0, found
        assert found["health failures"] == 0, found
        assert rss_mib(server.proc.pid) > 0  # still serving
        assert httpx.get(server.base + "/api/v1/health", timeout=5).status_code == 200


def test_slow_headers_get_408_and_lose_their_socket(guarded: Server) -> None:
    found = asyncio.run(slow_sender(guarded, 20, 0.5, 8.0, SLOW_HEADERS, "slow headers"))
    assert found["outcomes"] == {"408": 20}, found
    assert found["median s to close"] < 5.0, found
    assert found["health failures"] == 0, found


def test_a_trickled_body_gets_408_but_a_slow_honest_upload_passes(guarded: Server) -> None:
    found = asyncio.run(slow_body(guarded, 10, 0.5, 8.0, slow_body_request()))
    assert found["outcomes"] == {"408": 10}, found
    assert found["median s to close"] < 5.0, found

    async def honest() -> bytes:
        # 4,000 bytes at ~2,000 B/s: 2 s, past MPP_HTTP_BODY_TIMEOUT, but above MPP_HTTP_BODY_MIN_RATE
        body = b" " * 3998 + b"{}"
        reader, writer = await open_from(guarded.port)
        writer.write(
            b"POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        )
        for i in range(0, len(body), 400):
            writer.write(body[i : i + 400])
            await writer.drain()
            await asyncio.sleep(0.2)
        data = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        return data

    assert asyncio.run(honest()).startswith(b"HTTP/1.1 201"), "an upload at an honest rate was cut"


def test_one_address_holds_at_most_its_share_of_sockets_websockets_included(guarded: Server) -> None:
    async def scenario() -> None:
        held = [await open_from(guarded.port, "127.0.0.3") for _ in range(5)]
        reader, writer = await open_from(guarded.port, "127.0.0.3")
        refused = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        assert refused.startswith(b"HTTP/1.1 429"), refused[:80]
        assert b"retry-after: 5" in refused.lower()
        assert json.loads(refused.partition(b"\r\n\r\n")[2])["detail"]["code"] == "too_many_connections"
        # a trusted proxy address (127.0.0.1) is not capped: it carries many clients
        local = [await open_from(guarded.port) for _ in range(8)]
        for r, w in local:
            w.write(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert (await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 5)).startswith(b"HTTP/1.1 200")
            w.close()
        # a socket given back frees its place
        held[0][1].close()
        await asyncio.sleep(0.3)
        r, w = await open_from(guarded.port, "127.0.0.3")
        w.write(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert (await asyncio.wait_for(r.read(), 5)).startswith(b"HTTP/1.1 200")
        w.close()
        for _, w in held[1:]:
            w.close()
        await asyncio.sleep(0.3)
        # websockets count too
        async with httpx.AsyncClient(base_url=guarded.base) as http:
            tokens = [(await http.post("/api/v1/sessions", json={})).json()["token"] for _ in range(5)]
        sockets = [await ws_open(guarded.port, t, "127.0.0.4") for t in tokens]
        r, w = await open_from(guarded.port, "127.0.0.4")
        assert (await asyncio.wait_for(r.read(), 5)).startswith(b"HTTP/1.1 429")
        w.close()
        for _, w in sockets:
            w.close()

    asyncio.run(scenario())


def test_uvicorns_own_messages_are_json_log_lines(guarded: Server) -> None:
    with socket.create_connection(("127.0.0.1", guarded.port), timeout=5) as s:
        s.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        assert s.recv(4096).startswith(b"HTTP/1.1 400")
    deadline = time.monotonic() + 5
    while b"Invalid HTTP request" not in guarded.log.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.1)
    lines = guarded.log.read_text().splitlines()
    # uvicorn's own format is "WARNING:  message"; ours is one JSON object a line (mpp serve's banner aside)
    assert not [line for line in lines if line.split(":")[0] in ("INFO", "WARNING", "ERROR", "CRITICAL")]
    (line,) = [line for line in lines if "Invalid HTTP request" in line]
    record = json.loads(line)
    assert record["logger"] == "uvicorn.error" and record["level"] == "WARNING"


def test_limit_concurrency_answers_503_past_the_cap(tmp_path: Path) -> None:
    for server in _serve(tmp_path, MPP_LIMIT_CONCURRENCY="6"):

        async def scenario(server: Server = server) -> bytes:
            idle = [await open_from(server.port) for _ in range(6)]
            await asyncio.sleep(0.2)
            r, w = await open_from(server.port)
            w.write(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = await asyncio.wait_for(r.read(), 5)
            for _, iw in [*idle, (r, w)]:
                iw.close()
            return answer

        assert asyncio.run(scenario()).startswith(b"HTTP/1.1 503")


def test_the_uvicorn_pin_stays_inside_what_fastws_supports() -> None:
    """pyproject's range must admit exactly the minors UVICORN_SUPPORTED names (fastws reads its internals)."""
    from server.realtime.fastws import UVICORN_SUPPORTED

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (pin,) = [Requirement(d) for d in deps if Requirement(d).name == "uvicorn"]
    (low_major, low_minor), (high_major, high_minor) = UVICORN_SUPPORTED
    assert pin.specifier.contains(f"{low_major}.{low_minor}.0"), pin
    assert pin.specifier.contains(f"{high_major}.{high_minor}.9"), pin
    assert not pin.specifier.contains(f"{low_major}.{low_minor - 1}.9"), f"{pin} admits an older uvicorn"
    assert not pin.specifier.contains(f"{high_major}.{high_minor + 1}.0"), f"{pin} admits a newer uvicorn"
