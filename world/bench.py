"""``mpp bench world``: frame rate of the hall with a crowd, and cold start to the first hall frame.

Figures, not asserts: the 0-visitor run is the baseline measured in the same run,
and every crowd size is reported next to it (goal: ≥30 FPS with 100 visitors on
the software renderer, frame-time p95 ≤ 50 ms and ≤ 2× p50; ≤3 s from process
start to the first hall frame).

Frames are paced as the client paces them (world.pacing, installed by ``build_hall`` as by
``HallClient.start``): each ends in ``glFlush`` (``gl-force-flush``), which hands it to
llvmpipe's rasteriser threads, and a task right after the render puts a GL fence behind
frame N and waits on frame N-1's fence, as a swap chain does. The main thread culls and draws
frame N+1 while frame N is rasterised, but never runs further ahead. Only the last frame of
each measuring window ends in ``glFinish``, so the window closes when every frame counted in
it is drawn: fps is frames over that wall time, the frame times are the wall intervals between
frame ends (the fence wait included), and the CPU columns include the rasterising of all of them.

Why the fence: with ``glFlush`` alone (session 8), nothing bounded the frames in flight.
llvmpipe queues scenes. In ``tests/world/test_pacing.py``, frames that are cheap to build
and dear to rasterise each ended with the frame before them still undrawn, all through the run.
In the hall, at the end of a frame up to 5 older frames were still undrawn (load 1.1, 320
frames). Frames that ended with 2-5 older frames undrawn took 14-18 ms on average; those that
ended with none took 32 ms. So frames alternated between cheap and dear. The old pacing's
p95/p50 was 2.2-2.6 in five of six same-run probes at load 1.7-2.7; the sixth, at load 1.1,
gave 1.47 against 1.51 paced. Paced, no older frame is ever in flight at a frame's end.

The main thread's own work does not alternate. Per phase, even and odd frames cost the same:
crowd 1.9 ms, labels 1.6 ms, cull and draw 9.7 ms, snapshots 0.4 ms, 27 gen-0 collections in
400 frames. Its CPU p95/p50 is 1.3. The slowest frames are the main thread waiting in the run
queue for a core, while llvmpipe's two rasteriser threads (and other load) hold both.

``--sync`` measures three pacings alternating on the same hall: ``paced`` (this), ``piped``
(glFlush only, the old bench) and ``sync`` (a ``glFinish`` after every frame, session 7, which
idles the main thread and costs ~25% more CPU a frame). Figures at 100 visitors, same run
(``mpp bench world --seconds 4 --no-pbr --no-old --crowds 0,100``):

- Quiet run (load 1.7-2.6): p95/p50 1.78 paced, 2.53 piped, 1.31 sync. FPS 44.5 / 51.7 /
  26.0, p50 20.2 / 16.2 / 37.0 ms, p95 36.0 / 41.0 / 48.6 ms. Cold start 1.17 s.
- Second quiet run (load 1.4-2.9): 1.77 / 2.57 / 1.41 at 48.9 / 54.4 / 28.1 FPS.
- Paced had the lower spread in 8 of 9 runs at load 1.4-6.5.
- Up to load 4.4, paced was 1.29-1.78 in five runs and 2.08 in one; piped was 1.70-2.57.
- At load 5-6.5 the wall clock measures the queue for a core, and pacing does little: paced
  1.82-2.28, piped 1.99-2.85.

Bounding the queue costs some throughput on a quiet machine (44.5 against 51.7 FPS, and 48.9
against 54.4): the main thread can no longer bank frames ahead of the rasteriser.

Without any flush, llvmpipe deferred an offscreen buffer's rasterising (most frames "took"
2 ms and every few seconds one paid for all of them).

The crowd is drawn from shared baked poses (world.characters.PoseBook); the row marked
``old`` measures the previous path (one Actor per visitor, ``MPP_HALL_CROWD=actors``) right
after it in the same run, so the two are compared under the same load.

The harness builds exactly what the client shows in the hall (HallScene, the AI
avatar, the visitor's own figure and the VisitorLayer fed with presence snapshots
at the server's 10 Hz) behind a third-person camera, without the client's GUI, so
the figures measure the 3D hall and do not move when the panels change.
"""

from __future__ import annotations

import time

T_PROCESS = time.perf_counter()  # as early as this module can take it (cold-start child)

import math  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

