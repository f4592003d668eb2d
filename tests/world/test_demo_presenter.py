"""Presenter fixes: captions end with a shortened clip, the demo's files go to the data directory,
and the demo officers are created by a command (bad input refused before anything runs)."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner


def test_clip_cues_never_run_past_the_clip() -> None:
    from world.demo.captions import clip_cues

    cues = [(0.0, 4.0, "a"), (4.0, 9.5, "b"), (9.5, 14.0, "c")]
    assert clip_cues(cues, 6.0) == [(0.0, 4.0, "a"), (4.0, 6.0, "b")]
    assert clip_cues(cues, 20.0) == cues
    assert all(end <= 6.0 for _, end, _ in clip_cues(cues, 6.0))


def test_voice_cache_and_demo_files_go_to_the_data_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from world.demo.commands import demo_data_home
    from world.voice.tts import default_cache_dir

    monkeypatch.delenv("MPP_VOICE_CACHE", raising=False)
    monkeypatch.setenv("MPP_DATA_DIR", str(tmp_path / "data"))
    assert default_cache_dir() == tmp_path / "data" / "voice-cache"
    assert demo_data_home() == tmp_path / "data"
    monkeypatch.delenv("MPP_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert demo_data_home() == tmp_path / "xdg" / "virtual-mpp"
    monkeypatch.setenv("MPP_VOICE_CACHE", str(tmp_path / "v"))
    assert default_cache_dir() == tmp_path / "v"


def _app() -> typer.Typer:
    from world.demo.commands import register

    app = typer.Typer()
    register(app, bench_app=typer.Typer(), eval_app=typer.Typer())
    return app


def test_demo_officers_command_refuses_bad_input_and_creates_accounts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    runner = CliRunner()
    short = runner.invoke(_app(), ["demo-officers", "--password", "short"])
    assert short.exit_code == 2 and "10" in short.output
    unknown = runner.invoke(_app(), ["demo-officers", "--password", "a-long-secret", "--agencies", "nope"])
    assert unknown.exit_code == 2 and "nope" in unknown.output
    made: list[tuple[str, str]] = []

    def fake(agency: str, password: str, **kw: object) -> bool:
        made.append((agency, password))
        return True

    monkeypatch.setattr("world.demo.server.create_demo_officer", fake)
    ok = runner.invoke(_app(), ["demo-officers", "--password", "a-long-secret", "--agencies", "dukcapil,polri"])
    assert ok.exit_code == 0, ok.output
    assert made == [("dukcapil", "a-long-secret"), ("polri", "a-long-secret")]
    assert "demo-dukcapil" in ok.output


def test_demo_officer_is_a_real_account_in_the_given_database(tmp_path: Path) -> None:
    """The command's worker really creates the account (a subprocess against a fresh SQLite data dir)."""
    import os

    from world.demo.server import create_demo_officer

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, MPP_DATA_DIR=str(tmp_path), PYTHONPATH=str(root))
    env.pop("MPP_DATABASE_URL", None)
    assert create_demo_officer("dukcapil", "a-long-secret", env=env)
    assert (tmp_path / "mpp.db").is_file()
