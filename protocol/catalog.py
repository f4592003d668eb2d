"""Shapes of the service catalogue as it travels over HTTP and websockets.

The catalogue itself is data under ``assets/catalog``; these models are the
contract that the server (seeding, API), the assistant (grounded answers) and
the world (counter signs, form panels) all read it through.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SERVICE_ID_RE = r"^[a-z0-9][a-z0-9-]{1,40}$"
Where = Literal["counter", "village_office", "online", "hospital"]
FieldType = Literal["text", "nik", "kk", "date", "select", "phone", "email", "number", "village", "textarea"]
PERSONAL_TYPES = frozenset({"nik", "kk", "phone", "email"})  # masked wherever they are shown or logged


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Localized(_Strict):
    """A user-facing string in both product languages."""

    id: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.id


class Option(_Strict):
    value: str
    label: Localized


class FormField(_Strict):
    """One question of an application form; validation lives with the data."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,40}$")
    type: FieldType = "text"
    label: Localized
    required: bool = True
    pattern: str | None = None
    min_length: int | None = None
    max_length: int | None = 200
    minimum: float | None = None
    maximum: float | None = None
    options: tuple[Option, ...] = ()
    help: Localized | None = None

    @model_validator(mode="after")
    def _select_has_options(self) -> FormField:
        if self.type == "select" and not self.options:
            raise ValueError(f"select field {self.name!r} needs options")
        if self.pattern is not None:
            re.compile(self.pattern)
        return self


class FeeItem(_Strict):
    label: Localized
    amount: int = Field(ge=0, description="Rupiah")


class Fee(_Strict):
    free: bool
    items: tuple[FeeItem, ...] = ()
    legal_basis: str
    note: Localized | None = None

    @model_validator(mode="after")
    def _free_or_priced(self) -> Fee:
        if not self.free and not self.items:
            raise ValueError("a fee that is not free needs at least one item")
        return self


class DocumentItem(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,40}$")
    label: Localized
    required: bool = True


class Service(_Strict):
    id: str = Field(pattern=SERVICE_ID_RE)
    agency: str
    counter: int = Field(ge=1, le=99)
    name: Localized
    short_name: Localized
    description: Localized
    requirements: tuple[Localized, ...]
    fee: Fee
    processing_time: Localized
    processing_days: int = Field(ge=0, le=365, description="Working days; drives the SLA due date")
    validity: Localized
    where: tuple[Where, ...]
    where_note: Localized
    # Where the application itself is made when that is not the MPP form (e.g. the M-Paspor app):
    # the assistant then leads there and to the counter queue instead of claiming a submission.
    apply_via: Localized | None = None
    procedure: tuple[Localized, ...]
    lost_or_damaged: Localized | None = None
    legal_basis: tuple[str, ...]
    source_url: str = Field(pattern=r"^https?://")
    checked: dt.date
    form: tuple[FormField, ...]
    documents: tuple[DocumentItem, ...]
    keywords: tuple[str, ...] = ()

    @field_validator("form")
    @classmethod
    def _unique_fields(cls, v: tuple[FormField, ...]) -> tuple[FormField, ...]:
        names = [f.name for f in v]
        if len(names) != len(set(names)):
            raise ValueError("form field names must be unique")
        return v

    def citation(self) -> str:
        """The short source line every grounded answer ends with."""
        return f"{self.legal_basis[0]} · {self.checked:%Y-%m}"


class Counter(_Strict):
    number: int = Field(ge=1, le=99)
    code: str = Field(pattern=r"^[A-Z]$", description="Queue ticket prefix")
    label: Localized


class Agency(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9-]{1,40}$")
    name: Localized
    short: str
    kind: Literal["agency", "village"] = "agency"
    color: str = Field(pattern=r"^#[0-9a-fA-F]{6}$")
    counters: tuple[Counter, ...]


class OpeningHours(_Strict):
    days: Localized
    open: str = Field(pattern=r"^\d{2}\.\d{2}$")
    close: str = Field(pattern=r"^\d{2}\.\d{2}$")
    weekdays: tuple[int, ...] = Field(description="ISO weekday numbers 1=Monday")


class Office(_Strict):
    name: Localized
    address: str
    phone: str | None = None
    hours: tuple[OpeningHours, ...]
    note: Localized
    source_url: str
    checked: dt.date


class Catalog(_Strict):
    agencies: tuple[Agency, ...]
    services: tuple[Service, ...]
    office: Office

    @model_validator(mode="after")
    def _references_resolve(self) -> Catalog:
        counters = {c.number: a.id for a in self.agencies for c in a.counters}
        ids = [s.id for s in self.services]
        if len(ids) != len(set(ids)):
            raise ValueError("duplicate service id")
        for s in self.services:
            if counters.get(s.counter) != s.agency:
                raise ValueError(f"service {s.id}: counter {s.counter} does not belong to agency {s.agency}")
        return self

    def service(self, service_id: str) -> Service:
        for s in self.services:
            if s.id == service_id:
                return s
        raise KeyError(service_id)

    def agency(self, agency_id: str) -> Agency:
        for a in self.agencies:
            if a.id == agency_id:
                return a
        raise KeyError(agency_id)

    def counter(self, number: int) -> tuple[Agency, Counter]:
        for a in self.agencies:
            for c in a.counters:
                if c.number == number:
                    return a, c
        raise KeyError(number)


def assets_dir() -> Path:
    """The shipped data folder; an env var lets a deployment point elsewhere."""
    import os

    env = os.environ.get("MPP_ASSETS_DIR")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "assets"


def _yaml(text: str) -> object:
    """Safe YAML through libyaml when present: ~7x faster, which is most of the 3D hall's cold start."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def load_catalog(root: Path | None = None) -> Catalog:
    base = (root or assets_dir()) / "catalog"
    agencies = _yaml((base / "agencies.yaml").read_text(encoding="utf-8"))
    office = _yaml((base / "office.yaml").read_text(encoding="utf-8"))
    services = [_yaml(p.read_text(encoding="utf-8")) for p in sorted((base / "services").glob("*.yaml"))]
    return Catalog.model_validate({"agencies": agencies, "services": services, "office": office})


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    return load_catalog()