WIDTH, HEIGHT = 1280, 720
GOAL_FPS = 30.0
GOAL_COLD_S = 3.0
GOAL_P95_MS = 50.0


def open_base(display: str, width: int = WIDTH, height: int = HEIGHT) -> Any:
    """An offscreen ShowBase on ``display``; falls back to the software rasteriser if it does not open."""
    from panda3d.core import loadPrcFileData

    prc = (
        f"window-type offscreen\naudio-library-name null\nwin-size {width} {height}\nsync-video #f\n"
        "notify-level-display error\ngl-finish #f\ngl-force-flush #t\nnotify-level-device fatal\n"
        "framebuffer-multisample #f\n"
    )
    from direct.showbase.ShowBase import ShowBase

    last: Exception | None = None
    for mod in dict.fromkeys([display, "p3tinydisplay"]):
        loadPrcFileData("mpp-bench", f"load-display {mod}\n" + prc)
        try:
            base = ShowBase(windowType="offscreen")
        except Exception as exc:  # noqa: BLE001 - Panda raises plain Exception when no pipe opens
            last = exc
            continue
        if base.win is not None:
            base.mpp_display = mod
            return base
        base.destroy()
    raise RuntimeError(f"no offscreen display could be opened: {last}")


@dataclass
class Hall:
    base: Any
    scene: Any
    visitors: Any
    ai: Any
    me: Any
    labels: Any = None
    lights: Any = None
    pacer: Any = None


def build_hall(base: Any) -> Hall:
    """The hall as the client shows it, camera behind the visitor at the entrance."""
    from protocol.catalog import default_catalog
    from world.avatars import AIAvatar, CitizenAvatar, VisitorLayer, _font
    from world.characters import FigureLights
    from world.charts import sample_payload
    from world.labels import LabelLayer
    from world.layout import load_layout
    from world.pacing import install
    from world.scene import HallScene

    catalog = default_catalog()
    layout = load_layout(catalog)
    font = _font(base.loader)
    labels = LabelLayer(base.aspect2d, base.cam, base.render, font)
    lights = FigureLights(base.render)
    scene = HallScene(base.render, base.loader, catalog, layout, lights=lights, labels=labels).build()
    for name in ("village_progress", "budget", "poverty"):
        scene.set_dataset(name, sample_payload(name))
    ai = AIAvatar(base.render, base.loader, "id", font=font, labels=labels, lights=lights)
    hx, hy = layout.ai_avatar_home
    ai.root.set_pos(hx, hy, 0)
    me = CitizenAvatar(base.render, base.loader, "Siti Aminah", font=font, labels=labels, lights=lights)
    sx, sy, sh = layout.spawn
    me.root.set_pos(sx, sy, 0)
    me.root.set_h(sh)
    visitors = VisitorLayer(base.render, base.loader, layout=layout, font=font, labels=labels, lights=lights)
    base.disable_mouse()
    base.set_background_color(0.62, 0.80, 0.95, 1)
    base.camLens.set_fov(68)
    # third-person camera behind the visitor, kept inside the hall (the south wall is at y_min)
    base.camera.set_pos(sx, max(layout.bounds.y_min + 0.5, sy - 4.0), 3.2)
    base.camera.look_at(sx, sy + 12, 1.6)
    pacer = install(base)  # as HallClient.start: at most one frame in flight behind the one being built
    settle_heap()
    return Hall(base, scene, visitors, ai, me, labels, lights, pacer)


def settle_heap() -> None:
    """The built hall's objects leave the collector's generations, so a gen-2 pass stays short."""
    import gc

    gc.collect()
    gc.freeze()


def crowd_snapshot(n: int, t: float, tick: int, first: bool) -> dict[str, Any]:
    """``n`` visitors strolling on ellipses in front of the camera, as one presence frame."""
    ents: list[Any] = []
    for k in range(n):
        ring = 2.5 + (k % 7) * 1.4
        phase = k * 2.399 + t * (0.35 + (k % 5) * 0.05)
        cx, cy = -6.0 + (k % 3) * 6.0, -2.0 + (k % 4) * 3.0
        x, y = cx + ring * math.cos(phase), cy + ring * math.sin(phase) * 0.6
        if first:
            h = math.degrees(phase)
            ents.append({"id": f"bot{k:04d}", "name": f"Pengunjung {k}", "x": x, "y": y, "heading": h})
        else:
            from protocol.presence import quantize

            ents.append([f"bot{k:04d}", *quantize(x, y, math.degrees(phase))])
    key = "entered" if first else "changed"
    return {"type": "presence.snapshot", "tick": tick, "hall": "Aula 1", "full": first, key: ents}


