"""Things the assistant does in the world through the port: status, ticket, handoff, submit.

Each returns the Reply that tells the visitor what happened; a refusal comes back as a
``PortError`` for the caller (the turn loop or a dialogue loop) to phrase.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assistant.ports import PortError
from assistant.reply import Reply, qr_officer
from assistant.slots import TRACKING_RE
from l10n import t, t_or
from protocol.catalog import Catalog, Service
from protocol.messages import QuickReply, WorldAction

if TYPE_CHECKING:
    from assistant.core import Conversation


def ask_tracking(lang: str, confidence: float = 1.0) -> Reply:
    return Reply(
        t("assistant.please_give_your_application_s_tracking", lang),
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
    state_text = t_or(f"assistant.state_{st.state}", lang, st.state)
    try:
        svc_name = catalog.service(st.service_id).short_name.get(lang)
    except KeyError:
        svc_name = st.service_id
    return Reply(
        t(
            "assistant.status_of_application_tracking_number_svc",
            lang,
            tracking_number=st.tracking_number,
            svc_name=svc_name,
            state_text=state_text,
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
        t(
            "assistant.your_ticket_is_code_for_counter",
            lang,
            code=tk.code,
            number=counter.number,
            label=counter.label.get(lang),
            estimated_wait_min=tk.estimated_wait_min,
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
        t("assistant.all_right_i_am_connecting_you", lang),
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
        t(
            "assistant.your_short_name_application_was_submitted_2",
            lang,
            short_name=svc.short_name.get(lang),
            tracking_number=result.tracking_number,
            number=counter.number,
        ),
        lang=lang,
        intent="start_application",
        service=svc.id,
        actions=[
            WorldAction(kind="show_application", data={"tracking_number": result.tracking_number}),
            WorldAction(kind="walk_to_counter", data={"counter": svc.counter}),
        ],
        quick_replies=[QuickReply(label=t("assistant.take_a_ticket", lang), payload=f"/queue {svc.id}")],
    )
    return reply, result.tracking_number
