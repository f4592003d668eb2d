"""Presence engine: validated positions, hall instances, interest-managed snapshot deltas.

Pure library code (no FastAPI, no database); the websocket hub drives it.
"""

from server.presence.area import WalkableArea
from server.presence.engine import LocalState, MoveResult, PresenceEngine, encode_snapshot
from server.presence.sendqueue import BACKLOG_CLOSE_CODE, BACKLOG_CLOSE_REASON, BacklogExceeded, SendQueue

__all__ = [
    "BACKLOG_CLOSE_CODE",
    "BACKLOG_CLOSE_REASON",
    "BacklogExceeded",
    "LocalState",
    "MoveResult",
    "PresenceEngine",
    "SendQueue",
    "WalkableArea",
    "encode_snapshot",
]
