"""Issue 15 D1: deeply nested JSON on /ws gets an error frame; the socket and the server stay up."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from tests.conftest import free_port, start_mpp_serve
from tests.server.conftest import new_session

NESTED = ["[" * 3000 + "]" * 3000, '{"type":"presence.move","x":' + "[" * 20_000 + "]" * 20_000 + "}"]


def test_nested_json_gets_an_error_frame_in_process(client: Any) -> None:
    token = new_session(client)["Authorization"].split()[1]
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "hello", "token": token, "protocol_version": 2, "last_seq": 0})
        assert ws.receive_json()["type"] == "welcome"
        for raw in NESTED:
            ws.send_text(raw)
            assert ws.receive_json()["type"] == "error"
        ws.send_json({"type": "ping", "nonce": 9})
        assert ws.receive_json() == {"type": "pong", "nonce": 9}


@pytest.mark.slow
def test_nested_json_on_a_real_server_through_the_short_websocket_path(tmp_path: Path) -> None:
    """The served path (fastws's socket hook parses moves first) answers too, and /health stays up."""
    port = free_port()
    proc = start_mpp_serve(tmp_path, port)
    try:
        base = f"http://127.0.0.1:{port}"
        token = httpx.post(base + "/api/v1/sessions", json={}).json()["token"]
        with connect(f"ws://127.0.0.1:{port}/ws", open_timeout=10) as ws:
            ws.send(json.dumps({"type": "hello", "token": token, "protocol_version": 2, "last_seq": 0}))
            assert json.loads(ws.recv(timeout=10))["type"] == "welcome"
            for raw in NESTED:
                ws.send(raw)
                frame = json.loads(ws.recv(timeout=10))
                while frame["type"] != "error":  # presence snapshots etc. may come first
                    frame = json.loads(ws.recv(timeout=10))
            ws.send(json.dumps({"type": "ping", "nonce": 5}))
            frame = json.loads(ws.recv(timeout=10))
            while frame["type"] != "pong":
                frame = json.loads(ws.recv(timeout=10))
            assert frame == {"type": "pong", "nonce": 5}
        assert httpx.get(base + "/api/v1/health", timeout=5).status_code == 200
    finally:
        proc.kill()
        proc.wait(10)
