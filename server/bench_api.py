"""``mpp bench api``: submissions through the real HTTP stack, next to a bare FastAPI insert.

Both servers run as separate processes with the same uvicorn settings and are
driven by the same load generator in this process, so the ratio between them is
what our code costs on top of "one HTTP request that inserts one row".
"""

from __future__ import annotations

import asyncio
import os
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


def _form(nik: str, name: str) -> dict[str, Any]:
    from protocol.catalog import default_catalog
    from protocol.forms import example_answers

    return example_answers(default_catalog().service("ktp-el"), nik, name)


def _serve(env: dict[str, str], args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, *args], env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def measure_ours(database_url: str | None, requests: int, concurrency: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        env = {"MPP_DATA_DIR": tmp, "MPP_LOAD_ASSISTANT": "0"}
        if database_url:
            env["MPP_DATABASE_URL"] = database_url
        proc = _serve(env, ["-m", "mpp.cli", "serve", "--port", str(port)])
        try:
            base = f"http://127.0.0.1:{port}/api/v1"
            _wait(base + "/health", proc)
            clients = []
            for i in range(concurrency):
                token = httpx.post(base + "/sessions", json={}).json()["token"]
                h = {"Authorization": f"Bearer {token}"}
                nik = NIKS[i % len(NIKS)]
                name = f"Warga Bench {i % len(NIKS)}"
                httpx.post(base + "/sessions/identify", json={"nik": nik, "name": name}, headers=h).raise_for_status()
                clients.append((h, {"service_id": "ktp-el", "data": _form(nik, name), "submit": True}))
            warm = [clients[i % len(clients)] for i in range(min(200, requests))]
            asyncio.run(_drive(base + "/applications", warm, concurrency))
            payloads = [clients[i % len(clients)] for i in range(requests)]
            return asyncio.run(_drive(base + "/applications", payloads, concurrency))
        finally:
            proc.kill()
            proc.wait(10)


def measure_baseline(requests: int, concurrency: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        proc = _serve(
            {"MPP_BENCH_DB": str(Path(tmp) / "base.db")},
            [
                "-m",
                "uvicorn",
                "server.bench_api:_baseline_from_env",
                "--factory",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
        )
        try:
            _wait(f"http://127.0.0.1:{port}/health", proc)
            body = {"service_id": "ktp-el", "data": _form(NIKS[0], "Warga Bench 0"), "submit": True}
            payloads: list[tuple[dict[str, str], dict[str, Any]]] = [({}, body)] * requests
            asyncio.run(_drive(f"http://127.0.0.1:{port}/submit", payloads[:200], concurrency))
            return asyncio.run(_drive(f"http://127.0.0.1:{port}/submit", payloads, concurrency))
        finally:
            proc.kill()
            proc.wait(10)


def _baseline_from_env() -> Any:
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


def run_bench(requests: int, concurrency: int, postgres: str) -> None:
    rows: list[tuple[str, dict[str, float]]] = []
    base = measure_baseline(requests, concurrency)
    rows.append(("bare FastAPI insert (SQLite)", base))
    rows.append(("mpp submissions (SQLite)", measure_ours(None, requests, concurrency)))
    if _pg_reachable(postgres):
        _fresh_pg(postgres)
        rows.append(("mpp submissions (PostgreSQL)", measure_ours(postgres, requests, concurrency)))
    else:
        print(f"PostgreSQL not reachable at {postgres}: skipped")
    print(f"{requests} submissions, {concurrency} concurrent clients, one uvicorn worker per server, 2-core machine")
    print(f"{'run':34} {'subm/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'rate vs bare':>13}")
    for name, r in rows:
        ratio = r["rps"] / base["rps"]
        print(f"{name:34} {r['rps']:9.0f} {r['p50_ms']:8.1f} {r['p99_ms']:8.1f} {int(r['errors']):7d} {ratio:12.2f}x")
