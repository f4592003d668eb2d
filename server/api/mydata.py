"""A citizen's download of their own data: JSON, or a zip with their uploads and issued PDFs.

Only after the second factor: a session not linked to a citizen gets 403 ``identify_first``,
and there is no way to name someone else (the route is always "me").
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from protocol.api import MyDataOut
from server.api.deps import DbDep, SettingsDep, VisitorDep
from server.domain import export
from server.errors import ApiError, responses
from server.persistence import models as m

router = APIRouter(tags=["sessions"])


def _citizen(db: Any, vs: m.VisitorSession) -> m.Citizen:
    citizen = db.get(m.Citizen, vs.citizen_id) if vs.citizen_id is not None else None
    if citizen is None:
        raise ApiError(
            403,
            "identify_first",
            "error.identify_first",
        )
    return citizen


_NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


@router.get("/me/data", response_model=MyDataOut, responses=responses(401, 403))
def my_data(db: DbDep, settings: SettingsDep, vs: VisitorDep) -> Response:
    """Everything held about the proven citizen, as JSON (their own numbers in full, others' masked)."""
    import json

    citizen = _citizen(db, vs)
    body = export.collect(db, settings, citizen)
    export.audit(db, citizen, "json")
    db.commit()
    return Response(
        json.dumps(body, ensure_ascii=False),
        media_type="application/json",
        headers={**_NO_STORE, "Content-Disposition": 'attachment; filename="data-saya.json"'},
    )


@router.get(
    "/me/data.zip",
    response_class=Response,
    responses={
        200: {"content": {"application/zip": {}}, "description": "The data, uploads and PDFs"},
        **responses(401, 403),
    },
)
def my_data_zip(db: DbDep, settings: SettingsDep, vs: VisitorDep) -> Response:
    """The same, zipped with the uploaded files and the issued, signed PDFs."""
    citizen = _citizen(db, vs)
    payload = export.as_zip(db, settings, citizen)
    export.audit(db, citizen, "zip")
    db.commit()
    return Response(
        payload,
        media_type="application/zip",
        headers={**_NO_STORE, "Content-Disposition": 'attachment; filename="data-saya.zip"'},
    )
