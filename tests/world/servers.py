"""A real ``mpp serve`` child process for the world's network tests (the world speaks only HTTP/WS)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import free_port


class ServerProcess:
    """``python -m mpp.cli serve`` on a fixed port and data dir; can be killed and started again."""

    def __init__(self, data_dir: Path, port: int | None = None, *, assistant: bool = False) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.assistant = assistant
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> ServerProcess:
        env = {
            **os.environ,
            "MPP_DATA_DIR": str(self.data_dir),
            "MPP_PORT": str(self.port),
            "MPP_LOAD_ASSISTANT": "1" if self.assistant else "0",
        }
        env.pop("MPP_DATABASE_URL", None)  # the world tests always run on the SQLite default
        from tests.codes import shared_inbox

        env.update(shared_inbox().env())  # one-time codes are mailed to the tests' SMTP inbox
        log = open(self.data_dir / f"server-{self.port}.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mpp.cli", "serve", "--port", str(self.port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {self.log_tail()}")
            try:
                r = httpx.get(self.base + "/api/v1/ready", timeout=1)
                checks = r.json().get("checks", {}) if r.status_code in (200, 503) else {}
                if r.status_code == 200 and (not self.assistant or checks.get("assistant") == "ok"):
                    return self
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.2)
        self.stop()
        raise AssertionError(f"server not ready in {timeout}s: {self.log_tail()}")

    def log_tail(self) -> str:
        logs = sorted(self.data_dir.glob("server-*.log"))
        return logs[-1].read_text(errors="replace")[-3000:] if logs else ""

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def make_officer(data_dir: Path, username: str, agency: str = "dukcapil", password: str = "rahasia-123") -> None:
    """An officer row in the server's SQLite database (tests may use server code; the world may not)."""
    from server.domain.officers import create_officer
    from server.persistence.db import make_engine, make_sessionmaker
    from server.settings import Settings

    engine = make_engine(Settings(data_dir=data_dir, load_assistant=False))
    with make_sessionmaker(engine)() as db:
        create_officer(db, username, password, "officer", agency)
        db.commit()
    engine.dispose()


def officer_headers(base: str, username: str, password: str = "rahasia-123") -> dict[str, str]:
    r = httpx.post(base + "/api/v1/officer/login", json={"username": username, "password": password}, timeout=10)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def officer_transition(
    base: str, username: str, tracking: str, to: str, note: str = "", password: str = "rahasia-123"
) -> dict[str, Any]:
    r = httpx.post(
        f"{base}/api/v1/officer/applications/{tracking}/transition",
        json={"to": to, "note": note},
        headers=officer_headers(base, username, password),
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def officer_call_next(base: str, username: str, counter: int) -> dict[str, Any]:
    r = httpx.post(
        f"{base}/api/v1/officer/queue/{counter}/call-next", headers=officer_headers(base, username), timeout=10
    )
    assert r.status_code == 200, r.text
    return dict(r.json())
