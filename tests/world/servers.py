"""A real ``mpp serve`` child process for the world's network tests (the world speaks only HTTP/WS)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from mpp import launch


class ServerProcess(launch.ServerProcess):
    """The world tests' server: its own SQLite file, codes mailed to the tests' inbox, the assistant optional."""

    def __init__(self, data_dir: Path, port: int | None = None, *, assistant: bool = False) -> None:
        from tests.codes import shared_inbox

        env: dict[str, str | None] = {
            "MPP_LOAD_ASSISTANT": "1" if assistant else "0",
            "MPP_DATABASE_URL": None,  # the world tests always run on the SQLite default
            **shared_inbox().env(),  # one-time codes are mailed to the tests' SMTP inbox
        }
        super().__init__(data_dir, port, env=env, wait_for="assistant" if assistant else "ready")
        self.assistant = assistant

    @property
    def base(self) -> str:
        return self.url

    def start(self, timeout: float = 90.0) -> ServerProcess:
        super().start(timeout)
        return self


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
