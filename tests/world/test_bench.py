"""The world bench's synthetic crowd is valid protocol, and its command rejects bad options."""

from __future__ import annotations

from typing import Any

import typer
from typer.testing import CliRunner

from protocol.messages import PresenceSnapshot
from protocol.presence import apply_snapshot
from world.bench import Hall, crowd_snapshot
from world.bench_commands import register
from world.layout import load_layout


def _teardown(base: object, hall: Hall) -> None:
    """A built hall off the shared test base again: its figures and scene, and its frame pacer."""
    from world.pacing import remove

    remove(base)
    for obj in (hall.visitors, hall.ai, hall.me, hall.scene):
        obj.destroy()


def test_crowd_frames_are_presence_snapshots_inside_the_hall() -> None:
    b = load_layout().bounds
    first = PresenceSnapshot.model_validate(crowd_snapshot(100, 0.0, 0, True))
    view = apply_snapshot({}, first)
    assert len(view) == 100 and first.full
    later = PresenceSnapshot.model_validate(crowd_snapshot(100, 2.5, 25, False))
    assert not later.full and len(later.changed) == 100
    moved = apply_snapshot(view, later)
    assert set(moved) == set(view)
    assert any((moved[k].x, moved[k].y) != (view[k].x, view[k].y) for k in view)
    for ent in [*first.entered, *moved.values()]:
        assert b.xmin < ent.x < b.xmax and b.ymin < ent.y < b.ymax


def test_bench_command_rejects_bad_crowds_before_opening_a_window() -> None:
    app = typer.Typer()
    bench = typer.Typer()
    app.add_typer(bench, name="bench")
    register(app, bench_app=bench, eval_app=typer.Typer())
    runner = CliRunner()
    for args in (["--crowds", "a,b"], ["--crowds", "-5"], ["--seconds", "0"], ["--crowds", "99999"]):
        result = runner.invoke(app, ["bench", "world", *args])
        assert result.exit_code == 2, (args, result.output)


def test_every_crowd_row_measures_frames_even_when_the_window_is_tiny(base: object) -> None:
    """The 0.0 FPS row: a crowd whose first frames outlast the window still measures MIN_FRAMES frames."""
    from world.bench import MIN_FRAMES, build_hall, measure

    hall = build_hall(base)
    try:
        r = measure(hall, 20, 0.001)
        assert r["frames"] >= MIN_FRAMES
        assert r["fps"] > 0 and r["p50_ms"] > 0 and r["cpu_ms"] > 0
        assert r["p95_ms"] >= r["p50_ms"]
        assert r["drawn"] == 20
    finally:
        _teardown(base, hall)


def test_old_and_new_crowd_paths_are_measured_in_alternating_slices(base: object) -> None:
    """The bench's same-run comparison: both paths measured over the same rounds, each with its
    own figures (Actors for the old path, shared poses for the new), and the hall left on the new."""
    from world.bench import COMPARE_ROUNDS, build_hall, compare_paths
    from world.characters import CrowdFigure, Figure

    hall = build_hall(base)
    try:
        new, old = compare_paths(hall, 12, 0.001)
        for r in (new, old):
            assert r["drawn"] == 12 and r["frames"] >= COMPARE_ROUNDS * 8 and r["cpu_ms"] > 0 and r["main_ms"] > 0
        assert hall.visitors.crowd.shared_poses and hall.visitors.count == 0  # emptied, back on the new path
        hall.visitors.interp.delay = 0.0
        hall.visitors.apply(crowd_snapshot(3, 0.0, 0, True))
        hall.visitors.update(0.0)
        figs = list(hall.visitors.crowd.figures.values())
        assert len(figs) == 3 and all(isinstance(f, CrowdFigure) and not isinstance(f, Figure) for f in figs)
    finally:
        _teardown(base, hall)


def test_paced_pipelined_and_finished_frames_are_measured_in_alternating_slices(base: Any) -> None:
    """The bench's paced frames (the client's) against the old unbounded pipelining and frames each
    ended by glFinish: all measured over the same rounds; afterwards gl-finish is off again (only a
    window's last frame finishes) and the pacer is on again."""
    from panda3d.core import ConfigVariableBool

    from world.bench import COMPARE_ROUNDS, PACINGS, _frame, build_hall, compare_pacing

    hall = build_hall(base)
    try:
        assert hall.pacer is not None
        assert base.mpp_pacer is hall.pacer  # the bench paces frames as the client does
        enabled = hall.pacer.enabled
        by = compare_pacing(hall, 6, 0.001)
        assert set(by) == set(PACINGS)
        for r in by.values():
            assert r["drawn"] == 6 and r["frames"] >= COMPARE_ROUNDS * 8
            assert r["fps"] > 0 and r["cpu_ms"] > 0 and r["p95_ms"] >= r["p50_ms"]
        assert not ConfigVariableBool("gl-finish").get_value()
        assert hall.pacer.enabled == enabled
        _frame(hall, 0.0, finish=True)
        assert not ConfigVariableBool("gl-finish").get_value()
    finally:
        _teardown(base, hall)
