"""``mpp bench ws-transport``: the same relay on three transports, each really carrying presence."""

from __future__ import annotations

import importlib.util

import pytest

from tests.conftest import need


@pytest.mark.slow
def test_each_transport_welcomes_every_bot_and_delivers_snapshots(capsys: pytest.CaptureFixture[str]) -> None:
    need(importlib.util.find_spec("picows") is not None, "picows is not installed (pip install 'picows>=2.3,<2.4')")
    from bench.transports import run

    rows = run(12, 2.0, k=5)
    assert [name for name, _ in rows] == ["websockets relay", "uvicorn + fastws relay", "picows relay"]
    for name, r in rows:
        assert r["connected"] == 12, (name, r)
        assert r["delivered_updates_per_s"] > 0, (name, r)  # snapshots with the others' positions arrived
        assert r["latency_ms_p99"] is not None and r["latency_ms_p99"] > 0, (name, r)
        assert r["errors"] == 0, (name, r)
    assert "vs fastws" in capsys.readouterr().out
