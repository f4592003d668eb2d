"""Network client of the hall: websocket + REST on its own thread.

Rendering never waits on the network: the Panda side only calls :meth:`NetClient.send`,
:meth:`NetClient.request` and drains :meth:`NetClient.poll` once per frame; all of them
are non-blocking and thread-safe. The socket reconnects by itself with jittered
exponential backoff and resumes with ``last_seq`` so missed application/queue events
are replayed; events already seen are dropped by ``seq``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import random
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from protocol import PROTOCOL_VERSION
from protocol.api import (
    ApplicationIn,
    ApplicationOut,
    AskIn,
    BoardRow,
    ChallengeOut,
    DatasetOut,
    ErrorBody,
    IceOut,
    IdentifyIn,
    IssuedDocumentOut,
    SessionIn,
    SessionOut,
    TicketIn,
    TicketOut,
    VerifiedOut,
    VerifyIn,
)
from protocol.catalog import Service
from protocol.messages import ApplicationEvent, ChatReply, ErrorFrame, Hello, Pong, Welcome, parse_server

log = logging.getLogger("world.net")

SEQ_TYPES = ("application.event", "queue.event", "document.event")
AUTH_ERRORS = ("unauthorized", "token_expired", "invalid_token")


@dataclass
class NetEvent:
    """``kind`` is ``status`` (data: state), ``frame`` (data: protocol model) or ``http`` (data: dict).

    An ``http`` dict has ``tag``, ``status`` and the raw ``body``; ``data`` is the body parsed
    into its ``protocol.api`` model on success, ``problem`` the typed refusal otherwise
    (``protocol.api.ErrorDetail``), and ``error`` names a transport failure.
    """

    kind: str
    data: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def _adapter(model: Any) -> TypeAdapter[Any]:
    found = _ADAPTERS.get(model)
    if found is None:
        found = _ADAPTERS[model] = TypeAdapter(model)
    return found


def http_event(tag: str, status: int, body: Any, model: Any = None, error: str | None = None) -> NetEvent:
    """One REST answer as the hall receives it: the body checked against its wire model.

    A 2xx body that does not match its model is reported as ``error="bad_reply"`` instead
    of reaching the screens half-parsed; a refusal is parsed as :class:`ErrorBody`.
    """
    result: dict[str, Any] = {"tag": tag, "status": status, "body": body, "data": None, "problem": None}
    if error is not None:
        result["error"] = error
    elif 200 <= status < 300:
        if model is not None:
            try:
                result["data"] = _adapter(model).validate_python(body)
            except ValidationError as exc:
                log.warning("reply of %s does not match %s: %s", tag, getattr(model, "__name__", model), exc)
                result["error"] = "bad_reply"
    elif status >= 400:
        try:
            result["problem"] = ErrorBody.model_validate(body).detail
        except ValidationError:
            result["problem"] = None
    return NetEvent("http", result)


def backoff_delay(attempt: int, base: float = 0.5, cap: float = 5.0, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: in [d/2, d] with d = min(cap, base * 2**attempt).

    The jitter spreads a hall full of clients after a server restart; the 5 s cap keeps a
    citizen's wait after the server is back short (measured 0.0-2.3 s after it is ready, loopback).
    """
    d = min(cap, base * (2 ** min(attempt, 20)))
    r = rng or random
    return d * (0.5 + 0.5 * r.random())


