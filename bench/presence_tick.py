"""Presence tick benchmark: n random-walking visitors, figures returned (not printed).

The baseline measured in the same run is a brute-force O(n^2) interest query
(numpy full distance matrix + argpartition) on the same positions, so the
figures say how much the grid saves on *this* machine rather than quoting
milliseconds from someone else's CPU.
"""

from __future__ import annotations

import math
import random
import statistics
import time
from typing import Any

import numpy as np

from server.realtime.presence.area import DEFAULT_HALL_BOUNDS
from server.realtime.presence.engine import PresenceEngine
from server.realtime.presence.grid import SpatialGrid, auto_cell_size


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    idx = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
    return ordered[idx]


def _calibrate_us() -> float:
    """CPU microseconds for ``sum(range(1000))``: lets figures from different machines be compared."""
    best = math.inf
    for _ in range(5):
        start = time.thread_time()
        for _ in range(200):
            sum(range(1000))
        best = min(best, (time.thread_time() - start) / 200 * 1e6)
    return best


def _brute_force_interest(xy: np.ndarray, k: int, radius: float) -> np.ndarray:
    d2 = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=-1)
    np.fill_diagonal(d2, np.inf)
    d2[d2 > radius * radius] = np.inf
    kk = min(k, len(xy) - 1)
    if kk <= 0:
        return np.zeros((len(xy), 0), dtype=np.int64)
    return np.argpartition(d2, kk - 1, axis=1)[:, :kk]


def bench_tick(
    n: int,
    ticks: int,
    *,
    seed: int = 0,
    k: int = 40,
    radius: float = 15.0,
    hz: float = 10.0,
    scenario: str = "walk",
    keep_extra_k: int = 0,
    keep_extra_m: float = 0.0,
) -> dict[str, Any]:
    """Measure ``PresenceEngine.tick`` for ``n`` visitors over ``ticks`` ticks.

    ``scenario``: "walk" (everyone strolls at 1.4 m/s with random turns) or
    "crowd" (70 % of visitors mill around one counter, the worst case for a grid).
    """
    if n < 1 or ticks < 1:
        raise ValueError("n and ticks must be >= 1")
    rng = random.Random(seed)
    xmin, ymin, xmax, ymax = DEFAULT_HALL_BOUNDS
    engine = PresenceEngine(
        k=k, radius=radius, capacity=max(n, 1), keep_extra_k=keep_extra_k, keep_extra_m=keep_extra_m
    )
    pos: list[list[float]] = []
    for i in range(n):
        if scenario == "crowd" and i < int(0.7 * n):
            x, y = rng.gauss(0.0, 2.0), rng.gauss(0.0, 2.0)
        else:
            x, y = rng.uniform(xmin, xmax), rng.uniform(ymin, ymax)
        heading = rng.uniform(0.0, 360.0)
        pos.append([x, y, heading])
        engine.join(f"v{i:05d}", f"Pengunjung {i}", x, y, heading, now=0.0)
    dt = 1.0 / hz
    speed = 1.4
    tick_ms: list[float] = []
    tick_cpu_ms: list[float] = []  # CPU time of the tick thread: robust to other load on the machine
    move_ms: list[float] = []
    baseline_ms: list[float] = []
    grid_cpu_ms: list[float] = []  # interest query alone, grid vs brute force, same positions
    brute_cpu_ms: list[float] = []
    snapshots = 0
    total_bytes = 0
    entities_sent = 0
    entered_sent = 0
    left_sent = 0
    now = 0.0
    for t in range(ticks + 1):
        now += dt
        t0 = time.perf_counter()
        for i, p in enumerate(pos):
            p[2] = (p[2] + rng.uniform(-20.0, 20.0)) % 360.0
            rad = math.radians(p[2])
            p[0] += speed * dt * math.cos(rad)
            p[1] += speed * dt * math.sin(rad)
            res = engine.move(f"v{i:05d}", p[0], p[1], p[2], now, now)
            if res is not None and res.clamped:
                p[0], p[1] = res.x, res.y
                p[2] = (p[2] + 180.0) % 360.0
        t1 = time.perf_counter()
        c1 = time.thread_time()
        snaps = engine.tick_wire(now)
        c2 = time.thread_time()
        t2 = time.perf_counter()
        wire = [s.text for s in snaps.values()]  # built inside the tick: its time is in tick_ms
        xy = np.array([(p[0], p[1]) for p in pos], dtype=np.float64)
        t4 = time.perf_counter()
        _brute_force_interest(xy, k, radius)
        t5 = time.perf_counter()
        c4 = time.thread_time()
        SpatialGrid(xy, auto_cell_size(xy, k, radius)).knn(np.arange(n), k, radius)
        c5 = time.thread_time()
        _brute_force_interest(xy, k, radius)
        c6 = time.thread_time()
        if t == 0:
            continue  # the first tick sends full snapshots to everyone: not the steady state
        move_ms.append((t1 - t0) * 1000)
        tick_ms.append((t2 - t1) * 1000)
        tick_cpu_ms.append((c2 - c1) * 1000)
        baseline_ms.append((t5 - t4) * 1000)
        grid_cpu_ms.append((c5 - c4) * 1000)
        brute_cpu_ms.append((c6 - c5) * 1000)
        snapshots += len(snaps)
        total_bytes += sum(len(w.encode()) for w in wire)
        entities_sent += sum(len(s.entered) + len(s.changed) for s in snaps.values())
        entered_sent += sum(len(s.entered) for s in snaps.values())
        left_sent += sum(len(s.left) for s in snaps.values())
    tick_p50 = statistics.median(tick_ms)
    base_p50 = statistics.median(baseline_ms)
    return {
        "n": n,
        "ticks": ticks,
        "scenario": scenario,
        "k": k,
        "radius_m": radius,
        "tick_ms_p50": round(tick_p50, 3),
        "tick_ms_p95": round(_percentile(tick_ms, 0.95), 3),
        "tick_ms_max": round(max(tick_ms), 3),
        "tick_cpu_ms_p50": round(statistics.median(tick_cpu_ms), 3),
        "moves_ms_p50": round(statistics.median(move_ms), 3),
        "baseline_bruteforce_interest_ms_p50": round(base_p50, 3),
        "tick_vs_bruteforce_interest": round(tick_p50 / base_p50, 3) if base_p50 > 0 else None,
        "interest_grid_cpu_ms_p50": round(statistics.median(grid_cpu_ms), 3),
        "interest_bruteforce_cpu_ms_p50": round(statistics.median(brute_cpu_ms), 3),
        "interest_speedup_vs_bruteforce": round(
            statistics.median(brute_cpu_ms) / max(statistics.median(grid_cpu_ms), 1e-9), 2
        ),
        "python_calibration_us": round(_calibrate_us(), 2),
        "snapshots_per_tick": round(snapshots / ticks, 1),
        "entities_per_snapshot": round(entities_sent / snapshots, 2) if snapshots else 0.0,
        "entered_per_viewer_tick": round(entered_sent / ticks / n, 3),
        "left_per_viewer_tick": round(left_sent / ticks / n, 3),
        "bytes_per_viewer_per_second": round(total_bytes / ticks / n * hz, 1),
    }


