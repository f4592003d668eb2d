"""Presence engine: validated positions, hall instances, interest-managed snapshot deltas.

Pure library code (no FastAPI, no database); the websocket hub drives it
(``server/presence_service.py``). Per connection, a ``SendQueue`` (snapshots
merged, events never dropped, 4008 "backlog" on overload) and ``encode_snapshot``
in the writer keep slow clients from costing memory or CPU.
"""

from server.realtime.presence.area import WalkableArea
from server.realtime.presence.engine import (
    LocalState,
    MoveResult,
    PresenceEngine,
    WireSnapshot,
    WireTick,
    encode_snapshot,
)
from server.realtime.presence.sendqueue import BACKLOG_CLOSE_CODE, BACKLOG_CLOSE_REASON, BacklogExceeded, SendQueue

__all__ = [
    "BACKLOG_CLOSE_CODE",
    "BACKLOG_CLOSE_REASON",
    "BacklogExceeded",
    "LocalState",
    "MoveResult",
    "PresenceEngine",
    "SendQueue",
    "WalkableArea",
    "WireSnapshot",
    "WireTick",
    "encode_snapshot",
]
