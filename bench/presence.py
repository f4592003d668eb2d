"""``mpp bench presence``: protocol bots against N real nodes, next to a bare websockets relay.

The relay (``bench.loadtest``) forwards the same message sizes with
none of our logic; our CPU divided by its CPU is the price of validation,
interest management and delta encoding.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.api import _free_port, _wait
from bench.loadtest import run_load


def _source_env(source: Path | None) -> dict[str, str]:
    """Environment that makes ``python -m mpp.cli`` import another source tree (``--baseline``), else nothing."""
    return {"PYTHONPATH": str(source)} if source is not None else {}


def _start_nodes(
    n: int,
    data_dir: str,
    redis_url: str | None,
    extra_env: dict[str, str] | None = None,
    source: Path | None = None,
) -> list[tuple[subprocess.Popen[bytes], int]]:
    nodes = []
    prefix = f"mppbench-{secrets.token_hex(3)}:"
    for i in range(n):
        port = _free_port()
        env = {**os.environ, "MPP_DATA_DIR": data_dir, "MPP_LOAD_ASSISTANT": "0", "MPP_NODE_ID": f"bench-{i}"}
        env.update(extra_env or {})
        env.update(_source_env(source))
        env["MPP_WS_RATE_PER_SEC"] = "50"
        if redis_url:
            env.update(MPP_REDIS_URL=redis_url, MPP_REDIS_PREFIX=prefix)
        proc = subprocess.Popen(
            [sys.executable, "-m", "mpp.cli", "serve", "--port", str(port)],
            env=env,
            cwd=source,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        _wait(f"http://127.0.0.1:{port}/api/v1/health", proc)
        nodes.append((proc, port))
        if i == 0:
            time.sleep(0.5)  # the first node migrates and seeds; the others then find it done
    return nodes


def _parse_env(variant: str) -> dict[str, str]:
    """``"MPP_A=1,MPP_B=x"`` -> environment overrides for one extra row (old vs new in the same run)."""
    out: dict[str, str] = {}
    for item in variant.split(","):
        key, sep, value = item.partition("=")
        if not sep or not key.strip().startswith("MPP_"):
            raise ValueError(f"--env-row: MPP_NAME=value[,MPP_NAME=value], got {item!r}")
        out[key.strip()] = value.strip()
    return out


def _run_nodes(
    clients: int,
    nodes: int,
    duration: float,
    redis_url: str,
    processes: int,
    extra_env: dict[str, str],
    source: Path | None = None,
) -> list[tuple[str, dict[str, Any]]]:
    """Start ``nodes`` servers (with ``extra_env``, from ``source``), drive ``clients`` bots over them, stop them."""
    rows: list[tuple[str, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        started = _start_nodes(nodes, tmp, redis_url if nodes > 1 else None, extra_env, source)
        try:
            results: list[dict[str, Any]] = [{} for _ in started]
            per = [clients // nodes + (1 if i < clients % nodes else 0) for i in range(nodes)]

            def drive(i: int, port: int, pid: int) -> None:
                results[i] = run_load(
                    f"ws://127.0.0.1:{port}/ws",
                    http_base=f"http://127.0.0.1:{port}",
                    bots=per[i],
                    seconds=duration,
                    processes=max(1, processes // nodes),
                    server_pid=pid,
                )

            threads = [
                threading.Thread(target=drive, args=(i, port, proc.pid)) for i, (proc, port) in enumerate(started)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            for i, r in enumerate(results):
                rows.append((f"mpp node {i + 1}/{nodes}" + (" (Redis)" if nodes > 1 else ""), r))
        finally:
            for proc, _ in started:
                proc.kill()
                proc.wait(10)
    return rows


def run_in_process(clients: int, duration: float, variants: tuple[str, ...]) -> list[tuple[str, dict[str, Any]]]:
    """Bytes per visitor of the same crowd on the engine alone, as configured and per ``variants``."""
    from bench.presence_tick import bench_bytes

    rows = [(label, bench_bytes(clients, duration, env)) for label, env in _labelled(variants)]
    width = max(len(label) for label, _ in rows)
    print(f"{clients} visitors, engine alone (no sockets), {duration:.0f} s of the bench's walk at 10 Hz, K=40")
    print(f"{'settings':{width}} {'B/visitor/s':>11} {'rows/tick':>9} {'tick CPU ms':>11}  bytes")
    for label, r in rows:
        share = ", ".join(f"{k} {v:.0%}" for k, v in r["bytes_share"].items())
        print(
            f"{label:{width}} {r['bytes_per_viewer_per_second']:11.0f} {r['rows_per_viewer_tick']:9.1f} "
            f"{r['tick_cpu_ms']:11.1f}  {share}"
        )
    return rows


def _labelled(variants: tuple[str, ...]) -> list[tuple[str, dict[str, str]]]:
    return [("as configured", {}), *((v, _parse_env(v)) for v in variants)]


def run(
    clients: int,
    nodes: int,
    duration: float,
    redis_url: str,
    variants: tuple[str, ...] = (),
    baseline: Path | None = None,
) -> None:
    """The relay, then ``baseline``'s nodes (another source tree, if given), then ours as configured, then once
    more per ``variants`` entry (env overrides)."""
    for v in variants:
        _parse_env(v)  # refuse a malformed row before minutes of load
    from bench.loadtest import start_relay

    processes = 2
    relay_port = _free_port()
    relay = start_relay(relay_port, k=40)
    try:
        time.sleep(1.0)
        base = run_load(
            f"ws://127.0.0.1:{relay_port}/ws",
            http_base=None,
            bots=clients,
            seconds=duration,
            processes=processes,
            server_pid=relay.pid,
        )
    finally:
        relay.terminate()
        relay.join(5)
    rows: list[tuple[str, dict[str, Any]]] = [("bare websockets relay", base)]
    groups: list[tuple[str, list[dict[str, Any]]]] = []
    runs: list[tuple[str, dict[str, str], Path | None]] = [(label, extra, None) for label, extra in _labelled(variants)]
    if baseline is not None:
        runs.insert(0, ("baseline", {}, baseline))
    for label, extra, source in runs:
        ran = _run_nodes(clients, nodes, duration, redis_url, processes, extra, source)
        rows.extend((name if label == "as configured" else f"{name} [{label}]", r) for name, r in ran)
        groups.append((label, [r for _, r in ran]))
    width = max(26, *(len(name) for name, _ in rows))
    print(f"{clients} clients, {nodes} node(s), {duration:.0f} s measured, moves at 10 Hz, K=40, 2-core machine")
    print(f"{'run':{width}} {'conn':>5} {'updates/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'CPU %':>7} {'B/client/s':>11}")
    for name, r in rows:
        p50, p99 = r.get("latency_ms_p50"), r.get("latency_ms_p99")
        print(
            f"{name:{width}} {r.get('connected', 0):5d} {r.get('delivered_updates_per_s', 0):10.0f} "
            f"{(p50 or 0):8.1f} {(p99 or 0):8.1f} {(r.get('server_cpu_percent') or 0):7.1f} "
            f"{r.get('bytes_per_client_per_s', 0):11.0f}"
        )
    for name, r in rows:
        if r.get("bytes_share"):
            print(f"bytes of {name}: " + ", ".join(f"{k} {v:.0%}" for k, v in r["bytes_share"].items()))
        probe = r.get("probe_per_snapshot") or {}
        if probe.get("bytes"):
            # rows per snapshot and ticks per snapshot tell rates (rows) from merges or late ticks (ticks)
            print(
                f"per snapshot of {name} (probe bots): {probe['bytes']:.0f} B, rows {probe['rows']:.1f}, "
                f"entered {probe['entered']:.1f}, left {probe['left']:.1f}, ticks apart {probe['ticks']:.2f}; "
                f"other frames {r.get('other_bytes_per_client_per_s', 0):.0f} B/client/s"
            )
    theirs = base.get("server_cpu_percent") or 0
    for label, results in groups:
        ours = sum((r.get("server_cpu_percent") or 0) for r in results)
        if theirs:
            print(f"CPU ours ({label}) ÷ bare relay: {ours / theirs:.2f}x")