class NetClient:
    def __init__(
        self, server: str, *, lang: str = "id", name: str | None = None, timeout: float = 10.0, demo: bool = False
    ) -> None:
        self.base = server.rstrip("/")
        self.ws_url = ("wss://" if self.base.startswith("https://") else "ws://") + self.base.split("://", 1)[1] + "/ws"
        self.demo = demo  # a demo tour's visitor: the server tags its applications demo
        self.lang = lang
        self.name = name
        self.timeout = timeout
        self.token: str | None = None
        self.session_id: str | None = None
        self.last_seq = 0
        self.state = "idle"
        self.connects = 0
        self._inbox: queue.Queue[NetEvent] = queue.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._outbox: asyncio.Queue[dict[str, Any]] | None = None
        self._pending_move: dict[str, Any] | None = None
        self._move_flag: asyncio.Event | None = None
        self._ready: asyncio.Event | None = None
        self._main: asyncio.Task[None] | None = None
        self._rest: httpx.AsyncClient | None = None
        self.server_last_seq = 0
        self.call: Any = None  # world.call.HallCall: call frames go to it on this thread

    # ---------------------------------------------------------------- Panda side

    def start(self) -> None:
        if self._thread is not None:
            return
        started = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            self._outbox = asyncio.Queue()
            self._move_flag = asyncio.Event()
            self._ready = asyncio.Event()
            self._main = loop.create_task(self._run())
            started.set()
            try:
                loop.run_until_complete(self._main)
            except asyncio.CancelledError:
                pass
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=run, name="mpp-net", daemon=True)
        self._thread.start()
        started.wait(5)

    def stop(self) -> None:
        self._stop.set()
        loop, main = self._loop, self._main
        if loop is not None and main is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(main.cancel)
            except RuntimeError:
                pass  # loop already closed
        if self._thread is not None:
            self._thread.join(5)
        self._thread = None

    def send(self, frame: dict[str, Any]) -> None:
        """Queue a client frame; presence moves are coalesced to the latest one."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        if frame.get("type") == "presence.move":
            self._pending_move = frame
            flag = self._move_flag
            if flag is not None:
                loop.call_soon_threadsafe(flag.set)
            return
        box = self._outbox
        if box is not None:
            loop.call_soon_threadsafe(box.put_nowait, frame)

    def request(
        self,
        tag: str,
        method: str,
        path: str,
        body: BaseModel | None = None,
        headers: dict[str, str] | None = None,
        model: Any = None,
    ) -> None:
        """Run a REST call; the answer arrives later as ``NetEvent('http', {...})`` with ``tag``.

        ``body`` is a ``protocol.api`` request model; ``model`` is the type the answer is parsed into.
        """
        loop = self._loop
        if loop is None or loop.is_closed():
            self._inbox.put(http_event(tag, 0, None, error="not started"))
            return
        payload = body.model_dump(mode="json", exclude_unset=True) if body is not None else None
        asyncio.run_coroutine_threadsafe(self._http(tag, method, path, payload, headers, model), loop)

    def poll(self, limit: int = 200) -> list[NetEvent]:
        out: list[NetEvent] = []
        while len(out) < limit:
            try:
                out.append(self._inbox.get_nowait())
            except queue.Empty:
                break
        return out

    # ---------------------------------------------------------------- REST helpers
    # Each runs on the net thread; its answer comes back through poll() as an ``http`` event.

    def ask(self, text: str, conversation_id: str | None = None, tag: str = "ask") -> None:
        body = AskIn(text=text, conversation_id=conversation_id) if conversation_id else AskIn(text=text)
        self.request(tag, "POST", "/api/v1/assistant/ask", body, model=ChatReply)

    def identify(self, nik: str, name: str, tag: str = "identify", contact: str | None = None) -> None:
        """Second factor, step 1: the server sends a code to the NIK's registered contact (202)."""
        body = IdentifyIn(nik=nik, name=name, contact=contact) if contact else IdentifyIn(nik=nik, name=name)
        self.request(tag, "POST", "/api/v1/sessions/identify", body, model=ChallengeOut)

    def verify_code(self, challenge_id: str, code: str, tag: str = "verify") -> None:
        """Second factor, step 2: the code links this session to the citizen's applications."""
        body = VerifyIn(challenge_id=challenge_id, code=code)
        self.request(tag, "POST", "/api/v1/sessions/verify", body, model=VerifiedOut)

    def service(self, service_id: str, tag: str = "service") -> None:
        self.request(tag, "GET", f"/api/v1/services/{service_id}", model=Service)

    def create_application(
        self,
        service_id: str,
        data: dict[str, Any],
        *,
        submit: bool = True,
        key: str | None = None,
        tag: str = "application",
    ) -> str:
        """Returns the Idempotency-Key so a retry of the same form reuses it (no duplicate application)."""
        key = key or idempotency_key()
        self.request(
            tag,
            "POST",
            "/api/v1/applications",
            ApplicationIn(service_id=service_id, data=data, submit=submit),
            headers={"Idempotency-Key": key},
            model=ApplicationOut,
        )
        return key

    def take_ticket(self, counter: int, tag: str = "ticket") -> None:
        self.request(tag, "POST", "/api/v1/queue/tickets", TicketIn(counter=counter), model=TicketOut)

    def applications(self, tag: str = "applications") -> None:
        self.request(tag, "GET", "/api/v1/applications", model=list[ApplicationOut])

    def application_events(self, tracking: str, tag: str = "timeline") -> None:
        self.request(tag, "GET", f"/api/v1/applications/{tracking}/events", model=list[ApplicationEvent])

    def issued_documents(self, tag: str = "documents") -> None:
        self.request(tag, "GET", "/api/v1/issued-documents", model=list[IssuedDocumentOut])

    def save_document(self, tracking: str, dest: Path, tag: str = "document.saved") -> None:
        """Download the signed PDF to ``dest``; the answer is an ``http`` event with ``body.path``."""
        loop = self._loop
        if loop is None or loop.is_closed():
            self._inbox.put(http_event(tag, 0, None, error="not started"))
            return
        asyncio.run_coroutine_threadsafe(self._save(tag, tracking, dest), loop)

    async def _save(self, tag: str, tracking: str, dest: Path) -> None:
        status, body, error = 0, None, None
        try:
            if self._rest is None:
                self._rest = httpx.AsyncClient(timeout=self.timeout)
            hdrs = {"Authorization": f"Bearer {self.token}"} if self.token else {}
            r = await self._rest.get(f"{self.base}/api/v1/applications/{tracking}/document.pdf", headers=hdrs)
            status = r.status_code
            if r.status_code == 200 and r.content.startswith(b"%PDF-"):
                dest.parent.mkdir(parents=True, exist_ok=True)
                part = dest.with_suffix(".part")
                part.write_bytes(r.content)
                part.replace(dest)
                body = {"path": str(dest), "tracking_number": tracking}
            elif r.status_code >= 400:
                body = _json_or_text(r)
        except (TimeoutError, httpx.HTTPError, OSError) as exc:
            error = type(exc).__name__
        self._inbox.put(http_event(tag, status, body, SavedDocument, error=error))

    def board(self, tag: str = "board") -> None:
        self.request(tag, "GET", "/api/v1/queue/board", model=list[BoardRow])

    def dashboard(self, name: str, tag: str | None = None) -> None:
        """``name`` is village-progress, budget or poverty."""
        self.request(tag or f"dashboard:{name}", "GET", f"/api/v1/dashboard/{name}", model=DatasetOut)

    async def ice_servers(self) -> list[dict[str, Any]]:
        """STUN/TURN servers (with fresh TURN credentials) for a call; none when the server has none."""
        if self.token is None:
            return []
        if self._rest is None:
            self._rest = httpx.AsyncClient(timeout=self.timeout)
        try:
            r = await self._rest.get(self.base + "/api/v1/calls/ice", headers={"Authorization": f"Bearer {self.token}"})
            r.raise_for_status()
            ice = IceOut.model_validate_json(r.content)
        except (httpx.HTTPError, ValidationError):
            return []
        return [s.model_dump(exclude_none=True) for s in ice.ice_servers]

    # ---------------------------------------------------------------- net thread

    def _status(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self._inbox.put(NetEvent("status", state))

    async def _session(self, client: httpx.AsyncClient) -> None:
        lang = "en" if self.lang == "en" else "id"
        body = SessionIn(lang=lang, name=self.name[:60] if self.name else None, demo=self.demo)
        r = await client.post(self.base + "/api/v1/sessions", json=body.model_dump(exclude_defaults=True))
        r.raise_for_status()
        session = SessionOut.model_validate_json(r.content)  # a ValidationError is a ValueError: retried
        self.token = session.token
        self.session_id = session.session_id

    async def _http(
        self, tag: str, method: str, path: str, body: Any, headers: dict[str, str] | None, model: Any
    ) -> None:
        status, answer, error = 0, None, None
        try:
            ready = self._ready
            if ready is not None and not ready.is_set():
                await asyncio.wait_for(ready.wait(), self.timeout)
            hdrs = dict(headers or {})
            if self.token:
                hdrs.setdefault("Authorization", f"Bearer {self.token}")
            if self._rest is None:
                self._rest = httpx.AsyncClient(timeout=self.timeout)
            r = await self._rest.request(method, self.base + path, json=body, headers=hdrs)
            status, answer = r.status_code, _json_or_text(r)
        except (TimeoutError, httpx.HTTPError, OSError) as exc:
            error = type(exc).__name__
        self._inbox.put(http_event(tag, status, answer, model, error=error))

    async def _run(self) -> None:
        try:
            await self._connect_forever()
        finally:
            if self._rest is not None:
                await self._rest.aclose()
                self._rest = None

    async def _connect_forever(self) -> None:
        import websockets

        attempt = 0
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            while not self._stop.is_set():
                self._status("connecting" if self.connects == 0 else "reconnecting")
                try:
                    if self.token is None:
                        await self._session(client)
                    assert self._ready is not None
                    self._ready.set()
                    async with websockets.connect(self.ws_url, open_timeout=self.timeout, max_size=1 << 20) as ws:
                        assert self.token is not None
                        hello = Hello(
                            token=self.token,
                            protocol_version=PROTOCOL_VERSION,
                            last_seq=self.last_seq,
                            name=self.name[:60] if self.name else None,
                        )
                        await ws.send(hello.model_dump_json(exclude_none=True))
                        first = parse_server(await asyncio.wait_for(ws.recv(), self.timeout))
                        if not isinstance(first, Welcome):
                            if isinstance(first, ErrorFrame) and first.code in AUTH_ERRORS:
                                # the session is gone (expired or a fresh database): start a new one
                                self.token = None
                                self.last_seq = 0
                                assert self._ready is not None
                                self._ready.clear()
                            code = first.code if isinstance(first, ErrorFrame) else first.type
                            raise ConnectionError(f"no welcome: {code}")
                        self.server_last_seq = first.last_seq
                        if self.server_last_seq < self.last_seq:
                            # the server holds fewer events than we saw (restored backup): trust it
                            self.last_seq = self.server_last_seq
                        self.connects += 1
                        attempt = 0
                        self._status("online")
                        self._inbox.put(NetEvent("frame", first))
                        await self._pump(ws)
                except asyncio.CancelledError:
                    raise
                except httpx.HTTPStatusError as exc:
                    log.warning("session refused: %s", exc.response.status_code)
                except (TimeoutError, OSError, ConnectionError, httpx.HTTPError, ValueError) as exc:
                    log.info("connection lost: %s", type(exc).__name__)
                except Exception as exc:  # noqa: BLE001 - websockets raises its own family; keep the loop alive
                    log.info("connection closed: %s", type(exc).__name__)
                if self._stop.is_set():
                    break
                self._status("reconnecting")
                await asyncio.sleep(backoff_delay(attempt))
                attempt += 1

    async def _pump(self, ws: Any) -> None:
        reader = asyncio.create_task(self._reader(ws))
        writer = asyncio.create_task(self._writer(ws))
        try:
            done, _ = await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                exc = task.exception()
                if exc is not None:
                    raise exc
        finally:
            for task in (reader, writer):
                task.cancel()
            await asyncio.gather(reader, writer, return_exceptions=True)

    async def _reader(self, ws: Any) -> None:
        async for raw in ws:
            try:
                data = json.loads(raw)
            except ValueError:
                continue
            kind = data.get("type")
            if self.call is not None and isinstance(kind, str) and kind.startswith("call."):
                self.call.dispatch(data)
            if kind == "ping":
                await ws.send(Pong(nonce=_int(data.get("nonce"))).model_dump_json())
                continue
            if kind in SEQ_TYPES:
                seq = int(data.get("seq", 0))
                if seq <= self.last_seq:
                    continue  # replayed twice across a reconnect
                self.last_seq = seq
            try:
                frame: Any = parse_server(raw)
            except ValidationError:
                self._inbox.put(NetEvent("raw", data))
                continue
            self._inbox.put(NetEvent("frame", frame))

    async def _writer(self, ws: Any) -> None:
        box, flag = self._outbox, self._move_flag
        assert box is not None and flag is not None
        children: list[asyncio.Task[Any]] = []
        try:
            while True:
                get = asyncio.create_task(box.get())
                wait_move = asyncio.create_task(flag.wait())
                children = [get, wait_move]
                done, pending = await asyncio.wait(children, return_when=asyncio.FIRST_COMPLETED)
                for p in pending:
                    p.cancel()
                if get in done:
                    frame = get.result()
                    try:
                        await ws.send(json.dumps(frame))
                    except Exception:
                        box.put_nowait(frame)  # resend after reconnecting
                        raise
                if wait_move in done:
                    flag.clear()
                    move, self._pending_move = self._pending_move, None
                    if move is not None:
                        await ws.send(json.dumps(move))
        finally:
            for c in children:
                c.cancel()
            await asyncio.gather(*children, return_exceptions=True)


def idempotency_key() -> str:
    return uuid.uuid4().hex


class SavedDocument(BaseModel):
    """Not a server answer: where :meth:`NetClient.save_document` put the signed PDF."""

    path: str
    tracking_number: str


def _json_or_text(r: httpx.Response) -> Any:
    try:
        return r.json()
    except ValueError:
        return r.text


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


__all__ = ["NetClient", "NetEvent", "SavedDocument", "backoff_delay", "http_event", "idempotency_key"]
