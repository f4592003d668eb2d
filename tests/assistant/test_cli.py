"""``mpp ask --jsonl`` output shape, with the session's model patched in (no second load)."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from assistant import commands
from assistant.core import Assistant

KEYS = {"question", "lang", "intent", "service", "aspect", "confidence", "answer", "latency_ms"}


@pytest.fixture()
def app(assistant: Assistant, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    monkeypatch.setattr(Assistant, "load", classmethod(lambda cls, *a, **k: assistant))
    app = typer.Typer()
    bench, ev = typer.Typer(), typer.Typer()
    commands.register(app, bench_app=bench, eval_app=ev)
    app.add_typer(bench, name="bench")
    app.add_typer(ev, name="eval")
    return app


def test_ask_jsonl_has_exactly_the_keys(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["ask", "--jsonl"], input="brp biaya paspor\n\nhow long is an SKCK valid\n")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert len(rows) == 2
    for row in rows:
        assert set(row) == KEYS
    assert rows[0]["service"] == "paspor" and rows[0]["aspect"] == "fee" and rows[0]["lang"] == "id"
    assert rows[1]["service"] == "skck" and rows[1]["lang"] == "en"
    assert isinstance(rows[0]["latency_ms"], float)


def test_ask_single_question(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["ask", "syarat kartu kuning"])
    assert result.exit_code == 0
    assert "Sumber:" in result.stdout


def test_train_check_reproduces_the_committed_data_hash(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["train", "--check"])
    assert result.exit_code == 0, result.output
    assert "OK" in result.stdout


def test_eval_no_test_never_loads_the_held_out_part(app: typer.Typer, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--no-test`` is what tuning runs use: the held-out file is not even read (no aggregate either)."""
    import assistant.evaluate as ev
    import assistant.realset as realset
    import assistant.v1 as v1
    from protocol.knowledge import RealQuestion

    asked: list[str] = []

    def fake_load_real(split: str, root: object = None) -> list[RealQuestion]:
        asked.append(split)
        if split == "test":
            raise AssertionError("the held-out part was loaded")
        row = {"question": "brp biaya paspor", "lang": "id", "source_url": "https://example.org/faq",
               "source_date": None, "retrieved": "2026-12-07", "intent": "ask_service", "service": "paspor",
               "expected": "paspor.fee", "split": split, "note": ""}  # fmt: skip
        return [RealQuestion.model_validate(row)]

    class FakeV1:
        def __init__(self, catalog: object) -> None:
            self.catalog = catalog

        def ask(self, text: str) -> object:
            from types import SimpleNamespace

            return SimpleNamespace(intent="ask_service", service="paspor", case=None, outcome="other", text="")

    monkeypatch.setattr(realset, "load_real", fake_load_real)
    monkeypatch.setattr(v1, "V1", FakeV1)
    monkeypatch.setattr(ev, "_old_rows", lambda name: [])
    result = CliRunner().invoke(app, ["eval", "assistant", "--no-test", "--no-baselines"])
    assert result.exit_code == 0, result.output
    assert sorted(asked) == ["dev", "train"]
    assert "real/test" not in result.stdout.replace("real/test skipped", "")
    assert "real/train" in result.stdout and "real/dev" in result.stdout


def test_cv_refuses_a_threshold_the_model_does_not_have(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["eval", "assistant-cv", "--sweep", "0.4", "--sweep-key", "referral"])
    assert result.exit_code == 2
    assert "unknown threshold 'referral'" in " ".join(result.output.split())
