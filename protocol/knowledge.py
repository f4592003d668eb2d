"""Shapes of the case-level knowledge base and of the real-question evaluation set.

A catalogue service answers "what is KTP-el"; a *case* answers the question a citizen
actually has ("KTP saya hilang", "anak saya butuh paspor"). Cases and referrals are data
under ``assets/knowledge``; the assistant retrieves and ranks them, and every fee, duration
and requirement it states must come from a case or its service, never from prose.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from protocol.catalog import SERVICE_ID_RE, Fee, Localized, assets_dir

# The shared vocabulary of case kinds. A case id is "<service>.<kind>" for these, or
# "<service>.<kind>-<detail>" for a narrower variant (e.g. "paspor.lost-abroad").
CASE_KINDS: tuple[str, ...] = (
    # the service defaults, one case per aspect, answered from the catalogue fields
    "overview",
    "requirements",
    "fee",
    "duration",
    "validity",
    "location",
    "procedure",
    # the situations citizens ask about
    "new",
    "lost",
    "damaged",
    "data-change",
    "child",
    "late",
    "abroad",
    "other-regency",
    "renewal",
    "correction",
    "proxy",
    "online",
    "after",
    "cost-trap",
    "eligibility",
    "status",
)
CASE_ID_RE = r"^[a-z0-9][a-z0-9-]{1,40}\.[a-z][a-z0-9-]{1,60}$"
REFERRAL_ID_RE = r"^ref\.[a-z][a-z0-9-]{1,60}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    """Where a fact was read, so a reviewer can check it again."""

    legal_basis: str | None = None
    url: str = Field(pattern=r"^https?://")
    checked: dt.date


class Case(_Strict):
    """One situation within a service, with what differs from the service's defaults."""

    id: str = Field(pattern=CASE_ID_RE)
    service: str = Field(pattern=SERVICE_ID_RE)
    kind: str
    title: Localized
    # Short phrases (id and en) that describe the situation; retrieval features, not verdicts.
    cues: tuple[str, ...] = Field(min_length=1)
    answer: Localized
    # None means "the service's own"; a value replaces it for this case.
    requirements: tuple[Localized, ...] | None = None
    fee: Fee | None = None
    processing_time: Localized | None = None
    processing_days: int | None = Field(default=None, ge=0, le=365)
    # How long the result is valid when it differs from the service (e.g. a child's passport).
    validity: Localized | None = None
    where_note: Localized | None = None
    steps: tuple[Localized, ...] | None = None
    # A person who can't use this case (e.g. a child has no KTP-el) is told so.
    not_for: Localized | None = None
    source: Source

    @model_validator(mode="after")
    def _id_matches(self) -> Case:
        svc, _, rest = self.id.partition(".")
        if svc != self.service:
            raise ValueError(f"case {self.id!r} must start with its service {self.service!r}")
        if self.kind not in CASE_KINDS:
            raise ValueError(f"case {self.id!r}: unknown kind {self.kind!r}")
        if rest != self.kind and not rest.startswith(self.kind + "-"):
            raise ValueError(f"case {self.id!r} must be named after its kind {self.kind!r}")
        return self


class Referral(_Strict):
    """A service people ask us for that we don't provide: where to go instead, and why."""

    id: str = Field(pattern=REFERRAL_ID_RE)
    title: Localized
    cues: tuple[str, ...] = Field(min_length=1)
    # Catalogue services it is easily confused with (share a word or an agency).
    near: tuple[str, ...] = ()
    where: Localized
    why: Localized
    # True when the target really is a counter of MPP Banyuwangi.
    at_mpp: bool = False
    source: Source


class KnowledgeBase(_Strict):
    cases: tuple[Case, ...]
    referrals: tuple[Referral, ...]

    @model_validator(mode="after")
    def _unique(self) -> KnowledgeBase:
        ids = [c.id for c in self.cases] + [r.id for r in self.referrals]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"duplicate knowledge ids: {sorted(dup)}")
        return self

    def case(self, case_id: str) -> Case | None:
        return next((c for c in self.cases if c.id == case_id), None)

    def referral(self, ref_id: str) -> Referral | None:
        return next((r for r in self.referrals if r.id == ref_id), None)

    def for_service(self, service: str) -> tuple[Case, ...]:
        return tuple(c for c in self.cases if c.service == service)


Intent = Literal[
    "ask_service",
    "start_application",
    "check_status",
    "take_queue",
    "office_hours",
    "talk_to_officer",
    "greeting",
    "thanks",
    "out_of_scope",
]


class RealQuestion(_Strict):
    """A question a real citizen asked in public, with where and when it was read."""

    question: str = Field(min_length=3, max_length=2000)
    lang: Literal["id", "en"]
    source_url: str = Field(pattern=r"^https?://")
    source_date: dt.date | None = None  # when it was asked or published, if shown
    retrieved: dt.date
    intent: Intent
    service: str | None = None
    # "<service>.<kind>" or a "ref.<slug>" referral id; None when no case fits.
    expected: str | None = None
    split: Literal["train", "dev", "test"]
    note: str | None = None


def knowledge_dir() -> Path:
    return assets_dir() / "knowledge"


def load_knowledge(root: Path | None = None) -> KnowledgeBase:
    """Read every ``cases/*.yaml`` (a list of cases each) and ``referrals.yaml``."""
    root = root or knowledge_dir()
    cases: list[Case] = []
    for path in sorted((root / "cases").glob("*.yaml")):
        for row in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            cases.append(Case.model_validate(row))
    refs_path = root / "referrals.yaml"
    refs = (
        [Referral.model_validate(r) for r in (yaml.safe_load(refs_path.read_text(encoding="utf-8")) or [])]
        if refs_path.exists()
        else []
    )
    return KnowledgeBase(cases=tuple(cases), referrals=tuple(refs))


@lru_cache(maxsize=1)
def default_knowledge() -> KnowledgeBase:
    return load_knowledge()