def _frame(hall: Hall, dt: float, finish: bool = False) -> None:
    """One client frame; ``finish`` waits until it (and every frame before it) is drawn."""
    hall.visitors.update(dt)
    hall.ai.update(dt)
    hall.me.update(dt)
    if hall.labels is not None:
        hall.labels.update()
    if finish:
        _GL_FINISH.set_value(True)
        try:
            hall.base.taskMgr.step()
        finally:
            _GL_FINISH.set_value(False)
    else:
        hall.base.taskMgr.step()


class _Finish:
    """``gl-finish`` switched for one frame (the variable is read by Panda's GL at every frame's end)."""

    def __init__(self) -> None:
        self.var: Any = None

    def set_value(self, on: bool) -> None:
        if self.var is None:
            from panda3d.core import ConfigVariableBool

            self.var = ConfigVariableBool("gl-finish")
        self.var.set_value(on)


_GL_FINISH = _Finish()


WARM_FRAMES = 8
MIN_FRAMES = 24


def measure(hall: Hall, n: int, seconds: float) -> dict[str, float]:
    """Frame times with ``n`` visitors: wall-clock and this process's CPU time, per frame.

    Counted in frames, not only in seconds: a warm-up of ``WARM_FRAMES`` and then at least
    ``MIN_FRAMES`` measured ones, however slow the box is (a time-only window measured
    nothing at load 15 and printed 0.0 FPS).
    """
    frame_ms, cpu_ms, main_ms = _sample(hall, n, seconds, MIN_FRAMES)
    return _summary(hall, n, frame_ms, cpu_ms, main_ms)


PACINGS = ("paced", "piped", "sync")


def _sample(
    hall: Hall, n: int, seconds: float, min_frames: int, pacing: str = "paced"
) -> tuple[list[float], list[float], list[float]]:
    """Per-frame wall-clock intervals, CPU and main-thread CPU over one measuring window.

    The warm-up's last frame and the window's last frame end in ``glFinish``: the window holds
    exactly the frames it counts, each one drawn. The per-frame figures are taken between
    consecutive frame ends (a frame's share of a pipelined window); they add up to the window.
    ``pacing``: ``paced`` is the client's (world.pacing: frame N ends waiting for frame N-1's
    fence), ``piped`` the bench before it (glFlush only, no bound on frames in flight), ``sync``
    a ``glFinish`` after every frame (session 7's bench), for same-run comparisons.
    """
    pacer = hall.pacer
    was = pacer.enabled if pacer is not None else False
    if pacer is not None:
        pacer.enabled = was and pacing == "paced"
    try:
        return _window(hall, n, seconds, min_frames, finish_each=pacing == "sync")
    finally:
        if pacer is not None:
            pacer.enabled = was


def _window(
    hall: Hall, n: int, seconds: float, min_frames: int, finish_each: bool
) -> tuple[list[float], list[float], list[float]]:
    tick = 0
    start = time.perf_counter()
    hall.visitors.apply(crowd_snapshot(n, 0.0, tick, True))
    next_snap = start + 0.1
    frame_ms: list[float] = []
    cpu_ms: list[float] = []
    main_ms: list[float] = []
    last = start
    for k in range(WARM_FRAMES):
        now = time.perf_counter()
        _frame(hall, now - last, finish=k == WARM_FRAMES - 1)
        last = now
    end = time.perf_counter() + seconds
    w0, c0, m0 = time.perf_counter(), time.process_time(), time.thread_time()
    while True:
        now = time.perf_counter()
        final = now >= end and len(frame_ms) >= min_frames - 1
        if now >= next_snap:
            tick += 1
            hall.visitors.apply(crowd_snapshot(n, now - start, tick, False))
            next_snap = max(next_snap + 0.1, now)
        _frame(hall, now - last, finish=final or finish_each)
        last = now
        w1, c1, m1 = time.perf_counter(), time.process_time(), time.thread_time()
        frame_ms.append((w1 - w0) * 1000.0)
        cpu_ms.append((c1 - c0) * 1000.0)
        main_ms.append((m1 - m0) * 1000.0)
        w0, c0, m0 = w1, c1, m1
        if final:
            return frame_ms, cpu_ms, main_ms


