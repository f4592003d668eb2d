"""Guided mode over the websocket: the server drives the visit with guided.step frames."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from protocol import PROTOCOL_VERSION
from protocol.messages import parse_server
from tests.codes import sink
from tests.server.conftest import identified, new_session
from tests.server.test_ws import hello, recv_until, token_of

KK = "3510010101900001"


class Guided:
    """A client that only renders: it answers the last step it was shown."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.step: dict[str, Any] = {}

    def recv(self) -> dict[str, Any]:
        frame = recv_until(self.ws, "guided.step")
        parse_server(json.dumps(frame))  # a valid server frame
        assert frame["protocol_version"] == PROTOCOL_VERSION
        self.step = frame
        return frame

    def start(self, lang: str = "id") -> dict[str, Any]:
        self.ws.send_json({"type": "guided.start", "lang": lang})
        return self.recv()

    def press(self, choice: str, auto: bool = False) -> dict[str, Any]:
        self.ws.send_json({"type": "guided.choose", "step_id": self.step["step_id"], "choice": choice, "auto": auto})
        return self.recv()

    def type(self, value: str) -> dict[str, Any]:
        self.ws.send_json({"type": "guided.choose", "step_id": self.step["step_id"], "value": value})
        return self.recv()


def _to_walk(g: Guided) -> None:
    assert g.start()["kind"] == "greet"
    assert {t["id"] for t in g.step["tools"]} >= {"repeat", "officer"}
    assert g.press("service:ktp-el")["kind"] == "purpose"
    assert g.press("option:hilang")["kind"] == "requirements"
    assert g.press("next")["kind"] == "documents"
    assert g.press("all_docs")["kind"] == "walk" and g.step["counter"] == 1


def test_identity_known_lost_ktp_to_a_real_ticket(client: TestClient) -> None:
    h = identified(client)
    with client.websocket_connect("/ws") as ws:
        hello(ws, token_of(h))
        g = Guided(ws)
        _to_walk(g)
        assert g.press("arrived", auto=True)["kind"] == "identity" and "3510 0112 0490 0001" in g.step["text"]
        assert g.press("yes")["kind"] == "field" and g.step["field"]["name"] == "kk_number"
        assert g.type(KK)["kind"] == "check"
        assert g.press("submit")["kind"] == "ticket" and g.step["presses"] == 7
    apps = client.get("/api/v1/applications", headers=h).json()
    tickets = client.get("/api/v1/queue/tickets", headers=h).json()
    assert apps[0]["tracking_number"] == g.step["tracking"] and apps[0]["data"]["reason"] == "hilang"
    assert apps[0]["state"] == "submitted"
    assert [t["code"] for t in tickets] == [g.step["ticket"]]


def test_identity_unknown_proves_with_the_code_then_submits(client: TestClient) -> None:
    h = new_session(client)
    nik, name, contact = "3510015204900002", "Siti Aminah", "siti@example.com"
    with client.websocket_connect("/ws") as ws:
        hello(ws, token_of(h))
        g = Guided(ws)
        _to_walk(g)
        assert g.press("arrived", auto=True)["kind"] == "field" and g.step["field"]["name"] == "nik"
        g.type(nik)
        g.type(name)
        assert g.type(KK)["kind"] == "check"
        assert g.press("submit")["kind"] == "contact"
        assert g.type(contact)["kind"] == "code" and g.step["field"]["autocomplete"] == "one-time-code"
        g.type("000000")
        assert g.step["kind"] == "code" and g.step["tone"] == "problem" and "0 0 0 0 0 0" in g.step["note"]
        code = next(m.code for m in reversed(sink(client).sent) if m.contact.value == contact)
        assert g.type(code)["kind"] == "ticket"
        assert g.step["presses"] == 11  # 10, plus the wrong code
    apps = client.get("/api/v1/applications", headers=h).json()
    assert [a["data"]["reason"] for a in apps] == ["hilang"]


