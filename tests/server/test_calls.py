"""Call signalling: relayed only between the citizen and the officer of an accepted handoff."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.server.console_helpers import add_officer, console_login

OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


def _citizen(client: TestClient) -> tuple[str, str]:
    r = client.post("/api/v1/sessions", json={"lang": "id"})
    assert r.status_code == 201
    return r.json()["token"], r.json()["session_id"]


def _handoff(app: Any, public_id: str, conv: str = "conv-call") -> int:
    from assistant.ports import Caller

    return int(
        app.state.port.request_handoff(
            Caller(session_id=public_id), conv, [{"role": "citizen", "text": "tolong"}]
        ).handoff_id
    )


def _accept(client: TestClient, csrf: str, hid: int) -> None:
    r = client.post(f"/officer/remote/{hid}/accept", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303, r.text


@contextmanager
def _citizen_ws(client: TestClient, token: str) -> Iterator[Any]:
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "hello", "token": token, "protocol_version": 1, "last_seq": 0})
        assert ws.receive_json()["type"] == "welcome"
        yield ws


@contextmanager
def _officer_ws(client: TestClient) -> Iterator[Any]:
    with client.websocket_connect("/officer/ws") as ws:
        assert ws.receive_json()["type"] == "welcome"
        yield ws


def _next(ws: Any, prefix: str = "call.", types: tuple[str, ...] = ("error",)) -> dict[str, Any]:
    """The next call frame (or error) on a socket, skipping chat, handoff and board traffic."""
    while True:
        f = dict(ws.receive_json())
        if f["type"].startswith(prefix) or f["type"] in types:
            return f


@pytest.fixture
def pair(client: TestClient, app: Any, migrated: Any) -> dict[str, Any]:
    """One accepted handoff: the citizen (token) and the officer duk1 (client's cookie)."""
    add_officer(migrated, "duk1", full_name="Rina Petugas")
    token, public_id = _citizen(client)
    hid = _handoff(app, public_id)
    csrf = console_login(client, "duk1")
    _accept(client, csrf, hid)
    return {"token": token, "hid": hid, "csrf": csrf, "public_id": public_id}


def test_offer_answer_ice_and_end_are_relayed_between_the_two_parties(client: TestClient, pair: dict[str, Any]) -> None:
    hid = pair["hid"]
    with _citizen_ws(client, pair["token"]) as cws, _officer_ws(client) as ows:
        cws.send_json({"type": "call.request", "handoff_id": hid, "video": True})
        req = _next(ows)
        assert req["type"] == "call.request" and req["handoff_id"] == hid and req["sender"] == "citizen"
        assert req["to_officer"] is not None and req["ice_servers"] == []
        ows.send_json({"type": "call.offer", "handoff_id": hid, "sdp": OFFER})
        offer = _next(cws)
        assert offer == {**offer, "type": "call.offer", "sdp": OFFER, "sender": "officer"}
        cws.send_json({"type": "call.answer", "handoff_id": hid, "sdp": OFFER + "a=x\r\n"})
        assert _next(ows)["sdp"].endswith("a=x\r\n")
        cand = "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host"
        ows.send_json({"type": "call.ice", "handoff_id": hid, "candidate": cand, "sdp_mid": "0", "sdp_mline_index": 0})
        ice = _next(cws)
        assert ice["candidate"] == cand and ice["sdp_mid"] == "0" and ice["sdp_mline_index"] == 0
        cws.send_json({"type": "call.status", "handoff_id": hid, "state": "connected"})
        assert _next(ows)["state"] == "connected"
        ows.send_json({"type": "call.media", "handoff_id": hid, "audio": False, "video": True})
        media = _next(cws)
        assert media["type"] == "call.media" and media["audio"] is False
        cws.send_json({"type": "call.end", "handoff_id": hid, "reason": "hangup"})
        # the officer hears the hang-up, and the citizen's other tabs learn the call ended
        end = _next(ows)
        assert end["type"] == "call.end" and end["reason"] == "hangup" and end["sender"] == "citizen"
        mine = _next(cws)
        assert mine["type"] == "call.state" and mine["state"] == "ended" and mine["reason"] == "hangup"


def test_hangup_reaches_the_officer(client: TestClient, pair: dict[str, Any]) -> None:
    hid = pair["hid"]
    with _citizen_ws(client, pair["token"]) as cws, _officer_ws(client) as ows:
        ows.send_json({"type": "call.offer", "handoff_id": hid, "sdp": OFFER})
        assert _next(cws)["type"] == "call.offer"
        cws.send_json({"type": "call.end", "handoff_id": hid, "reason": "hangup"})
        end = _next(ows)
        assert end["type"] == "call.end" and end["reason"] == "hangup" and end["sender"] == "citizen"
        assert _next(cws)["state"] == "ended"
        ows.send_json({"type": "call.offer", "handoff_id": hid, "sdp": OFFER})
        assert _next(cws)["type"] == "call.offer"
        ows.send_json({"type": "call.end", "handoff_id": hid})
        assert _next(cws)["type"] == "call.end"
        mine = _next(ows)
        assert (mine["type"], mine["handoff_id"], mine["state"], mine["reason"]) == (
            "call.state",
            hid,
            "ended",
            "hangup",
        )


def test_closing_the_handoff_ends_the_call_on_both_sides(client: TestClient, pair: dict[str, Any]) -> None:
    hid = pair["hid"]
    with _citizen_ws(client, pair["token"]) as cws, _officer_ws(client) as ows:
        ows.send_json({"type": "call.offer", "handoff_id": hid, "sdp": OFFER})
        assert _next(cws)["type"] == "call.offer"
        r = client.post(
            f"/officer/remote/{hid}/close", data={"csrf": pair["csrf"], "summary": "selesai"}, follow_redirects=False
        )
        assert r.status_code == 303
        ended = _next(cws)
        assert (ended["type"], ended["handoff_id"], ended["state"], ended["reason"]) == (
            "call.state",
            hid,
            "ended",
            "closed",
        )
        assert _next(ows)["state"] == "ended"
        ows.send_json({"type": "call.offer", "handoff_id": hid, "sdp": OFFER})
        err = _next(ows)
        assert err["type"] == "error" and err["code"] == "not_in_call"


def test_strangers_get_an_error_and_nothing_is_relayed(
    client: TestClient, app: Any, pair: dict[str, Any], migrated: Any
) -> None:
    hid = pair["hid"]
    stranger, _ = _citizen(client)
    add_officer(migrated, "duk2")
    other = TestClient(app)
    console_login(other, "duk2")
    with (
        _citizen_ws(client, pair["token"]) as cws,
        _officer_ws(client) as ows,
        _citizen_ws(client, stranger) as sws,
        _officer_ws(other) as xws,
    ):
        # another citizen, another officer of the same agency, and a handoff that does not exist
        sws.send_json({"type": "call.offer", "handoff_id": hid, "sdp": OFFER + "a=evil\r\n"})
        assert _next(sws)["code"] == "not_in_call"
        sws.send_json({"type": "call.request", "handoff_id": hid})
        assert _next(sws)["code"] == "not_in_call"
        xws.send_json({"type": "call.offer", "handoff_id": hid, "sdp": OFFER + "a=evil\r\n"})
        assert _next(xws)["code"] == "not_in_call"
        xws.send_json({"type": "call.ice", "handoff_id": hid, "candidate": "candidate:evil"})
        assert _next(xws)["code"] == "not_in_call"
        cws.send_json({"type": "call.offer", "handoff_id": hid + 99, "sdp": OFFER})
        assert _next(cws)["code"] == "not_in_call"
        # a party sending what only the other side may send
        cws.send_json({"type": "call.highlight", "handoff_id": hid, "field": "nik"})
        assert _next(cws)["code"] == "forbidden"
        ows.send_json({"type": "call.request", "handoff_id": hid})
        assert _next(ows)["code"] == "unknown_type"
        # nothing of the above reached the parties: their next call frames are the real ones
        ows.send_json({"type": "call.offer", "handoff_id": hid, "sdp": OFFER})
        got = _next(cws)
        assert got["type"] == "call.offer" and got["sdp"] == OFFER
        cws.send_json({"type": "call.answer", "handoff_id": hid, "sdp": OFFER})
        got = _next(ows)
        assert got["type"] == "call.answer" and got["sdp"] == OFFER
        xws.send_json({"type": "ping", "nonce": 5})
        assert _next(xws, types=("pong",)) == {"type": "pong", "nonce": 5}  # duk2 saw no call frame at all


def test_pending_handoff_cannot_be_called(client: TestClient, app: Any, migrated: Any) -> None:
    token, public_id = _citizen(client)
    hid = _handoff(app, public_id)
    with _citizen_ws(client, token) as cws:
        cws.send_json({"type": "call.request", "handoff_id": hid})
        assert _next(cws)["code"] == "not_in_call"


def test_oversized_or_malformed_sdp_is_refused(client: TestClient, pair: dict[str, Any]) -> None:
    hid = pair["hid"]
    huge = "v=0\r\n" + "a=x\r\n" * 7000  # 35 KB, under the frame limit, over the SDP limit
    with _citizen_ws(client, pair["token"]) as cws, _officer_ws(client) as ows:
        cws.send_json({"type": "call.answer", "handoff_id": hid, "sdp": huge})
        err = _next(cws)
        assert err["type"] == "error" and err["code"] == "sdp_too_large"
        ows.send_json({"type": "call.offer", "handoff_id": hid, "sdp": huge})
        assert _next(ows)["code"] == "sdp_too_large"
        ows.send_json({"type": "call.offer", "handoff_id": hid, "sdp": "<script>alert(1)</script>"})
        assert _next(ows)["code"] == "invalid_frame"
        ows.send_json({"type": "call.ice", "handoff_id": hid, "candidate": "c" * 5000})
        assert _next(ows)["code"] == "invalid_frame"
        ows.send_json({"type": "call.highlight", "handoff_id": hid, "field": "<b>x</b>"})
        assert _next(ows)["code"] == "invalid_field"
        ows.send_json({"type": "call.highlight", "handoff_id": hid, "service_id": "ktp-el", "field": "kk_number"})
        shown = _next(cws)
        assert (shown["type"], shown["field"], shown["service_id"]) == ("call.highlight", "kk_number", "ktp-el")
        ows.send_text("{not json")
        assert _next(ows)["code"] == "malformed"
        # still connected, and the parties still talk
        ows.send_json({"type": "call.offer", "handoff_id": hid, "sdp": OFFER})
        assert _next(cws)["sdp"] == OFFER


def test_citizen_disconnect_ends_the_call_for_the_officer(client: TestClient, pair: dict[str, Any]) -> None:
    hid = pair["hid"]
    with _officer_ws(client) as ows:
        with _citizen_ws(client, pair["token"]) as cws:
            ows.send_json({"type": "call.offer", "handoff_id": hid, "sdp": OFFER})
            assert _next(cws)["type"] == "call.offer"
        end = _next(ows)
        assert end["type"] == "call.end" and end["reason"] == "disconnected"


def test_turn_rest_credentials_follow_the_coturn_scheme() -> None:
    from server.realtime.calls import turn_credentials

    user, password = turn_credentials("s3cret", "c42", 600, now=1_000_000)
    assert user == "1000600:c42"
    expected = base64.b64encode(hmac.new(b"s3cret", b"1000600:c42", hashlib.sha1).digest()).decode()
    assert password == expected


def test_ice_servers_endpoints_issue_short_lived_credentials(migrated: Any) -> None:
    import time

    from server.app import create_app

    migrated.stun_urls = ["stun:127.0.0.1:3478"]
    migrated.turn_urls = ["turn:127.0.0.1:3478?transport=udp"]
    migrated.turn_secret = "s3cret"
    migrated.turn_ttl_seconds = 600
    app = create_app(migrated)
    with TestClient(app) as c:
        assert c.get("/api/v1/calls/ice").status_code == 401
        token, _ = _citizen(c)
        r = c.get("/api/v1/calls/ice", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200
        servers = r.json()["ice_servers"]
        assert servers[0] == {"urls": ["stun:127.0.0.1:3478"]}
        turn = servers[1]
        expiry, _, who = turn["username"].partition(":")
        assert abs(int(expiry) - (time.time() + 600)) < 5 and who.startswith("c")
        mac = hmac.new(b"s3cret", turn["username"].encode(), hashlib.sha1).digest()
        assert turn["credential"] == base64.b64encode(mac).decode()
        assert c.get("/officer/calls/ice", follow_redirects=False).status_code in (303, 401)
        add_officer(migrated, "duk1")
        console_login(c, "duk1")
        r = c.get("/officer/calls/ice")
        assert r.status_code == 200 and r.json()["ice_servers"][1]["username"].split(":")[1].startswith("o")


def test_coturn_accepts_server_issued_credentials_and_refuses_expired_ones(migrated: Any, tmp_path: Any) -> None:
    """A real coturn (TURN REST shared secret) allocates a relay for the server's credentials, and 401s stale ones."""
    import asyncio
    import time

    import aioice.stun
    import aioice.turn

    from server.app import create_app
    from server.realtime.calls import turn_credentials
    from tests.coturn import coturn

    async def allocate(port: int, username: str, password: str) -> tuple[str, int]:
        transport, _ = await asyncio.wait_for(
            aioice.turn.create_turn_endpoint(asyncio.DatagramProtocol, ("127.0.0.1", port), username, password), 10
        )
        try:
            return tuple(transport.get_extra_info("sockname"))  # type: ignore[return-value]
        finally:
            transport.close()

    with coturn(tmp_path, "s3cret") as port:
        migrated.turn_urls = [f"turn:127.0.0.1:{port}?transport=udp"]
        migrated.turn_secret = "s3cret"
        with TestClient(create_app(migrated)) as c:
            token, _ = _citizen(c)
            turn = c.get("/api/v1/calls/ice", headers={"Authorization": f"Bearer {token}"}).json()["ice_servers"][0]
        assert turn["urls"] == [f"turn:127.0.0.1:{port}?transport=udp"]
        host, relay_port = asyncio.run(allocate(port, turn["username"], turn["credential"]))
        assert host == "127.0.0.1" and 40000 <= relay_port <= 40999
        user = turn["username"].split(":", 1)[1]
        stale_user, stale_pw = turn_credentials("s3cret", user, 3600, now=time.time() - 7200)  # expired an hour ago
        with pytest.raises(aioice.stun.TransactionFailed, match="401"):
            asyncio.run(allocate(port, stale_user, stale_pw))
        with pytest.raises(aioice.stun.TransactionFailed, match="401"):
            asyncio.run(allocate(port, turn["username"], "bm90IHRoZSByaWdodCBvbmU="))


def test_an_offer_that_overtakes_the_ask_still_notes_the_ask_once(
    client: TestClient, pair: dict[str, Any], migrated: Any
) -> None:
    """The ask reaches the server after the officer's offer (two sockets, no order between them)."""
    from sqlalchemy import select

    from server.persistence import models as m
    from server.persistence.db import make_engine, make_sessionmaker

    hid = pair["hid"]
    with _citizen_ws(client, pair["token"]) as cws, _officer_ws(client) as ows:
        ows.send_json({"type": "call.offer", "handoff_id": hid, "sdp": OFFER})
        assert _next(cws)["type"] == "call.offer"
        cws.send_json({"type": "call.request", "handoff_id": hid, "video": True})
        cws.send_json({"type": "call.request", "handoff_id": hid, "video": True})  # the page repeats its ask
        cws.send_json({"type": "call.answer", "handoff_id": hid, "sdp": OFFER})
        # already ringing: the officer gets the answer, not a late ask that would ring again
        assert _next(ows)["type"] == "call.answer"
    with make_sessionmaker(make_engine(migrated))() as db:
        transcript = db.scalars(select(m.Handoff.transcript).where(m.Handoff.id == hid)).one()
    assert [e["event"] for e in transcript if e.get("role") == "system"].count("call_requested") == 1