def _summary(hall: Hall, n: int, frame_ms: list[float], cpu_ms: list[float], main_ms: list[float]) -> dict[str, float]:
    total = sum(frame_ms) / 1000.0
    return {
        "visitors": float(n),
        "drawn": float(hall.visitors.count),
        "frames": float(len(frame_ms)),
        "fps": len(frame_ms) / total if total else 0.0,
        "p50_ms": statistics.median(frame_ms),
        "p95_ms": _p95(frame_ms),
        # CPU seconds of this process (Python + llvmpipe threads) per frame: less sensitive to other load
        "cpu_ms": statistics.fmean(cpu_ms),
        "cpu_p95_ms": _p95(cpu_ms),
        # the main thread's share (Python, Panda's cull and draw, llvmpipe's vertex work): the serial part
        "main_ms": statistics.fmean(main_ms),
    }


COMPARE_ROUNDS = 4


def compare_paths(hall: Hall, n: int, seconds: float) -> tuple[dict[str, float], dict[str, float]]:
    """The crowd path (shared poses) and the old one (an Actor per visitor) at ``n`` visitors,
    alternating in ``COMPARE_ROUNDS`` slices of the same total time, so a change in the
    machine's load during the run weighs on both alike. Returns (new, old)."""
    raw: dict[bool, tuple[list[float], list[float], list[float]]] = {True: ([], [], []), False: ([], [], [])}
    drawn: dict[bool, float] = {}
    try:
        for _ in range(COMPARE_ROUNDS):
            for shared in (True, False):
                set_crowd_path(hall, shared_poses=shared)
                sample = _sample(hall, n, seconds / COMPARE_ROUNDS, max(8, MIN_FRAMES // COMPARE_ROUNDS))
                for into, values in zip(raw[shared], sample, strict=True):
                    into.extend(values)
                drawn[shared] = float(hall.visitors.count)
    finally:
        set_crowd_path(hall, shared_poses=True)
    out = []
    for shared in (True, False):
        r = _summary(hall, n, *raw[shared])
        r["drawn"] = drawn[shared]
        out.append(r)
    return out[0], out[1]


def compare_pacing(hall: Hall, n: int, seconds: float) -> dict[str, dict[str, float]]:
    """The client's paced frames, the old unbounded pipelining and a ``glFinish`` after every frame
    at ``n`` visitors, alternating in ``COMPARE_ROUNDS`` slices of the same total time, so a change
    in the machine's load weighs on all three alike. Returns {pacing: figures} (see ``PACINGS``)."""
    raw: dict[str, tuple[list[float], list[float], list[float]]] = {p: ([], [], []) for p in PACINGS}
    for _ in range(COMPARE_ROUNDS):
        for pacing in PACINGS:
            sample = _sample(hall, n, seconds / COMPARE_ROUNDS, max(8, MIN_FRAMES // COMPARE_ROUNDS), pacing=pacing)
            for into, values in zip(raw[pacing], sample, strict=True):
                into.extend(values)
    return {p: _summary(hall, n, *raw[p]) for p in PACINGS}


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(len(ordered) * 0.95) - 1)]


def _verdict(r: dict[str, float]) -> str:
    fps_ok = r["fps"] >= GOAL_FPS
    tail_ok = r["p95_ms"] <= GOAL_P95_MS
    spread_ok = r["p95_ms"] <= 2 * r["p50_ms"]
    return (
        ("OK" if fps_ok else f"below {GOAL_FPS:.0f} fps")
        + ("" if tail_ok else f" · p95 > {GOAL_P95_MS:.0f} ms")
        + ("" if spread_ok else " · p95 > 2x p50")
    )


def cold_child(display: str) -> None:
    """In a fresh interpreter: open the hall and print when its first frame has been rendered."""
    base = open_base(display)
    hall = build_hall(base)
    _frame(hall, 0.0)
    _GL_FINISH.set_value(True)  # the first hall frame counts once it is drawn
    base.graphicsEngine.render_frame()
    print(f"FIRST_FRAME {time.perf_counter() - T_PROCESS:.3f}", flush=True)
    base.destroy()


def cold_start(display: str) -> tuple[float, float]:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "world.bench", "--cold", display],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    wall = time.perf_counter() - t0
    for line in proc.stdout.splitlines():
        if line.startswith("FIRST_FRAME "):
            return wall, float(line.split()[1])
    raise RuntimeError(f"cold-start child failed: {proc.stderr[-800:]}")


def _row(label: str, r: dict[str, float], base_fps: float, note: str) -> None:
    print(
        f"{label:>9} {int(r['drawn']):>6} {int(r['frames']):>6} {r['fps']:>7.1f} {r['p50_ms']:>7.1f} "
        f"{r['p95_ms']:>7.1f} {r['p95_ms'] / r['p50_ms']:>7.2f} {r['cpu_ms']:>7.1f} {r['cpu_p95_ms']:>7.1f} "
        f"{r['main_ms']:>7.1f} {1000 / r['cpu_ms']:>6.1f} {r['fps'] / base_fps:>6.2f}{note}"
    )


def set_crowd_path(hall: Hall, shared_poses: bool) -> None:
    """Empty the crowd and choose how its next figures are drawn: shared baked poses (new) or one
    Actor each (``MPP_HALL_CROWD=actors``, the old path), so both are measured in the same run."""
    hall.visitors.apply({"type": "presence.snapshot", "tick": 0, "hall": "Aula 1", "full": True, "entered": []})
    hall.visitors.update(0.0)
    hall.visitors.crowd.shared_poses = shared_poses


def run(
    seconds: float = 3.0,
    crowds: list[int] | None = None,
    display: str = "p3headlessgl",
    pbr: bool = True,
    old: bool = True,
    sync: bool = True,
) -> None:
    crowds = sorted(set(crowds or [0, 50, 100]) | {0})
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"world bench · {WIDTH}x{HEIGHT} offscreen · display {display} · load avg {load:.1f} · {os.cpu_count()} cpus")
    print(
        "(fps is wall-clock and drops under other load; cpu ms = this process's CPU time per frame, "
        "llvmpipe's threads included; main ms = the main thread's part of it; 1-core = the fps one free core "
        "would give; frames paced as the client's: frame N ends waiting for frame N-1, each window ends in glFinish)"
    )
    wall, inproc = cold_start(display)
    verdict = "OK" if wall <= GOAL_COLD_S else "SLOW"
    print(
        f"cold start to first hall frame: {wall:.2f} s wall (new python process), "
        f"{inproc:.2f} s from bench import · goal ≤ {GOAL_COLD_S:.0f} s · {verdict}"
    )
    base = open_base(display)
    try:
        gsg = base.win.get_gsg()
        print(f"renderer: {gsg.get_driver_renderer() if gsg is not None else '?'} ({base.mpp_display})")
        hall = build_hall(base)
        base_fps = 0.0
        print(
            f"{'visitors':>9} {'drawn':>6} {'frames':>6} {'fps':>7} {'p50 ms':>7} {'p95 ms':>7} {'p95/p50':>7} "
            f"{'cpu ms':>7} {'cpu p95':>7} {'main ms':>7} {'1-core':>6} {'vs 0':>6}"
        )
        for n in crowds:
            r = measure(hall, n, seconds)
            if n == 0:
                base_fps = r["fps"] or 1.0
            _row(str(n), r, base_fps, "  " + _verdict(r) if n == crowds[-1] else "")
        if old and crowds[-1] > 0:
            # new and old crowd paths, alternating slices of the same hall under the same load
            n = crowds[-1]
            new_r, old_r = compare_paths(hall, n, 2 * seconds)
            _row(f"{n} new", new_r, base_fps, "  shared baked poses, alternating with:")
            _row(f"{n} old", old_r, base_fps, "  one Actor per visitor (MPP_HALL_CROWD=actors)")
            print(
                f"shared poses vs old path at {n} visitors ({COMPARE_ROUNDS} alternating rounds, same run): "
                f"cpu ms/frame {new_r['cpu_ms']:.1f} vs {old_r['cpu_ms']:.1f} "
                f"(old/new x{old_r['cpu_ms'] / new_r['cpu_ms']:.2f}), main thread {new_r['main_ms']:.1f} vs "
                f"{old_r['main_ms']:.1f} ms, fps {new_r['fps']:.1f} vs {old_r['fps']:.1f}, "
                f"p95 {new_r['p95_ms']:.1f} vs {old_r['p95_ms']:.1f} ms"
            )
        if sync and crowds[-1] > 0:
            # the client's pacing against the old unbounded pipelining and a glFinish after every
            # frame, alternating slices, same hall
            n = crowds[-1]
            by = compare_pacing(hall, n, 3 * seconds)
            paced, piped, each = by["paced"], by["piped"], by["sync"]
            _row(f"{n} paced", paced, base_fps, "  frame N waits for N-1's fence (the client), alternating with:")
            _row(f"{n} piped", piped, base_fps, "  glFlush only, frames in flight unbounded (the old pacing)")
            _row(f"{n} sync", each, base_fps, "  every frame ends in glFinish (session 7's bench)")
            trio = (paced, piped, each)

            def vs(key: str, spec: str = ".1f") -> str:
                return " vs ".join(format(r[key], spec) for r in trio)

            spread = " vs ".join(f"{r['p95_ms'] / r['p50_ms']:.2f}" for r in trio)
            print(
                f"paced vs old pipelined vs finished frames at {n} visitors ({COMPARE_ROUNDS} alternating rounds, "
                f"same run): p95/p50 {spread}, fps {vs('fps')}, p50 {vs('p50_ms')} ms, p95 {vs('p95_ms')} ms, "
                f"cpu ms/frame {vs('cpu_ms')}"
            )
        if pbr:
            # the full-quality path (simplepbr, shadow-casting sun), reported as it is on this renderer
            from world.quality import BUDGET_MS, Quality

            q = Quality(base, hall.scene, level="high")
            try:
                r = measure(hall, crowds[-1], seconds)
            finally:
                q.set("low")
            verdict = "kept" if r["p50_ms"] <= BUDGET_MS else "auto falls back to baked light"
            _row(f"{crowds[-1]} pbr", r, base_fps, f"  {verdict}")
        print(f"load avg at the end: {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "")
    finally:
        base.destroy()


SHOTS: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "hall-entrance": ((0.0, -19.4, 2.9), (0.0, 6.0, 2.6)),
    "hall-counters": ((-2.0, 10.5, 2.4), (-8.0, 22.6, 3.4)),
    "hall-lounge": ((13.0, -12.5, 2.4), (29.7, -7.0, 2.9)),
    "hall-outside": ((0.0, -37.0, 2.0), (0.0, -20.0, 5.5)),
}


