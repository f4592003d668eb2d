"""The hall's side of a remote-counter call: aiortc on the network thread, the picture on a counter screen.

The officer (a browser) offers; the hall answers with its microphone when it has one and
receives the officer's video and voice. Decoded frames are scaled on the network thread and
handed over in a one-slot mailbox; the render thread only copies the newest one into a texture
on the screen beside the officer avatar. Nothing is recorded.
"""

from __future__ import annotations

import asyncio
import glob
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("world.call")

SCREEN_W, SCREEN_H = 320, 240
Send = Callable[[dict[str, Any]], None]
IceFetch = Callable[[], Awaitable[list[dict[str, Any]]]]


@dataclass
class Devices:
    """What this machine can use for a call; the hall lists what is missing."""

    microphone: bool = False
    speaker: bool = False
    camera: bool = False

    @property
    def missing(self) -> list[str]:
        return [name for name in ("camera", "microphone", "speaker") if not getattr(self, name)]


def detect_devices() -> Devices:
    """ALSA capture/playback nodes and V4L2 cameras (PulseAudio and PipeWire sit on top of the same nodes)."""
    return Devices(
        microphone=bool(glob.glob("/dev/snd/pcmC*D*c")),
        speaker=bool(glob.glob("/dev/snd/pcmC*D*p")),
        camera=bool(glob.glob("/dev/video*")),
    )


@dataclass
class Picture:
    width: int
    height: int
    rgb: bytes  # bottom row first, as Panda3D textures expect
    serial: int


@dataclass
class HallCall:
    """One call at a time; every coroutine here runs on the network thread's event loop."""

    send: Send
    fetch_ice: IceFetch | None = None
    devices: Devices = field(default_factory=detect_devices)
    state: str = "idle"
    handoff_id: int | None = None
    reason: str | None = None
    officer_media: dict[str, Any] = field(default_factory=dict)
    _pc: Any = None
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)  # media pumps, cancelled by close()
    _handlers: set[asyncio.Task[Any]] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _picture: Picture | None = None
    _serial: int = 0
    _recorder: Any = None
    _player: Any = None
    _order: asyncio.Lock | None = None

    # ---------------------------------------------------------------- any thread

    def request(self, handoff_id: int) -> None:
        """Ask the officer of an accepted handoff for a call (the officer then offers)."""
        self.handoff_id = handoff_id
        self.state = "requested"
        self.send({"type": "call.request", "handoff_id": handoff_id, "video": True})

    def picture(self) -> Picture | None:
        with self._lock:
            return self._picture

    # ---------------------------------------------------------------- network thread

    def dispatch(self, frame: dict[str, Any]) -> None:
        """Called by the network client's reader: never block it (answering gathers candidates)."""
        task = asyncio.get_running_loop().create_task(self.on_frame(frame))
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)

    async def on_frame(self, frame: dict[str, Any]) -> None:
        """Frames are handled one at a time, in order: the offer before the candidates that follow it."""
        if self._order is None:
            self._order = asyncio.Lock()
        async with self._order:
            await self._handle(frame)

    async def _handle(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        hid = frame.get("handoff_id")
        if not isinstance(hid, int):
            return
        try:
            if kind == "call.offer" and isinstance(frame.get("sdp"), str):
                await self._answer(hid, frame["sdp"])
            elif kind == "call.ice" and self._pc is not None and hid == self.handoff_id:
                await self._candidate(frame)
            elif kind == "call.end" or (kind == "call.state" and frame.get("state") == "ended"):
                if hid == self.handoff_id:
                    await self.close(str(frame.get("reason") or "hangup"), notify=False)
            elif kind == "call.media":
                self.officer_media = {k: frame.get(k) for k in ("audio", "video", "missing")}
        except Exception:
            log.exception("call: %s failed", kind)
            await self.close("failed", notify=True)

    async def _answer(self, hid: int, sdp: str) -> None:
        from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription

        if self._pc is not None:
            await self.close("busy", notify=False)
        self.handoff_id = hid
        self.state = "connecting"
        servers = await self.fetch_ice() if self.fetch_ice is not None else []
        config = RTCConfiguration(
            iceServers=[
                RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
                for s in servers
            ]
        )
        pc = RTCPeerConnection(configuration=config)
        self._pc = pc

        @pc.on("track")
        def on_track(track: Any) -> None:
            if track.kind == "video":
                self._spawn(self._pump_video(track))
            elif track.kind == "audio":
                self._spawn(self._play_audio(track))

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            s = pc.connectionState
            if pc is not self._pc:
                return
            if s in ("connected", "failed", "disconnected"):
                self.send({"type": "call.status", "handoff_id": hid, "state": s})
            if s == "connected":
                self.state = "connected"
            elif s == "failed":
                await self.close("no_path", notify=True)

        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        microphone = self._microphone()
        for transceiver in pc.getTransceivers():
            if transceiver.kind == "audio" and microphone is not None:
                transceiver.sender.replaceTrack(microphone)
                transceiver.direction = "sendrecv"
            else:
                transceiver.direction = "recvonly"
        answer = await pc.createAnswer()
        await pc.setLocalDescription(answer)  # aiortc gathers every candidate first: they are in the SDP
        self.send({"type": "call.answer", "handoff_id": hid, "sdp": pc.localDescription.sdp})
        self.send(
            {
                "type": "call.media",
                "handoff_id": hid,
                "audio": microphone is not None,
                "video": False,
                "missing": self.devices.missing,
            }
        )

    async def _candidate(self, frame: dict[str, Any]) -> None:
        from aiortc.sdp import candidate_from_sdp

        text = str(frame.get("candidate") or "")
        if not text:
            return
        candidate = candidate_from_sdp(text.split(":", 1)[1] if text.startswith("candidate:") else text)
        candidate.sdpMid = frame.get("sdp_mid")
        candidate.sdpMLineIndex = frame.get("sdp_mline_index")
        await self._pc.addIceCandidate(candidate)

    def _microphone(self) -> Any:
        if not self.devices.microphone:
            return None
        try:
            from aiortc.contrib.media import MediaPlayer

            self._player = MediaPlayer("default", format="pulse")
            return self._player.audio
        except Exception:  # noqa: BLE001 - av raises its own family for a missing device or server
            log.info("call: no usable microphone")
            self.devices.microphone = False
            return None

    async def _play_audio(self, track: Any) -> None:
        """The officer's voice to the speaker; without one it is drained so the connection stays healthy."""
        if self.devices.speaker:
            try:
                from aiortc.contrib.media import MediaRecorder

                self._recorder = MediaRecorder("default", format="pulse")
                self._recorder.addTrack(track)
                await self._recorder.start()
                return
            except Exception:  # noqa: BLE001
                log.info("call: no usable speaker")
                self.devices.speaker = False
        while True:
            try:
                await track.recv()
            except Exception:  # noqa: BLE001 - MediaStreamError when the call ends
                return

    async def _pump_video(self, track: Any) -> None:
        while True:
            try:
                frame = await track.recv()
            except Exception:  # noqa: BLE001 - MediaStreamError when the call ends
                return
            image = frame.reformat(width=SCREEN_W, height=SCREEN_H, format="rgb24").to_ndarray()
            data = image[::-1].tobytes()  # bottom row first
            with self._lock:
                if self.state == "ended":  # a frame decoded while the call was closing
                    return
                self._serial += 1
                self._picture = Picture(SCREEN_W, SCREEN_H, data, self._serial)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self, reason: str = "hangup", notify: bool = True) -> None:
        pc, self._pc = self._pc, None
        if notify and self.handoff_id is not None:
            self.send({"type": "call.end", "handoff_id": self.handoff_id, "reason": reason})
        with self._lock:  # nothing of the call stays on the screen once it is over
            self._picture = None
            self.reason = reason
            self.state = "ended"
        for task in list(self._tasks):
            task.cancel()
        if self._recorder is not None:
            recorder, self._recorder = self._recorder, None
            await recorder.stop()
        if self._player is not None:
            player, self._player = self._player, None
            if player.audio is not None:
                player.audio.stop()
        if pc is not None:
            await pc.close()
        with self._lock:
            self._picture = None


