"""``mpp eval assistant``: the assistant judged on questions real citizens asked, next to v1 and baselines.

Sets: the real-question parts (``assets/assistant/real``: ``train`` and ``dev`` may be tuned on,
``test`` is held out and only scored here) and the two older hand-written sets
(``assets/assistant/{dev,test}.jsonl``). Systems, in the same run: the current assistant (case
ranker), v1 (service x aspect, ``assistant.v1``) and two routing baselines trained on v1's generated
data (char n-gram TF-IDF + LR; frozen MiniLM 1-NN).

Metrics per set:
- routing: intent right, and the service right (none for out of scope);
- right case: among questions with an expected case, answered (not asked back) with that case, or
  with a narrower ``<expected>-<detail>`` case;
- OOS confident-wrong: among out-of-scope questions, answered with a catalogue service's case;
- clarify/handoff: replies that ask back, say "I don't know" or hand over;
- facts: every Rp amount and number of days/weeks/months/years in an answer must be stated by the
  data of its case, service or referral; violations are counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from assistant.dataset import NONE_SERVICE, generate, load_dev
from assistant.text import normalize

SYSTEMS = ("v2", "v1")


def _svc(v: str | None) -> str:
    return v or NONE_SERVICE


@dataclass
class Outcome:
    intent: str | None
    service: str | None
    case: str | None
    kind: str  # answer | clarify | dont_know | other
    text: str
    options: tuple[str, ...] = ()
    violations: int = 0
    checked: bool = False


def case_matches(got: str | None, expected: str | None) -> bool:
    """Right case: the same id, or a narrower ``<expected>-<detail>`` of a base expected case."""
    if got is None or expected is None:
        return False
    return got == expected or got.startswith(expected + "-")


def _facts(catalog: Any, kb: Any, service: str | None, case: str | None, text: str) -> tuple[int, bool]:
    from assistant.answers import data_figures, untraceable

    if case and case.startswith("ref."):
        ref = kb.referral(case)
        if ref is None:
            return 0, False
        allowed: set[tuple[str, int, str]] = set()
        for s in catalog.services:
            if s.id in ref.near:
                allowed |= data_figures(s)
        from assistant.answers import figures

        allowed |= figures(ref.where.id + ref.where.en + ref.why.id + ref.why.en + (ref.source.legal_basis or ""))
        return len(untraceable(text, allowed)), True
    if service is None:
        return 0, False
    svc = catalog.service(service)
    kcase = kb.case(case) if case else None
    return len(untraceable(text, data_figures(svc, kcase))), True


def v2_outcome(assistant: Any, port: Any, text: str, n: int, kb: Any) -> Outcome:
    from assistant.core import Conversation
    from assistant.ports import Caller

    conv = Conversation(f"eval-{n}", Caller(session_id="eval"), port)
    reply = assistant.respond(conv, text)
    options = tuple(q.payload.split(" ", 1)[1] for q in reply.quick_replies if q.payload.startswith("/case "))
    if reply.intent not in ("ask_service", "out_of_scope"):
        # A deed's reply (status, queue...) that answers with a knowledge-base case is an answer too.
        kind = "answer" if reply.case and not reply.fallback and not options else "other"
    elif options:
        kind = "clarify"
    elif reply.fallback:
        kind = "dont_know"
    else:
        kind = "answer"
    out = Outcome(reply.intent, reply.service, reply.case, kind, reply.text, options)
    if kind == "answer":
        case = reply.case
        if case is None and reply.service and reply.aspect is not None:
            from assistant.dataset import ASPECT_KIND

            case = f"{reply.service}.{ASPECT_KIND[reply.aspect]}"
        out.violations, out.checked = _facts(assistant.catalog, kb, reply.service, case, reply.text)
        cited = [c.service_id for c in reply.citations if c.service_id]
        if not out.checked and reply.service is None and case is None and cited:
            # an agency's table ("biaya dokumen kependudukan"): every figure from one of the cited services
            from assistant.answers import data_figures, untraceable

            allowed: set[tuple[str, int, str]] = set()
            for sid in cited:
                allowed |= data_figures(assistant.catalog.service(sid))
            out.violations, out.checked = len(untraceable(reply.text, allowed)), True
    return out


def v1_outcome(v1: Any, text: str, kb: Any) -> Outcome:
    r = v1.ask(text)
    out = Outcome(r.intent, r.service, r.case, r.outcome, r.text)
    if r.outcome == "answer":
        out.violations, out.checked = _facts(v1.catalog, kb, r.service, None, r.text)
    return out


def score(rows: Sequence[Any], outs: Sequence[Outcome]) -> dict[str, Any]:
    """Metrics of one system on one set (rows are RealQuestion-like: intent, service, expected)."""
    n = len(rows)
    routed = 0
    case_rows = case_ok = case_in_options = case_wrong = 0
    oos_rows = oos_wrong = 0
    fallback = violations = checked = 0
    for q, o in zip(rows, outs, strict=True):
        gold_oos = q.intent == "out_of_scope"
        if gold_oos:
            routed += int(o.intent == "out_of_scope" and o.service is None)
        else:
            routed += int(o.intent == q.intent and _svc(o.service) == _svc(q.service))
        if q.expected:
            case_rows += 1
            case_ok += int(o.kind == "answer" and case_matches(o.case, q.expected))
            case_in_options += int(o.kind == "clarify" and any(case_matches(c, q.expected) for c in o.options))
            case_wrong += int(o.kind == "answer" and not case_matches(o.case, q.expected))
        if gold_oos:
            oos_rows += 1
            oos_wrong += int(o.kind == "answer" and o.service is not None)
        fallback += int(o.kind in ("clarify", "dont_know") or o.intent == "talk_to_officer")
        violations += o.violations
        checked += int(o.checked)
    return {
        "n": n,
        "routing": routed / max(1, n),
        "right_case": case_ok / max(1, case_rows),
        "case_n": case_rows,
        "case_in_clarify_options": case_in_options / max(1, case_rows),
        "case_answered_wrong": case_wrong / max(1, case_rows),
        "oos_confident_wrong": oos_wrong / max(1, oos_rows),
        "oos_n": oos_rows,
        "clarify_handoff": fallback / max(1, n),
        "fact_violations": violations,
        "answers_checked": checked,
    }


@dataclass(frozen=True)
class _Row:
    question: str
    intent: str
    service: str | None
    expected: str | None


def _old_rows(name: str) -> list[_Row]:
    from protocol.catalog import assets_dir

    return [
        _Row(r["question"], r["intent"], r["service"], None)
        for r in load_dev(assets_dir() / "assistant" / f"{name}.jsonl")
    ]


def baselines(train_texts: Sequence[str], sets: dict[str, Sequence[Any]], embedder: Any) -> dict[str, dict[str, float]]:
    """Routing (intent and service) of two baselines trained on v1's generated data, per set."""
    from sklearn.linear_model import LogisticRegression

    from assistant.model import CharNgrams
    from assistant.train import SEED, training_embeddings

    examples = generate(seed=SEED)
    norm = [normalize(e.text) for e in examples]
    yi = np.array([e.intent for e in examples])
    ys = np.array([_svc(e.service) for e in examples])
    ng = CharNgrams().fit(norm)
    x = ng.transform(norm)
    lr_i = LogisticRegression(C=10.0, max_iter=2000, random_state=SEED).fit(x, yi)
    lr_s = LogisticRegression(C=10.0, max_iter=2000, random_state=SEED).fit(x, ys)
    emb = training_embeddings(norm, embedder)
    out: dict[str, dict[str, float]] = {}
    for name, rows in sets.items():
        qn = [normalize(r.question) for r in rows]
        gi = np.array([r.intent for r in rows])
        gs = np.array([_svc(r.service) for r in rows])
        xq = ng.transform(qn)
        pi, ps = lr_i.predict(xq), lr_s.predict(xq)
        nn = (embedder.encode(qn) @ emb.T).argmax(1)
        out[f"tfidf_char_lr/{name}"] = {"routing": float(((pi == gi) & (ps == gs)).mean())}
        out[f"minilm_nn/{name}"] = {"routing": float(((yi[nn] == gi) & (ys[nn] == gs)).mean())}
    _ = train_texts
    return out


