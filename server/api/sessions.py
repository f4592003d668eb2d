"""Anonymous visitor sessions and the citizen's second factor (NIK + name, then a code)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, BackgroundTasks, Request
from pydantic import BaseModel, ConfigDict, Field

from protocol.nik import mask_nik
from server.api.deps import DbDep, HubDep, SettingsDep, VisitorDep, client_address
from server.domain import identity, sessions
from server.domain.delivery import deliver
from server.errors import ERROR_RESPONSES
from server.persistence import models as m

router = APIRouter(tags=["sessions"])


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lang: Literal["id", "en"] = "id"
    name: str | None = Field(default=None, max_length=60)
    demo: bool = Field(default=False, description="A demo tour's visitor: its applications are tagged demo")


class IdentifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    nik: Any = Field(description="16-digit NIK, as a string")
    name: str = Field(min_length=1, max_length=120)
    contact: str | None = Field(
        default=None,
        max_length=200,
        description="E-mail or mobile number; used only to register a NIK that has no contact yet",
    )


class VerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    challenge_id: str = Field(min_length=1, max_length=64)
    code: str = Field(min_length=1, max_length=12)


@router.post("/sessions", status_code=201)
def create_session(db: DbDep, settings: SettingsDep, body: SessionIn | None = None) -> dict[str, Any]:
    body = body or SessionIn()
    token, vs = sessions.create_session(db, settings, body.lang, body.name, demo=body.demo)
    db.commit()
    return {"token": token, "session_id": vs.public_id, "expires_at": m.utc(vs.expires_at).isoformat()}


@router.post("/sessions/identify", status_code=202, responses=ERROR_RESPONSES)
def identify(
    body: IdentifyIn,
    request: Request,
    background: BackgroundTasks,
    db: DbDep,
    settings: SettingsDep,
    vs: VisitorDep,
) -> dict[str, Any]:
    """Step 1 of 2: the same reply whether or not the NIK is known; a code goes to the NIK's own contact."""
    out = identity.request_code(db, settings, vs, body.nik, body.name, body.contact, client_address(request), vs.lang)
    db.commit()
    if out.message is not None:
        background.add_task(deliver, request.app.state.delivery, out.message)
    return out.reply


@router.post("/sessions/verify", responses=ERROR_RESPONSES)
def verify(
    body: VerifyIn, request: Request, db: DbDep, settings: SettingsDep, vs: VisitorDep, hub: HubDep
) -> dict[str, Any]:
    """Step 2 of 2: the code links this session to the citizen's applications."""
    citizen = identity.verify_code(db, settings, vs, body.challenge_id, body.code, client_address(request))
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
        "contact": identity.mask_contact(citizen.contact_kind, citizen.contact) if citizen else None,
        "expires_at": m.utc(vs.expires_at).isoformat(),
    }
