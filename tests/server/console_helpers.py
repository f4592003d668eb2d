"""Shared helpers for the officer console tests."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

PASSWORD = "rahasia-123"
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


def add_officer(
    settings: Any,
    username: str,
    agency: str | None = "dukcapil",
    role: str = "officer",
    village: str | None = None,
    full_name: str = "",
) -> None:
    from server.domain.officers import create_officer
    from server.persistence.db import make_engine, make_sessionmaker

    engine = make_engine(settings)
    with make_sessionmaker(engine)() as db:
        create_officer(db, username, PASSWORD, role, agency, village, full_name)
        db.commit()
    engine.dispose()


def csrf_of(html: str) -> str:
    found = CSRF_RE.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def console_login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the HTML form; returns the session's CSRF token."""
    page = client.get("/officer/login")
    assert page.status_code == 200
    r = client.post(
        "/officer/login",
        data={"username": username, "password": password, "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    inbox = client.get("/officer/")
    assert inbox.status_code == 200
    return csrf_of(inbox.text)
