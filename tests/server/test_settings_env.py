"""Environment values: comma-separated lists are accepted, a bad value is one line naming the variable (issue 15 D7).

Before: ``MPP_ALLOWED_ORIGINS=https://x`` (not a JSON list) ended ``mpp`` with a wall of pydantic traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from server.settings import BadEnvironment, load_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("https://x.example", ["https://x.example"]),
        ("https://a.example, https://b.example,", ["https://a.example", "https://b.example"]),
        ('["https://a.example", "https://b.example"]', ["https://a.example", "https://b.example"]),
    ],
)
def test_lists_take_json_or_commas(monkeypatch: pytest.MonkeyPatch, raw: str, want: list[str]) -> None:
    monkeypatch.setenv("MPP_ALLOWED_ORIGINS", raw)
    monkeypatch.setenv("MPP_TURN_URLS", "turn:a.example:3478,turns:a.example:5349")
    s = load_settings()
    assert s.allowed_origins == want
    assert s.turn_urls == ["turn:a.example:3478", "turns:a.example:5349"]


@pytest.mark.parametrize(
    ("name", "raw", "says"),
    [
        ("MPP_ALLOWED_ORIGINS", "[https://x", "JSON list or comma-separated"),
        ("MPP_PORT", "eighty", "integer"),
        ("MPP_SIGNING_KEYS", "/etc/mpp/dukcapil.p12", "JSON object"),
    ],
)
def test_a_bad_value_names_its_variable(monkeypatch: pytest.MonkeyPatch, name: str, raw: str, says: str) -> None:
    monkeypatch.setenv(name, raw)
    with pytest.raises(BadEnvironment) as exc:
        load_settings()
    line = str(exc.value)
    assert line.startswith(f"{name}: ") and says in line and "\n" not in line


def test_the_cli_prints_one_line_not_a_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "MPP_DATA_DIR": str(tmp_path), "MPP_PORT": "eighty", "PYTHONPATH": str(ROOT)}
    env.pop("MPP_DATABASE_URL", None)
    r = subprocess.run(
        [sys.executable, "-m", "mpp", "db", "upgrade"], env=env, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert lines == [lines[0]] and lines[0].startswith("mpp: MPP_PORT: "), r.stderr


@pytest.mark.parametrize(("value", "pragma"), [("NORMAL", 1), ("FULL", 2)])
def test_sqlite_synchronous_is_the_stated_setting(tmp_path: Path, value: str, pragma: int) -> None:
    """Before: NORMAL was hard-coded, and the README never said that a power cut can lose acknowledged commits."""
    from sqlalchemy import text

    from server.persistence.db import make_engine
    from server.settings import Settings

    engine = make_engine(Settings(data_dir=tmp_path, sqlite_synchronous=value, load_assistant=False))  # type: ignore[arg-type]
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA synchronous")).scalar() == pragma
    finally:
        engine.dispose()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "MPP_SQLITE_SYNCHRONOUS" in readme and "power" in readme


def test_sqlite_synchronous_refuses_other_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MPP_SQLITE_SYNCHRONOUS", "OFF")
    with pytest.raises(BadEnvironment, match="MPP_SQLITE_SYNCHRONOUS"):
        load_settings()
