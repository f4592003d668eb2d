"""Things the assistant does in the world through the port: status, ticket, handoff, submit.

Each returns the Reply that tells the visitor what happened; a refusal comes back as a
``PortError`` for the caller (the turn loop or a dialogue loop) to phrase.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assistant.ports import PortError
from assistant.reply import Reply, qr_officer
from assistant.reply import t as _t
from assistant.slots import TRACKING_RE
from protocol.catalog import Catalog, Localized, Service
from protocol.messages import QuickReply, WorldAction

if TYPE_CHECKING:
    from assistant.core import Conversation

STATE_LABELS: dict[str, Localized] = {
    "draft": Localized(id="draf", en="draft"),
    "submitted": Localized(id="sudah diajukan, menunggu verifikasi", en="submitted, awaiting verification"),
    "verified": Localized(id="sudah diverifikasi", en="verified"),
    "in_process": Localized(id="sedang diproses", en="in process"),
    "ready": Localized(id="siap diambil", en="ready for pickup"),
    "completed": Localized(id="selesai", en="completed"),
    "needs_revision": Localized(id="perlu perbaikan dari Anda", en="needs a revision from you"),
    "rejected": Localized(id="ditolak", en="rejected"),
    "cancelled": Localized(id="dibatalkan", en="cancelled"),
}


def ask_tracking(lang: str, confidence: float = 1.0) -> Reply:
    return Reply(
        _t(
            lang,
            "Sebutkan nomor pelacakan permohonan Anda (contoh: BWI-2026-000123).",
            "Please give your application's tracking number (for example BWI-2026-000123).",
        ),
        lang=lang,
        intent="check_status",
        confidence=confidence,
    )


def status(catalog: Catalog, conv: Conversation, text: str, lang: str, confidence: float = 1.0) -> Reply:
    m = TRACKING_RE.search(text)
    if not m:
        return ask_tracking(lang, confidence)
    tracking = f"BWI-{m.group(2)}-{m.group(3)}"
    try:
        st = conv.port.application_status(conv.caller, tracking)
    except PortError as exc:
        if exc.code != "not_found":
            raise
        return Reply(
            exc.message(lang), lang=lang, intent="check_status", confidence=confidence,
            quick_replies=[qr_officer(lang)],
        )  # fmt: skip
    label = STATE_LABELS.get(st.state)
    state_text = label.get(lang) if label else st.state
    try:
        svc_name = catalog.service(st.service_id).short_name.get(lang)
    except KeyError:
        svc_name = st.service_id
    return Reply(
        _t(
            lang,
            f"Status permohonan {st.tracking_number} ({svc_name}): {state_text}.",
            f"Status of application {st.tracking_number} ({svc_name}): {state_text}.",
        ),
        lang=lang,
        intent="check_status",
        service=st.service_id,
        confidence=confidence,
        actions=[WorldAction(kind="show_application", data={"tracking_number": st.tracking_number})],
    )


def ticket(catalog: Catalog, conv: Conversation, svc: Service, lang: str) -> Reply:
    tk = conv.port.take_ticket(conv.caller, svc.counter)
    _agency, counter = catalog.counter(tk.counter)
    return Reply(
        _t(
            lang,
            f"Nomor antrean Anda {tk.code} untuk loket {counter.number} ({counter.label.id}). "
            f"Perkiraan menunggu {tk.estimated_wait_min} menit.",
            f"Your ticket is {tk.code} for counter {counter.number} ({counter.label.en}). "
            f"Estimated wait {tk.estimated_wait_min} minutes.",
        ),
        lang=lang,
        intent="take_queue",
        service=svc.id,
        actions=[
            WorldAction(kind="show_ticket", data={"code": tk.code, "counter": tk.counter}),
            WorldAction(kind="walk_to_counter", data={"counter": tk.counter}),
        ],
    )


def handoff(conv: Conversation, lang: str, confidence: float = 1.0) -> Reply:
    result = conv.port.request_handoff(conv.caller, conv.id, conv.transcript())
    return Reply(
        _t(
            lang,
            "Baik, saya hubungkan Anda dengan petugas. Mohon tunggu sebentar; riwayat percakapan ini ikut dikirim.",
            "All right, I am connecting you to an officer. Please wait a moment; this conversation is passed on.",
        ),
        lang=lang,
        intent="talk_to_officer",
        confidence=confidence,
        actions=[WorldAction(kind="handoff", data={"handoff_id": result.handoff_id, "state": result.state})],
    )


def identify(conv: Conversation, nik: str, name: str) -> None:
    """Attach the citizen named in a form to the session (raises PortError on a mismatch)."""
    conv.caller = conv.port.identify(conv.caller, nik, name)


def submit(
    catalog: Catalog, conv: Conversation, svc: Service, data: dict[str, Any], key: str, lang: str
) -> tuple[Reply, str]:
    """Submit an application through the port (idempotent on ``key``): the reply and the tracking number."""
    result = conv.port.submit_application(conv.caller, svc.id, data, key)
    _agency, counter = catalog.counter(svc.counter)
    reply = Reply(
        _t(
            lang,
            f"Permohonan {svc.short_name.id} terkirim. Nomor pelacakan: {result.tracking_number}. "
            f"Bawa dokumen asli ke loket {counter.number} saat dipanggil.",
            f"Your {svc.short_name.en} application was submitted. Tracking number: {result.tracking_number}. "
            f"Bring the original documents to counter {counter.number} when called.",
        ),
        lang=lang,
        intent="start_application",
        service=svc.id,
        actions=[
            WorldAction(kind="show_application", data={"tracking_number": result.tracking_number}),
            WorldAction(kind="walk_to_counter", data={"counter": svc.counter}),
        ],
        quick_replies=[QuickReply(label=_t(lang, "Ambil antrean", "Take a ticket"), payload=f"/queue {svc.id}")],
    )
    return reply, result.tracking_number
