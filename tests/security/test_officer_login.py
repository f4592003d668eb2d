"""Replays of the officer sign-in findings of issue 15 (D7): each one passed against the old code.

Before: an unknown name got 401 while a known one locked after 5 failures (429 "dikunci", with
``Retry-After`` only in the body), so the answers told which names exist and anyone could lock any
officer out; the console's pre-login CSRF token was whatever the client's cookie held; the officer
JSON API took the console's cookie without a CSRF token; the Host header went into the CSP.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from server.persistence import models as m
from tests.codes import app_state
from tests.server.console_helpers import PASSWORD, add_officer, console_login, csrf_of


@pytest.fixture(autouse=True)
def slow_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Delays 30x longer than shipped, so a loaded machine's slow argon2 never outlasts one (2 s -> 60 s)."""
    from server.domain import officers

    shipped = officers.delay_seconds
    monkeypatch.setattr(officers, "delay_seconds", lambda failures, free=1: shipped(failures, free) * 30)


@pytest.fixture
def clients(client: TestClient) -> Callable[[str], TestClient]:
    """A TestClient per client address, on the app ``client`` already started (one lifespan)."""
    made: dict[str, TestClient] = {}

    def at(address: str) -> TestClient:
        if address not in made:
            made[address] = TestClient(client.app, client=(address, 50000))
        return made[address]

    return at


def api_login(client: TestClient, username: str, password: str) -> Any:
    return client.post("/api/v1/officer/login", json={"username": username, "password": password})


def shape(r: Any) -> tuple[Any, ...]:
    """Everything an attacker sees of an answer, except the body's free text and the clock's second."""
    detail = r.json().get("detail", {})
    return (r.status_code, detail.get("code"), sorted(r.headers.keys()), sorted(detail))


def time_passes(client: TestClient, seconds: float) -> None:
    """Age every recorded sign-in failure, as if ``seconds`` had passed."""
    import datetime as dt

    with app_state(client).sessions() as db:
        rows = db.query(m.AuthAttempt).all()
        for row in rows:
            db.execute(
                update(m.AuthAttempt)
                .where(m.AuthAttempt.id == row.id)
                .values(created_at=m.utc(row.created_at) - dt.timedelta(seconds=seconds))
            )
        db.commit()


def test_unknown_name_wrong_password_and_throttled_answer_alike(clients: Any, migrated: Any) -> None:
    """Before: 'duk1' went 401 x5 then 429 locked, 'ghost' 401 forever: which names exist was plain."""
    add_officer(migrated, "duk1")
    seen = {}
    for name, address in (("duk1", "10.0.0.1"), ("ghost", "10.0.0.2")):
        c = clients(address)
        seen[name] = [shape(api_login(c, name, f"wrong-{n}")) for n in range(7)]
    assert seen["duk1"] == seen["ghost"]
    statuses = [s[0] for s in seen["duk1"]]
    assert statuses[:2] == [401, 401] and set(statuses[2:]) == {429}
    assert all("retry-after" in s[2] for s in seen["duk1"][1:]), "Retry-After as a header"


def test_answers_take_the_same_time_for_unknown_and_known_names(clients: Any, migrated: Any) -> None:
    add_officer(migrated, "duk1")
    took: dict[str, list[float]] = {"duk1": [], "ghost": []}
    for n in range(5):
        for name in took:
            c = clients(f"10.1.{n}.{len(name)}")  # a fresh address each time: no delay in the way
            t0 = time.perf_counter()
            assert api_login(c, name, "wrong-password").status_code == 401
            took[name].append(time.perf_counter() - t0)
    ratio = statistics.median(took["duk1"]) / statistics.median(took["ghost"])
    assert 0.4 < ratio < 2.5, (ratio, took)  # argon2 either way (a loaded machine stretches both)


def test_a_guesser_cannot_lock_the_officer_out(clients: Any, migrated: Any) -> None:
    """Before: 5 wrong passwords from anywhere locked the account for 15 minutes."""
    add_officer(migrated, "duk1")
    attacker = clients("203.0.113.9")
    failures = 0
    for _ in range(40):  # bounded: the old code never let a wait end
        if failures == 8:
            break
        r = api_login(attacker, "duk1", f"guess-{failures}")
        if r.status_code == 429:  # the attacker waits each delay out, so the failures pile up
            time_passes(attacker, int(r.headers["Retry-After"]))
            continue
        assert r.status_code == 401
        failures += 1
    r = api_login(attacker, "duk1", PASSWORD)  # the attacker's own address waits, even with the right password
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    officer = clients("10.20.30.40")
    assert api_login(officer, "duk1", PASSWORD).status_code == 200


