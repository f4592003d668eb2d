"""Handoffs between a visitor and an officer: the transcript, the relay of the visitor's lines and expiry.

The chat reaches these before the assistant (an accepted handoff means a person answers), so they
live beside the chat bridge rather than in the officer console's pages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from l10n import t
from protocol.feed import HandoffChanged, HandoffMessage
from protocol.messages import ChatReply, QuickReply, WorldAction
from server.domain.pii import Sealer
from server.persistence import models as m
from server.realtime.hub import Hub

MAX_TRANSCRIPT = 500


def transcript_text(text: str, lang: str) -> str | None:
    """What a transcript shows for a citizen's line: commands become words ("/officer") or are left out."""
    stripped = text.strip()
    if not stripped.startswith("/"):
        return text
    if stripped.split()[0] == "/officer":
        return t("console.asked_officer", lang)
    return None


def clean_transcript(lines: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    out = []
    for line in lines:
        text = line.get("text")
        if isinstance(text, str) and line.get("role") == "citizen":
            shown = transcript_text(text, lang)
            if shown is None:
                continue
            line = {**line, "text": shown}
        out.append(line)
    return out


def mask_person(name: str) -> str:
    """``Budi Santoso`` -> ``Budi S******``: the desk can greet them, a passer-by learns little."""
    words = [w for w in name.split() if w]
    if not words:
        return "—"
    return " ".join([words[0], *(w[0] + "*" * (len(w) - 1) for w in words[1:])])


def transcript_line(role: str, text: str, who: str | None = None) -> dict[str, Any]:
    e: dict[str, Any] = {"role": role, "text": text, "at": m.now_utc().isoformat()}
    if who:
        e["who"] = who
    return e


def append_line(h: m.Handoff, entry: dict[str, Any], sealer: Sealer | None) -> None:
    """Personal numbers in the line are sealed at rest (``server.domain.pii``); ``None`` only for system lines."""
    sealed = sealer.seal_obj(entry) if sealer is not None else entry
    h.transcript = [*(h.transcript or []), sealed][-MAX_TRANSCRIPT:]  # reassign: JSON columns track by identity
    h.updated_at = m.now_utc()


def citizen_frame(
    h: m.Handoff,
    text: str,
    lang: str,
    sender: str = "officer",
    actions: list[WorldAction] | None = None,
    quick: list[QuickReply] | None = None,
) -> dict[str, Any]:
    reply = ChatReply(
        conversation_id=h.conversation_id,
        text=text,
        lang="en" if lang == "en" else "id",
        sender=sender,  # type: ignore[arg-type]
        actions=actions or [],
        quick_replies=quick or [],
        intent=f"handoff.{h.state}",
        service=h.service_id,
    )
    return reply.model_dump(mode="json")


def relay_citizen(
    db: Session,
    hub: Hub,
    session_id: int,
    conversation_id: str | None,
    text: str,
    ref: str | None,
    sealer: Sealer,
    after: list[Callable[[], None]],
) -> dict[str, Any] | None:
    """Deliver a citizen's chat to the officer who accepted the handoff; None when nobody has.

    Works in the chat turn's transaction; the officer's screen is told through ``after``, which
    the turn runs once it has committed.
    """
    q = select(m.Handoff).where(m.Handoff.session_id == session_id, m.Handoff.state == "accepted")
    if conversation_id:
        q = q.where(m.Handoff.conversation_id == conversation_id)
    h = db.scalar(q.order_by(m.Handoff.id.desc()).limit(1))
    if h is None:
        return None
    vs = db.get(m.VisitorSession, session_id)
    lang = vs.lang if vs else "id"
    shown = transcript_text(text, lang)
    entry = transcript_line("citizen", shown or "")
    if shown is not None:
        append_line(h, entry, sealer)
        masked = sealer.mask_plain(entry)  # the officer's screen gets the masked form, as in the transcript
        frame_out = HandoffMessage(handoff_id=h.id, to_officer=h.officer_id, **masked).wire()
        after.append(lambda: hub.broadcast(frame_out, kind="officer"))
    frame = citizen_frame(h, t("console.relayed", lang), lang, sender="system")
    frame["intent"] = "handoff.relayed"
    frame["ref"] = ref
    return frame


def expire_stale(sessions: sessionmaker[Session], hub: Hub, calls: Any, minutes: float) -> list[int]:
    """Pending requests nobody took within ``minutes`` expire; the citizen is told, the desks refresh."""
    cutoff = m.now_utc() - dt.timedelta(minutes=minutes)
    done: list[tuple[int, str | None, str, str, dict[str, Any]]] = []
    with sessions() as db:
        stale = list(db.scalars(select(m.Handoff).where(m.Handoff.state == "pending", m.Handoff.created_at < cutoff)))
        for h in stale:
            taken = db.execute(
                update(m.Handoff)
                .where(m.Handoff.id == h.id, m.Handoff.state == "pending")
                .values(state="expired", updated_at=m.now_utc())
            )
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                continue  # accepted (or expired by another node) meanwhile
            db.refresh(h)
            public_id, lang = session_target(db, h)
            text = t("console.handoff_expired_citizen", lang)
            append_line(h, {"role": "system", "event": "expired", "text": "", "at": m.now_utc().isoformat()}, None)
            action = WorldAction(kind="handoff", data={"state": "expired", "handoff_id": h.id})
            done.append(
                (h.id, h.agency_id, public_id, lang, citizen_frame(h, text, lang, sender="system", actions=[action]))
            )
        db.commit()
    for hid, agency, public_id, _lang, frame in done:
        calls.end(hid, "timeout")
        hub.to_session(public_id, frame)
        hub.broadcast(HandoffChanged(handoff_id=hid, agency_id=agency, state="expired").wire(), "officer")
    return [d[0] for d in done]


def session_target(db: Any, h: m.Handoff) -> tuple[str, str]:
    vs = db.get(m.VisitorSession, h.session_id)
    return (vs.public_id, vs.lang) if vs else ("", "id")
