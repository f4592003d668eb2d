"""``mpp bench api``: submissions through the real HTTP stack, next to a bare FastAPI insert.

Both servers run as separate processes with the same uvicorn settings and are driven
by the same load generator, so the ratio between them is what our code costs on top
of "one HTTP request that inserts one row". The load generator is ``wrk`` (C, its own
process, a few percent of a core) when installed: a Python client in this process
would need more CPU than the server it measures. Without wrk, an in-process httpx
client is used and the table says so.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request

NIKS = [f"351001{d:02d}0490{n:04d}" for d, n in zip(range(10, 30), range(1, 21), strict=True)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("server did not start")


def baseline_app(db_path: str) -> Any:
    """A bare FastAPI endpoint doing the same single insert on the same SQLite settings."""
    app = FastAPI()
    conn = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE IF NOT EXISTS apps (id INTEGER PRIMARY KEY, key TEXT UNIQUE, data TEXT)")
    import threading

    lock = threading.Lock()

    @app.post("/submit", status_code=201)
    def submit(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        with lock:
            cur = conn.execute(
                "INSERT INTO apps (key, data) VALUES (?, ?)",
                (request.headers.get("idempotency-key", uuid.uuid4().hex), str(body)),
            )
        return {"id": cur.lastrowid}

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


async def _drive(url: str, payloads: list[tuple[dict[str, str], dict[str, Any]]], concurrency: int) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[tuple[dict[str, str], dict[str, Any]]] = asyncio.Queue()
    for p in payloads:
        queue.put_nowait(p)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal errors
            while True:
                try:
                    headers, body = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                t0 = time.perf_counter()
                try:
                    r = await client.post(url, json=body, headers={**headers, "Idempotency-Key": uuid.uuid4().hex})
                except httpx.HTTPError:
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - t0)
                if r.status_code != 201:
                    errors += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - t0
    latencies.sort()
    return {
        "rps": len(latencies) / wall,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "errors": errors,
    }


_LUA = """
local jobs = {JOBS}
local counter = 0
local salt = ""
function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
  salt = tostring(math.random(1, 1e9))