def bench_bytes(n: int, seconds: float, env: dict[str, str], *, seed: int = 0, hz: float = 10.0) -> dict[str, Any]:
    """Bytes per viewer of ``mpp bench presence``'s crowd, on the engine alone, as ``env`` configures the server.

    Same walkers (``bench.loadtest.orbit_at``: 1.4 m/s on 3 m circles over the hall, 16-hex
    ids), same engine settings as the server (``presence_service.engine_for``), no sockets:
    the bytes depend only on what the engine sends, so this figure does not move with the
    machine's load, unlike the socket bench's. Moves arrive exactly on time here.
    """
    from bench.loadtest import orbit_at
    from server.realtime.presence_service import engine_for
    from server.settings import Settings

    rng = random.Random(seed)
    settings = Settings(**{k.removeprefix("MPP_").lower(): v for k, v in env.items()})  # type: ignore[arg-type]
    engine = engine_for(settings)
    ids = [f"{rng.getrandbits(64):016x}" for _ in range(n)]
    for i in ids:
        engine.join(i, f"Pengunjung {i[:4]}", *orbit_at(i, 0.0), now=0.0)
    parts = {"entered": 0, "changed": 0, "left": 0, "total": 0}
    rows = 0
    cpu = 0.0
    warm = int(hz)  # the first second: full snapshots and the first rates settling
    ticks = int(seconds * hz)
    for step in range(1, warm + ticks + 1):
        now = step / hz
        for i in ids:
            engine.move(i, *orbit_at(i, now), now, now)
        c0 = time.thread_time()
        snaps = engine.tick_wire(now)
        texts = [s.text for s in snaps.values()]
        c1 = time.thread_time()
        if step <= warm:
            continue
        cpu += c1 - c0
        for snap, text in zip(snaps.values(), texts, strict=True):
            parts["total"] += len(text.encode())
            parts["entered"] += sum(len(f) + 1 for f in snap.entered)
            parts["changed"] += sum(len(f) + 1 for f in snap.changed)
            parts["left"] += sum(len(i) + 3 for i in snap.left)
            rows += len(snap.changed)
    total = parts["total"] or 1
    share = {k: round(parts[k] / total, 3) for k in ("entered", "changed", "left")}
    share["frame_overhead"] = round(1 - sum(share.values()), 3)
    return {
        "bytes_per_viewer_per_second": round(parts["total"] / n / seconds, 1),
        "rows_per_viewer_tick": round(rows / n / ticks, 2),
        "tick_cpu_ms": round(cpu / ticks * 1000, 2),
        "bytes_share": share,
    }


if __name__ == "__main__":  # pragma: no cover - manual run: python -m bench.presence_tick
    import json
    import sys

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    for kind in ("walk", "crowd"):
        print(json.dumps(bench_tick(count, 30, scenario=kind)))
        print(json.dumps(bench_tick(count, 30, scenario=kind, keep_extra_k=8, keep_extra_m=1.0)))
