"""CLI commands of the assistant: train, ask, eval assistant, bench assistant.

Light module: torch, transformers and sklearn are imported inside the command
bodies so that ``mpp --help`` stays instant.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import typer


def register(app: typer.Typer, *, bench_app: typer.Typer, eval_app: typer.Typer) -> None:
    app.command("train")(train_cmd)
    app.command("ask")(ask_cmd)
    eval_app.command("assistant")(eval_cmd)
    eval_app.command("assistant-cv")(cv_cmd)
    bench_app.command("assistant")(bench_cmd)


def train_cmd(
    check: bool = typer.Option(False, "--check", help="Only regenerate the data and compare its sha256."),
    seed: int = typer.Option(13, help="Random seed (the committed model uses 13)."),
) -> None:
    """Train the heads (e5 + char n-grams) and the case ranker; refuses held-out questions; ≤ 15 min on 2 cores."""
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
    show_errors: bool = typer.Option(False, "--errors", help="List the misrouted train/dev questions (never test)."),
    json_out: bool = typer.Option(False, "--json", help="Print the full results as JSON instead of the table."),
    baselines: bool = typer.Option(True, "--baselines/--no-baselines", help="Also run the two routing baselines."),
    no_test: bool = typer.Option(
        False, "--no-test", help="Skip the held-out part entirely (not even loaded): for tuning on train/dev."
    ),
) -> None:
    """The assistant on real citizens' questions (held-out test, and train/dev) next to v1 and baselines."""
    from assistant.evaluate import run

    r = run(progress=not json_out, with_baselines=baselines, with_test=not no_test)
    if json_out:
        sys.stdout.write(json.dumps(r, ensure_ascii=False, indent=1, default=str) + "\n")
        return
    typer.echo(f"model: encoder {r['model']['encoder']}  data {str(r['model']['training_data_sha256'])[:12]}")
    if no_test:
        typer.echo("real/test skipped (--no-test). v1 = service x aspect (the previous model).")
    else:
        typer.echo("real/test is held out: nothing was tuned on it. v1 = service x aspect (the previous model).")
    head = f"{'set':10} {'system':22} {'n':>4} {'routing':>8} {'case':>7} {'in-opts':>7} {'oos-wrong':>9} " \
           f"{'clar/hand':>9} {'facts':>9}"  # fmt: skip
    typer.echo(head)
    typer.echo("-" * len(head))
    for name, res in r["sets"].items():
        for system, label in (("v2", "v2 (cases, e5)"), ("v1", "v1 (service x aspect)")):
            m = res[system]
            case = f"{m['right_case']:7.1%}" if m["case_n"] else f"{'-':>7}"
            opts = f"{m['case_in_clarify_options']:7.1%}" if m["case_n"] else f"{'-':>7}"
            oos = f"{m['oos_confident_wrong']:9.1%}" if m["oos_n"] else f"{'-':>9}"
            facts = f"{m['fact_violations']}/{m['answers_checked']}"
            typer.echo(
                f"{name:10} {label:22} {m['n']:4d} {m['routing']:8.1%} {case} {opts} {oos} "
                f"{m['clarify_handoff']:9.1%} {facts:>9}"
            )
        for key, label in (("tfidf_char_lr", "baseline tfidf-char+LR"), ("minilm_nn", "baseline MiniLM 1-NN")):
            b = r.get("baselines", {}).get(f"{key}/{name}")
            if b:
                typer.echo(f"{name:10} {label:22} {res['v2']['n']:4d} {b['routing']:8.1%}")
    typer.echo("case: answered with the expected case; in-opts: it was among the clarifying options;")
    typer.echo("oos-wrong: out-of-scope questions answered with a catalogue service;")
    typer.echo("facts: untraceable figures / answers checked")
    if show_errors:
        for name in ("real/train", "real/dev"):
            for e in r["examples"][name]:
                gold, got = e["gold"], e["v2"]
                if got[2] is None or not (got[2] == gold[2] or str(got[2]).startswith(f"{gold[2]}-")):
                    typer.echo(f"  {name} ✗ {e['question'][:90]!r} want {gold} got {got}")


