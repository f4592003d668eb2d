"""Websocket presence load test: bot processes against the real server or a bare relay baseline.

Each bot opens a session (``POST /api/v1/sessions``), says ``hello``, joins,
then sends ``presence.move`` at 10 Hz with ``ts = time.time()``. Every entity
in a received snapshot carries the ``ts`` of the move that produced it, and
all bots share the machine's wall clock, so ``now - ts`` is the end-to-end
latency (sender -> server tick -> receiver). Bots live in several processes so
the load generator is not the bottleneck on its own core.

The baseline (:func:`serve_relay`) is a bare ``websockets`` server that relays
at the same tick rate with the same message sizes (K entities per snapshot,
same JSON shape) but no database, validation or interest management: it is the
ceiling the real server is compared against on the same machine.

Library code: it returns figures; ``mpp bench presence`` prints them.
"""

from __future__ import annotations

import asyncio
import contextlib
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

    def add_latency(self, value: float, rng: random.Random) -> None:
        """Reservoir sampling keeps memory flat however long the run."""
        self.seen_latencies += 1
        if len(self.latencies_ms) < RESERVOIR:
            self.latencies_ms.append(value)
        else:
            j = rng.randrange(self.seen_latencies)
            if j < RESERVOIR:
                self.latencies_ms[j] = value


class _Window:
    """The measurement window, shared by all processes (set once every bot is in)."""

    def __init__(self, ctx: Any) -> None:
        self.start = ctx.Value("d", 0.0)
        self.stop = ctx.Value("d", 0.0)

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


async def _bot(
    index: int,
    ws_url: str,
    token: str,
    window: _Window,
    hz: float,
    stats: BotStats,
    rng: random.Random,
    joined: asyncio.Event,
    probe: bool = True,
) -> None:
    """One visitor; only ``probe`` bots parse snapshots fully to sample latency."""
    import websockets

    try:
        async with websockets.connect(ws_url, max_size=2**22, open_timeout=60) as ws:
            await ws.send(json.dumps({"type": "hello", "token": token, "protocol_version": 1, "last_seq": 0}))
            welcome = json.loads(await asyncio.wait_for(ws.recv(), 60))
            if welcome.get("type") != "welcome":
                stats.errors += 1
                return
            x, y, heading = rng.uniform(-28, 28), rng.uniform(-18, 23), rng.uniform(0, 360)
            await ws.send(json.dumps({"type": "presence.join", "x": x, "y": y, "heading": heading}))
            stats.connected += 1
            joined.set()

            async def sender() -> None:
                nonlocal x, y, heading
                period = 1.0 / hz
                next_at = time.monotonic() + rng.uniform(0, period)
                while not window.over(time.time()):
                    await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                    next_at += period
                    heading = (heading + rng.uniform(-20, 20)) % 360
                    x += 1.4 * period * math.cos(math.radians(heading))
                    y += 1.4 * period * math.sin(math.radians(heading))
                    if not (-29 < x < 29 and -19 < y < 24):
                        heading = (heading + 180) % 360
                        x, y = min(max(x, -29), 29), min(max(y, -19), 24)
                    sent_at = time.time()
                    frame = {
                        "type": "presence.move",
                        "x": round(x, 2),
                        "y": round(y, 2),
                        "heading": round(heading, 1),
                        "ts": sent_at,
                    }
                    await ws.send(json.dumps(frame))
                    if window.measuring(sent_at):
                        stats.moves_sent += 1

            send_task = asyncio.create_task(sender())
            try:
                while not window.over(time.time()):
                    try:
                        raw = await asyncio.wait_for(ws.recv(), 0.5)
                    except TimeoutError:
                        continue
                    now = time.time()
                    text = raw.decode() if isinstance(raw, bytes) else raw
                    head = text[:40]
                    if '"ping"' in head:
                        nonce = json.loads(text).get("nonce", 0)
                        await ws.send(json.dumps({"type": "pong", "nonce": nonce}))
                    if not window.measuring(now) or window.over(now):
                        continue
                    stats.bytes_in += len(text.encode())
                    if '"presence.snapshot"' in head:
                        stats.snapshots += 1
                        if not probe:
                            # Cheap count (C-level) so non-probe bots do not saturate the generator's CPU.
                            stats.updates += text.count('"ts":')
                            continue
                        msg = json.loads(text)
                        for key in ("entered", "changed"):
                            for ent in msg.get(key) or ():
                                stats.updates += 1
                                ts = float(ent.get("ts") or 0.0)
                                if ts > 0 and key == "changed":
                                    stats.add_latency((now - ts) * 1000.0, rng)
                    elif '"error"' in head:
                        stats.errors += 1
            finally:
                send_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await send_task
    except Exception as exc:  # noqa: BLE001 - a load test counts failures instead of dying on the first one
        name = type(exc).__name__
        code = getattr(getattr(exc, "rcvd", None), "code", None)
        key = f"{name}:{code}" if code is not None else name
        stats.closes[key] = stats.closes.get(key, 0) + 1
    finally:
        joined.set()


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
    rng = random.Random(first)

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
        tasks = []
        for i in range(count):
            joined = asyncio.Event()
            probe = (first + i) % probe_every == 0
            bot = _bot(first + i, ws_url, tokens[i], window, hz, stats, rng, joined, probe)
            tasks.append(asyncio.create_task(bot))
            await asyncio.wait_for(joined.wait(), 90)  # connect one by one: no thundering herd on hello
        out.put(("ready", first))
        await asyncio.gather(*tasks)

    asyncio.run(main())
    out.put(("done", stats.__dict__))


