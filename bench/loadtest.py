"""Websocket presence load test: bot processes against the real server or a bare relay baseline.

Each bot opens a session (``POST /api/v1/sessions``), says ``hello``, joins,
then sends ``presence.move`` at 10 Hz, walking at 1.4 m/s on a circle whose
centre and phase are a hash of its public id (:func:`orbit`). A snapshot row
carries no timestamp (protocol 2), but any receiver can turn a position back
into the wall-clock time the walker was there, and all bots share the machine's
clock, so ``now - t(position)`` is the end-to-end latency (sender -> server
tick -> receiver), to ~7 ms (1 cm at walking speed). Positions the server
clamped (walls) are off the circle and not counted. Bots live in several
processes so the load generator is not the bottleneck on its own core.

The baseline (:func:`serve_relay`) is a bare ``websockets`` server that relays
at the same tick rate with the same row shape (K compact rows per snapshot,
every tick) but no database, validation, interest management or distance rates:
it is the ceiling the real server is compared against on the same machine.

Library code: it returns figures; ``mpp bench presence`` prints them.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import math
import multiprocessing as mp
import os
import queue as queue_mod
import random
import statistics
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

RESERVOIR = 20_000


@dataclass
class BotStats:
    """What one bot process saw; merged across processes by :func:`run_load`."""

    bots: int = 0
    connected: int = 0
    moves_sent: int = 0
    snapshots: int = 0
    updates: int = 0  # entities received in entered/changed
    bytes_in: int = 0
    errors: int = 0
    closes: dict[str, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    seen_latencies: int = 0
    bytes_by_part: dict[str, int] = field(default_factory=dict)  # probe bots: JSON bytes of each part
    probe_counts: dict[str, int] = field(default_factory=dict)  # probe bots: snapshots, rows, entered, left, ticks
    other_bytes: int = 0  # frames other than snapshots (pings, corrections, events): in bytes_in too

    def add_latency(self, value: float, rng: random.Random) -> None:
        """Reservoir sampling keeps memory flat however long the run."""
        self.seen_latencies += 1
        if len(self.latencies_ms) < RESERVOIR:
            self.latencies_ms.append(value)
        else:
            j = rng.randrange(self.seen_latencies)
            if j < RESERVOIR:
                self.latencies_ms[j] = value


ORBIT_R = 3.0  # metres
ORBIT_W = 1.4 / ORBIT_R  # rad/s: walking speed on the circle
ORBIT_T = 2 * math.pi / ORBIT_W


def orbit(ident: str) -> tuple[float, float, float]:
    """Centre and phase of the circle a bot with this public id walks (inside the hall's walls)."""
    h = hashlib.blake2b(ident.encode(), digest_size=6).digest()
    a, b, c = (int.from_bytes(h[i : i + 2], "big") / 65535 for i in (0, 2, 4))
    return -24.0 + 48.0 * a, -14.0 + 33.0 * b, 2 * math.pi * c


def orbit_at(ident: str, t: float) -> tuple[float, float, float]:
    cx, cy, phase = orbit(ident)
    ang = ORBIT_W * t + phase
    heading = math.degrees(ang) % 360.0  # tangent direction, in the same convention as the old walk
    return cx + ORBIT_R * math.cos(ang), cy + ORBIT_R * math.sin(ang), heading


def orbit_time(ident: str, x: float, y: float, now: float) -> float | None:
    """When, at or before ``now``, the walker ``ident`` was at (x, y); None if off its circle."""
    cx, cy, phase = orbit(ident)
    dx, dy = x - cx, y - cy
    if abs(math.hypot(dx, dy) - ORBIT_R) > 0.03:
        return None
    t = (math.atan2(dy, dx) - phase) / ORBIT_W
    return t + math.floor((now - t) / ORBIT_T) * ORBIT_T


class _Window:
    """The measurement window, shared by all processes (set once every bot is in)."""

    def __init__(self, ctx: Any) -> None:
        self.go = ctx.Value("d", 0.0)  # every bot is in: start moving
        self.start = ctx.Value("d", 0.0)
        self.stop = ctx.Value("d", 0.0)

    def going(self) -> bool:
        return float(self.go.value) > 0.0

    def measuring(self, now: float) -> bool:
        start = float(self.start.value)
        return 0.0 < start <= now

    def over(self, now: float) -> bool:
        stop = float(self.stop.value)
        return 0.0 < stop <= now


async def _session_token(client: Any, index: int) -> str:
    resp = await client.post("/api/v1/sessions", json={"lang": "id", "name": f"Bot {index}"})
    resp.raise_for_status()
    return str(resp.json()["token"])


class _Bot(asyncio.Protocol):
    """One visitor on a minimal RFC 6455 client written for the load tool.

    The ``websockets`` client spends ~50 us of Python per message; at 1,000 bots x 20
    messages/s that alone needs more than this machine's spare core, so the generator,
    not the server, set the latency. Here a frame costs a header parse and, for all but
    the probe bots, a C-level ``bytes.count``. No compression is offered (as the relay
    and the server are configured), the mask key is zero (payload sent as is), and the
    same bot serves the relay baseline and our server.
    """

    def __init__(
        self, index: int, host: str, path: str, token: str, window: _Window, stats: BotStats, probe: bool
    ) -> None:
        self.index, self.host, self.path, self.token = index, host, path, token
        self.window, self.stats, self.probe = window, stats, probe
        self.rng = random.Random(index)
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.partial = bytearray()
        self.upgraded = False
        self.welcomed = False
        self.closed = False
        self.joined: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.x, self.y = self.rng.uniform(-28, 28), self.rng.uniform(-18, 23)
        self.heading = self.rng.uniform(0, 360)
        self.me = ""  # public id, from the welcome: names this bot's circle
        self.orbits: dict[str, tuple[float, float, float]] = {}
        self.last_tick = 0  # probe: the last snapshot's tick (ticks between snapshots: merged or skipped)

    # ---- wire

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            (
                f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed and not self.window.over(time.time()):
            key = "lost:" + (type(exc).__name__ if exc else "eof")
            self.stats.closes[key] = self.stats.closes.get(key, 0) + 1
        self.closed = True
        if not self.joined.done():
            self.joined.set_result(False)

    def send(self, text: str, opcode: int = 0x1) -> None:
        if self.transport is None or self.closed:
            return
        data = text.encode()
        n = len(data)
        if n < 126:
            head = bytes((0x80 | opcode, 0x80 | n))
        elif n < 65536:
            head = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
        else:
            head = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
        self.transport.write(head + b"\x00\x00\x00\x00" + data)

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buf[: buf.find(b"\r\n")])
            del buf[: end + 4]
            if b" 101 " not in status + b" ":
                self.stats.closes["handshake"] = self.stats.closes.get("handshake", 0) + 1
                self.closed = True
                if self.transport is not None:
                    self.transport.close()
                return
            self.upgraded = True
            self.send(json.dumps({"type": "hello", "token": self.token, "protocol_version": 2, "last_seq": 0}))
        pos, n = 0, len(buf)
        while n - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            length, head = b1 & 0x7F, 2
            if length == 126:
                if n - pos < 4:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                if n - pos < 10:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            if n - pos < head + length:
                break
            payload = bytes(buf[pos + head : pos + head + length])
            pos += head + length
            opcode = b0 & 0x0F
            if opcode == 0x0:
                self.partial += payload
                if b0 & 0x80:
                    payload, self.partial = bytes(self.partial), bytearray()
                    self._message(payload)
            elif opcode in (0x1, 0x2):
                if b0 & 0x80:
                    self._message(payload)
                else:
                    self.partial = bytearray(payload)
            elif opcode == 0x9:
                self.send(payload.decode("latin-1"), opcode=0xA)
            elif opcode == 0x8:
                code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                if not self.window.over(time.time()):
                    key = f"close:{code}"
                    self.stats.closes[key] = self.stats.closes.get(key, 0) + 1
                self.closed = True
                if self.transport is not None:
                    self.transport.close()
        if pos:
            del buf[:pos]

    # ---- protocol

    def _message(self, payload: bytes) -> None:
        stats = self.stats
        head = payload[:40]
        if not self.welcomed:
            msg = json.loads(payload)
            if msg.get("type") != "welcome":
                stats.errors += 1
                if not self.joined.done():
                    self.joined.set_result(False)
                return
            self.welcomed = True
            self.me = str(msg.get("session_id") or "")
            self.x, self.y, self.heading = orbit_at(self.me, time.time())
            self.send(json.dumps({"type": "presence.join", "x": self.x, "y": self.y, "heading": self.heading}))
            stats.connected += 1
            if not self.joined.done():
                self.joined.set_result(True)
            return
        if b'"ping"' in head:
            self.send(json.dumps({"type": "pong", "nonce": json.loads(payload).get("nonce", 0)}))
            return
        now = time.time()
        if not self.window.measuring(now) or self.window.over(now):
            return
        stats.bytes_in += len(payload)
        if b'"presence.snapshot"' in head:
            stats.snapshots += 1
            if not self.probe:
                # entered objects carry "ts"; each changed row opens with '["' (so does a left list)
                stats.updates += payload.count(b'"ts":') + payload.count(b'["') - payload.count(b'"left":["')
                return
            msg = json.loads(payload)
            stats.updates += len(msg.get("entered") or ())
            for key in ("entered", "changed", "left"):
                part = msg.get(key)
                if part:
                    stats.bytes_by_part[key] = stats.bytes_by_part.get(key, 0) + len(
                        json.dumps(part, separators=(",", ":"))
                    )
            stats.bytes_by_part["probe_total"] = stats.bytes_by_part.get("probe_total", 0) + len(payload)
            counts = stats.probe_counts
            counts["snapshots"] = counts.get("snapshots", 0) + 1
            counts["rows"] = counts.get("rows", 0) + len(msg.get("changed") or ())
            counts["entered"] = counts.get("entered", 0) + len(msg.get("entered") or ())
            counts["left"] = counts.get("left", 0) + len(msg.get("left") or ())
            tick = int(msg.get("tick") or 0)
            if self.last_tick:
                counts["ticks"] = counts.get("ticks", 0) + max(0, tick - self.last_tick)
            self.last_tick = tick
            for row in msg.get("changed") or ():
                stats.updates += 1
                at = orbit_time(row[0], row[1] / 100, row[2] / 100, now)
                if at is not None:
                    stats.add_latency((now - at) * 1000.0, self.rng)
        else:
            stats.other_bytes += len(payload)
            if b'"error"' in head:
                stats.errors += 1

    def move(self, period: float) -> None:
        sent_at = time.time()
        x, y, heading = self.x, self.y, self.heading = orbit_at(self.me, sent_at)
        self.send(f'{{"type":"presence.move","x":{x:.2f},"y":{y:.2f},"heading":{heading:.1f},"ts":{sent_at:.6f}}}')
        if self.window.measuring(sent_at) and not self.window.over(sent_at):
            self.stats.moves_sent += 1


async def _mover(bots: list[_Bot], window: _Window, hz: float) -> None:
    """Every bot moves at ``hz``; the bots are spread over 10 slots per period so sends are even."""
    while not window.going():
        await asyncio.sleep(0.05)
    period = 1.0 / hz
    slots = 10
    step = period / slots
    next_at = time.monotonic()
    slot = 0
    while not window.over(time.time()):
        for bot in bots[slot::slots]:
            if bot.welcomed and not bot.closed:
                bot.move(period)
        slot = (slot + 1) % slots
        next_at += step
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))


