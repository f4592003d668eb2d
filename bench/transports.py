"""``mpp bench ws-transport``: the same presence relay on three websocket transports.

The question is whether picows (Cython framing, per-frame callbacks, synchronous send)
could carry presence instead of ``server/realtime/fastws.py`` (uvicorn's sans-I/O protocol with a
hand-written frame parser and a synchronous send). The relay logic is identical on all
three (welcome on ``hello``, keep each mover's last position, every tick send each client
K others' latest state) and is driven by the presence bots of ``bench.loadtest``, so the
CPU difference between rows is the transport's alone:

* ``websockets``: the bare relay ``mpp bench presence`` compares against (asyncio, a task per
  client, awaited sends);
* ``uvicorn + fastws``: our fast path, through the ``mpp.fastws`` hooks as ``/ws`` uses them
  (moves taken synchronously by ``on_text``, snapshots written by the synchronous ``send``);
* ``picows``: a picows listener in the same shape (``on_ws_frame``, ``transport.send``).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import time
from collections.abc import Callable
from typing import Any

_WELCOME = {"type": "welcome", "protocol_version": 2, "last_seq": 0}


class Relay:
    """The shared logic: who is here, where each one is, and the tick that sends K others to each."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.clients: dict[str, Callable[[str], None]] = {}
        self.state: dict[str, list[Any]] = {}
        self.counter = 0

    def hello(self, raw: str, send: Callable[[str], None]) -> str | None:
        msg = json.loads(raw)
        if msg.get("type") != "hello":
            return None
        self.counter += 1
        me = f"s{self.counter:06d}"
        send(json.dumps({**_WELCOME, "session_id": me}))
        self.clients[me] = send
        return me

    def message(self, me: str, raw: str) -> None:
        msg = json.loads(raw)
        if msg.get("type") in ("presence.join", "presence.move"):
            self.state[me] = [
                me,
                round(msg.get("x", 0.0) * 100),
                round(msg.get("y", 0.0) * 100),
                round(msg.get("heading", 0.0) * 256 / 360) % 256,
            ]

    def leave(self, me: str | None) -> None:
        if me is not None:
            self.clients.pop(me, None)
            self.state.pop(me, None)

    def tick(self, tick: int) -> None:
        frozen = dict(self.state)
        ids = list(frozen)
        n = len(ids)
        pos = {i: idx for idx, i in enumerate(ids)}
        for me, send in list(self.clients.items()):
            if me not in pos or n < 2:
                continue
            base = pos[me]
            picks = [frozen[ids[(base + j) % n]] for j in range(1, min(self.k, n - 1) + 1)]
            send(
                json.dumps(
                    {"type": "presence.snapshot", "tick": tick, "hall": "Aula 1", "changed": picks},
                    separators=(",", ":"),
                )
            )

    async def ticker(self, hz: float) -> None:
        tick = 0
        next_at = time.monotonic()
        while True:
            next_at += 1.0 / hz
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            tick += 1
            self.tick(tick)


# ---------------------------------------------------------------- uvicorn + server/realtime/fastws.py


def _fastws_app(relay: Relay, hz: float) -> Any:
    from uvicorn.protocols.utils import ClientDisconnected

    from server.realtime.fastws import FAST_HOOKS

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            ticker = None
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    ticker = asyncio.get_running_loop().create_task(relay.ticker(hz))
                    await send({"type": "lifespan.startup.complete"})
                else:
                    if ticker is not None:
                        ticker.cancel()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "websocket":
            return
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        hooks = scope["extensions"][FAST_HOOKS]
        backlog: list[str] = []

        def out(text: str) -> None:
            # as /ws does: the synchronous send, or a queue when the socket is not plainly writable
            if not backlog and hooks["send"](text):
                return
            backlog.append(text)
            if len(backlog) == 1:
                asyncio.get_running_loop().create_task(drain())

        async def drain() -> None:
            try:
                while backlog:
                    await send({"type": "websocket.send", "text": backlog.pop(0)})
            except ClientDisconnected:
                backlog.clear()

        first = await receive()
        me = relay.hello(first.get("text") or "", out) if first["type"] == "websocket.receive" else None
        if me is None:
            return

        def on_text(raw: str) -> bool:
            relay.message(me, raw)
            return True

        hooks["on_text"] = on_text
        try:
            while (await receive())["type"] != "websocket.disconnect":
                pass
        finally:
            relay.leave(me)

    return app