def cv_cmd(
    folds: int = typer.Option(5, help="Number of folds (whole sites per fold)."),
    full: bool = typer.Option(False, "--full", help="mpp train per fold (~4 min each), not only the heads."),
    show_errors: bool = typer.Option(False, "--errors", help="List the questions answered wrongly in their fold."),
    json_out: bool = typer.Option(False, "--json", help="Print the full results as JSON."),
    sweep: str = typer.Option("", help="Comma-separated answer thresholds to score too, e.g. 0.3,0.35,0.4."),
    sweep_key: str = typer.Option(
        "answer", help="Which threshold --sweep varies: answer, option, clarify_mass or margin (top over runner-up)."
    ),
) -> None:
    """Leave-site-out cross-validation over real train+dev (never test): retrain without a fold, score it."""
    from assistant.crossval import run
    from assistant.evaluate import case_matches

    if sweep_key not in ("answer", "option", "clarify_mass", "margin"):
        raise typer.BadParameter(
            f"unknown threshold {sweep_key!r}; one of answer, option, clarify_mass, margin", param_hint="--sweep-key"
        )
    ths = [float(x) for x in sweep.split(",") if x.strip()]
    r = run(k=folds, mode="full" if full else "light", progress=not json_out, log=None if json_out else typer.echo,
            sweep=ths, sweep_key=sweep_key)  # fmt: skip
    if json_out:
        sys.stdout.write(json.dumps(r, ensure_ascii=False, indent=1, default=str) + "\n")
        return
    typer.echo(f"leave-site-out CV, {r['folds']} folds, mode {r['mode']} (real/test is not loaded)")
    head = f"{'set':10} {'n':>4} {'routing':>8} {'case':>7} {'in-opts':>7} {'oos-wrong':>9} {'clar/hand':>9} facts"
    typer.echo(head)
    typer.echo("-" * len(head))
    for name, m in r["sets"].items():
        oos = f"{m['oos_confident_wrong']:9.1%}" if m["oos_n"] else f"{'-':>9}"
        typer.echo(
            f"{name:10} {m['n']:4d} {m['routing']:8.1%} {m['right_case']:7.1%} {m['case_in_clarify_options']:7.1%} "
            f"{oos} {m['clarify_handoff']:9.1%} {m['fact_violations']}/{m['answers_checked']:<6}"
        )
    key = r.get("sweep_key", "answer")
    for t, m in r.get("sweep", {}).items():
        typer.echo(
            f"{key} threshold {t}: routing {m['routing']:.1%}  right case {m['right_case']:.1%}  answered wrong "
            f"{m['case_answered_wrong']:.1%}  oos-wrong {m['oos_confident_wrong']:.1%}  "
            f"clar/hand {m['clarify_handoff']:.1%}"
        )
    if show_errors:
        for e in r["examples"]:
            gold, got = e["gold"], e["got"]
            if gold[2] is not None and not (got[3] == "answer" and case_matches(got[2], gold[2])):
                typer.echo(f"  ✗ {e['question'][:90]!r} want {gold} got {got}")
            elif gold[2] is None and (got[0] != gold[0] or (got[1] or None) != (gold[1] or None)):
                typer.echo(f"  ✗ {e['question'][:90]!r} want {gold} got {got}")


def bench_cmd(
    repeats: int = typer.Option(3, help="Passes over the dev questions."),
) -> None:
    """p50/p95 latency per question on one CPU thread, and the model load time."""
    import os
    import statistics

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    cpu_start = time.process_time()
    t0 = time.perf_counter()
    from assistant.core import Assistant
    from assistant.dataset import load_dev
    from assistant.offline import OfflinePort
    from assistant.realset import load_real
    from assistant.text import normalize

    t_import = time.perf_counter()
    assistant = Assistant.load()
    t_loaded = time.perf_counter()
    c_loaded = time.process_time()
    port = OfflinePort(assistant.catalog)
    questions = [r["question"] for r in load_dev()] + [q.question for s in ("train", "dev") for q in load_real(s)]
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
    # Same-run baselines: the bare encoder pass that every question pays, and v1's bare MiniLM pass.
    from assistant.model import Embedder

    emb = assistant.nlu.embedder
    base: list[float] = []
    base_cpu: list[float] = []
    for q in questions:
        s, c0 = time.perf_counter(), time.process_time()
        emb.encode([normalize(q)])
        base.append((time.perf_counter() - s) * 1000)
        base_cpu.append((time.process_time() - c0) * 1000)
    base.sort()
    base_cpu.sort()
    import torch

    torch.set_num_threads(1)
    typer.echo(f"questions: {len(lat)} (OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, torch threads 1)")
    typer.echo(f"latency per question: p50 {p50:.1f} ms  p95 {p95:.1f} ms")
    typer.echo(
        f"CPU time per question: p50 {statistics.median(cpu):.1f} ms  p95 {cpu[int(0.95 * (len(cpu) - 1))]:.1f} ms"
        f"  (wall > CPU means other processes compete for the core; load avg {os.getloadavg()[0]:.1f})"
    )
    b50, b95 = statistics.median(base), base[int(0.95 * (len(base) - 1))]
    enc = assistant.nlu.heads.meta.get("encoder", "minilm")
    c50, c95 = statistics.median(base_cpu), base_cpu[int(0.95 * (len(base_cpu) - 1))]
    typer.echo(f"baseline: bare {enc} encoder pass only: p50 {b50:.1f} ms  p95 {b95:.1f} ms; CPU p50 {c50:.1f} ms  "
               f"p95 {c95:.1f} ms")  # fmt: skip
    cpu95 = cpu[int(0.95 * (len(cpu) - 1))]
    typer.echo(
        f"ratio: question CPU p95 / bare encoder CPU p95 = {cpu95 / max(c95, 1e-6):.2f}x  (goal CPU p95 <= 30 ms)"
    )
    t_m = time.perf_counter()
    mini = Embedder()
    t_m = time.perf_counter() - t_m
    mbase: list[float] = []
    for q in questions:
        s = time.perf_counter()
        mini.encode([q])
        mbase.append((time.perf_counter() - s) * 1000)
    mbase.sort()
    typer.echo(
        f"v1 encoder (MiniLM, torch) pass: p50 {statistics.median(mbase):.1f} ms  "
        f"p95 {mbase[int(0.95 * (len(mbase) - 1))]:.1f} ms; its load {t_m:.2f} s"
    )
    typer.echo(
        f"load: {t_loaded - t0:.2f} s total (imports {t_import - t0:.2f} s, "
        f"model+heads+cases {t_loaded - t_import:.2f} s)  (goal <= 3 s); CPU time {c_loaded - cpu_start:.2f} s"
    )