def _bot_process(
    first: int,
    count: int,
    ws_url: str,
    http_base: str | None,
    window: _Window,
    hz: float,
    probe_every: int,
    out: Any,
) -> None:
    """One load process: get tokens, connect ``count`` bots, report ready, run until the window closes."""
    stats = BotStats(bots=count)

    async def main() -> None:
        tokens = [f"relay-token-{first + i:08d}-xxxxxxxx" for i in range(count)]
        if http_base:
            import httpx

            async with httpx.AsyncClient(base_url=http_base, timeout=60.0) as client:
                for i in range(count):
                    try:
                        tokens[i] = await _session_token(client, first + i)
                    except httpx.HTTPError as exc:
                        key = f"session:{type(exc).__name__}"
                        stats.closes[key] = stats.closes.get(key, 0) + 1
        parsed = urlsplit(ws_url)
        host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
        loop = asyncio.get_running_loop()
        bots: list[_Bot] = []
        for batch in range(0, count, 25):  # 25 handshakes in flight: quick, and no thundering herd
            group = []
            for i in range(batch, min(count, batch + 25)):
                index = first + i
                probe = index % probe_every == 0
                bot = _Bot(index, f"{host}:{port}", parsed.path or "/", tokens[i], window, stats, probe)
                group.append(bot)
                try:
                    await loop.create_connection(lambda b=bot: b, host, port)  # type: ignore[misc]
                except OSError as exc:
                    key = f"connect:{type(exc).__name__}"
                    stats.closes[key] = stats.closes.get(key, 0) + 1
                    bot.joined.set_result(False)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*(b.joined for b in group)), 90)
            bots.extend(group)
        out.put(("ready", first))
        await _mover(bots, window, hz)
        for bot in bots:
            if bot.transport is not None:
                bot.closed = True
                bot.transport.close()

    asyncio.run(main())
    out.put(("done", stats.__dict__))