def _serve_fastws(port: int, k: int, hz: float) -> None:
    import uvicorn

    from server.realtime.fastws import FastWebSocketProtocol

    uvicorn.run(
        _fastws_app(Relay(k), hz),
        host="127.0.0.1",
        port=port,
        ws=FastWebSocketProtocol,
        ws_per_message_deflate=False,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )


# ---------------------------------------------------------------- picows


def _serve_picows(port: int, k: int, hz: float) -> None:
    from picows import WSFrame, WSListener, WSMsgType, WSTransport, WSUpgradeRequest, ws_create_server

    relay = Relay(k)

    class Listener(WSListener):  # type: ignore[misc]
        me: str | None = None

        def on_ws_connected(self, transport: WSTransport) -> None:
            self.transport = transport

        def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
            kind = frame.msg_type
            if kind == WSMsgType.TEXT and frame.fin:
                raw = frame.get_payload_as_utf8_text()
                if self.me is None:
                    self.me = relay.hello(raw, self.send)
                    if self.me is None:
                        transport.send_close()
                        transport.disconnect()
                else:
                    relay.message(self.me, raw)
            elif kind == WSMsgType.CLOSE:
                transport.send_close(frame.get_close_code())
                transport.disconnect()

        def send(self, text: str) -> None:
            self.transport.send(WSMsgType.TEXT, text.encode())

        def on_ws_disconnected(self, transport: WSTransport) -> None:
            relay.leave(self.me)

    def factory(request: WSUpgradeRequest) -> Listener:
        return Listener()

    async def main() -> None:
        server = await ws_create_server(factory, "127.0.0.1", port, max_frame_size=2**20)
        async with server:
            await relay.ticker(hz)

    asyncio.run(main())


def _start(target: Callable[[int, int, float], None], port: int, k: int, hz: float) -> mp.process.BaseProcess:
    proc = mp.get_context("spawn").Process(target=target, args=(port, k, hz), daemon=True)
    proc.start()
    return proc


def _wait_port(port: int, timeout: float = 30) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {port}")


def run(clients: int, duration: float, k: int = 40, hz: float = 10.0) -> list[tuple[str, dict[str, Any]]]:
    from bench.api import _free_port
    from bench.loadtest import run_load, start_relay

    rows: list[tuple[str, dict[str, Any]]] = []
    for name, target in (
        ("websockets relay", None),
        ("uvicorn + fastws relay", _serve_fastws),
        ("picows relay", _serve_picows),
    ):
        port = _free_port()
        proc = start_relay(port, k=k, hz=hz) if target is None else _start(target, port, k, hz)
        try:
            _wait_port(port)
            time.sleep(0.5)
            result = run_load(
                f"ws://127.0.0.1:{port}/ws",
                http_base=None,
                bots=clients,
                seconds=duration,
                processes=2,
                server_pid=proc.pid,
            )
        finally:
            proc.terminate()
            proc.join(5)
        rows.append((name, result))
    print(f"{clients} clients, {duration:.0f} s measured, moves at 10 Hz, K={k}; same relay logic on each transport")
    print(f"{'transport':24} {'conn':>5} {'updates/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'CPU %':>7} {'vs fastws':>9}")
    fast_cpu = rows[1][1].get("server_cpu_percent") or 0.0
    for name, r in rows:
        cpu = r.get("server_cpu_percent") or 0.0
        print(
            f"{name:24} {r.get('connected', 0):5d} {r.get('delivered_updates_per_s', 0):10.0f} "
            f"{(r.get('latency_ms_p50') or 0):8.1f} {(r.get('latency_ms_p99') or 0):8.1f} {cpu:7.1f} "
            f"{(cpu / fast_cpu if fast_cpu else 0):8.2f}x"
        )
    return rows
