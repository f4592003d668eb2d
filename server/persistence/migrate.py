"""Run Alembic migrations and seeding from code (``mpp db upgrade`` / ``mpp db seed``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, pool

from protocol.catalog import assets_dir, load_catalog
from server.persistence.db import make_engine, make_sessionmaker
from server.settings import Settings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(settings: Settings) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", settings.db_url.replace("%", "%%"))
    return cfg


def upgrade(settings: Settings, revision: str = "head") -> None:
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.db_url, poolclass=pool.NullPool)
    with engine.begin() as conn:
        cfg = alembic_config(settings)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    engine.dispose()


def seed(settings: Settings) -> dict[str, int]:
    from server.persistence.seed import seed_catalog, seed_dashboards, seed_villages

    engine = make_engine(settings)
    try:
        with make_sessionmaker(engine)() as db:
            counts = seed_catalog(db, load_catalog())
            counts["villages"] = seed_villages(db)
            counts["dashboards"] = seed_dashboards(db, assets_dir())
            db.commit()
        return counts
    finally:
        engine.dispose()
