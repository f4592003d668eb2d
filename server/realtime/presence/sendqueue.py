"""A bounded per-connection send queue that may thin presence but never loses events.

A slow client must not make the server hold an unbounded pile of frames, but
application/queue/chat events are promises and must all be delivered. So:

* presence snapshots occupy ONE slot: a new snapshot is merged into the unsent
  one (:func:`protocol.presence.merge_snapshots`), so dropping stale frames can
  never make the client miss an ``entered`` or ``left``;
* every other frame is kept, in order;
* when the backlog stays too big or too old, the queue raises the alarm once
  (``on_overflow`` callback, and :meth:`SendQueue.get` raises
  :class:`BacklogExceeded`) so the hub closes the socket with 4008 "backlog";
  the client reconnects and resumes from its ``last_seq``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from protocol.messages import PresenceSnapshot
from protocol.presence import merge_snapshots
from server.realtime.presence.engine import WireSnapshot, merge_wire

Snapshot = PresenceSnapshot | WireSnapshot

BACKLOG_CLOSE_CODE = 4008
BACKLOG_CLOSE_REASON = "backlog"


def merge(older: Snapshot, newer: Snapshot) -> Snapshot:
    """:func:`protocol.presence.merge_snapshots`, on wire snapshots without leaving the wire form."""
    if isinstance(older, WireSnapshot) and isinstance(newer, WireSnapshot):
        return merge_wire(older, newer)
    if isinstance(older, WireSnapshot):
        older = older.to_model()
    if isinstance(newer, WireSnapshot):
        newer = newer.to_model()
    return merge_snapshots(older, newer)


class BacklogExceeded(Exception):
    """The client cannot keep up; close with ``code``/``reason``."""

    def __init__(self, code: int = BACKLOG_CLOSE_CODE, reason: str = BACKLOG_CLOSE_REASON) -> None:
        super().__init__(f"{code} {reason}")
        self.code = code
        self.reason = reason


class SendQueue:
    """One connection's outbox: ``put_nowait`` from the loop, ``await get()`` from the writer task."""

    def __init__(
        self,
        *,
        max_events: int = 1000,
        max_age: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        on_overflow: Callable[[int, str], None] | None = None,
    ) -> None:
        self.max_events = max_events
        self.max_age = max_age
        self._clock = clock
        self._on_overflow = on_overflow
        self._events: deque[tuple[float, Any]] = deque()
        self._events_in = 0
        self._events_out = 0
        self._snap: Snapshot | None = None
        self._snap_slot = 0  # events enqueued before the unsent snapshot: it goes out after them
        self._snap_since = 0.0  # when the oldest data in the unsent snapshot was queued
        self._ready = asyncio.Event()
        self._closed = False
        self.overflow: BacklogExceeded | None = None
        self.snapshots_merged = 0
        self.snapshots_sent = 0
        self.events_sent = 0

    # ------------------------------------------------------------------ producer side

    def put_nowait(self, item: Any) -> None:
        """Queue a frame; a :class:`PresenceSnapshot` is merged into any unsent one."""
        if self._closed or self.overflow is not None:
            return
        now = self._clock()
        if isinstance(item, (WireSnapshot, PresenceSnapshot)):
            if self._snap is None:
                self._snap, self._snap_slot, self._snap_since = item, self._events_in, now
            else:
                self._snap = merge(self._snap, item)
                self.snapshots_merged += 1
        else:
            self._events.append((now, item))
            self._events_in += 1
        self._ready.set()
        self.check(now)

    def check(self, now: float | None = None) -> bool:
        """Raise the overflow alarm if the backlog is too long or too old; True when overloaded."""
        if self.overflow is not None:
            return True
        now = self._clock() if now is None else now
        oldest = now
        if self._events:
            oldest = min(oldest, self._events[0][0])
        if self._snap is not None:
            oldest = min(oldest, self._snap_since)
        if len(self._events) > self.max_events or now - oldest > self.max_age:
            self.overflow = BacklogExceeded()
            self._ready.set()
            if self._on_overflow is not None:
                self._on_overflow(self.overflow.code, self.overflow.reason)
            return True
        return False

    def close(self) -> None:
        """Normal end: ``get`` drains what is queued, then returns None."""
        self._closed = True
        self._ready.set()

    # ------------------------------------------------------------------ consumer side

    def __len__(self) -> int:
        return len(self._events) + (1 if self._snap is not None else 0)

    def get_nowait(self) -> Any | None:
        """The next frame, or None when nothing is queued. Raises :class:`BacklogExceeded` once overloaded."""
        if self.overflow is not None:
            raise self.overflow
        if self._snap is not None and (self._snap_slot <= self._events_out or not self._events):
            snap, self._snap = self._snap, None
            self.snapshots_sent += 1
            return snap
        if self._events:
            _, frame = self._events.popleft()
            self._events_out += 1
            self.events_sent += 1
            return frame
        return None

    async def get(self) -> Any | None:
        """Wait for the next frame; None after :meth:`close` once drained."""
        while True:
            item = self.get_nowait()
            if item is not None:
                return item
            if self._closed:
                return None
            self._ready.clear()
            await self._ready.wait()


__all__ = ["BACKLOG_CLOSE_CODE", "BACKLOG_CLOSE_REASON", "BacklogExceeded", "SendQueue", "merge"]
