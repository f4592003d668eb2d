"""Read-only catalogue: services, agencies, office hours, villages."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Query
from sqlalchemy import select

from protocol.api import AgencyOut, ServiceSummary, VillageOut
from protocol.catalog import Office, Service
from server.api.deps import CatalogDep, DbDep
from server.errors import not_found, responses
from server.persistence import models as m

router = APIRouter(tags=["catalogue"])


def summary(s: Service) -> dict[str, Any]:
    return {
        "id": s.id,
        "agency": s.agency,
        "counter": s.counter,
        "name": s.name.model_dump(),
        "short_name": s.short_name.model_dump(),
        "description": s.description.model_dump(),
        "free": s.fee.free,
        "where": list(s.where),
    }


@router.get("/services", response_model=list[ServiceSummary])
def list_services(catalog: CatalogDep) -> list[dict[str, Any]]:
    return [summary(s) for s in catalog.services]


@router.get("/services/search", response_model=list[ServiceSummary], responses=responses(422))
def search_services(catalog: CatalogDep, q: str = Query(min_length=1, max_length=100)) -> list[dict[str, Any]]:
    words = re.findall(r"\w{2,}", q.lower())
    scored = []
    for s in catalog.services:
        title = " ".join([s.id, s.name.id, s.name.en, s.short_name.id, s.short_name.en, *s.keywords]).lower()
        body = " ".join([s.description.id, s.description.en]).lower()
        title_words = set(re.findall(r"\w+", title))
        body_words = set(re.findall(r"\w+", body))
        score = sum(3 for w in words if w in title_words or any(t.startswith(w) for t in title_words if len(w) >= 3))
        score += sum(1 for w in words if w in body_words)
        if score:
            scored.append((score, s))
    scored.sort(key=lambda p: -p[0])
    return [summary(s) for _, s in scored]


@router.get("/services/{service_id}", response_model=Service, responses=responses(404))
def get_service(service_id: str, catalog: CatalogDep) -> Service:
    try:
        return catalog.service(service_id)
    except KeyError:
        raise not_found("error.not_found_service") from None


@router.get("/agencies", response_model=list[AgencyOut])
def list_agencies(catalog: CatalogDep) -> list[dict[str, Any]]:
    out = []
    for a in catalog.agencies:
        d = a.model_dump(mode="json")
        d["services"] = [s.id for s in catalog.services if s.agency == a.id]
        out.append(d)
    return out


@router.get("/office", response_model=Office)
def office(catalog: CatalogDep) -> Office:
    return catalog.office


@router.get("/villages", response_model=list[VillageOut], responses=responses(422))
def villages(db: DbDep, kecamatan: str | None = Query(default=None, max_length=8)) -> list[dict[str, Any]]:
    q = select(m.Village).order_by(m.Village.code)
    if kecamatan:
        q = q.where(m.Village.kecamatan_code == kecamatan)
    return [
        {
            "code": v.code,
            "name": v.name,
            "kecamatan_code": v.kecamatan_code,
            "kecamatan": v.kecamatan_name,
            "kind": v.kind,
        }
        for v in db.scalars(q)
    ]
