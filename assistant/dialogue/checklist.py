"""The documents checklist loop: one yes/no per required document, then a ticket or advice."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assistant import actions
from assistant.dialogue.words import CANCEL, NO, REPEAT, SKIP, YES
from assistant.reply import Reply
from assistant.reply import t as _t
from assistant.text import detect_lang, normalize
from protocol.catalog import Catalog, Service
from protocol.messages import QuickReply

if TYPE_CHECKING:
    from assistant.core import Conversation


class ChecklistLoop:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def start(self, state: dict[str, Any], svc: Service, lang: str, then: str) -> Reply:
        state["mode"] = "checklist"
        state["checklist"] = {"service": svc.id, "idx": 0, "missing": [], "then": then}
        intro = _t(
            lang,
            f"Sebelum ke loket, mari cek kelengkapan dokumen {svc.short_name.id}. Ketik 'lewati' untuk melewati.",
            f"Before you go to the counter, let's check your documents for {svc.short_name.en}. Type 'skip' to skip.",
        )
        return self.question(state, svc, lang, intro)

    def question(self, state: dict[str, Any], svc: Service, lang: str, intro: str = "") -> Reply:
        cl = state["checklist"]
        doc = svc.documents[cl["idx"]]
        q = _t(lang, f"Apakah Anda sudah membawa: {doc.label.id}?", f"Do you have: {doc.label.en}?")
        return Reply(
            (intro + "\n" if intro else "") + q,
            lang=lang,
            intent="take_queue" if cl["then"] == "ticket" else "ask_service",
            service=svc.id,
            quick_replies=[
                QuickReply(label=_t(lang, "Ya", "Yes"), payload="/yes"),
                QuickReply(label=_t(lang, "Tidak", "No"), payload="/no"),
                QuickReply(label=_t(lang, "Lewati", "Skip"), payload="/skip"),
            ],
        )

    def turn(self, conv: Conversation, state: dict[str, Any], text: str) -> Reply:
        lang = detect_lang(text, state.get("lang") or "id")
        cl = state["checklist"]
        svc = self.catalog.service(cl["service"])
        norm = normalize(text)
        if CANCEL.match(norm):
            state["mode"], state["checklist"] = None, None
            return Reply(_t(lang, "Baik, dibatalkan.", "All right, cancelled."), lang=lang, intent="take_queue")
        if SKIP.match(norm) or norm in ("lewati", "skip"):
            state["mode"], state["checklist"] = None, None
            if cl["then"] == "ticket":
                return actions.ticket(self.catalog, conv, svc, lang)
            return Reply(_t(lang, "Baik.", "All right."), lang=lang, service=svc.id)
        if REPEAT.match(norm):
            return self.question(state, svc, lang)
        if YES.match(norm):
            pass
        elif NO.match(norm):
            doc = svc.documents[cl["idx"]]
            if doc.required:
                cl["missing"].append(doc.id)
        else:
            return self.question(state, svc, lang, _t(lang, "Mohon jawab ya atau tidak.", "Please answer yes or no."))
        cl["idx"] += 1
        if cl["idx"] < len(svc.documents):
            return self.question(state, svc, lang)
        state["mode"], state["checklist"] = None, None
        missing = [d for d in svc.documents if d.id in cl["missing"]]
        if missing:
            lines = "\n".join(f"• {d.label.get(lang)}" for d in missing)
            return Reply(
                _t(
                    lang,
                    "Dokumen Anda belum lengkap. Yang masih kurang:\n",
                    "Your documents are not complete. Missing:\n",
                )
                + lines,
                lang=lang,
                intent="take_queue",
                service=svc.id,
                quick_replies=[
                    QuickReply(
                        label=_t(lang, "Tetap ambil antrean", "Take a ticket anyway"), payload=f"/ticket {svc.id}"
                    ),
                    QuickReply(
                        label=_t(lang, "Lihat syarat", "See requirements"), payload=f"/ask {svc.id} requirements"
                    ),
                ],
            )
        if cl["then"] == "ticket":
            reply = actions.ticket(self.catalog, conv, svc, lang)
            reply.text = _t(lang, "Dokumen lengkap. ", "Your documents are complete. ") + reply.text
            return reply
        return Reply(
            _t(lang, "Dokumen Anda sudah lengkap.", "Your documents are complete."),
            lang=lang,
            intent="ask_service",
            service=svc.id,
            quick_replies=[QuickReply(label=_t(lang, "Ambil antrean", "Take a ticket"), payload=f"/ticket {svc.id}")],
        )
