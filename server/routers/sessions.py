"""Anonymous visitor sessions and the NIK identification step."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from protocol.nik import mask_nik
from server import domain
from server import models as m
from server.deps import DbDep, HubDep, SettingsDep, VisitorDep

router = APIRouter(tags=["sessions"])


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lang: Literal["id", "en"] = "id"
    name: str | None = Field(default=None, max_length=60)


class IdentifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    nik: Any = Field(description="16-digit NIK, as a string")
    name: str = Field(min_length=1, max_length=120)


@router.post("/sessions", status_code=201)
def create_session(db: DbDep, settings: SettingsDep, body: SessionIn | None = None) -> dict[str, Any]:
    body = body or SessionIn()
    token, vs = domain.create_session(db, settings, body.lang, body.name)
    db.commit()
    return {"token": token, "session_id": vs.public_id, "expires_at": m.utc(vs.expires_at).isoformat()}


@router.post("/sessions/identify")
def identify(body: IdentifyIn, db: DbDep, vs: VisitorDep, hub: HubDep) -> dict[str, Any]:
    citizen = domain.identify(db, vs, body.nik, body.name)
    db.commit()
    hub.wake({citizen.id}, {vs.id})  # open sockets of this session pick up the citizen's stream
    return {"session_id": vs.public_id, "citizen": mask_nik(citizen.nik), "name": citizen.name}


@router.get("/sessions/me")
def me(db: DbDep, vs: VisitorDep) -> dict[str, Any]:
    citizen = db.get(m.Citizen, vs.citizen_id) if vs.citizen_id else None
    return {
        "session_id": vs.public_id,
        "lang": vs.lang,
        "citizen": mask_nik(citizen.nik) if citizen else None,
        "name": citizen.name if citizen else vs.display_name,
        "expires_at": m.utc(vs.expires_at).isoformat(),
    }
