"""Operations: NIK-masking logs, CSV import of real dashboard figures, CLI officer creation."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

from typer.testing import CliRunner


def test_logs_are_json_with_every_nik_masked() -> None:
    from server.logs import MaskingJsonFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(MaskingJsonFormatter())
    log = logging.getLogger("test.mask")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        log.info("citizen 3510011204900001 submitted", extra={"ctx_nik": "3510015204900002"})
    finally:
        log.removeHandler(handler)
    line = stream.getvalue().strip()
    record = json.loads(line)
    assert "3510011204900001" not in line and "3510015204900002" not in line
    assert record["msg"] == "citizen 3510********0001 submitted"
    assert record["nik"] == "3510********0002"


def test_import_dashboard_csv_replaces_sample(migrated: Any, tmp_path: Path, monkeypatch: Any) -> None:
    from mpp.cli import app
    from server.settings import get_settings

    csv_file = tmp_path / "poverty.csv"
    csv_file.write_text("year,percent_poor\n2024,6.5\n2025,6.1\n", encoding="utf-8")
    monkeypatch.setenv("MPP_DATA_DIR", str(migrated.data_dir))
    if migrated.database_url:
        monkeypatch.setenv("MPP_DATABASE_URL", migrated.database_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["db", "import-dashboard", "poverty", str(csv_file), "--source", "BPS"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    from fastapi.testclient import TestClient

    from server.app import create_app

    with TestClient(create_app(migrated)) as c:
        body = c.get("/api/v1/dashboard/poverty").json()
    assert body["sample"] is False and body["source"] == "BPS"
    assert body["rows"] == [{"year": 2024, "percent_poor": 6.5}, {"year": 2025, "percent_poor": 6.1}]


def test_officer_add_cli_validates_agency(migrated: Any, monkeypatch: Any) -> None:
    from mpp.cli import app
    from server.settings import get_settings

    monkeypatch.setenv("MPP_DATA_DIR", str(migrated.data_dir))
    if migrated.database_url:
        monkeypatch.setenv("MPP_DATABASE_URL", migrated.database_url)
    get_settings.cache_clear()
    try:
        ok = CliRunner().invoke(app, ["officer", "add", "sari", "--password", "rahasia-123", "--agency", "dukcapil"])
        bad = CliRunner().invoke(app, ["officer", "add", "tono", "--password", "rahasia-123", "--agency", "nope"])
    finally:
        get_settings.cache_clear()
    assert ok.exit_code == 0, ok.output
    assert bad.exit_code != 0 and "unknown agency" in bad.output
