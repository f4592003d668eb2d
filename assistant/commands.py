"""CLI commands of the assistant: train, ask, eval assistant, bench assistant.

Light module: torch, transformers and sklearn are imported inside the command
bodies so that ``mpp --help`` stays instant.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import typer


def register(app: typer.Typer, *, bench_app: typer.Typer, eval_app: typer.Typer) -> None:
    app.command("train")(train_cmd)
    app.command("ask")(ask_cmd)
    eval_app.command("assistant")(eval_cmd)
    bench_app.command("assistant")(bench_cmd)


def train_cmd(
    check: bool = typer.Option(False, "--check", help="Only regenerate the data and compare its sha256."),
    seed: int = typer.Option(13, help="Random seed (the committed model uses 13)."),
) -> None:
    """Train the assistant's heads on generated data (frozen MiniLM + char n-grams); ≤ 10 min on 2 cores."""
    from assistant.train import check_data_hash, train

    if check:
        ok, now, committed = check_data_hash(seed=seed)
        typer.echo(f"training data sha256 now={now} committed={committed} -> {'OK' if ok else 'MISMATCH'}")
        raise typer.Exit(0 if ok else 1)
    result = train(seed=seed, progress=True)
    typer.echo(f"examples: {result['n_examples']}  data sha256: {result['training_data_sha256']}")
    typer.echo(f"hold-out (generated) accuracy: {result['holdout']}")
    typer.echo(f"thresholds: intent {result['intent_threshold']}  service {result['service_threshold']}")
    written = result["written"] or ["(no change: model files identical)"]
    typer.echo("written: " + ", ".join(written))
    typer.echo(f"time: {result['seconds']} s")


def _ask_one(assistant: Any, port: Any, text: str, n: int) -> dict[str, Any]:
    from assistant.core import Conversation
    from assistant.ports import Caller

    conv = Conversation(f"cli-{n}", Caller(session_id="cli"), port)
    t0 = time.perf_counter()
    reply = assistant.respond(conv, text)
    latency = (time.perf_counter() - t0) * 1000
    return {
        "question": text,
        "lang": reply.lang,
        "intent": reply.intent,
        "service": reply.service,
        "aspect": reply.aspect,
        "confidence": round(float(reply.confidence), 4),
        "answer": reply.text,
        "latency_ms": round(latency, 2),
    }


def ask_cmd(
    question: str | None = typer.Argument(None, help="The question; omit with --jsonl."),
    jsonl: bool = typer.Option(False, "--jsonl", help="Read one question per line on stdin, write one JSON per line."),
) -> None:
    """Answer a question offline. Actions (submit, ticket, handoff) go to an in-memory rehearsal port."""
    from assistant.core import Assistant
    from assistant.offline import OfflinePort

    assistant = Assistant.load()
    port = OfflinePort(assistant.catalog)
    if jsonl:
        for n, line in enumerate(sys.stdin):
            text = line.strip()
            if not text:
                continue
            sys.stdout.write(json.dumps(_ask_one(assistant, port, text, n), ensure_ascii=False) + "\n")
            sys.stdout.flush()
        return
    if not question:
        typer.echo("Give a question, or use --jsonl.", err=True)
        raise typer.Exit(2)
    out = _ask_one(assistant, port, question, 0)
    typer.echo(out["answer"])
    typer.echo(
        f"[{out['lang']} · {out['intent']} · {out['service']} · {out['aspect']} · "
        f"conf {out['confidence']:.2f} · {out['latency_ms']:.1f} ms]"
    )


