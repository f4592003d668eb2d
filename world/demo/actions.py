"""Tour actions against the real running backend, over plain HTTP (no rendering needed).

Every action returns an :class:`ActionResult` the renderer can show. A demo runs in
front of an audience, so nothing here raises: transient failures (connection refused,
5xx, 429) are retried with backoff and then reported as a calm caption.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from l10n import LANGS, pair, t
from protocol.catalog import Service
from protocol.forms import example_answers
from world.demo import tour as T
from world.labels import state_label

__all__ = [
    "BUSY",
    "DEMO_PASSWORD",
    "ActionResult",
    "Backend",
    "officer_username",
]

log = logging.getLogger(__name__)

SEED_NAMES = ("Wayan", "Siti", "Agus", "Dewi", "Rudi", "Ani", "Joko", "Lestari", "Bayu", "Rina")

# Demo accounts live only in the throw-away demo database (a fresh temp MPP_DATA_DIR per run).
DEMO_PASSWORD = "Demo-Banyuwangi-2026"


def caption(key: str, **fmt: object) -> dict[str, str]:
    """A caption in every language; a callable value is rendered per language (a state, a service name)."""
    return {lang: t(key, lang, **{k: v(lang) if callable(v) else v for k, v in fmt.items()}) for lang in LANGS}


BUSY = caption("demo.busy")


def officer_username(agency: str) -> str:
    return f"demo-{agency}"


def _state(state: str, lang: str) -> str:
    return state_label(state, lang)


@dataclass
class ActionResult:
    kind: str
    ok: bool
    caption: dict[str, str]
    data: dict[str, Any] = field(default_factory=dict)
    attempts: int = 1
    error: str | None = None

    def text(self, lang: str) -> str:
        return self.caption.get(lang) or self.caption.get("en") or self.caption.get("id", "")


class _Busy(Exception):
    """Retries exhausted on a transient failure."""


class _Refused(Exception):
    """The server said no (4xx): not retried, reported calmly with the server's own words."""

    def __init__(self, status: int, message_id: str, message_en: str) -> None:
        super().__init__(message_en)
        self.status = status
        self.message_id = message_id
        self.message_en = message_en


@dataclass
class Visitor:
    token: str
    name: str
    lang: str
    conversation_id: str | None = None
    tracking: str | None = None
    service_id: str | None = None
    ticket: str | None = None


@dataclass
class OfficerSession:
    token: str
    csrf: str


