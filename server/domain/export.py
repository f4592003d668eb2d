"""A citizen's own data, for download (UU 27/2022 PDP: the right to a copy of one's personal data).

Only a session linked by the second factor gets it, and only its own citizen's data. The
citizen's own numbers (NIK, the contact, the KK numbers they gave) appear in full; anyone
else's (a parent's or the deceased's NIK in a form, a number said in a chat) stay masked.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from protocol.catalog import default_catalog
from protocol.forms import masked_answers
from protocol.nik import mask_nik
from server.domain.pii import Sealer, normal_number
from server.persistence import models as m
from server.settings import Settings

FORMAT = "mpp-citizen-data/1"


def _iso(value: Any) -> str | None:
    return m.utc(value).isoformat() if value is not None and hasattr(value, "tzinfo") else None


def _own_numbers(citizen: m.Citizen, apps: list[m.Application]) -> set[str]:
    own = {citizen.nik}
    if citizen.contact_kind == "phone" and citizen.contact:
        own.add(normal_number(citizen.contact))
    catalog = default_catalog()
    for a in apps:
        try:
            service = catalog.service(a.service_id)
        except KeyError:
            continue
        for f in service.form:
            value = a.data.get(f.name)
            if f.type == "kk" and isinstance(value, str):
                own.add(normal_number(value))
    return own


def _answers(a: m.Application, own: set[str]) -> dict[str, Any]:
    try:
        masked = masked_answers(default_catalog().service(a.service_id), a.data)
    except KeyError:
        masked = dict(a.data)
    return {
        k: (a.data[k] if isinstance(a.data.get(k), str) and normal_number(a.data[k]) in own else v)
        for k, v in masked.items()
    }


def collect(db: Session, settings: Settings, citizen: m.Citizen) -> dict[str, Any]:
    """Everything held about ``citizen``, as one JSON-ready document."""
    sealer = Sealer(settings)

    def plain(text: str | None) -> str | None:
        """Free text never sealed (officers' notes, complaints): numbers not the citizen's are masked too."""
        return sealer.open_own(sealer.seal_text(text), own) if text else text

    cid = citizen.id
    sessions = list(db.scalars(select(m.VisitorSession).where(m.VisitorSession.citizen_id == cid)))
    sids = [s.id for s in sessions] or [-1]
    apps = list(db.scalars(select(m.Application).where(m.Application.citizen_id == cid).order_by(m.Application.id)))
    own = _own_numbers(citizen, apps)
    tracking = {a.id: a.tracking_number for a in apps}
    events = db.scalars(select(m.Event).where(m.Event.citizen_id == cid).order_by(m.Event.id))
    tickets = db.scalars(
        select(m.QueueTicket)
        .where(or_(m.QueueTicket.citizen_id == cid, m.QueueTicket.session_id.in_(sids)))
        .order_by(m.QueueTicket.id)
    )
    conversation = db.scalars(
        select(m.ConversationEvent).where(m.ConversationEvent.session_id.in_(sids)).order_by(m.ConversationEvent.id)
    )
    handoffs = db.scalars(
        select(m.Handoff).where(or_(m.Handoff.citizen_id == cid, m.Handoff.session_id.in_(sids))).order_by(m.Handoff.id)
    )
    complaints = db.scalars(
        select(m.Complaint)
        .where(or_(m.Complaint.citizen_id == cid, m.Complaint.session_id.in_(sids)))
        .order_by(m.Complaint.id)
    )
    surveys = db.scalars(
        select(m.SurveyResponse).where(m.SurveyResponse.session_id.in_(sids)).order_by(m.SurveyResponse.id)
    )
    return {
        "format": FORMAT,
        "exported_at": m.now_utc().isoformat(),
        "citizen": {
            "nik": citizen.nik,
            "name": citizen.name,
            "contact_kind": citizen.contact_kind,
            "contact": citizen.contact,
            "registered_at": _iso(citizen.created_at),
        },
        "sessions": [
            {
                "session_id": s.public_id,
                "lang": s.lang,
                "created_at": _iso(s.created_at),
                "expires_at": _iso(s.expires_at),
            }
            for s in sessions
        ],
        "applications": [
            {
                "tracking_number": a.tracking_number,
                "service_id": a.service_id,
                "agency_id": a.agency_id,
                "state": a.state,
                "data": _answers(a, own),
                "sla_due": a.sla_due.isoformat() if a.sla_due else None,
                "created_at": _iso(a.created_at),
                "updated_at": _iso(a.updated_at),
            }
            for a in apps
        ],
        "events": [
            {
                "kind": e.kind,
                "application": tracking.get(e.application_id) if e.application_id else None,
                "from_state": e.from_state,
                "to_state": e.to_state,
                "note": plain(e.note),
                "at": _iso(e.created_at),
            }
            for e in events
        ],
        "tickets": [
            {"code": t.code, "counter": t.counter, "day": t.day.isoformat(), "state": t.state, "at": _iso(t.created_at)}
            for t in tickets
        ],
        "conversation": [
            {"conversation_id": c.conversation_id, "event": sealer.open_own(c.event, own), "at": _iso(c.created_at)}
            for c in conversation
        ],
        "handoffs": [
            {
                "state": h.state,
                "service_id": h.service_id,
                "agency_id": h.agency_id,
                "transcript": sealer.open_own(h.transcript or [], own),
                "summary": sealer.open_own(h.summary, own) if h.summary else None,
                "at": _iso(h.created_at),
            }
            for h in handoffs
        ],
        "complaints": [
            {
                "subject": plain(c.subject),
                "body": plain(c.body),
                "state": c.state,
                "response": plain(c.response),
                "at": _iso(c.created_at),
            }
            for c in complaints
        ],
        "surveys": [{"score": s.score, "comment": plain(s.comment), "at": _iso(s.created_at)} for s in surveys],
        "uploads": [
            {
                "id": d.id,
                "filename": d.filename,
                "content_type": d.content_type,
                "size": d.size,
                "sha256": d.sha256,
                "application": tracking.get(d.application_id) if d.application_id else None,
                "at": _iso(d.created_at),
            }
            for d in _uploads(db, cid, sids)
        ],
        "issued_documents": [
            {
                "number": d.number,
                "service_id": d.service_id,
                "issuer": d.issuer,
                "verify_url": f"{settings.base_url}/verify/{d.code}",
                "issued_at": _iso(d.issued_at),
                "revoked_at": _iso(d.revoked_at),
            }
            for d in _issued(db, cid)
        ],
    }


def _uploads(db: Session, cid: int, sids: list[int]) -> list[m.Document]:
    q = select(m.Document).where(or_(m.Document.citizen_id == cid, m.Document.session_id.in_(sids)))
    return list(db.scalars(q.order_by(m.Document.id)))


def _issued(db: Session, cid: int) -> list[m.IssuedDocument]:
    return list(
        db.scalars(select(m.IssuedDocument).where(m.IssuedDocument.citizen_id == cid).order_by(m.IssuedDocument.id))
    )


def _safe(name: str) -> str:
    return re.sub(r"[^\w.\-]", "_", name)[:120] or "file"


def as_zip(db: Session, settings: Settings, citizen: m.Citizen) -> bytes:
    """``data.json`` plus the uploaded files and the issued, signed PDFs."""
    data = collect(db, settings, citizen)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2))
        sids = [s.id for s in db.scalars(select(m.VisitorSession).where(m.VisitorSession.citizen_id == citizen.id))]
        for d in _uploads(db, citizen.id, sids or [-1]):
            path = Path(settings.data_dir) / "documents" / d.sha256[:2] / d.sha256
            if path.is_file():
                zf.write(path, f"uploads/{d.id}-{_safe(d.filename)}")
        for doc in _issued(db, citizen.id):
            zf.writestr(f"issued/{_safe(doc.number)}.pdf", doc.pdf)
    return buf.getvalue()


def audit(db: Session, citizen: m.Citizen, kind: str) -> None:
    """Who downloaded, when and in which form: the copy leaves the system, so it is accounted for."""
    db.add(
        m.AuditLog(
            officer_id=None, action="data_export", target=f"citizen:{mask_nik(citizen.nik)}", detail={"format": kind}
        )
    )