def run(progress: bool = True, with_baselines: bool = True, with_test: bool = True) -> dict[str, Any]:
    """Every set scored; ``with_test=False`` never loads the held-out part (tuning runs use it)."""
    from tqdm import tqdm

    from assistant.core import Assistant
    from assistant.offline import OfflinePort
    from assistant.realset import SPLITS, load_real
    from assistant.v1 import V1
    from protocol.knowledge import default_knowledge

    kb = default_knowledge()
    assistant = Assistant.load()
    v1 = V1(assistant.catalog)
    port = OfflinePort(assistant.catalog)
    splits = [s for s in SPLITS if with_test or s != "test"]
    sets: dict[str, Sequence[Any]] = {f"real/{s}": load_real(s) for s in splits}
    sets["old/dev"] = _old_rows("dev")
    sets["old/test"] = _old_rows("test")
    results: dict[str, Any] = {"sets": {}, "examples": {}}
    k = 0
    for name, rows in sets.items():
        outs_v2, outs_v1 = [], []
        for q in tqdm(rows, desc=name, disable=not progress, leave=False):
            outs_v2.append(v2_outcome(assistant, port, q.question, k, kb))
            outs_v1.append(v1_outcome(v1, q.question, kb))
            k += 1
        results["sets"][name] = {"v2": score(rows, outs_v2), "v1": score(rows, outs_v1)}
        results["examples"][name] = [
            {
                "question": q.question,
                "gold": [q.intent, q.service, q.expected],
                "v2": [a.intent, a.service, a.case, a.kind],
                "v1": [b.intent, b.service, b.case, b.kind],
                "v2_text": a.text,
                "v1_text": b.text,
            }
            for q, a, b in zip(rows, outs_v2, outs_v1, strict=True)
        ]
    if with_baselines:
        results["baselines"] = baselines([], sets, v1.embedder)
    results["model"] = {
        k: assistant.nlu.heads.meta.get(k) for k in ("encoder", "training_data_sha256", "knowledge_sha256")
    }
    return results
