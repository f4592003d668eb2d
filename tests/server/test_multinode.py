"""Two real server nodes share presence and events over the real Redis (and one database)."""

from __future__ import annotations

import json
import secrets
import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from tests.codes import prove_http, shared_inbox
from tests.conftest import PG_URL, free_port, need, port_open, start_mpp_serve
from tests.server.conftest import VALID_NIK, fold_presence, ktp_form

pytestmark = [pytest.mark.slow, pytest.mark.redis]


def start_node(data_dir: Path, port: int, prefix: str, db_url: str | None) -> subprocess.Popen[bytes]:
    extra: dict[str, Any] = {"MPP_DATABASE_URL": db_url} if db_url else {}
    return start_mpp_serve(
        data_dir,
        port,
        MPP_REDIS_URL="redis://127.0.0.1:6379/0",
        MPP_REDIS_PREFIX=prefix,
        MPP_NODE_ID=f"node-{port}",
        **extra,
    )


def join(port: int, token: str, x: float, y: float) -> ClientConnection:
    ws = connect(f"ws://127.0.0.1:{port}/ws", open_timeout=10)
    ws.send(json.dumps({"type": "hello", "token": token, "protocol_version": 2, "last_seq": 0}))
    assert json.loads(ws.recv(timeout=10))["type"] == "welcome"
    ws.send(json.dumps({"type": "presence.join", "x": x, "y": y}))
    return ws


_VIEWS: dict[int, dict[str, Any]] = {}


def watch(ws: ClientConnection, until: Any, timeout: float = 8.0) -> dict[str, Any]:
    """Apply snapshots to the socket's view until ``until(view)`` holds; return the view.

    The view persists across calls: a compact ``changed`` row only moves someone already seen.
    """
    view: dict[str, Any] = _VIEWS.get(id(ws), {})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            frame = json.loads(ws.recv(timeout=max(0.05, deadline - time.monotonic())))
        except TimeoutError:
            break
        if frame.get("type") != "presence.snapshot":
            continue
        view = _VIEWS[id(ws)] = fold_presence(view, frame)
        if until(view):
            return view
    raise AssertionError(f"condition not reached; view={view}")


def test_two_nodes_share_presence_events_and_detect_node_death(settings: Any, tmp_path: Path) -> None:
    need(port_open("127.0.0.1", 6379), "Redis is not reachable on 127.0.0.1:6379")
    from server.persistence.migrate import seed, upgrade

    db_url = PG_URL or f"sqlite:///{(tmp_path / 'mpp.db').as_posix()}"
    upgrade(settings)
    seed(settings)
    prefix = f"mpptest-{secrets.token_hex(4)}:"
    pa, pb = free_port(), free_port()
    node_a = start_node(tmp_path, pa, prefix, db_url if PG_URL else None)
    node_b = start_node(tmp_path, pb, prefix, db_url if PG_URL else None)
    try:
        a_api, b_api = f"http://127.0.0.1:{pa}/api/v1", f"http://127.0.0.1:{pb}/api/v1"
        ta = httpx.post(f"{a_api}/sessions", json={"name": "Ani"}).json()
        tb = httpx.post(f"{b_api}/sessions", json={"name": "Bayu"}).json()
        wa = join(pa, ta["token"], 1.0, 1.0)
        wb = join(pb, tb["token"], 2.0, 1.0)
        # a client on node A sees a client on node B, and sees it move
        watch(wa, lambda v: tb["session_id"] in v)
        for i in range(1, 6):
            wb.send(json.dumps({"type": "presence.move", "x": 2.0 + i * 0.2, "y": 1.0, "ts": float(i)}))
            time.sleep(0.1)
        watch(wa, lambda v: tb["session_id"] in v and v[tb["session_id"]]["x"] > 2.5)
        # an officer action on node B reaches the citizen on node A
        h = {"Authorization": f"Bearer {ta['token']}"}
        prove_http(a_api, h, VALID_NIK, "Budi Santoso", shared_inbox(), "budi@example.com")
        app = httpx.post(
            f"{a_api}/applications",
            json={"service_id": "ktp-el", "data": ktp_form(), "submit": True},
            headers={**h, "Idempotency-Key": uuid.uuid4().hex},
        ).json()
        from server.domain.officers import create_officer
        from server.persistence.db import make_engine, make_sessionmaker

        engine = make_engine(settings)
        with make_sessionmaker(engine)() as db:
            create_officer(db, "dukcapil-b", "rahasia-123", "officer", "dukcapil")
            db.commit()
        engine.dispose()
        tok = httpx.post(f"{b_api}/officer/login", json={"username": "dukcapil-b", "password": "rahasia-123"}).json()
        r = httpx.post(
            f"{b_api}/officer/applications/{app['tracking_number']}/transition",
            json={"to": "verified"},
            headers={"Authorization": f"Bearer {tok['token']}"},
        )
        assert r.status_code == 200, r.text
        deadline = time.monotonic() + 5
        verified = False
        while time.monotonic() < deadline and not verified:
            frame = json.loads(wa.recv(timeout=5))
            verified = frame.get("type") == "application.event" and frame.get("to_state") == "verified"
        assert verified
        # node B dies hard: its visitor disappears from A's view within 3 s
        node_b.send_signal(signal.SIGKILL)
        node_b.wait(10)
        killed_at = time.monotonic()
        watch(wa, lambda v: tb["session_id"] not in v, timeout=5)
        assert time.monotonic() - killed_at <= 3.0
        wa.close()
    finally:
        for p in (node_a, node_b):
            p.kill()
            p.wait(10)
