"""Durability: kill -9 the real server; everything acknowledged survives and missed events replay."""

from __future__ import annotations

import json
import signal
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from tests.codes import prove_http, shared_inbox
from tests.conftest import PG_URL, free_port, start_mpp_serve
from tests.server.conftest import VALID_NIK, ktp_form

pytestmark = pytest.mark.slow


def start_server(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    return start_mpp_serve(data_dir, port)


def ws_events(port: int, token: str, last_seq: int, want: int) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    with connect(f"ws://127.0.0.1:{port}/ws", open_timeout=10) as ws:
        ws.send(json.dumps({"type": "hello", "token": token, "protocol_version": 1, "last_seq": last_seq}))
        assert json.loads(ws.recv(timeout=10))["type"] == "welcome"
        while len(got) < want:
            frame = json.loads(ws.recv(timeout=10))
            if frame["type"] == "application.event":
                got.append(frame)
    return got


def test_kill_9_keeps_acknowledged_data_and_replays_missed_events(settings: Any, tmp_path: Path) -> None:
    if PG_URL:
        from server.persistence.migrate import upgrade

        upgrade(settings)
    port = free_port()
    proc = start_server(tmp_path, port)
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        token = httpx.post(f"{base}/sessions", json={}).json()["token"]
        h = {"Authorization": f"Bearer {token}"}
        prove_http(base, h, VALID_NIK, "Budi Santoso", shared_inbox(), "budi@example.com")
        first = httpx.post(
            f"{base}/applications",
            json={"service_id": "ktp-el", "data": ktp_form(), "submit": True},
            headers={**h, "Idempotency-Key": uuid.uuid4().hex},
        ).json()
        seen = ws_events(port, token, 0, 2)
        last_seq = seen[-1]["seq"]
        # the client is away; more applications are acknowledged, then the server dies hard
        acked = []
        for _ in range(5):
            r = httpx.post(
                f"{base}/applications",
                json={"service_id": "ktp-el", "data": ktp_form(), "submit": True},
                headers={**h, "Idempotency-Key": uuid.uuid4().hex},
            )
            assert r.status_code == 201
            acked.append(r.json()["tracking_number"])
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        proc = start_server(tmp_path, port)
        listed = {a["tracking_number"] for a in httpx.get(f"{base}/applications", headers=h).json()}
        assert listed == {first["tracking_number"], *acked}
        missed = ws_events(port, token, last_seq, 10)
        assert {e["tracking_number"] for e in missed} == set(acked)
        assert all(e["seq"] > last_seq for e in missed)
        assert sorted(e["seq"] for e in missed) == [e["seq"] for e in missed]
    finally:
        proc.kill()
        proc.wait(10)
