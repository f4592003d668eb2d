"""ICE servers for a citizen's call: STUN/TURN URLs with TURN REST credentials that expire."""

from __future__ import annotations

from fastapi import APIRouter

from protocol.api import IceOut
from server.api.deps import SettingsDep, VisitorDep
from server.errors import responses
from server.realtime.calls import ice_servers

router = APIRouter(tags=["calls"])


@router.get("/calls/ice", response_model=IceOut, response_model_exclude_none=True, responses=responses(401))
def citizen_ice(vs: VisitorDep, settings: SettingsDep) -> IceOut:
    """Fetched right before a call, so the credentials live only ``turn_ttl_seconds`` from then."""
    return IceOut.model_validate(
        {
            "ice_servers": ice_servers(settings, f"c{vs.id}"),
            "ttl_seconds": settings.turn_ttl_seconds,
            "ice_transport_policy": "relay" if settings.turn_only else "all",
        }
    )
