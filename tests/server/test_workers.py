"""``mpp serve --workers N``: several processes on one port behave as one server."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from tests.codes import prove_http, shared_inbox
from tests.conftest import PG_URL, _reset_postgres, free_port, need, port_open, start_mpp_serve
from tests.server.conftest import VALID_NIK, ktp_form

pytestmark = [pytest.mark.slow, pytest.mark.redis]


def test_workers_without_redis_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MPP_REDIS_URL"}
    env["MPP_DATA_DIR"] = str(tmp_path)
    r = subprocess.run(
        [sys.executable, "-m", "mpp.cli", "serve", "--workers", "2", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert "MPP_REDIS_URL" in r.stderr
    assert not (tmp_path / "mpp.db").exists()  # refused before touching the database


def test_two_workers_serve_every_event_to_a_socket_on_either(tmp_path: Path) -> None:
    need(port_open("127.0.0.1", 6379), "Redis is not reachable on 127.0.0.1:6379")
    if PG_URL:  # the worker's database holds earlier tests' applications of the same citizen
        _reset_postgres(PG_URL)
    port = free_port()
    proc = start_mpp_serve(
        tmp_path,
        port,
        "--workers",
        "2",
        MPP_REDIS_URL="redis://127.0.0.1:6379/0",
        MPP_REDIS_PREFIX=f"mpptest-{secrets.token_hex(4)}:",
    )
    try:
        api = f"http://127.0.0.1:{port}/api/v1"
        token = httpx.post(f"{api}/sessions", json={}).json()["token"]
        h = {"Authorization": f"Bearer {token}"}
        prove_http(api, h, VALID_NIK, "Budi Santoso", shared_inbox(), "budi@example.com")
        sockets = []
        for _ in range(6):  # new connections land on both workers
            ws = connect(f"ws://127.0.0.1:{port}/ws", open_timeout=10)
            ws.send(json.dumps({"type": "hello", "token": token, "protocol_version": 1, "last_seq": 0}))
            welcome = json.loads(ws.recv(timeout=10))
            assert welcome["type"] == "welcome"
            sockets.append(ws)
        tracking: list[str] = []
        for _ in range(6):
            with httpx.Client() as c:  # a fresh connection each time: both workers take submissions
                r = c.post(
                    f"{api}/applications",
                    json={"service_id": "ktp-el", "data": ktp_form(), "submit": True},
                    headers={**h, "Idempotency-Key": uuid.uuid4().hex},
                )
                assert r.status_code == 201, r.text
                tracking.append(r.json()["tracking_number"])
        for ws in sockets:
            seen: dict[str, set[str]] = {}
            while sum(len(v) for v in seen.values()) < 12:  # draft + submitted for each
                frame: dict[str, Any] = json.loads(ws.recv(timeout=10))
                if frame.get("type") == "application.event":
                    seen.setdefault(frame["tracking_number"], set()).add(frame["to_state"])
            assert sorted(seen) == sorted(tracking)
            assert all(v == {"draft", "submitted"} for v in seen.values())
            ws.close()
        mine = httpx.get(f"{api}/applications", headers=h).json()
        assert sorted(a["tracking_number"] for a in mine) == sorted(tracking)
        children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
        assert len(children) >= 2  # really two worker processes
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
