"""ICE servers for a citizen's call: STUN/TURN URLs with TURN REST credentials that expire."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from server.api.deps import SettingsDep, VisitorDep
from server.realtime.calls import ice_servers

router = APIRouter(tags=["calls"])


@router.get("/calls/ice")
def citizen_ice(vs: VisitorDep, settings: SettingsDep) -> dict[str, Any]:
    """Fetched right before a call, so the credentials live only ``turn_ttl_seconds`` from then."""
    return {
        "ice_servers": ice_servers(settings, f"c{vs.id}"),
        "ttl_seconds": settings.turn_ttl_seconds,
        "ice_transport_policy": "relay" if settings.turn_only else "all",
    }
