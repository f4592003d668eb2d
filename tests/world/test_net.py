"""NetClient against a real server process: welcome, REST through the queue, seq dedupe, reconnect + replay."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from protocol.api import ApplicationOut, BoardRow, ChallengeOut, DatasetOut, TicketOut, VerifiedOut
from protocol.catalog import default_catalog
from protocol.forms import example_answers
from protocol.messages import ApplicationEvent, Welcome
from tests.world.servers import ServerProcess, make_officer, officer_transition
from world.net import NetClient, NetEvent

NIK = "3510011204900001"


class Collector:
    """Drains the client's inbox from the test thread, the way the Panda task does every frame."""

    def __init__(self, client: NetClient) -> None:
        self.client = client
        self.events: list[NetEvent] = []

    def until(self, pred: Callable[[], bool], timeout: float = 20.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.events.extend(self.client.poll())
            if pred():
                return True
            time.sleep(0.02)
        return False

    def frames(self, kind: type) -> list[Any]:
        return [e.data for e in self.events if e.kind == "frame" and isinstance(e.data, kind)]

    def http(self, tag: str) -> list[dict[str, Any]]:
        return [e.data for e in self.events if e.kind == "http" and e.data.get("tag") == tag]

    def statuses(self) -> list[str]:
        return [e.data for e in self.events if e.kind == "status"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path).start()
    yield srv
    srv.stop()


@pytest.fixture
def client(server: ServerProcess) -> Iterator[NetClient]:
    c = NetClient(server.base, lang="id", name="Siti Aminah")
    c.start()
    yield c
    c.stop()


def ktp() -> dict[str, Any]:
    return example_answers(default_catalog().service("ktp-el"), NIK, "Budi Santoso")


# ------------------------------------------------------------------ without a server


class FakeSocket:
    """Just enough of a websockets connection for the reader: iterate frames, record what is sent."""

    def __init__(self, frames: list[dict[str, Any]]) -> None:
        self.frames = [json.dumps(f) for f in frames]
        self.sent: list[dict[str, Any]] = []

    def __aiter__(self) -> FakeSocket:
        return self

    async def __anext__(self) -> str:
        if not self.frames:
            raise StopAsyncIteration
        return self.frames.pop(0)

    async def send(self, raw: str) -> None:
        self.sent.append(json.loads(raw))


def _event(seq: int, to: str = "submitted") -> dict[str, Any]:
    return {
        "type": "application.event",
        "seq": seq,
        "tracking_number": "BWI-2026-000001",
        "service_id": "ktp-el",
        "from_state": None,
        "to_state": to,
        "actor": "citizen",
        "at": "2026-11-23T00:00:00Z",
        "version": seq,
    }


def test_reader_drops_events_already_seen_and_answers_pings() -> None:
    c = NetClient("http://127.0.0.1:9")
    c.last_seq = 1  # seq 1 arrived before a reconnect
    ws = FakeSocket(
        [
            _event(1),
            _event(2),
            {"type": "ping", "nonce": 7},
            _event(2),
            _event(3, "verified"),
            {
                "type": "queue.event",
                "seq": 3,
                "ticket_code": "A-001",
                "counter": 1,
                "state": "called",
                "at": "2026-11-23T00:00:00Z",
            },
        ]
    )
    asyncio.run(c._reader(ws))
    seqs = [e.data.seq for e in c.poll() if e.kind == "frame"]
    assert seqs == [2, 3]
    assert c.last_seq == 3
    assert ws.sent == [{"type": "pong", "nonce": 7}]


def test_request_before_start_answers_with_an_error_instead_of_blocking() -> None:
    c = NetClient("http://127.0.0.1:9")
    c.board()
    (ev,) = c.poll()
    assert ev.kind == "http" and ev.data["tag"] == "board" and ev.data["status"] == 0 and ev.data["error"]


def test_http_answers_are_typed_and_a_reply_off_the_wire_schema_never_reaches_the_screens() -> None:
    from world.net import http_event

    ticket = {"code": "A-001", "counter": 1, "state": "waiting", "day": "2026-12-07"}
    ticket |= {"estimated_wait_min": 4, "created_at": "2026-12-07T01:00:00+00:00"}
    ok = http_event("ticket", 201, ticket, TicketOut).data
    assert isinstance(ok["data"], TicketOut) and ok["data"].estimated_wait_min == 4 and "error" not in ok
    broken = http_event("ticket", 201, {**ticket, "state": "lost"}, TicketOut).data
    assert broken["data"] is None and broken["error"] == "bad_reply"
    refusal = {"detail": {"code": "ticket_exists", "message": "m", "message_id": "Sudah ada.", "message_en": "Exists."}}
    no = http_event("ticket", 409, refusal, TicketOut).data
    assert no["data"] is None and no["problem"].code == "ticket_exists" and no["problem"].text("en") == "Exists."
    assert http_event("ticket", 502, "<html>bad gateway</html>", TicketOut).data["problem"] is None


def test_unreachable_server_keeps_reconnecting_without_raising() -> None:
    from tests.conftest import free_port

    c = NetClient(f"http://127.0.0.1:{free_port()}", timeout=1.0)
    col = Collector(c)
    c.start()
    try:
        assert col.until(lambda: "reconnecting" in col.statuses(), 10)
        assert c.state in ("connecting", "reconnecting")
    finally:
        c.stop()
    assert c._thread is None


# ------------------------------------------------------------------ against the real server


@pytest.mark.slow
def test_connects_and_gets_welcome_and_rest_results(server: ServerProcess, client: NetClient) -> None:
    col = Collector(client)
    assert col.until(lambda: bool(col.frames(Welcome))), col.statuses()
    assert col.statuses()[:2] == ["connecting", "online"]
    welcome = col.frames(Welcome)[0]
    assert welcome.session_id and client.token
    client.board()
    client.dashboard("budget")
    assert col.until(lambda: bool(col.http("board")) and bool(col.http("dashboard:budget")))
    board = col.http("board")[0]
    assert board["status"] == 200 and {row.counter for row in board["data"]} >= {1}
    assert all(isinstance(row, BoardRow) for row in board["data"])
    dataset = col.http("dashboard:budget")[0]["data"]
    assert isinstance(dataset, DatasetOut) and dataset.rows


def prove(client: NetClient, col: Any) -> None:
    """The second factor through the hall's own client; the code comes from the mail the server sent."""
    from tests.codes import shared_inbox

    before = len(shared_inbox().mails)
    client.identify(NIK, "Budi Santoso", contact="budi@example.com")
    assert col.until(lambda: bool(col.http("identify")))
    assert col.http("identify")[-1]["status"] == 202
    challenge = col.http("identify")[-1]["data"]
    assert isinstance(challenge, ChallengeOut) and challenge.code_length == 6
    code = shared_inbox().code_for("budi@example.com", after=before)
    client.verify_code(challenge.challenge_id, code)
    assert col.until(lambda: bool(col.http("verify")))
    assert col.http("verify")[-1]["status"] == 200
    assert isinstance(col.http("verify")[-1]["data"], VerifiedOut)


@pytest.mark.slow
def test_idempotent_application_and_its_live_events(server: ServerProcess, client: NetClient) -> None:
    col = Collector(client)
    assert col.until(lambda: client.state == "online")
    prove(client, col)
    key = client.create_application("ktp-el", ktp(), tag="a1")
    client.create_application("ktp-el", ktp(), key=key, tag="a2")  # a retry of the same form
    assert col.until(lambda: bool(col.http("a1")) and bool(col.http("a2")))
    a1, a2 = col.http("a1")[0], col.http("a2")[0]
    assert a1["status"] == 201, a1
    assert isinstance(a1["data"], ApplicationOut) and a1["data"].receipt_pin
    assert a1["data"].tracking_number == a2["data"].tracking_number
    tracking = a1["data"].tracking_number
    assert col.until(lambda: any(e.to_state == "submitted" for e in col.frames(ApplicationEvent)))
    assert all(e.tracking_number == tracking for e in col.frames(ApplicationEvent))
    # bad form data comes back as the server's per-field 422, not an exception
    client.create_application("ktp-el", {**ktp(), "nik": "123"}, tag="bad")
    assert col.until(lambda: bool(col.http("bad")))
    bad = col.http("bad")[0]
    assert bad["status"] == 422 and bad["data"] is None
    assert bad["problem"].code == "invalid_form" and "nik" in (bad["problem"].fields or {})


@pytest.mark.slow
def test_reconnects_after_kill_9_and_receives_the_events_it_missed(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path).start()
    client = NetClient(srv.base, lang="id", name="Budi")
    col = Collector(client)
    client.start()
    other: ServerProcess | None = None
    try:
        assert col.until(lambda: client.state == "online")
        prove(client, col)
        client.create_application("ktp-el", ktp(), tag="app")
        assert col.until(lambda: bool(col.http("app")))
        tracking = col.http("app")[0]["body"]["tracking_number"]
        assert col.until(lambda: any(e.to_state == "submitted" for e in col.frames(ApplicationEvent)))
        seen_before = client.last_seq
        make_officer(tmp_path, "dukcapil-net")

        srv.kill9()
        assert col.until(lambda: client.state == "reconnecting", 10)
        # while the hall's server is down, an officer verifies the application through another node
        other = ServerProcess(tmp_path).start()
        officer_transition(other.base, "dukcapil-net", tracking, "verified", "berkas lengkap")
        other.stop()

        srv.start()  # same port, same data dir
        assert col.until(lambda: any(e.to_state == "verified" for e in col.frames(ApplicationEvent)), 45), (
            col.statuses()
        )
        assert client.state == "online" and client.connects >= 2
        events = col.frames(ApplicationEvent)
        seqs = [e.seq for e in events]
        assert len(seqs) == len(set(seqs)), "an event was delivered twice"
        missed = [e for e in events if e.seq > seen_before]
        assert [e.to_state for e in missed] == ["verified"]
        assert missed[0].note == "berkas lengkap"
        assert col.statuses().count("online") >= 2
    finally:
        client.stop()
        if other is not None:
            other.stop()
        srv.stop()