def eval_cmd(
    show_errors: bool = typer.Option(False, "--errors", help="List every misrouted question."),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the full results as JSON."),
    test_set: bool = typer.Option(
        False, "--test", help="Use the small untouched test set (test.jsonl) instead of the dev set."
    ),
) -> None:
    """Routing/fact accuracy and fallback on a hand-written question set, against two baselines."""
    from assistant.evaluate import run
    from protocol.catalog import assets_dir

    name = "test" if test_set else "dev"
    r = run(progress=True, path=assets_dir() / "assistant" / f"{name}.jsonl")
    b = r["baselines"]
    typer.echo(f"{name} questions: {r['n']}")
    typer.echo(f"{'system':28} {'intent':>8} {'service':>8}")
    typer.echo(f"{'assistant (ensemble)':28} {r['intent_accuracy']:8.1%} {r['service_accuracy']:8.1%}")
    typer.echo(
        f"{'baseline tfidf-char + LR':28} {b['tfidf_char_lr']['intent']:8.1%} {b['tfidf_char_lr']['service']:8.1%}"
    )
    typer.echo(f"{'baseline MiniLM 1-NN':28} {b['minilm_nn']['intent']:8.1%} {b['minilm_nn']['service']:8.1%}")
    typer.echo(f"aspect accuracy: {r['aspect_accuracy']:.1%}   language: {r['lang_accuracy']:.1%}")
    typer.echo(f"fact accuracy (fee/validity, n={r['fact_n']}): {r['fact_accuracy']:.1%}")
    typer.echo(f"fallback rate: {r['fallback_rate']:.1%}")
    typer.echo("by language/style (intent and service both right):")
    for k, v in sorted(r["by_style"].items()):
        typer.echo(f"  {k:16} {v:.1%}")
    typer.echo("per-service confusion (gold -> predicted counts):")
    for gold in sorted(r["confusion"]):
        row = r["confusion"][gold]
        ok = row.get(gold, 0)
        total = sum(row.values())
        wrong = ", ".join(f"{k}:{v}" for k, v in sorted(row.items()) if k != gold)
        typer.echo(f"  {gold:16} {ok:3d}/{total:<3d} {wrong}")
    if show_errors:
        for e in r["errors"]:
            typer.echo(f"  ✗ {e['q']!r} want {e['want']} got {e['got']}")
    if json_out:
        json_out.write_text(json.dumps(r, ensure_ascii=False, indent=2, default=str), encoding="utf-8")


def bench_cmd(
    repeats: int = typer.Option(3, help="Passes over the dev questions."),
) -> None:
    """p50/p95 latency per question on one CPU thread, and the model load time."""
    import os
    import statistics

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    cpu_start = time.process_time()
    t0 = time.perf_counter()
    import torch

    torch.set_num_threads(1)
    from assistant.core import Assistant
    from assistant.dataset import load_dev
    from assistant.offline import OfflinePort

    t_import = time.perf_counter()
    assistant = Assistant.load()
    t_loaded = time.perf_counter()
    c_loaded = time.process_time()
    port = OfflinePort(assistant.catalog)
    questions = [r["question"] for r in load_dev()]
    _ask_one(assistant, port, "halo", -1)  # first call pays one-time lazy initialisation
    lat: list[float] = []
    cpu: list[float] = []
    for rep in range(repeats):
        for n, q in enumerate(questions):
            c0 = time.process_time()
            lat.append(_ask_one(assistant, port, q, rep * 10000 + n)["latency_ms"])
            cpu.append((time.process_time() - c0) * 1000)
    lat.sort()
    cpu.sort()
    p50 = statistics.median(lat)
    p95 = lat[int(0.95 * (len(lat) - 1))]
    # Same-run baseline: the bare MiniLM forward pass that every question pays.
    emb = assistant.nlu.embedder
    base: list[float] = []
    for q in questions:
        s = time.perf_counter()
        emb.encode([q])
        base.append((time.perf_counter() - s) * 1000)
    base.sort()
    typer.echo(f"questions: {len(lat)} (threads={torch.get_num_threads()})")
    typer.echo(f"latency per question: p50 {p50:.1f} ms  p95 {p95:.1f} ms  (goal p95 <= 50 ms)")
    typer.echo(
        f"CPU time per question: p50 {statistics.median(cpu):.1f} ms  p95 {cpu[int(0.95 * (len(cpu) - 1))]:.1f} ms"
        f"  (wall > CPU means other processes compete for the core; load avg {os.getloadavg()[0]:.1f})"
    )
    b50, b95 = statistics.median(base), base[int(0.95 * (len(base) - 1))]
    typer.echo(f"baseline MiniLM forward only: p50 {b50:.1f} ms  p95 {b95:.1f} ms")
    typer.echo(
        f"load: {t_loaded - t0:.2f} s total (torch import {t_import - t0:.2f} s, "
        f"model+heads {t_loaded - t_import:.2f} s)  (goal <= 5 s); CPU time {c_loaded - cpu_start:.2f} s"
    )
