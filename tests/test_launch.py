"""The one server launcher (``mpp.launch``): what ``mpp up``, the demo, the tests and benches start."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from mpp.launch import LaunchError, ServerProcess


@pytest.mark.slow
def test_starts_a_real_server_and_stops_it(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, env={"MPP_LOAD_ASSISTANT": "0", "MPP_DATABASE_URL": None}, wait_for="ready")
    with server:
        assert httpx.get(server.url + "/api/v1/ready", timeout=5).status_code == 200
        assert server.alive and server.log_path == tmp_path / f"serve-{server.port}.log"
    assert not server.alive
    with pytest.raises(httpx.HTTPError):
        httpx.get(server.url + "/api/v1/health", timeout=1)


@pytest.mark.slow
def test_a_server_that_cannot_start_says_why_with_its_log(tmp_path: Path) -> None:
    """A bad setting makes ``mpp serve`` exit: the error carries the log's tail, not a silent timeout."""
    server = ServerProcess(tmp_path, env={"MPP_DATABASE_URL": "nosuchdb://x"}, wait_for="health")
    with pytest.raises(LaunchError, match="exited") as info:
        server.start(timeout=60)
    assert "nosuchdb" in str(info.value) or "Error" in str(info.value)
    assert not server.alive


def test_env_overrides_set_and_remove_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MPP_DATABASE_URL", "postgresql://elsewhere/db")
    monkeypatch.setenv("MPP_KEEP", "1")
    env = ServerProcess(tmp_path, 8123, env={"MPP_DATABASE_URL": None, "MPP_X": "y"}).environment()
    assert "MPP_DATABASE_URL" not in env and env["MPP_X"] == "y" and env["MPP_KEEP"] == "1"
    assert env["MPP_DATA_DIR"] == str(tmp_path) and env["MPP_PORT"] == "8123"