def cpu_seconds(pid: int) -> float | None:
    """utime+stime of a process from /proc (no psutil needed)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))], 2)


def run_load(
    ws_url: str,
    *,
    http_base: str | None,
    bots: int,
    seconds: float = 10.0,
    settle: float | None = None,
    processes: int = 2,
    hz: float = 10.0,
    server_pid: int | None = None,
    probe_every: int = 10,
) -> dict[str, Any]:
    """Drive ``bots`` bots against ``ws_url``; measure for ``seconds`` once all joined and ``settle`` passed.

    Returns delivered updates/s, end-to-end latency p50/p99 (sampled on every
    ``probe_every``-th bot), bytes per client per second and server CPU %.
    """
    processes = max(1, min(processes, bots))
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    window = _Window(ctx)
    per = [bots // processes + (1 if i < bots % processes else 0) for i in range(processes)]
    procs = []
    first = 0
    for count in per:
        args = (first, count, ws_url, http_base, window, hz, probe_every, out)
        p = ctx.Process(target=_bot_process, args=args, daemon=True)
        p.start()
        procs.append(p)
        first += count
    results: list[dict[str, Any]] = []
    ready = 0
    setup_deadline = time.time() + 60 + bots * 0.2
    while ready < len(procs) and time.time() < setup_deadline:
        with contextlib.suppress(queue_mod.Empty):
            kind, payload = out.get(timeout=1.0)
            if kind == "ready":
                ready += 1
            else:
                results.append(payload)
    window.go.value = time.time()
    start = time.time() + (settle if settle is not None else 2.0 + bots / 500)
    window.start.value = start
    window.stop.value = start + seconds
    time.sleep(max(0.0, start - time.time()))
    cpu0, wall0 = (cpu_seconds(server_pid) if server_pid else None), time.monotonic()
    time.sleep(max(0.0, start + seconds - time.time()))
    cpu1, wall1 = (cpu_seconds(server_pid) if server_pid else None), time.monotonic()
    deadline = time.time() + 60
    while len(results) < len(procs) and time.time() < deadline:
        with contextlib.suppress(queue_mod.Empty):
            kind, payload = out.get(timeout=1.0)
            if kind == "done":
                results.append(payload)
    for p in procs:
        p.join(timeout=10)
        if p.is_alive():
            p.terminate()
    server_cpu = None
    if cpu0 is not None and cpu1 is not None:
        server_cpu = round(100.0 * (cpu1 - cpu0) / max(1e-9, wall1 - wall0), 1)
    latencies = [v for r in results for v in r["latencies_ms"]]
    closes: dict[str, int] = {}
    for r in results:
        for key, value in r["closes"].items():
            closes[key] = closes.get(key, 0) + value
    connected = sum(r["connected"] for r in results)
    updates = sum(r["updates"] for r in results)
    bytes_in = sum(r["bytes_in"] for r in results)
    parts: dict[str, int] = {}
    for r in results:
        for key, value in r.get("bytes_by_part", {}).items():
            parts[key] = parts.get(key, 0) + value
    total = parts.pop("probe_total", 0)
    counts: dict[str, int] = {}
    for r in results:
        for key, value in r.get("probe_counts", {}).items():
            counts[key] = counts.get(key, 0) + value
    probe_snaps = max(counts.get("snapshots", 0), 1)
    probe = {  # per probe snapshot; "ticks" > 1 means snapshots were merged or a viewer had nothing new
        key: round(counts.get(key, 0) / probe_snaps, 2) for key in ("rows", "entered", "left", "ticks")
    }
    probe["bytes"] = round(total / probe_snaps, 1)
    share = {k: round(v / total, 3) for k, v in parts.items()} if total else {}
    if total:
        share["frame_overhead"] = round(1 - sum(share.values()), 3)
    return {
        "target": ws_url,
        "bots": bots,
        "connected": connected,
        "processes": processes,
        "seconds": seconds,
        "moves_sent_per_s": round(sum(r["moves_sent"] for r in results) / seconds, 1),
        "snapshots_per_s": round(sum(r["snapshots"] for r in results) / seconds, 1),
        "delivered_updates_per_s": round(updates / seconds, 1),
        "latency_ms_p50": _percentile(latencies, 0.50),
        "latency_ms_p99": _percentile(latencies, 0.99),
        "latency_ms_mean": round(statistics.fmean(latencies), 2) if latencies else None,
        "bytes_per_client_per_s": round(bytes_in / seconds / max(connected, 1), 1),
        "other_bytes_per_client_per_s": round(
            sum(r.get("other_bytes", 0) for r in results) / seconds / max(connected, 1), 1
        ),
        "probe_per_snapshot": probe,
        "bytes_share": share,  # of the probe bots' snapshot bytes: entered / changed / left / type+tick+hall
        "server_cpu_percent": server_cpu,
        "errors": sum(r["errors"] for r in results),
        "failures": closes,
    }


# ---------------------------------------------------------------- bare relay baseline


async def _relay_main(port: int, k: int, hz: float, ready: Any = None) -> None:
    """Welcome anyone, keep positions, and every tick send each client K other entities' latest state."""
    import websockets

    clients: dict[Any, str] = {}
    state: dict[str, list[Any]] = {}
    counter = 0

    async def handler(ws: Any) -> None:
        nonlocal counter
        counter += 1
        me = f"s{counter:06d}"
        try:
            hello = json.loads(await ws.recv())
            if hello.get("type") != "hello":
                return
            await ws.send(json.dumps({"type": "welcome", "protocol_version": 2, "session_id": me, "last_seq": 0}))
            clients[ws] = me
            async for raw in ws:
                msg = json.loads(raw)
                kind = msg.get("type")
                if kind in ("presence.join", "presence.move"):
                    state[me] = [
                        me,
                        round(msg.get("x", 0.0) * 100),
                        round(msg.get("y", 0.0) * 100),
                        round(msg.get("heading", 0.0) * 256 / 360) % 256,
                    ]
        except websockets.ConnectionClosed:
            pass
        finally:
            clients.pop(ws, None)
            state.pop(me, None)

    async def ticker() -> None:
        tick = 0
        period = 1.0 / hz
        next_at = time.monotonic()
        while True:
            next_at += period
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            tick += 1
            frozen = dict(state)  # sends yield to handlers that may join/leave meanwhile
            ids = list(frozen)
            n = len(ids)
            pos = {i: idx for idx, i in enumerate(ids)}
            for ws, me in list(clients.items()):
                if me not in pos or n < 2:
                    continue
                base = pos[me]
                picks = [frozen[ids[(base + j) % n]] for j in range(1, min(k, n - 1) + 1)]
                frame = json.dumps(
                    {"type": "presence.snapshot", "tick": tick, "hall": "Aula 1", "changed": picks},
                    separators=(",", ":"),
                )
                with contextlib.suppress(Exception):
                    await ws.send(frame)

    async with websockets.serve(handler, "127.0.0.1", port, max_size=2**20):
        if ready is not None:
            ready.set()
        await ticker()