class CounterScreen:
    """A screen beside the officer avatar; shows the officer's video, or what is missing, or nothing."""

    def __init__(self, parent: Any, x: float, y: float, heading: float, font: Any = None) -> None:
        from panda3d.core import CardMaker, TextNode, Texture

        self.texture = Texture("officer-video")
        self.texture.setup_2d_texture(SCREEN_W, SCREEN_H, Texture.T_unsigned_byte, Texture.F_rgb)
        self.texture.set_ram_image_as(bytes(SCREEN_W * SCREEN_H * 3), "RGB")
        self.root = parent.attach_new_node("counter-screen")
        self.root.set_pos(x, y, 1.2)
        self.root.set_h(heading)
        card = CardMaker("officer-video-card")
        card.set_frame(-0.6, 0.6, -0.45, 0.45)
        self.card = self.root.attach_new_node(card.generate())
        self.card.set_texture(self.texture)
        self.card.set_two_sided(True)
        self.card.set_light_off()
        self.text = TextNode("call-devices")
        if font is not None:
            self.text.set_font(font)
        self.text.set_align(TextNode.A_center)
        self.text.set_text_color(1, 1, 0.6, 1)
        self.text.set_card_color(0, 0, 0, 0.7)
        self.text.set_card_as_margin(0.1, 0.1, 0.05, 0.05)
        caption = self.root.attach_new_node(self.text)
        caption.set_pos(0, -0.01, -0.6)
        caption.set_scale(0.09)
        caption.set_two_sided(True)
        self.shown = 0

    def update(self, call: HallCall, missing_text: str = "") -> bool:
        """Copy the newest decoded frame in; True when the texture changed."""
        self.text.set_text(missing_text)
        picture = call.picture()
        if picture is None or picture.serial == self.shown:
            return False
        self.texture.set_ram_image_as(picture.rgb, "RGB")
        self.shown = picture.serial
        return True

    def destroy(self) -> None:
        self.root.remove_node()
