"""Anonymous visitor sessions and the citizen's second factor (NIK + name, then a code)."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request

from protocol.api import ChallengeOut, IdentifyIn, MeOut, SessionIn, SessionOut, VerifiedOut, VerifyIn
from protocol.nik import mask_nik
from server.api.deps import DbDep, HubDep, SettingsDep, VisitorDep, client_address
from server.domain import identity, sessions
from server.domain.delivery import deliver
from server.errors import responses
from server.persistence import models as m

router = APIRouter(tags=["sessions"])


@router.post("/sessions", status_code=201, response_model=SessionOut, responses=responses(413, 422))
def create_session(db: DbDep, settings: SettingsDep, body: SessionIn | None = None) -> SessionOut:
    body = body or SessionIn()
    token, vs = sessions.create_session(db, settings, body.lang, body.name, demo=body.demo)
    db.commit()
    return SessionOut(token=token, session_id=vs.public_id, expires_at=m.utc(vs.expires_at))


@router.post(
    "/sessions/identify",
    status_code=202,
    response_model=ChallengeOut,
    responses=responses(401, 409, 413, 422, 429),
)
def identify(
    body: IdentifyIn,
    request: Request,
    background: BackgroundTasks,
    db: DbDep,
    settings: SettingsDep,
    vs: VisitorDep,
) -> ChallengeOut:
    """Step 1 of 2: the same reply whether or not the NIK is known; a code goes to the NIK's own contact."""
    out = identity.request_code(db, settings, vs, body.nik, body.name, body.contact, client_address(request), vs.lang)
    db.commit()
    if out.message is not None:
        background.add_task(deliver, request.app.state.delivery, out.message)
    return ChallengeOut.model_validate(out.reply)


@router.post("/sessions/verify", response_model=VerifiedOut, responses=responses(400, 401, 409, 413, 422, 429))
def verify(
    body: VerifyIn, request: Request, db: DbDep, settings: SettingsDep, vs: VisitorDep, hub: HubDep
) -> VerifiedOut:
    """Step 2 of 2: the code links this session to the citizen's applications."""
    citizen = identity.verify_code(db, settings, vs, body.challenge_id, body.code, client_address(request))
    db.commit()
    hub.wake({citizen.id}, {vs.id})  # open sockets of this session pick up the citizen's stream
    return VerifiedOut(session_id=vs.public_id, citizen=mask_nik(citizen.nik), name=citizen.name)


@router.get("/sessions/me", response_model=MeOut, responses=responses(401))
def me(db: DbDep, vs: VisitorDep) -> MeOut:
    citizen = db.get(m.Citizen, vs.citizen_id) if vs.citizen_id else None
    return MeOut(
        session_id=vs.public_id,
        lang=vs.lang,
        citizen=mask_nik(citizen.nik) if citizen else None,
        name=citizen.name if citizen else vs.display_name,
        contact=identity.mask_contact(citizen.contact_kind, citizen.contact) if citizen else None,
        expires_at=m.utc(vs.expires_at),
    )
