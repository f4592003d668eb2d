"""Frames of the officers' live feed (``/officer/ws``): inbox, handoff and complaint news.

The console scopes each frame by its keys (``to_officer``, ``agency_id``, ``village_code``),
so every frame keeps them even when they are ``None``: a key that is absent means
"for every desk", one that is ``None`` means "no agency".
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class _FeedFrame(BaseModel):
    model_config = ConfigDict(extra="ignore")

    def wire(self) -> dict[str, Any]:
        """The JSON-ready dict the hub sends."""
        return self.model_dump(mode="json")


class OfficerWelcome(_FeedFrame):
    type: Literal["welcome"] = "welcome"
    officer: str
    role: str


class FeedPing(_FeedFrame):
    type: Literal["ping"] = "ping"


class ApplicationNotice(_FeedFrame):
    """An application entered (``application.new``) or changed in an agency's inbox."""

    type: Literal["application.new", "application.changed"] = "application.changed"
    tracking_number: str | None
    service_id: str
    agency_id: str
    village_code: str | None
    state: str
    sla_due: str | None


class HandoffNew(_FeedFrame):
    """A citizen asked for an officer; ``agency_id`` None means any desk may take it."""

    type: Literal["handoff.new"] = "handoff.new"
    handoff_id: int
    agency_id: str | None


class HandoffChanged(_FeedFrame):
    type: Literal["handoff.changed"] = "handoff.changed"
    handoff_id: int
    agency_id: str | None
    state: str


class HandoffMessage(_FeedFrame):
    """A citizen's line in an accepted handoff, personal numbers masked, for its officer only."""

    type: Literal["handoff.message"] = "handoff.message"
    handoff_id: int
    to_officer: int | None
    role: str
    text: str
    at: str
    who: str | None = None

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"who"} if self.who is None else set())


class ComplaintNew(_FeedFrame):
    type: Literal["complaint.new"] = "complaint.new"
    complaint_id: int
    agency_id: str | None


FeedFrame = OfficerWelcome | FeedPing | ApplicationNotice | HandoffNew | HandoffChanged | HandoffMessage | ComplaintNew
