"""Migrations and models agree, and seeding is idempotent."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, func, select


def test_migration_matches_models_and_seed_is_idempotent(settings: Any) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from server.persistence import models as m
    from server.persistence.migrate import seed, upgrade

    upgrade(settings)
    engine = create_engine(settings.db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), m.Base.metadata)
    assert diff == []
    first = seed(settings)
    second = seed(settings)
    assert first == second and first["services"] >= 15 and first["villages"] > 200
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(m.Service.__table__)) == first["services"]
        assert conn.scalar(select(func.count()).select_from(m.Village.__table__)) == first["villages"]
    engine.dispose()
