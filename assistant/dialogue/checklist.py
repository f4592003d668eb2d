"""The documents checklist loop: one yes/no per document, then a ticket or advice.

Each answer is a slot (document id -> True/False); a question asked in between is answered
and the same document is asked again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant import actions
from assistant.dialogue.form import AskFn
from assistant.dialogue.tracker import LoopEnded, LoopStarted, LoopState, SlotRequested, SlotSet, Tracker
from assistant.dialogue.values import looks_like_question
from assistant.dialogue.words import CANCEL, NO, REPEAT, SKIP, YES
from assistant.reply import Reply
from assistant.text import detect_lang, normalize
from l10n import t
from protocol.catalog import Catalog, Service
from protocol.messages import QuickReply

if TYPE_CHECKING:
    from assistant.core import Conversation


def _qr_ticket(svc: Service, lang: str) -> QuickReply:
    return QuickReply(label=t("assistant.take_a_ticket", lang), payload=f"/ticket {svc.id}")


class ChecklistLoop:
    def __init__(self, catalog: Catalog, ask: AskFn) -> None:
        self.catalog = catalog
        self.ask = ask

    @staticmethod
    def _loop(tr: Tracker) -> LoopState:
        assert tr.loop is not None and tr.loop.loop == "checklist"
        return tr.loop

    def start(self, conv: Conversation, tr: Tracker, svc: Service, lang: str, then: str) -> Reply:
        tr.apply(LoopStarted("checklist", svc.id, then=then))
        intro = t("assistant.before_you_go_to_the_counter", lang, short_name=svc.short_name.get(lang))
        return self.next(conv, tr, svc, lang, intro)

    def next(self, conv: Conversation, tr: Tracker, svc: Service, lang: str, intro: str = "") -> Reply:
        lp = self._loop(tr)
        for doc in svc.documents:
            if doc.id not in lp.slots:
                tr.apply(SlotRequested(doc.id))
                return self.question(tr, svc, lang, intro)
        return self.finish(conv, tr, svc, lang)

    def question(self, tr: Tracker, svc: Service, lang: str, intro: str = "") -> Reply:
        lp = self._loop(tr)
        doc = next(d for d in svc.documents if d.id == lp.requested)
        q = t("assistant.do_you_have_label", lang, label=doc.label.get(lang))
        return Reply(
            (intro + "\n" if intro else "") + q,
            lang=lang,
            intent="take_queue" if lp.then == "ticket" else "ask_service",
            service=svc.id,
            quick_replies=[
                QuickReply(label=t("assistant.yes", lang), payload="/yes"),
                QuickReply(label=t("assistant.no", lang), payload="/no"),
                QuickReply(label=t("assistant.skip", lang), payload="/skip"),
            ],
        )

    def turn(self, conv: Conversation, tr: Tracker, text: str) -> Reply:
        lang = detect_lang(text, tr.lang or "id")
        lp = self._loop(tr)
        svc = self.catalog.service(lp.service)
        norm = normalize(text)
        if CANCEL.match(norm):
            tr.apply(LoopEnded("checklist", "cancelled"))
            return Reply(
                t("assistant.all_right_cancelled", lang), lang=lang, intent="take_queue",
                quick_replies=[_qr_ticket(svc, lang)],
            )  # fmt: skip
        if SKIP.match(norm) or norm in ("lewati", "skip"):
            tr.apply(LoopEnded("checklist", "skipped"))
            if lp.then == "ticket":
                return actions.ticket(self.catalog, conv, svc, lang)
            return Reply(
                t("assistant.all_right", lang), lang=lang, service=svc.id, quick_replies=[_qr_ticket(svc, lang)]
            )
        if lp.requested is None:
            return self.next(conv, tr, svc, lang)
        if REPEAT.match(norm):
            return self.question(tr, svc, lang)
        if YES.match(norm) and not looks_like_question(text, norm):
            tr.apply(SlotSet(str(lp.requested), True))
        elif NO.match(norm) and not looks_like_question(text, norm):
            tr.apply(SlotSet(str(lp.requested), False))
        elif looks_like_question(text, norm):
            answer = self.ask(text, lang, svc.id)
            again = self.question(tr, svc, lang)
            again.text = answer.text + "\n\n" + again.text
            again.citations = list(answer.citations)
            return again
        else:
            return self.question(tr, svc, lang, t("assistant.please_answer_yes_or_no", lang))
        return self.next(conv, tr, svc, lang)

    def finish(self, conv: Conversation, tr: Tracker, svc: Service, lang: str) -> Reply:
        lp = self._loop(tr)
        then = lp.then
        missing = [d for d in svc.documents if d.required and lp.slots.get(d.id) is False]
        tr.apply(LoopEnded("checklist", "done"))
        if missing:
            lines = "\n".join(f"• {d.label.get(lang)}" for d in missing)
            return Reply(
                t("assistant.your_documents_are_not_complete_missing", lang) + lines,
                lang=lang,
                intent="take_queue",
                service=svc.id,
                quick_replies=[
                    QuickReply(label=t("assistant.take_a_ticket_anyway", lang), payload=f"/ticket {svc.id}"),
                    QuickReply(label=t("assistant.see_requirements", lang), payload=f"/ask {svc.id} requirements"),
                ],
            )
        if then == "ticket":
            reply = actions.ticket(self.catalog, conv, svc, lang)
            reply.text = t("assistant.your_documents_are_complete_2", lang) + reply.text
            return reply
        return Reply(
            t("assistant.your_documents_are_complete", lang),
            lang=lang,
            intent="ask_service",
            service=svc.id,
            quick_replies=[QuickReply(label=t("assistant.take_a_ticket", lang), payload=f"/ticket {svc.id}")],
        )