class Backend:
    """Runs tour actions as a visitor and as officers; keeps who-is-who between steps."""

    def __init__(
        self,
        base_url: str,
        *,
        retries: int = 3,
        backoff: float = 0.5,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        password: str = DEMO_PASSWORD,
        codes: Callable[[str], str | None] | None = None,
    ) -> None:
        """``codes``: reads the one-time code sent for a challenge (the embedded server's demo phone)."""
        self.base_url = base_url.rstrip("/")
        self.codes = codes
        self.retries = max(1, retries)
        self.backoff = backoff
        self.password = password
        self._sleep = sleep
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)
        self._http_only = isinstance(transport, httpx.MockTransport)  # no socket behind it (guided mode skips)
        self.visitors: dict[str, Visitor] = {}
        self.officers: dict[str, OfficerSession] = {}
        self._services: dict[str, Service] = {}
        self._attempts = 0

    def close(self) -> None:
        self._client.close()

    def reset(self) -> None:
        """Forget visitors and officer sessions (a new loop round starts with a fresh database)."""
        self.visitors.clear()
        self.officers.clear()

    # ------------------------------------------------------------------ demo activity

    def seed_boards(
        self, counters: list[tuple[int, str]], *, own: list[tuple[int, str]] | None = None, seed: int = 2026
    ) -> list[dict[str, Any]]:
        """Real queue activity for the boards before the tour starts: a morning's tickets at every
        counter the tour leaves alone, some already served and one being served where that agency's
        demo officer exists (so each board shows its own number and people still waiting), and at the
        tour's ``own`` counters a few earlier tickets, all called (the tour's ticket is called next).

        The hall then shows numbers being served and people waiting, not rows of dashes; it is
        all real backend state, in the demo's own database. Returns ``GET /queue/board``.
        """
        import random

        rng = random.Random(seed)
        viewer: Any = None

        def take(number: int, k: int) -> bool:
            nonlocal viewer
            try:
                v = self.visitor(f"seed-{number}-{k}", "id", name=rng.choice(SEED_NAMES))
                viewer = v
                self._json("POST", "/api/v1/queue/tickets", json={"counter": number}, headers=self._auth(v))
            except (_Busy, _Refused) as exc:
                log.info("seed ticket at counter %s: %s", number, exc)
                return False
            return True

        def call(number: int, agency: str) -> bool:
            try:
                o = self.officer(agency)
                self._json(
                    "POST", f"/api/v1/officer/queue/{number}/call-next", headers={"Authorization": f"Bearer {o.token}"}
                )
            except (_Busy, _Refused) as exc:  # no demo officer for that agency (yet): waiting only
                log.info("seed call at counter %s: %s", number, exc)
                return False
            return True

        for number, agency in counters:
            taken = 0
            for k in range(3 + rng.randrange(6)):
                if not take(number, k):
                    break
                taken += 1
            for _ in range(1 + rng.randrange(max(1, taken - 1))):  # at least one still waits
                if not call(number, agency):
                    break
        for number, agency in own or []:
            for k in range(1 + rng.randrange(3)):
                if not (take(number, k) and call(number, agency)):
                    break
        # the tour's own board: its tickets are demo tickets, which the public board leaves out
        rows = self._json("GET", "/api/v1/queue/board", headers=self._auth(viewer) if viewer is not None else {})
        return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []

    # ------------------------------------------------------------------ plumbing

    def _request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        last = ""
        for attempt in range(self.retries):
            self._attempts += 1
            try:
                resp = self._client.request(method, url, **kw)
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            else:
                if resp.status_code < 400 or resp.status_code in (302, 303):
                    return resp
                if resp.status_code >= 500 or resp.status_code == 429:
                    last = f"HTTP {resp.status_code}"
                else:
                    raise _refused(resp)
            if attempt + 1 < self.retries:
                self._sleep(self.backoff * (2**attempt))
        log.warning("demo action %s %s gave up after %d attempts: %s", method, url, self.retries, last)
        raise _Busy(last)

    def _json(self, method: str, url: str, **kw: Any) -> Any:
        resp = self._request(method, url, **kw)
        try:
            return resp.json()
        except ValueError:
            raise _Busy("not JSON") from None

    def _auth(self, v: Visitor) -> dict[str, str]:
        return {"Authorization": f"Bearer {v.token}"}

    def identify(self, v: Visitor, nik: str, name: str) -> None:
        """The second factor, as a visitor does it: NIK and name, then the code from their phone."""
        contact = f"0812{int(nik[-8:]):08d}"  # each demo visitor's own (fictional) phone number
        body = self._json(
            "POST",
            "/api/v1/sessions/identify",
            json={"nik": nik, "name": name, "contact": contact},
            headers=self._auth(v),
        )
        challenge = body.get("challenge_id") if isinstance(body, dict) else None
        if not challenge:
            return  # a server from before the second factor identified on NIK and name
        code = self.codes(str(challenge)) if self.codes is not None else None
        if code is None:
            raise _Refused(400, *pair("demo.no_code"))
        self._json(
            "POST", "/api/v1/sessions/verify", json={"challenge_id": challenge, "code": code}, headers=self._auth(v)
        )

    def service(self, service_id: str) -> Service:
        if service_id not in self._services:
            self._services[service_id] = Service.model_validate(self._json("GET", f"/api/v1/services/{service_id}"))
        return self._services[service_id]

    def visitor(self, key: str, lang: str, name: str = "Warga Demo") -> Visitor:
        v = self.visitors.get(key)
        if v is None:
            # tagged demo: what this visitor submits stays out of real officers' inboxes and reports
            body = self._json(
                "POST", "/api/v1/sessions", json={"lang": "en" if lang == "en" else "id", "name": name, "demo": True}
            )
            v = Visitor(token=str(body["token"]), name=name, lang=lang)
            self.visitors[key] = v
        return v

    def session_token(self, key: str, lang: str, name: str) -> str | None:
        """The visitor's session token (made on first use), or None when the backend is unreachable."""
        try:
            return self.visitor(key, lang, name).token
        except (_Busy, _Refused, KeyError, ValueError):
            return None

    def officer(self, agency: str) -> OfficerSession:
        o = self.officers.get(agency)
        if o is None:
            body = self._json(
                "POST",
                "/api/v1/officer/login",
                json={"username": officer_username(agency), "password": self.password},
            )
            o = OfficerSession(token=str(body["token"]), csrf=str(body["csrf"]))
            self.officers[agency] = o
        return o

    def _console(self, o: OfficerSession, path: str, data: dict[str, str] | None = None) -> httpx.Response:
        """A console form post, as the officer's browser would send it: session cookie + CSRF header."""
        return self._request(
            "POST",
            path,
            data=data or {},
            headers={"X-CSRF-Token": o.csrf, "Accept": "application/json", "Cookie": f"mpp_officer={o.token}"},
            follow_redirects=False,
        )

    # ------------------------------------------------------------------ entry point

    def run(self, action: T.Action, lang: str) -> ActionResult:
        """Run one tour action; never raises."""
        self._attempts = 0
        handler = getattr(self, f"_do_{action.kind}")
        try:
            result: ActionResult = handler(action, lang)
        except _Busy as exc:
            return ActionResult(action.kind, False, dict(BUSY), attempts=self._attempts, error=str(exc) or "busy")
        except _Refused as exc:
            mid, men = exc.message_id, exc.message_en
            said = caption("demo.refused", message=lambda lang: mid if lang == "id" else men)
            return ActionResult(action.kind, False, said, attempts=self._attempts, error=f"HTTP {exc.status}")
        except (KeyError, ValueError, TypeError) as exc:  # an unexpected body shape: still calm on screen
            log.warning("demo action %s: unexpected response: %s", action.kind, exc)
            return ActionResult(action.kind, False, dict(BUSY), attempts=self._attempts, error="bad response")
        result.attempts = self._attempts
        return result

    # ------------------------------------------------------------------ actions

    def _do_ask(self, a: T.AskAction, lang: str) -> ActionResult:
        v = self.visitor(a.visitor, lang)
        speak = "en" if lang in ("en", "ja") else "id"
        body: dict[str, Any] = {"text": a.text.get(speak), "lang": speak}
        if v.conversation_id:
            body["conversation_id"] = v.conversation_id
        reply = self._json("POST", "/api/v1/assistant/ask", json=body, headers=self._auth(v))
        v.conversation_id = reply.get("conversation_id") or v.conversation_id
        text = str(reply.get("text", "")).strip()
        return ActionResult(
            "ask",
            True,
            dict.fromkeys(LANGS, text),
            {
                "question": a.text.get(lang),
                "reply": text,
                "service": reply.get("service"),
                "quick_replies": [q.get("label") for q in reply.get("quick_replies", [])],
                "citations": [c.get("source") for c in reply.get("citations", [])],
            },
        )

    def _do_apply(self, a: T.ApplyAction, lang: str) -> ActionResult:
        v = self.visitor(a.visitor, lang, a.name)
        self.identify(v, a.nik, a.name)
        service = self.service(a.service)
        data = {**example_answers(service, a.nik, a.name), **a.answers}
        # One key for all retries of this submission: a retried POST must not file twice.
        headers = {**self._auth(v), "Idempotency-Key": uuid.uuid4().hex}
        app = self._json(
            "POST",
            "/api/v1/applications",
            json={"service_id": a.service, "data": data, "submit": a.submit},
            headers=headers,
        )
        v.tracking = str(app["tracking_number"])
        v.service_id = a.service
        state = str(app["state"])
        return ActionResult(
            "apply",
            True,
            caption(
                "demo.applied",
                service=lambda lang: service.short_name.id if lang == "id" else service.short_name.en,
                tracking=v.tracking,
                state=lambda lang: _state(state, lang),
            ),
            {"tracking": v.tracking, "state": state, "service_id": a.service, "fields": sorted(data)},
        )

    def _do_ticket(self, a: T.TicketAction, lang: str) -> ActionResult:
        v = self.visitor(a.visitor, lang)
        service = self.service(a.service)
        counter = int(service.counter)
        ticket = self._json("POST", "/api/v1/queue/tickets", json={"counter": counter}, headers=self._auth(v))
        v.ticket = str(ticket["code"])
        wait = ticket.get("estimated_wait_min")
        now_serving = None
        if a.call:
            o = self.officer(service.agency)
            called = self._json(
                "POST", f"/api/v1/officer/queue/{counter}/call-next", headers={"Authorization": f"Bearer {o.token}"}
            )
            t = called.get("ticket") or {}
            now_serving = t.get("code")
        board = self._json("GET", "/api/v1/queue/board", headers=self._auth(v))  # the tour's board (demo tickets)
        row: dict[str, Any] = next((r for r in board if int(r.get("counter", -1)) == counter), {})
        serving = row.get("now_serving") or now_serving or "—"
        return ActionResult(
            "ticket",
            True,
            caption("demo.ticket_taken", ticket=v.ticket, counter=counter, serving=serving),
            {
                "ticket": v.ticket,
                "counter": counter,
                "estimated_wait_min": wait,
                "now_serving": row.get("now_serving"),
                "waiting": row.get("waiting"),
            },
        )

    def _do_officer_transition(self, a: T.TransitionAction, lang: str) -> ActionResult:
        v = self.visitor(a.visitor, lang)
        tracking = v.tracking if a.tracking == "last" else a.tracking
        if not tracking:
            raise _Refused(409, *pair("demo.nothing_to_process"))
        service = self.service(v.service_id) if v.service_id else None
        agency = service.agency if service else "dukcapil"
        o = self.officer(agency)
        states: list[str] = []
        current = ""
        app_state = self._json(
            "GET", f"/api/v1/officer/applications/{tracking}", headers={"Authorization": f"Bearer {o.token}"}
        )
        current = str(app_state.get("state", ""))
        for to in a.to:
            if to == current or (current and _ORDER.get(current, -1) >= _ORDER.get(to, 99)):
                continue  # already there (e.g. a retried step after a slow response): move on
            body: dict[str, Any] = {"to": to}
            if a.note is not None:
                body["note"] = a.note.get("en" if lang == "en" else "id")
            out = self._json(
                "POST",
                f"/api/v1/officer/applications/{tracking}/transition",
                json=body,
                headers={"Authorization": f"Bearer {o.token}"},
            )
            current = str(out["state"])
            states.append(current)
        return ActionResult(
            "officer_transition",
            True,
            caption(
                "demo.moved",
                tracking=tracking,
                states=lambda lang: " → ".join(_state(s, lang) for s in states or [current]),
            ),
            {"tracking": tracking, "states": states, "state": current},
        )

    def _do_lahir_procot(self, a: T.LahirProcotAction, lang: str) -> ActionResult:
        """Lahir Procot Pulang Bawa Akta: registered at the facility, completed by Dukcapil, printed and verified."""
        import datetime as dt
        import uuid

        faskes = self.officer("faskes")
        body: dict[str, Any] = {
            "mother_nik": a.mother_nik,
            "mother_name": a.mother_name,
            "father_nik": a.father_nik,
            "father_name": a.father_name,
            "child_name": a.child_name,
            "child_sex": a.child_sex,
            "birth_date": dt.date.today().isoformat(),
            "birth_time": a.birth_time,
        }
        born = self._json(
            "POST",
            "/api/v1/officer/births",
            json=body,
            headers={"Authorization": f"Bearer {faskes.token}", "Idempotency-Key": uuid.uuid4().hex},
        )
        tracking = str(born["tracking_number"])
        dukcapil = self.officer("dukcapil")
        for to in ("verified", "in_process", "ready", "completed"):
            self._json(
                "POST",
                f"/api/v1/officer/applications/{tracking}/transition",
                json={"to": to},
                headers={"Authorization": f"Bearer {dukcapil.token}"},
            )
        doc = self._json(
            "GET",
            f"/api/v1/officer/applications/{tracking}/document",
            headers={"Authorization": f"Bearer {faskes.token}"},
        )
        pdf = self._request(
            "GET",
            f"/api/v1/officer/applications/{tracking}/document.pdf",
            headers={"Authorization": f"Bearer {faskes.token}"},
        )
        checked = self._json("GET", f"/api/v1/verify/{doc['code']}")
        facility = str(born.get("facility") or "")
        number, status = str(doc["number"]), str(checked.get("status"))
        return ActionResult(
            "lahir_procot",
            True,
            caption(
                "demo.born_issued",
                facility=facility,
                number=number,
                check=lambda lang: t("demo.valid", lang) if status == "valid" else status,
            ),
            {
                "tracking": tracking,
                "number": number,
                "verify": status,
                "pdf_bytes": len(pdf.content),
                "sla_due": born.get("sla_due"),
                "facility": facility,
            },
        )

    def _do_status(self, a: T.StatusAction, lang: str) -> ActionResult:
        v = self.visitor(a.visitor, lang)
        if not v.tracking:
            raise _Refused(409, *pair("demo.no_application"))
        app = self._json("GET", f"/api/v1/applications/{v.tracking}", headers=self._auth(v))
        events = self._json("GET", f"/api/v1/applications/{v.tracking}/events", headers=self._auth(v))
        state = str(app["state"])
        timeline = [str(e.get("to_state", "")) for e in events if isinstance(e, dict)]
        return ActionResult(
            "status",
            True,
            caption("demo.status_of", tracking=v.tracking, state=lambda lang: _state(state, lang)),
            {"tracking": v.tracking, "state": state, "timeline": timeline},
        )

    def _do_dashboard(self, a: T.DashboardAction, lang: str) -> ActionResult:
        sets: dict[str, Any] = {}
        for name in a.names:
            sets[name] = self._json("GET", f"/api/v1/dashboard/{name}")
        labels_id = ", ".join(str(s.get("label", {}).get("id", n)) for n, s in sets.items())
        labels_en = ", ".join(str(s.get("label", {}).get("en", n)) for n, s in sets.items())
        sample = any(bool(s.get("sample")) for s in sets.values())
        return ActionResult(
            "dashboard",
            True,
            caption(
                "demo.datasets_sample" if sample else "demo.datasets",
                labels=lambda lang: labels_id if lang == "id" else labels_en,
            ),
            {"datasets": sets, "sample": sample},
        )

    def _do_handoff(self, a: T.HandoffAction, lang: str) -> ActionResult:
        v = self.visitor(a.visitor, lang)
        speak = "en" if lang in ("en", "ja") else "id"
        service = self.service(a.service)
        body: dict[str, Any] = {"service_id": a.service}
        if v.conversation_id:
            body["conversation_id"] = v.conversation_id
        h = self._json("POST", "/api/v1/handoffs", json=body, headers=self._auth(v))
        hid = int(h["handoff_id"])
        v.conversation_id = str(h.get("conversation_id") or v.conversation_id or "")
        o = self.officer(service.agency)
        transcript: list[tuple[str, str]] = []
        if h.get("state") == "pending":
            self._console(o, f"/officer/remote/{hid}/accept")
        mine = self._json("GET", "/api/v1/handoffs", headers=self._auth(v))
        row: dict[str, Any] = next((r for r in mine if int(r.get("handoff_id", -1)) == hid), {})
        officer_name = str(row.get("officer") or officer_username(service.agency))
        # Citizen → officer: while the handoff is accepted, the assistant relays the chat.
        relayed = self._json(
            "POST",
            "/api/v1/assistant/ask",
            json={"text": a.citizen_says.get(speak), "conversation_id": v.conversation_id, "lang": speak},
            headers=self._auth(v),
        )
        transcript.append(("citizen", a.citizen_says.get(lang)))
        # Officer → citizen.
        self._console(o, f"/officer/remote/{hid}/say", {"text": a.officer_says.get(speak)})
        transcript.append(("officer", a.officer_says.get(lang)))
        self._console(o, f"/officer/remote/{hid}/close", {"summary": a.summary.get(speak)})
        transcript.append(("summary", a.summary.get(lang)))
        return ActionResult(
            "handoff",
            True,
            caption("demo.officer_took", officer=officer_name, counter=service.counter),
            {
                "handoff_id": hid,
                "officer": officer_name,
                "counter": service.counter,
                "relayed": relayed.get("intent") == "handoff.relayed",
                "transcript": transcript,
            },
        )

    def _do_guided(self, a: T.GuidedAction, lang: str) -> ActionResult:
        v = self.visitor(a.visitor, lang, a.name)
        self.identify(v, a.nik, a.name)
        service = self.service(a.service)
        v.ticket = None
        screens = self._guided_flow(v, a, service, lang)
        if v.ticket is None:  # no guided module in this build: the same outcome, without the screens
            ticket = self._json(
                "POST", "/api/v1/queue/tickets", json={"counter": int(service.counter)}, headers=self._auth(v)
            )
            v.ticket = str(ticket["code"])
        counter = int(service.counter)
        return ActionResult(
            "guided",
            True,
            caption("demo.guided_ticket", name=a.name, ticket=v.ticket, counter=counter),
            {
                "ticket": v.ticket,
                "tracking": v.tracking,
                "counter": counter,
                "screens": screens,
                "presses": sum(1 for s in screens if s[2] and s[2] != "→"),  # the walk ends by itself
                "prompts": [p.get(lang) for p in a.prompts],
            },
        )

    def _guided_flow(self, v: Visitor, a: T.GuidedAction, service: Service, lang: str) -> list[tuple[str, str, str]]:
        """Press through the server's guided mode on the visitor's socket; (title, text, what was pressed) per screen.

        Empty when there is no socket to the server (e.g. a transport that only answers HTTP); the caller
        then takes the ticket directly, the same outcome without the screens.
        """
        import json

        from websockets.exceptions import WebSocketException
        from websockets.sync.client import connect

        from protocol import PROTOCOL_VERSION

        if self._http_only:
            return []
        url = self.base_url.replace("http", "ws", 1) + "/ws"
        answers = {k: str(x) for k, x in example_answers(service, a.nik, a.name).items()}
        prefer = [f"service:{a.service}", *a.choose]
        screens: list[tuple[str, str, str]] = []
        try:
            with connect(url, open_timeout=10, close_timeout=2) as ws:

                def send(frame: dict[str, Any]) -> dict[str, Any]:
                    ws.send(json.dumps(frame))
                    while True:
                        got = json.loads(ws.recv(timeout=15))
                        if got.get("type") in ("guided.step", "error"):
                            return dict(got)

                ws.send(json.dumps({"type": "hello", "token": v.token, "protocol_version": PROTOCOL_VERSION}))
                step = send({"type": "guided.start", "lang": "en" if lang in ("en", "ja") else "id"})
                for _ in range(24):
                    if step.get("type") != "guided.step":
                        break
                    first = step["text"].strip().splitlines()[0] if step["text"].strip() else ""
                    kind, sid = step["kind"], step["step_id"]
                    offered = [c["id"] for c in step["choices"]]
                    if kind in ("ticket", "done", "failed", "mismatch", "officer"):
                        screens.append((step["title"], first, ""))
                        if step.get("ticket"):
                            v.ticket, v.tracking, v.service_id = step["ticket"], step.get("tracking"), service.id
                        break
                    field = step.get("field")
                    if kind == "walk":
                        screens.append((step["title"], first, "→"))
                        choose: dict[str, Any] = {"choice": "arrived", "auto": True}
                    elif field and not field.get("optional") and field["name"] in answers:
                        value = field.get("prefill") or answers[field["name"]]
                        screens.append((step["title"], first, value))
                        choose = {"value": value}
                    else:
                        pick = next((p for p in prefer if p in offered), None) or next(
                            (x for x in offered if x in ("yes", "next", "all_docs", "submit")),
                            offered[0] if offered else "",
                        )
                        if not pick:
                            break
                        label_ = next(c["label"] for c in step["choices"] if c["id"] == pick)
                        screens.append((step["title"], first, label_))
                        choose = {"choice": pick}
                    step = send({"type": "guided.choose", "step_id": sid, **choose})
        except (OSError, WebSocketException, TimeoutError, ValueError, KeyError):
            log.warning("demo: guided mode over the socket failed", exc_info=True)
            return screens if v.ticket else []
        return screens


_ORDER = {"draft": 0, "submitted": 1, "verified": 2, "in_process": 3, "ready": 4, "completed": 5}


def _refused(resp: httpx.Response) -> _Refused:
    mid, men = pair("demo.request_refused")
    try:
        detail = resp.json().get("detail")
        if isinstance(detail, dict):
            mid = str(detail.get("message_id") or detail.get("message") or mid)
            men = str(detail.get("message_en") or detail.get("message") or men)
    except ValueError:
        pass
    return _Refused(resp.status_code, mid, men)
