"""``mpp bench calls``: what a remote-counter call costs the server, and how soon the citizen sees the officer.

1. Signalling CPU: N citizens and their officer run a call's signalling (request, a browser-sized offer and
   answer, trickled candidates, status, media, end) through a real ``mpp serve``; its CPU per call is shown
   next to the same number of ping round trips on the same sockets, and its CPU while N calls are up and
   idle (the media never passes through the server).
2. Time to face (needs Debian chromium and Playwright): the citizen presses "Panggil Petugas" in guided
   mode; the officer's human steps (accepting, taking the call) are excluded; shown next to the floor,
   two RTCPeerConnections in one page on loopback with the same fake camera.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.api import _free_port, _wait

PASSWORD = "bench-pass-123"
OFFER = "v=0\r\n" + ("a=rtpmap:96 VP8/90000\r\n" * 250)  # ~6 KB, the size of Chrome's audio+video offer
CANDIDATE = "candidate:1 1 udp 2122260223 192.0.2.2 50000 typ host generation 0 ufrag abcd network-id 1"
CLK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def _serve(data_dir: str) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    env = {**os.environ, "MPP_DATA_DIR": data_dir, "MPP_LOAD_ASSISTANT": "0", "MPP_WS_RATE_PER_SEC": "200"}
    env["MPP_WS_BURST"] = "400"
    subprocess.run(
        [sys.executable, "-m", "mpp.cli", "db", "upgrade"], env=env, check=True, capture_output=True
    )  # fmt: skip
    subprocess.run(
        [sys.executable, "-m", "mpp.cli", "officer", "add", "bench1", "--agency", "dukcapil", "--password", PASSWORD],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "mpp.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait(f"http://127.0.0.1:{port}/api/v1/health", proc)
    return proc, port


def _officer_login(base: str) -> tuple[httpx.Client, str]:
    c = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
    page = c.get("/officer/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    r = c.post("/officer/login", data={"username": "bench1", "password": PASSWORD, "csrf": csrf.group(1)})
    assert r.status_code == 303, r.text
    inbox = c.get("/officer/").text
    token = re.search(r'name="csrf" value="([^"]+)"', inbox)
    assert token is not None
    return c, token.group(1)


async def _signalling(port: int, officer: httpx.Client, csrf: str, calls: int, hold: float) -> dict[str, float]:
    import websockets

    base = f"http://127.0.0.1:{port}"
    citizens: list[tuple[str, int]] = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        for _ in range(calls):
            token = (await http.post("/api/v1/sessions", json={"lang": "id"})).json()["token"]
            h = {"Authorization": f"Bearer {token}"}
            hid = (await http.post("/api/v1/handoffs", json={}, headers=h)).json()["handoff_id"]
            citizens.append((token, hid))
    for _, hid in citizens:
        assert officer.post(f"/officer/remote/{hid}/accept", data={"csrf": csrf}).status_code == 303
    cookie = "; ".join(f"{k}={v}" for k, v in officer.cookies.items())
    url = f"ws://127.0.0.1:{port}"
    # max_queue=None: the bots keep reading while they send. The server stops parsing a client whose
    # socket is not writable (issue 15, D2), so a bot that sent bursts while leaving 16 frames unread
    # stalled both ends (a hang in a loaded full run).
    opts: dict[str, Any] = {
        "max_size": 1 << 20,
        "max_queue": None,
        "open_timeout": 60,
        "ping_interval": None,
        "close_timeout": 30,
    }
    ows = await websockets.connect(url + "/officer/ws", additional_headers={"Cookie": cookie}, **opts)
    await ows.recv()
    socks = []
    for token, _ in citizens:
        ws = await websockets.connect(url + "/ws", **opts)
        await ws.send(json.dumps({"type": "hello", "token": token, "protocol_version": 1}))
        await ws.recv()
        socks.append(ws)

    requested = {hid: asyncio.Event() for _, hid in citizens}

    async def drain(ws: Any, want: int, kind: str) -> None:
        # one deadline for all the frames: the server's keepalive pings must not extend it forever
        got, deadline = 0, time.monotonic() + 60
        while got < want:
            try:
                f = json.loads(await asyncio.wait_for(ws.recv(), timeout=max(0.0, deadline - time.monotonic())))
            except TimeoutError:
                raise RuntimeError(f"bench calls: {got} of {want} {kind!r} frames came back within 60 s") from None
            if f["type"] == "call.request" and f.get("handoff_id") in requested:
                requested[f["handoff_id"]].set()
            if f["type"].startswith(kind):
                got += 1

    async def one_call(ws: Any, hid: int) -> None:
        await ws.send(json.dumps({"type": "call.request", "handoff_id": hid}))
        # the officer offers once the request rang, as the console does: an offer that overtakes
        # the request makes the server treat the request as a repeat and not ring again
        await asyncio.wait_for(requested[hid].wait(), timeout=60)
        await ows.send(json.dumps({"type": "call.offer", "handoff_id": hid, "sdp": OFFER}))
        await drain(ws, 1, "call.offer")
        await ws.send(json.dumps({"type": "call.answer", "handoff_id": hid, "sdp": OFFER}))
        for _ in range(10):
            await ws.send(json.dumps({"type": "call.ice", "handoff_id": hid, "candidate": CANDIDATE, "sdp_mid": "0"}))
            await ows.send(json.dumps({"type": "call.ice", "handoff_id": hid, "candidate": CANDIDATE, "sdp_mid": "0"}))
        await ws.send(json.dumps({"type": "call.status", "handoff_id": hid, "state": "connected"}))
        await ws.send(json.dumps({"type": "call.media", "handoff_id": hid, "audio": True, "video": False}))
        await ows.send(json.dumps({"type": "call.media", "handoff_id": hid, "audio": True, "video": True}))
        await drain(ws, 11, "call.")  # the officer's candidates and media

    async def officer_drain() -> None:
        await drain(ows, calls * 14, "call.")  # request, answer, 10 candidates, status, media per call

    pid = _server_pid
    t0 = _cpu_seconds(pid)
    w0 = time.perf_counter()
    await asyncio.gather(officer_drain(), *(one_call(ws, hid) for ws, (_, hid) in zip(socks, citizens, strict=True)))
    setup_cpu = _cpu_seconds(pid) - t0
    setup_wall = time.perf_counter() - w0
    # the calls are up: the server only keeps the sockets (media is peer to peer or through TURN)
    t1 = _cpu_seconds(pid)
    await asyncio.sleep(hold)
    idle_cpu = _cpu_seconds(pid) - t1
    for ws, (_, hid) in zip(socks, citizens, strict=True):
        await ws.send(json.dumps({"type": "call.end", "handoff_id": hid, "reason": "hangup"}))
    await asyncio.gather(*(drain(ws, 1, "call.state") for ws in socks), drain(ows, calls, "call.end"))
    frames_per_call = 28
    # baseline: the same number of frames as cheap ping round trips on the same sockets
    t2 = _cpu_seconds(pid)

    async def pings(ws: Any) -> None:
        for i in range(frames_per_call):
            await ws.send(json.dumps({"type": "ping", "nonce": i}))
        await drain(ws, frames_per_call, "pong")

    await asyncio.gather(*(pings(ws) for ws in socks))
    ping_cpu = _cpu_seconds(pid) - t2
    for ws in [*socks, ows]:
        await ws.close()
    return {
        "calls": calls,
        "setup_cpu_ms_per_call": 1000 * setup_cpu / calls,
        "setup_wall_s": setup_wall,
        "ping_cpu_ms_per_call": 1000 * ping_cpu / calls,
        "idle_cpu_percent_per_call": 100 * idle_cpu / hold / calls,
        "hold_s": hold,
    }


_server_pid = 0


def _time_to_face(base: str) -> dict[str, float] | None:
    chromium = "/usr/bin/chromium"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not os.path.exists(chromium):
        return None
    args = [
        "--no-sandbox", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
        "--allow-loopback-in-peer-connection",
    ]  # fmt: skip
    frames = "() => window.mppCall ? window.mppCall.inbound() : null"

    def wait_face(page: Any, timeout: float = 30.0) -> float:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            s = page.evaluate(frames)
            if s and s.get("framesDecoded", 0) > 0:
                return time.perf_counter()
            time.sleep(0.02)
        raise RuntimeError("no video frame")

    with sync_playwright() as p:
        b1 = p.chromium.launch(executable_path=chromium, headless=True, args=args)
        b2 = p.chromium.launch(executable_path=chromium, headless=True, args=args)
        try:
            # the floor: two peer connections in one page, the same fake camera, no server in between
            floor_page = b1.new_page()
            floor_page.goto(base + "/officer/login")
            floor = floor_page.evaluate(
                """async () => {
                  const t0 = performance.now();
                  const a = new RTCPeerConnection(), b = new RTCPeerConnection();
                  a.onicecandidate = e => e.candidate && b.addIceCandidate(e.candidate);
                  b.onicecandidate = e => e.candidate && a.addIceCandidate(e.candidate);
                  const s = await navigator.mediaDevices.getUserMedia({audio: true, video: {width: 640, height: 480}});
                  s.getTracks().forEach(t => a.addTrack(t, s));
                  const v = document.createElement('video'); v.muted = true; document.body.appendChild(v);
                  b.ontrack = e => { v.srcObject = e.streams[0]; v.play(); };
                  await a.setLocalDescription(await a.createOffer());
                  await b.setRemoteDescription(a.localDescription);
                  await b.setLocalDescription(await b.createAnswer());
                  await a.setRemoteDescription(b.localDescription);
                  for (;;) {
                    const st = await b.getStats(); let n = 0;
                    st.forEach(x => { if (x.type === 'inbound-rtp' && x.kind === 'video') n += x.framesDecoded || 0; });
                    if (n > 0) return performance.now() - t0;
                    await new Promise(r => setTimeout(r, 20));
                  }
                }"""
            )
            floor_page.close()
            citizen = b1.new_page(locale="id-ID")
            officer = b2.new_page(locale="id-ID")
            citizen.goto(base + "/?guided=1")
            citizen.locator("#guided").wait_for(state="visible", timeout=20000)
            citizen.wait_for_function("() => document.body.getAttribute('data-live') === '1'", timeout=20000)
            officer.goto(base + "/officer/login")
            officer.get_by_label("Nama pengguna").fill("bench1")
            officer.get_by_label("Kata sandi").fill(PASSWORD)
            officer.get_by_role("button", name="Masuk").click()
            officer.wait_for_url(base + "/officer/")
            officer.goto(base + "/officer/remote")
            officer.wait_for_function("() => document.body.dataset.liveReady === '1'", timeout=10000)
            t0 = time.perf_counter()
            citizen.locator("#g-officer").click()
            officer.wait_for_function(
                "() => (document.querySelector('#h-pending .pill') || {}).textContent === '1'",
                timeout=20000,
                polling=10,
            )
            t_listed = time.perf_counter()
            officer.locator("#remote-list ul.handoffs").first.locator("a").first.click()
            t_accept = time.perf_counter()
            officer.get_by_role("button", name="Terima").click()
            officer.locator("#call-box.ringing").wait_for(timeout=20000)
            t_ring = time.perf_counter()
            t_take = time.perf_counter()
            officer.get_by_role("button", name="Ambil panggilan (kamera + mikrofon)").click()
            t_face = wait_face(citizen)
            return {
                "to_desk_s": t_listed - t0,
                "accept_to_ring_s": t_ring - t_accept,
                "take_to_face_s": t_face - t_take,
                "total_s": (t_listed - t0) + (t_ring - t_accept) + (t_face - t_take),
                "floor_s": float(floor) / 1000,
            }
        finally:
            b1.close()
            b2.close()


def run(calls: int, hold: float, browsers: bool = True) -> dict[str, Any]:
    global _server_pid
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = _serve(tmp)
        _server_pid = proc.pid
        try:
            officer, csrf = _officer_login(f"http://127.0.0.1:{port}")
            sig = asyncio.run(_signalling(port, officer, csrf, calls, hold))
            face = _time_to_face(f"http://127.0.0.1:{port}") if browsers else None
        finally:
            proc.terminate()
            proc.wait(10)
    out = sys.stdout
    out.write(f"signalling: {calls} calls through one mpp serve (SQLite), 28 frames each\n")
    ratio = sig["setup_cpu_ms_per_call"] / max(sig["ping_cpu_ms_per_call"], 1e-9)
    out.write(
        f"  server CPU per call setup   {sig['setup_cpu_ms_per_call']:7.2f} ms"
        f"   baseline 28 pings {sig['ping_cpu_ms_per_call']:6.2f} ms   ratio {ratio:4.1f}x\n"
    )
    out.write(
        f"  server CPU per active call  {sig['idle_cpu_percent_per_call']:7.3f} % of a core"
        f" (calls up and idle for {hold:.0f} s: media does not pass through the server)\n"
    )
    if face is not None:
        out.write("time to the officer's face (guided mode, officer's clicks excluded):\n")
        out.write(
            f"  Panggil Petugas -> on the desk {face['to_desk_s']:.2f} s,"
            f" accept -> rings {face['accept_to_ring_s']:.2f} s,"
            f" take -> first frame {face['take_to_face_s']:.2f} s\n"
        )
        out.write(
            f"  total {face['total_s']:.2f} s   floor (two peers in one page) {face['floor_s']:.2f} s"
            f"   ratio {face['total_s'] / max(face['floor_s'], 1e-9):.1f}x\n"
        )
    else:
        out.write("time to face: skipped (needs /usr/bin/chromium and playwright)\n")
    return {"signalling": sig, "face": face}
