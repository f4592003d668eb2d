"""Being seen in the hall: join, moves at 10 Hz (only when something changed), the server's corrections."""

from __future__ import annotations

from typing import TYPE_CHECKING

from protocol.messages import PresenceCorrect, PresenceJoin, PresenceLeave, PresenceMove, PresenceSnapshot, Welcome

if TYPE_CHECKING:
    from world.app import HallClient

MOVE_HZ = 10.0


class PresenceController:
    def __init__(self, client: HallClient) -> None:
        self.client = client
        self.session_id: str | None = None
        self.joined = False
        self.last_move = 0.0
        self.last_sent: tuple[float, float, float] | None = None
        client.bus.on_frame(Welcome, self.on_welcome)
        client.bus.on_frame(PresenceSnapshot, self.on_snapshot)
        client.bus.on_frame(PresenceCorrect, self.on_correct)

    def on_welcome(self, frame: Welcome) -> None:
        self.session_id = frame.session_id
        if self.client.visitors is not None:
            self.client.visitors.set_self(frame.session_id)

    def on_snapshot(self, frame: PresenceSnapshot) -> None:
        if self.client.visitors is not None:
            self.client.visitors.apply(frame)

    def on_correct(self, frame: PresenceCorrect) -> None:
        """The server clamped our move (a wall, or too fast): stand where it says we are."""
        player = self.client.player
        if player is None:
            return
        player.root.setPos(frame.x, frame.y, 0)
        self.last_sent = (round(frame.x, 3), round(frame.y, 3), round(frame.heading % 360, 1))

    def join(self, force: bool = False) -> None:
        c = self.client
        if c.net is None or c.player is None or c.net.state != "online":
            return
        if self.joined and not force:
            return
        x, y = c.player_xy
        c.net.send(PresenceJoin(x=x, y=y, heading=c.player.root.getH()).model_dump())
        self.joined = True

    def moved(self, now: float) -> None:
        """The player moved this frame: tell the server, at most ``MOVE_HZ`` times a second."""
        c, p = self.client, self.client.player
        if p is None or c.net is None or not self.joined or now - self.last_move < 1.0 / MOVE_HZ:
            return
        cur = (round(p.root.getX(), 3), round(p.root.getY(), 3), round(p.root.getH() % 360, 1))
        if cur != self.last_sent:
            c.net.send(PresenceMove(x=cur[0], y=cur[1], heading=cur[2], ts=now).model_dump())
            self.last_sent = cur
            self.last_move = now

    def leave(self) -> None:
        if self.client.net is not None and self.joined:
            self.client.net.send(PresenceLeave().model_dump())
            self.joined = False
