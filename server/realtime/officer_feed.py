"""What officers' inboxes hear about an application, as a frame for the hub.

Kept outside ``server.console`` so that routers and the chat can notify officers
without importing the console (an import-linter contract holds this).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from protocol.feed import ApplicationNotice
from server.realtime.hub import Hub

if TYPE_CHECKING:
    from server.domain.applications import AppView


def application_frame(app: AppView, kind: str = "application.changed") -> dict[str, Any]:
    notice = ApplicationNotice(
        type="application.new" if kind == "application.new" else "application.changed",
        tracking_number=app.tracking_number,
        service_id=app.service_id,
        agency_id=app.agency_id,
        village_code=app.village_code,
        state=app.state,
        sla_due=app.sla_due.isoformat() if app.sla_due else None,
    )
    return notice.wire()


def notify_application(hub: Hub, app: AppView, kind: str = "application.changed") -> None:
    """Call after commit: officers in scope see the inbox change without a reload."""
    if not hub.heard("officer"):
        return
    hub.broadcast(application_frame(app, kind), kind="officer")
