"""Lounge datasets: village progress, budget realisation, poverty (sample unless imported)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from protocol.api import DatasetIndexRow, DatasetOut
from server.api.deps import DbDep
from server.errors import not_found, responses
from server.persistence import models as m

router = APIRouter(tags=["dashboard"])
DATASETS = {"village-progress": "village_progress", "budget": "budget", "poverty": "poverty"}


@router.get("/dashboard", response_model=list[DatasetIndexRow])
def index(db: DbDep) -> list[dict[str, Any]]:
    out = []
    for slug, name in DATASETS.items():
        ds = db.get(m.DashboardDataset, name)
        if ds is not None:
            out.append({"name": slug, "sample": ds.sample, "updated_at": m.utc(ds.updated_at).isoformat()})
    return out


@router.get("/dashboard/{name}", response_model=DatasetOut, responses=responses(404))
def dataset(name: str, db: DbDep) -> dict[str, Any]:
    key = DATASETS.get(name)
    ds = db.get(m.DashboardDataset, key) if key else None
    if ds is None:
        raise not_found("error.not_found_dashboard_dataset")
    return {
        "name": name,
        "sample": ds.sample,
        "label": {"id": ds.label_id, "en": ds.label_en},
        "source": ds.source,
        "updated_at": m.utc(ds.updated_at).isoformat(),
        "rows": ds.rows,
    }
