"""``mpp bench presence --env-row``: extra rows with other settings, refused before any load when malformed."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bench.presence import _parse_env, _source_env
from mpp.cli import app


def test_an_env_row_is_settings_overrides() -> None:
    assert _parse_env("MPP_PRESENCE_RANK_NEAR=0") == {"MPP_PRESENCE_RANK_NEAR": "0"}
    assert _parse_env("MPP_A=1, MPP_B=x") == {"MPP_A": "1", "MPP_B": "x"}


@pytest.mark.parametrize("bad", ["MPP_PRESENCE_RANK_NEAR", "PATH=/tmp", "=1", "MPP_A=1,junk"])
def test_a_malformed_env_row_is_refused_before_any_load(bad: str) -> None:
    with pytest.raises(ValueError):
        _parse_env(bad)
    result = CliRunner().invoke(app, ["bench", "presence", "--clients", "2", "--env-row", bad])
    assert result.exit_code == 2
    assert "--env-row" in result.output


def test_the_in_process_bytes_follow_the_settings() -> None:
    """The engine-alone figure is the server's engine: ranking fewer every tick sends fewer rows."""
    from bench.presence_tick import bench_bytes

    ranked = bench_bytes(200, 1.0, {})
    unranked = bench_bytes(200, 1.0, {"MPP_PRESENCE_RANK_NEAR": "0"})
    assert ranked["rows_per_viewer_tick"] < unranked["rows_per_viewer_tick"]
    assert ranked["bytes_per_viewer_per_second"] < unranked["bytes_per_viewer_per_second"]
    assert abs(sum(ranked["bytes_share"].values()) - 1) < 0.01


def test_a_baseline_tree_is_what_its_nodes_import(tmp_path: Path) -> None:
    """``--baseline DIR``: that row's servers run ``python -m mpp.cli`` from DIR's code, not this tree's."""
    assert _source_env(tmp_path) == {"PYTHONPATH": str(tmp_path)}
    assert _source_env(None) == {}
    result = CliRunner().invoke(app, ["bench", "presence", "--clients", "2", "--baseline", str(tmp_path / "absent")])
    assert result.exit_code == 2
    assert "--baseline" in result.output