def _relay_process(port: int, k: int, hz: float, ready: Any) -> None:
    asyncio.run(_relay_main(port, k, hz, ready))


def start_relay(port: int, k: int = 40, hz: float = 10.0) -> mp.process.BaseProcess:
    """The baseline server in its own process (so its CPU can be measured alone)."""
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    proc = ctx.Process(target=_relay_process, args=(port, k, hz, ready), daemon=True)
    proc.start()
    if not ready.wait(30):
        proc.terminate()
        raise RuntimeError("relay baseline did not start")
    return proc


def bench_presence_ws(
    *,
    bots: int = 200,
    seconds: float = 10.0,
    processes: int = 2,
    server_url: str | None = None,
    server_pid: int | None = None,
    relay_port: int = 8799,
    k: int = 40,
) -> dict[str, Any]:
    """Baseline relay run, then (if ``server_url`` like http://127.0.0.1:8765 is given) the real server."""
    relay = start_relay(relay_port, k=k)
    try:
        baseline = run_load(
            f"ws://127.0.0.1:{relay_port}/ws",
            http_base=None,
            bots=bots,
            seconds=seconds,
            processes=processes,
            server_pid=relay.pid,
        )
    finally:
        relay.terminate()
        relay.join(5)
    result: dict[str, Any] = {"baseline_relay": baseline}
    if server_url:
        ws_url = server_url.replace("http://", "ws://").replace("https://", "wss://").rstrip("/") + "/ws"
        result["server"] = run_load(
            ws_url, http_base=server_url, bots=bots, seconds=seconds, processes=processes, server_pid=server_pid
        )
    return result


if __name__ == "__main__":  # pragma: no cover - manual: python -m bench.loadtest [bots] [server_url] [pid]
    import sys

    n_bots = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    url = sys.argv[2] if len(sys.argv) > 2 else None
    pid = int(sys.argv[3]) if len(sys.argv) > 3 else None
    sys.stdout.write(json.dumps(bench_presence_ws(bots=n_bots, seconds=8.0, server_url=url, server_pid=pid), indent=2))
    sys.stdout.write("\n")