end
request = function()
  counter = counter + 1
  local job = jobs[(counter % #jobs) + 1]
  local headers = {["Content-Type"] = "application/json", ["Idempotency-Key"] = salt .. "-" .. counter}
  if job[1] ~= "" then headers["Authorization"] = "Bearer " .. job[1] end
  return wrk.format("POST", "{PATH}", headers, job[2])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %.0f %.3f %.3f %d\\n", summary.requests, summary.duration,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.timeout + e.status))
end
"""


def _lua_str(text: str) -> str:
    return "[==[" + text + "]==]"


def drive_wrk(
    base: str, path: str, jobs: list[tuple[str, dict[str, Any]]], concurrency: int, duration: float
) -> dict[str, float]:
    """Closed-loop load from wrk: ``concurrency`` connections, each sending as soon as answered."""
    wrk = shutil.which("wrk")
    assert wrk is not None
    table = "{" + ",".join("{" + _lua_str(t) + "," + _lua_str(json.dumps(b)) + "}" for t, b in jobs) + "}"
    script = _LUA.replace("{JOBS}", table).replace("{PATH}", path)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(script)
        lua = fh.name
    try:
        out = subprocess.run(
            [wrk, "-t1", f"-c{concurrency}", f"-d{max(1, round(duration))}s", "-s", lua, base],
            capture_output=True,
            text=True,
            check=True,
            timeout=duration + 60,
        ).stdout
    finally:
        os.unlink(lua)
    found = re.search(r"RESULT (\d+) (\d+) ([\d.]+) ([\d.]+) (\d+)", out)
    if found is None:
        raise RuntimeError("wrk printed no result: " + out[-500:])
    n, micros, p50, p99, errors = found.groups()
    return {
        "rps": int(n) / (int(micros) / 1e6),
        "p50_ms": float(p50),
        "p99_ms": float(p99),
        "errors": int(errors),
        "requests": int(n),
    }


def _form(nik: str, name: str) -> dict[str, Any]:
    from protocol.catalog import default_catalog
    from protocol.forms import example_answers

    return example_answers(default_catalog().service("ktp-el"), nik, name)


def _serve(env: dict[str, str], args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, *args], env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def _cpu_seconds(pid: int) -> float:
    from bench.loadtest import cpu_seconds

    return cpu_seconds(pid) or 0.0


def baseline_pg_app(url: str) -> Any:
    """The same bare endpoint on PostgreSQL: one autocommit insert per request, a connection per worker thread."""
    import threading

    import psycopg

    app = FastAPI()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_apps (id BIGSERIAL PRIMARY KEY, key TEXT UNIQUE, data TEXT)")
    local = threading.local()

    @app.post("/submit", status_code=201)
    def submit(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = psycopg.connect(url, autocommit=True)
        row = conn.execute(
            "INSERT INTO bench_apps (key, data) VALUES (%s, %s) RETURNING id",
            (request.headers.get("idempotency-key", uuid.uuid4().hex), str(body)),
        ).fetchone()
        return {"id": row[0] if row else None}

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _load(
    proc: subprocess.Popen[bytes],
    base: str,
    path: str,
    jobs: list[tuple[str, dict[str, Any]]],
    concurrency: int,
    duration: float,
    requests: int,
) -> dict[str, float]:
    if shutil.which("wrk"):
        drive_wrk(base, path, jobs, concurrency, 2)  # warm-up: connections, caches, WAL file
        cpu0 = _cpu_seconds(proc.pid)
        result = drive_wrk(base, path, jobs, concurrency, duration)
        cpu = _cpu_seconds(proc.pid) - cpu0
    else:
        payloads = [({"Authorization": f"Bearer {t}"} if t else {}, b) for t, b in jobs]
        url = base + path
        asyncio.run(_drive(url, [payloads[i % len(payloads)] for i in range(min(200, requests))], concurrency))
        cpu0 = _cpu_seconds(proc.pid)
        result = asyncio.run(_drive(url, [payloads[i % len(payloads)] for i in range(requests)], concurrency))
        result["requests"] = requests
        cpu = _cpu_seconds(proc.pid) - cpu0
    result["cpu_ms"] = cpu * 1000 / max(1.0, result["requests"])
    return result


class _CodeGateway:
    """A local SMS gateway for the bench: ``mpp serve`` posts each one-time code here (MPP_OTP_DELIVERY=http)."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        codes: dict[str, str] = {}
        cond = threading.Condition()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                found = re.search(r"\b(\d{6})\b", str(body.get("text", "")))
                if found:
                    with cond:
                        codes[str(body.get("reference"))] = found.group(1)
                        cond.notify_all()
                self.send_response(202)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.codes, self.cond = codes, cond
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def code(self, reference: str, timeout: float = 15.0) -> str:
        with self.cond:
            if not self.cond.wait_for(lambda: reference in self.codes, timeout):
                raise RuntimeError(f"no one-time code arrived for {reference}")
            return self.codes[reference]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _prove(base: str, gateway: _CodeGateway, headers: dict[str, str], nik: str, name: str, phone: str) -> None:
    """Identify a bench session through both steps of the second factor, as a citizen would."""
    body = {"nik": nik, "name": name, "contact": phone}
    r = httpx.post(base + "/api/v1/sessions/identify", json=body, headers=headers)
    r.raise_for_status()
    challenge = r.json()["challenge_id"]
    r = httpx.post(
        base + "/api/v1/sessions/verify",
        json={"challenge_id": challenge, "code": gateway.code(challenge)},
        headers=headers,
    )
    r.raise_for_status()


def measure_ours(
    database_url: str | None, concurrency: int, duration: float = 10.0, requests: int = 3000
) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        gateway = _CodeGateway()
        env = {
            "MPP_DATA_DIR": tmp,
            "MPP_LOAD_ASSISTANT": "0",
            "MPP_OTP_DELIVERY": "http",
            "MPP_OTP_HTTP_URL": gateway.url,
            # one address sets up every bench visitor: the per-client code limit would refuse the 11th
            "MPP_OTP_PER_CLIENT": "1000",
            "MPP_OTP_PER_NIK": "1000",
        }
        if database_url:
            env["MPP_DATABASE_URL"] = database_url
        proc = _serve(env, ["-m", "mpp.cli", "serve", "--port", str(port)])
        try:
            base = f"http://127.0.0.1:{port}"
            _wait(base + "/api/v1/health", proc)
            jobs: list[tuple[str, dict[str, Any]]] = []
            for i in range(max(concurrency, len(NIKS))):
                token = httpx.post(base + "/api/v1/sessions", json={}).json()["token"]
                h = {"Authorization": f"Bearer {token}"}
                k = i % len(NIKS)
                nik, name = NIKS[k], f"Warga Bench {k}"
                _prove(base, gateway, h, nik, name, f"08123400{k:04d}")
                jobs.append((token, {"service_id": "ktp-el", "data": _form(nik, name), "submit": True}))
            return _load(proc, base, "/api/v1/applications", jobs, concurrency, duration, requests)
        finally:
            proc.kill()
            proc.wait(10)
            gateway.close()


def measure_baseline(
    concurrency: int, duration: float = 10.0, requests: int = 3000, postgres: str | None = None
) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        env = {"MPP_BENCH_PG": postgres} if postgres else {"MPP_BENCH_DB": str(Path(tmp) / "base.db")}
        proc = _serve(
            env,
            [
                "-m",
                "uvicorn",
                "bench.api:_baseline_from_env",
                "--factory",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait(base + "/health", proc)
            body = {"service_id": "ktp-el", "data": _form(NIKS[0], "Warga Bench 0"), "submit": True}
            return _load(proc, base, "/submit", [("", body)], concurrency, duration, requests)
        finally:
            proc.kill()
            proc.wait(10)


def _baseline_from_env() -> Any:
    if os.environ.get("MPP_BENCH_PG"):
        return baseline_pg_app(os.environ["MPP_BENCH_PG"])
    return baseline_app(os.environ["MPP_BENCH_DB"])


def _pg_reachable(url: str) -> bool:
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=2):
            return True
    except Exception:  # noqa: BLE001 - any failure means "not reachable" for an optional run
        return False


def _fresh_pg(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")


def run_bench(concurrency: list[int], duration: float, requests: int, postgres: str) -> list[dict[str, Any]]:
    """Measure and print the table; returns its rows (the test reads them)."""
    gen = "wrk (separate process)" if shutil.which("wrk") else "httpx in the bench process (install wrk: it caps less)"
    pg = _pg_reachable(postgres)
    load_before = os.getloadavg()
    table: list[dict[str, Any]] = []
    for c in concurrency:
        base = measure_baseline(c, duration, requests)
        runs = [
            ("bare FastAPI insert (SQLite)", base),
            ("mpp submissions (SQLite)", measure_ours(None, c, duration, requests)),
        ]
        pg_base: dict[str, float] | None = None
        if pg:
            _fresh_pg(postgres)
            pg_base = measure_baseline(c, duration, requests, postgres)
            runs.append(("bare FastAPI insert (PostgreSQL)", pg_base))
            _fresh_pg(postgres)
            runs.append(("mpp submissions (PostgreSQL)", measure_ours(postgres, c, duration, requests)))
        for name, r in runs:
            # each database's rows are compared with the bare insert on the same database
            yard = pg_base if pg_base is not None and "PostgreSQL" in name else base
            table.append(
                {
                    "run": name,
                    "concurrency": c,
                    **r,
                    "rate_ratio": r["rps"] / yard["rps"],
                    "cpu_ratio": r["cpu_ms"] / yard["cpu_ms"] if yard["cpu_ms"] else 0.0,
                }
            )
    if not pg:
        print(f"PostgreSQL not reachable at {postgres}: skipped")
    print(f"load generator: {gen}; one uvicorn worker per server; {os.cpu_count()} cores")
    # other work on the machine inflates every figure: the ratios to the same-run bare rows are the claim
    print(
        "load average (1/5/15 min): before "
        + "/".join(f"{x:.2f}" for x in load_before)
        + ", after "
        + "/".join(f"{x:.2f}" for x in os.getloadavg())
    )
    print(
        f"{'run':30} {'conc':>4} {'subm/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} "
        f"{'CPU ms/subm':>11} {'rate vs bare':>12} {'CPU vs bare':>11}  (bare = same database)"
    )
    for r in table:
        print(
            f"{r['run']:30} {r['concurrency']:4d} {r['rps']:7.0f} {r['p50_ms']:7.1f} {r['p99_ms']:7.1f} "
            f"{int(r['errors']):6d} {r['cpu_ms']:11.2f} {r['rate_ratio']:11.2f}x {r['cpu_ratio']:10.2f}x"
        )
    return table