def screenshots(
    out: Any, display: str = "p3headlessgl", lang: str = "id", quality: str = "low", names: list[str] | None = None
) -> list[Any]:
    """The documentation images: the hall with some visitors, live boards and the lounge charts.

    ``quality="high"`` renders the PBR tier (simplepbr), as a real GPU shows the hall."""
    from pathlib import Path

    from panda3d.core import Filename

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    base = open_base(display)
    saved = []
    try:
        hall = build_hall(base)
        hall.scene.set_lang(lang)
        if quality == "high":
            from world.quality import Quality

            Quality(base, hall.scene, level="high")
        for spot in hall.scene.layout.counters:  # a busy morning: every counter serving, people waiting
            n = spot.number
            hall.scene.set_board(n, f"{spot.code}-{(n * 7) % 40 + 3:03d}", (n * 3) % 7)
        hall.ai.say(
            "Selamat datang di MPP Banyuwangi! Ada yang bisa saya bantu?"
            if lang == "id"
            else "Welcome to MPP Banyuwangi! How can I help you?",
            lang,
        )
        snap = crowd_snapshot(24, 0.0, 0, True)
        hall.visitors.apply(snap)
        hall.me.root.hide()  # the visitor's own figure would only be a cut-off corner in these views
        for _ in range(12):
            _frame(hall, 1 / 30)
            time.sleep(0.02)
        for name, (pos, look) in SHOTS.items():
            if names is not None and name not in names:
                continue
            base.camLens.set_fov(62)  # as the client
            base.camera.set_pos(*pos)
            base.camera.look_at(*look)
            _frame(hall, 1 / 30)
            hall.labels.update()
            base.graphicsEngine.render_frame()
            path = out / f"{name}.png"
            base.win.save_screenshot(Filename.from_os_specific(str(path)))
            saved.append(path)
    finally:
        base.destroy()
    return saved


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--cold":
        cold_child(sys.argv[2])
    elif len(sys.argv) >= 3 and sys.argv[1] in ("--shots", "--shots-high"):
        level = "high" if sys.argv[1] == "--shots-high" else "low"
        for p in screenshots(sys.argv[2], lang=sys.argv[3] if len(sys.argv) > 3 else "id", quality=level):
            print(p)
    else:
        run()
