"""``mpp bench api`` measures real, successful submissions against the bare endpoint."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import need


def test_bench_api_runs_both_servers_and_every_submission_succeeds(capsys: pytest.CaptureFixture[str]) -> None:
    need(shutil.which("wrk") is not None, "wrk is not installed (apt-get install wrk)")
    from bench.api import run_bench

    rows = run_bench([4], duration=1, requests=100, postgres="postgresql://nobody@127.0.0.1:1/none")
    names = [r["run"] for r in rows]
    assert names == ["bare FastAPI insert (SQLite)", "mpp submissions (SQLite)"]
    for r in rows:
        assert r["errors"] == 0, r  # every request was answered 201: the figures count real submissions
        assert r["requests"] > 0 and r["rps"] > 0
        assert 0 < r["p50_ms"] <= r["p99_ms"]
        assert r["cpu_ms"] > 0
    assert rows[0]["rate_ratio"] == pytest.approx(1.0)
    out = capsys.readouterr().out
    assert "PostgreSQL not reachable" in out and "wrk (separate process)" in out
    assert "mpp submissions (SQLite)" in out
