"""``mpp eval assistant``: routing accuracy, confusion, fact accuracy and fallback on the dev set.

The dev set is hand-written apart from the training templates. Two baselines
run in the same process on the same generated training data: char n-gram
TF-IDF + logistic regression, and frozen MiniLM nearest neighbour.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import numpy as np

from assistant.dataset import NONE_SERVICE, generate, load_dev
from assistant.text import normalize


def _svc(v: str | None) -> str:
    return v or NONE_SERVICE


def baselines(dev: list[dict[str, Any]], embedder: Any) -> dict[str, dict[str, float]]:
    from sklearn.linear_model import LogisticRegression

    from assistant.model import CharNgrams
    from assistant.train import SEED, training_embeddings

    examples = generate(seed=SEED)
    norm = [normalize(e.text) for e in examples]
    yi = np.array([e.intent for e in examples])
    ys = np.array([_svc(e.service) for e in examples])
    dev_norm = [normalize(r["question"]) for r in dev]
    di = np.array([r["intent"] for r in dev])
    ds = np.array([_svc(r["service"]) for r in dev])
    out: dict[str, dict[str, float]] = {}

    ng = CharNgrams().fit(norm)
    x, xd = ng.transform(norm), ng.transform(dev_norm)
    pi = LogisticRegression(C=10.0, max_iter=2000, random_state=SEED).fit(x, yi).predict(xd)
    ps = LogisticRegression(C=10.0, max_iter=2000, random_state=SEED).fit(x, ys).predict(xd)
    out["tfidf_char_lr"] = {"intent": float((pi == di).mean()), "service": float((ps == ds).mean())}

    emb = training_embeddings(norm, embedder)
    demb = embedder.encode(dev_norm)
    nn = (demb @ emb.T).argmax(1)
    out["minilm_nn"] = {"intent": float((yi[nn] == di).mean()), "service": float((ys[nn] == ds).mean())}
    return out


def expected_facts(catalog: Any, service_id: str, aspect: str, lang: str) -> list[str]:
    """Strings a correct fee/validity answer must contain."""
    from assistant.answers import format_rupiah

    svc = catalog.service(service_id)
    if aspect == "fee":
        if svc.fee.free:
            return ["gratis" if lang == "id" else "free"]
        return [format_rupiah(i.amount) for i in svc.fee.items]
    return [svc.validity.get(lang)]


def run(progress: bool = True, path: Any = None) -> dict[str, Any]:
    from tqdm import tqdm

    from assistant.core import Assistant, Conversation
    from assistant.offline import OfflinePort
    from assistant.ports import Caller

    dev = load_dev(path)
    assistant = Assistant.load()
    port = OfflinePort()
    results = []
    for k, row in enumerate(tqdm(dev, desc="dev", disable=not progress, leave=False)):
        conv = Conversation(f"eval-{k}", Caller(session_id="eval"), port)
        reply = assistant.respond(conv, row["question"])
        results.append((row, reply))
    n = len(results)
    intent_ok = sum(r["intent"] == rep.intent for r, rep in results)
    service_ok = sum(_svc(r["service"]) == _svc(rep.service) for r, rep in results)
    aspect_rows = [(r, rep) for r, rep in results if r["aspect"]]
    aspect_ok = sum(r["aspect"] == rep.aspect for r, rep in aspect_rows)
    lang_ok = sum(r["lang"] == rep.lang for r, rep in results)
    fallback = sum(rep.fallback for _, rep in results)
    fact_rows = [(r, rep) for r, rep in results if r["intent"] == "ask_service" and r["aspect"] in ("fee", "validity")]
    fact_ok = 0
    for r, rep in fact_rows:
        need = expected_facts(assistant.catalog, r["service"], r["aspect"], r["lang"])
        if rep.service == r["service"] and all(f.lower() in rep.text.lower() for f in need):
            fact_ok += 1
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    for r, rep in results:
        confusion[_svc(r["service"])][_svc(rep.service)] += 1
    by_style: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r, rep in results:
        st = by_style[f"{r['lang']}/{r.get('style', '?')}"]
        st[0] += int(_svc(r["service"]) == _svc(rep.service) and r["intent"] == rep.intent)
        st[1] += 1
    errors = [
        {"q": r["question"], "want": (r["intent"], r["service"]), "got": (rep.intent, rep.service)}
        for r, rep in results
        if r["intent"] != rep.intent or _svc(r["service"]) != _svc(rep.service)
    ]
    return {
        "n": n,
        "intent_accuracy": intent_ok / n,
        "service_accuracy": service_ok / n,
        "aspect_accuracy": aspect_ok / max(1, len(aspect_rows)),
        "lang_accuracy": lang_ok / n,
        "fact_accuracy": fact_ok / max(1, len(fact_rows)),
        "fact_n": len(fact_rows),
        "fallback_rate": fallback / n,
        "confusion": {k: dict(v) for k, v in confusion.items()},
        "by_style": {k: v[0] / v[1] for k, v in by_style.items()},
        "errors": errors,
        "baselines": baselines(dev, assistant.nlu.embedder),
    }