def _cpu_seconds(pid: int) -> float | None:
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
    settle: float = 2.0,
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
    setup_deadline = time.time() + 60 + bots * 0.5
    while ready < len(procs) and time.time() < setup_deadline:
        with contextlib.suppress(queue_mod.Empty):
            kind, payload = out.get(timeout=1.0)
            if kind == "ready":
                ready += 1
            else:
                results.append(payload)
    start = time.time() + settle
    window.start.value = start
    window.stop.value = start + seconds
    time.sleep(max(0.0, start - time.time()))
    cpu0, wall0 = (_cpu_seconds(server_pid) if server_pid else None), time.monotonic()
    time.sleep(max(0.0, start + seconds - time.time()))
    cpu1, wall1 = (_cpu_seconds(server_pid) if server_pid else None), time.monotonic()
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
        "server_cpu_percent": server_cpu,
        "errors": sum(r["errors"] for r in results),
        "failures": closes,
    }


# ---------------------------------------------------------------- bare relay baseline


async def _relay_main(port: int, k: int, hz: float, ready: Any = None) -> None:
    """Welcome anyone, keep positions, and every tick send each client K other entities' latest state."""
    import websockets

    clients: dict[Any, str] = {}
    state: dict[str, dict[str, Any]] = {}
    counter = 0

    async def handler(ws: Any) -> None:
        nonlocal counter
        counter += 1
        me = f"s{counter:06d}"
        try:
            hello = json.loads(await ws.recv())
            if hello.get("type") != "hello":
                return
            await ws.send(json.dumps({"type": "welcome", "protocol_version": 1, "session_id": me, "last_seq": 0}))
            clients[ws] = me
            async for raw in ws:
                msg = json.loads(raw)
                kind = msg.get("type")
                if kind in ("presence.join", "presence.move"):
                    state[me] = {
                        "id": me,
                        "name": f"Pengunjung {counter}",
                        "x": msg.get("x", 0.0),
                        "y": msg.get("y", 0.0),
                        "heading": msg.get("heading", 0.0),
                        "ts": msg.get("ts", 0.0),
                    }
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


if __name__ == "__main__":  # pragma: no cover - manual: python -m server.presence.loadtest [bots] [server_url] [pid]
    import sys

    n_bots = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    url = sys.argv[2] if len(sys.argv) > 2 else None
    pid = int(sys.argv[3]) if len(sys.argv) > 3 else None
    sys.stdout.write(json.dumps(bench_presence_ws(bots=n_bots, seconds=8.0, server_url=url, server_pid=pid), indent=2))
    sys.stdout.write("\n")
