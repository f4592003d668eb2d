"""What one turn gives back, shared by the answering path, the actions and the dialogue loops."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from l10n import t
from protocol.messages import ChatReply, Citation, QuickReply, WorldAction


@dataclass
class Reply:
    text: str
    lang: str = "id"
    intent: str | None = None
    service: str | None = None
    aspect: str | None = None
    confidence: float = 1.0
    quick_replies: list[QuickReply] = field(default_factory=list)
    actions: list[WorldAction] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    fallback: bool = False
    offer: str | None = None  # a yes/no offer the next message may answer (e.g. "officer")
    case: str | None = None  # the knowledge-base case or referral id an answer was composed from

    def to_frame(self, conversation_id: str, ref: str | None = None) -> ChatReply:
        return ChatReply(
            conversation_id=conversation_id,
            text=self.text,
            lang="en" if self.lang == "en" else "id",
            quick_replies=list(self.quick_replies),
            actions=list(self.actions),
            citations=list(self.citations),
            intent=self.intent,
            service=self.service,
            ref=ref,
        )

    def to_event(self) -> dict[str, Any]:
        return {
            "kind": "assistant",
            "text": self.text,
            "lang": self.lang,
            "intent": self.intent,
            "service": self.service,
            "aspect": self.aspect,
            "case": self.case,
            "confidence": round(self.confidence, 4),
            "fallback": self.fallback,
            "quick_replies": [q.model_dump() for q in self.quick_replies],
            "actions": [a.model_dump() for a in self.actions],
        }


def qr_officer(lang: str) -> QuickReply:
    return QuickReply(label=t("assistant.talk_to_an_officer", lang), payload="/officer")