def test_one_address_spraying_many_names_is_slowed(clients: Any, migrated: Any) -> None:
    sprayer = clients("198.51.100.7")
    answers = [api_login(sprayer, f"user{n}", "Password1").status_code for n in range(12)]
    assert answers == [401] * 11 + [429]
    r = api_login(sprayer, "another", "Password1")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert api_login(clients("198.51.100.8"), "another", "Password1").status_code == 401


def test_console_sign_in_is_throttled_the_same_way(clients: Any, migrated: Any) -> None:
    add_officer(migrated, "duk1")
    c = clients("10.9.9.9")

    def attempt(password: str) -> Any:
        page = c.get("/officer/login")
        return c.post(
            "/officer/login",
            data={"username": "duk1", "password": password, "csrf": csrf_of(page.text)},
            follow_redirects=False,
        )

    first = attempt("wrong-1")
    assert first.status_code == 401 and "Retry-After" not in first.headers
    second = attempt("wrong-2")
    assert second.status_code == 401 and int(second.headers["Retry-After"]) >= 50
    throttled = attempt(PASSWORD)  # even the right password waits out the delay
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) >= 1
    assert "dikunci" not in throttled.text and "locked" not in throttled.text
    time_passes(c, 61)
    assert attempt(PASSWORD).status_code == 303


# ------------------------------------------------------------------ pre-login CSRF


def test_pre_login_token_is_issued_by_the_server_not_taken_from_the_cookie(client: TestClient, migrated: Any) -> None:
    """Before: a cookie planted by someone else became the login form's token, and a matching pair passed."""
    add_officer(migrated, "duk1")
    client.cookies.set("mpp_officer_precsrf", "planted-by-attacker")
    page = client.get("/officer/login")
    assert csrf_of(page.text) != "planted-by-attacker"
    client.cookies.set("mpp_officer_precsrf", "planted-by-attacker")
    r = client.post(
        "/officer/login",
        data={"username": "duk1", "password": PASSWORD, "csrf": "planted-by-attacker"},
        follow_redirects=False,
    )
    assert r.status_code == 403
    assert "mpp_officer=" not in r.headers.get("set-cookie", "")


def test_pre_login_token_expires_and_must_match(client: TestClient, migrated: Any) -> None:
    from server.console import web

    add_officer(migrated, "duk1")
    settings = app_state(client).settings
    token = web.issue_pre_csrf(settings)
    assert web.pre_csrf_valid(settings, token, token)
    assert not web.pre_csrf_valid(settings, token, web.issue_pre_csrf(settings))
    nonce, expires, sig = token.split(".")
    assert not web.pre_csrf_valid(settings, f"{nonce}.{int(expires) + 99}.{sig}", f"{nonce}.{int(expires) + 99}.{sig}")
    old = web.PRE_CSRF_TTL_S
    web.PRE_CSRF_TTL_S = -1
    try:
        stale = web.issue_pre_csrf(settings)
    finally:
        web.PRE_CSRF_TTL_S = old
    assert not web.pre_csrf_valid(settings, stale, stale)


# ------------------------------------------------------------------ the JSON API and the cookie


def test_officer_json_api_refuses_the_console_cookie(client: TestClient, migrated: Any) -> None:
    """Before: the console cookie alone (no CSRF token) could drive the JSON API's transitions."""
    add_officer(migrated, "duk1")
    console_login(client, "duk1")
    cookie = client.cookies.get("mpp_officer")
    assert cookie
    bare = TestClient(client.app)
    r = bare.get("/api/v1/officer/applications", headers={"Cookie": f"mpp_officer={cookie}"})
    assert r.status_code == 401
    r = bare.post(
        "/api/v1/officer/applications/MPP-0/transition",
        json={"to": "verified"},
        headers={"Cookie": f"mpp_officer={cookie}"},
    )
    assert r.status_code == 401
    token = api_login(bare, "duk1", PASSWORD).json()["token"]
    assert bare.get("/api/v1/officer/applications", headers={"Authorization": f"Bearer {token}"}).status_code == 200


# ------------------------------------------------------------------ CSP


@pytest.mark.parametrize("path", ["/officer/login", "/"])
def test_csp_comes_from_settings_not_the_host_header(client: TestClient, path: str) -> None:
    """Before: ``Host: evil.example`` put ws://evil.example into connect-src."""
    r = client.get(path, headers={"Host": "evil.example"})
    assert r.status_code == 200
    policy = r.headers["Content-Security-Policy"]
    assert "evil.example" not in policy
    settings = app_state(client).settings
    assert f"wss://{settings.base_url.split('://', 1)[1]}" in policy
