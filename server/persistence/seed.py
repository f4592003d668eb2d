"""Load the catalogue, villages and sample dashboards from assets/ into the database.

Idempotent: running it again updates rows in place, so `mpp serve` can seed on every start.
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from protocol.catalog import Catalog
from server.persistence import models as m

log = logging.getLogger(__name__)


def seed_catalog(db: Session, catalog: Catalog) -> dict[str, int]:
    for a in catalog.agencies:
        row = db.get(m.Agency, a.id) or m.Agency(id=a.id)
        row.name_id, row.name_en, row.short, row.kind, row.color = a.name.id, a.name.en, a.short, a.kind, a.color
        db.merge(row)
    db.flush()
    for a in catalog.agencies:
        for c in a.counters:
            crow = db.get(m.Counter, c.number) or m.Counter(number=c.number)
            crow.code, crow.agency_id, crow.label_id, crow.label_en = c.code, a.id, c.label.id, c.label.en
            db.merge(crow)
    db.flush()
    for s in catalog.services:
        srow = db.get(m.Service, s.id) or m.Service(id=s.id)
        srow.agency_id, srow.counter = s.agency, s.counter
        srow.name_id, srow.name_en = s.name.id, s.name.en
        srow.processing_days = s.processing_days
        srow.data = s.model_dump(mode="json")
        srow.checked = s.checked
        db.merge(srow)
    db.flush()
    return {"agencies": len(catalog.agencies), "services": len(catalog.services)}


def seed_villages(db: Session) -> int:
    from protocol import regions

    existing = {code for (code,) in db.execute(select(m.Village.code))}
    count = 0
    for v in regions.villages():
        count += 1
        if v.id in existing:
            continue
        db.add(
            m.Village(
                code=v.id,
                name=v.name,
                kecamatan_code=v.kecamatan_code,
                kecamatan_name=v.kecamatan_name,
                kind=v.kind,
            )
        )
    db.flush()
    return count


def _coerce(value: str) -> Any:
    v = value.strip()
    for cast in (int, float):
        try:
            return cast(v)
        except ValueError:
            continue
    return v


def parse_csv(text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise ValueError("CSV has no header row")
    return [{k.strip(): _coerce(v or "") for k, v in row.items() if k} for row in reader]


def import_dataset(
    db: Session, name: str, rows: list[dict[str, Any]], label_id: str, label_en: str, sample: bool, source: str
) -> m.DashboardDataset:
    ds = db.get(m.DashboardDataset, name) or m.DashboardDataset(name=name)
    ds.rows, ds.label_id, ds.label_en, ds.sample, ds.source = rows, label_id, label_en, sample, source
    ds.updated_at = m.now_utc()
    merged = db.merge(ds)
    db.flush()
    return merged


def seed_dashboards(db: Session, assets: Path) -> int:
    meta_path = assets / "dashboard" / "meta.yaml"
    if not meta_path.exists():
        return 0
    meta = yaml.safe_load(meta_path.read_text(encoding="utf-8")) or {}
    n = 0
    for name, info in (meta.get("datasets") or {}).items():
        existing = db.get(m.DashboardDataset, name)
        if existing is not None and not existing.sample:
            continue  # never overwrite real data imported by an operator
        rows = parse_csv((assets / "dashboard" / info["file"]).read_text(encoding="utf-8"))
        label = info.get("label") or {}
        import_dataset(
            db, name, rows, label.get("id", name), label.get("en", name), True, str(info.get("source", "sample"))
        )
        n += 1
    return n