def test_bad_guided_frames_get_error_frames_and_the_socket_stays_up(client: TestClient) -> None:
    h = new_session(client)
    with client.websocket_connect("/ws") as ws:
        hello(ws, token_of(h))
        ws.send_json({"type": "guided.choose", "step_id": 0, "choice": "more", "ref": "r0"})
        e = recv_until(ws, "error")
        assert (e["code"], e["ref"]) == ("guided_not_started", "r0")
        g = Guided(ws)
        g.start()
        sid = g.step["step_id"]
        bad: list[tuple[dict[str, Any], str]] = [
            ({"step_id": sid, "choice": "option:hilang"}, "guided_unknown_choice"),
            ({"step_id": sid + 7, "choice": "more"}, "guided_out_of_order"),
            ({"step_id": sid, "choice": "more", "value": "x"}, "guided_bad_choice"),
            ({"step_id": sid, "choice": "more", "auto": True}, "guided_bad_choice"),
            ({"step_id": sid, "choice": 5}, "invalid_frame"),
            ({"step_id": "x", "choice": "more"}, "invalid_frame"),
            ({"step_id": sid, "choice": "more", "status": "done"}, "forbidden_field"),
            ({"step_id": sid, "value": "a" * 5000}, "invalid_frame"),
        ]
        for i, (body, code) in enumerate(bad):
            ws.send_json({"type": "guided.choose", "ref": f"b{i}", **body})
            e = recv_until(ws, "error")
            assert e["ref"] == f"b{i}", e
            assert e["code"] == code, (body, e)
        ws.send_json({"type": "ping", "nonce": 9})
        assert recv_until(ws, "pong")["nonce"] == 9
        assert g.press("service:ktp-el")["kind"] == "purpose" and g.step["presses"] == 1  # nothing was counted
        ws.send_json({"type": "guided.start", "conversation_id": "g-not-mine-0000", "ref": "s"})
        ws.send_json({"type": "ping", "nonce": 10})
        assert recv_until(ws, "pong")["nonce"] == 10


def test_the_visit_resumes_on_a_new_socket(client: TestClient) -> None:
    h = new_session(client)
    with client.websocket_connect("/ws") as ws:
        hello(ws, token_of(h))
        g = Guided(ws)
        g.start()
        g.press("service:ktp-el")
        shown = g.press("option:hilang")
    with client.websocket_connect("/ws") as ws:
        hello(ws, token_of(h))
        ws.send_json({"type": "guided.start", "conversation_id": shown["conversation_id"]})
        g = Guided(ws)
        again = g.recv()
        assert (again["kind"], again["step_id"], again["presses"]) == ("requirements", shown["step_id"], 2)
    other = new_session(client)  # another visitor cannot resume it
    with client.websocket_connect("/ws") as ws:
        hello(ws, token_of(other))
        ws.send_json({"type": "guided.start", "conversation_id": shown["conversation_id"], "ref": "x"})
        e = recv_until(ws, "error")
        assert (e["code"], e["ref"]) == ("not_found", "x")


def test_officer_called_connected_and_speaking_are_steps(client: TestClient, migrated: Any) -> None:
    from tests.server.console_helpers import add_officer, console_login

    add_officer(migrated, "duk-g", "dukcapil", full_name="Rina Petugas")
    h = new_session(client)
    with client.websocket_connect("/ws") as ws:
        hello(ws, token_of(h))
        g = Guided(ws)
        g.start()
        g.press("service:ktp-el")
        called = g.press("officer")
        assert called["kind"] == "officer" and called["tone"] == "officer" and called["handoff_id"]
        hid = called["handoff_id"]
        csrf = console_login(client, "duk-g")
        r = client.post(f"/officer/remote/{hid}/accept", data={"csrf": csrf}, follow_redirects=False)
        assert r.status_code == 303, r.text
        connected = g.recv()
        assert connected["kind"] == "officer" and "Rina Petugas" in connected["text"] and connected["speak"]
        words = "Selamat pagi Ibu, saya bantu dari sini."
        r = client.post(
            f"/officer/remote/{hid}/say", data={"csrf": csrf, "text": words}, headers={"Accept": "application/json"}
        )
        assert r.status_code == 200, r.text
        said = g.recv()
        while said["kind"] != "officer_says":
            said = g.recv()
        assert said["text"] == words and words in said["speak"] and said["tone"] == "officer"
        assert [c["id"] for c in said["choices"]] == ["back_to_step"]
        assert g.press("back_to_step")["kind"] == "purpose"
    desk = client.get("/officer/remote")
    assert desk.status_code == 200


def test_a_broken_visit_answers_with_an_error_frame_not_silence(client: TestClient, monkeypatch: Any) -> None:
    from assistant.dialogue.guided import GuidedLoop

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a stored visit that no longer fits")

    h = new_session(client)
    with client.websocket_connect("/ws") as ws:
        hello(ws, token_of(h))
        g = Guided(ws)
        g.start()
        monkeypatch.setattr(GuidedLoop, "choose", broken)
        ws.send_json({"type": "guided.choose", "step_id": g.step["step_id"], "choice": "more", "ref": "guided"})
        e = recv_until(ws, "error")
        assert (e["code"], e["ref"]) == ("guided_failed", "guided")
        monkeypatch.undo()
        assert g.start()["kind"] == "greet"  # a new visit starts; the socket is still up
