"""The case ranker's vectorised features equal the plain per-candidate definition, and a status
question without a tracking number is answered with the service's status case."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.core import Assistant, Conversation
from assistant.dataset import ASPECT_KIND, NONE_KIND, NONE_SERVICE
from assistant.evaluate import v2_outcome
from assistant.nlu import detect_aspect
from assistant.ports import Caller
from assistant.reply import Reply
from assistant.retrieval import FEATURES, CaseIndex, _Postings
from assistant.text import normalize
from protocol.knowledge import default_knowledge
from tests.assistant.fakes import FakePort


def _reference_features(index: CaseIndex, norm: str, emb: np.ndarray, pi: np.ndarray, ps: np.ndarray,
                        pk: np.ndarray, aliases: list[str], aspect: str | None) -> np.ndarray:  # fmt: skip
    """The features as defined, one candidate at a time (slow, obvious)."""
    eps = 1e-6
    f = index.static.copy()
    none_p = ps[index.svc_col[NONE_SERVICE]]
    kind_none = pk[index.kind_col[NONE_KIND]] if NONE_KIND in index.kind_col else 1.0
    p_ask, p_oos = pi[index.int_col["ask_service"]], pi[index.int_col["out_of_scope"]]
    idx, vals = index.heads.ngrams.sparse_rows([norm])[0]
    dense = np.zeros(len(index.heads.ngrams.idf), np.float64)
    dense[idx] = vals
    aspect_kind = ASPECT_KIND.get(aspect) if aspect else None
    refs = set(index.referral_hits(norm))
    for ci, c in enumerate(index.candidates):
        docs = [k for k, o in enumerate(index.doc_owner) if o == ci]
        lex = [float(dense[i] @ v) for k in docs for i, v in [index.heads.ngrams.sparse_rows([index.doc_texts[k]])[0]]]
        f[ci, FEATURES.index("lex")] = max([0.0, *lex])
        f[ci, FEATURES.index("emb")] = max((float(index.doc_vecs[k] @ emb) for k in docs), default=0.0)
        if c.kind in ("referral", "oos"):
            f[ci, FEATURES.index("svc_logp")] = np.log(none_p + eps)
            f[ci, FEATURES.index("kind_logp")] = np.log(kind_none + eps)
            f[ci, FEATURES.index("intent_logp")] = np.log(p_oos + eps)
            f[ci, FEATURES.index("alias")] = float(c.id in refs)
            continue
        col = index.svc_col.get(c.service or "")
        f[ci, FEATURES.index("svc_logp")] = np.log((ps[col] if col is not None else 0.0) + eps)
        kcol = index.kind_col.get(c.kind)
        f[ci, FEATURES.index("kind_logp")] = np.log(pk[kcol] + eps) if kcol is not None else 0.0
        f[ci, FEATURES.index("intent_logp")] = np.log(p_ask + eps)
        f[ci, FEATURES.index("alias")] = float(c.service in aliases)
        f[ci, FEATURES.index("aspect")] = float(aspect_kind is not None and c.kind == aspect_kind)
    return f


@pytest.mark.parametrize(
    "question",
    ["KTP saya hilang, harus bagaimana?", "mau urus izin mendirikan bangunan", "berapa biaya paspor anak",
     "perpanjang sim c dimana ya", "halo"],
)  # fmt: skip
def test_vectorised_features_equal_the_per_candidate_definition(assistant: Assistant, question: str) -> None:
    nlu = assistant.nlu
    index = nlu.index
    assert index is not None
    norm = normalize(question)
    emb = nlu.embedder.encode([norm])
    pi, ps, pk = nlu.heads.predict_all(emb, [question])
    aliases = nlu.alias_hits(norm)
    aspect = detect_aspect(norm)
    fast = index.feature_matrix(norm, emb[0], pi[0], ps[0], pk[0], aliases, aspect)
    slow = _reference_features(index, norm, emb[0], pi[0], ps[0], pk[0], aliases, aspect)
    np.testing.assert_allclose(fast, slow, atol=1e-5)
    # The service mass from the full ranking equals the sum over its candidates.
    r = index.rank_features(fast)
    mass = r.service_probs(index)
    by_loop: dict[str, float] = {}
    for cid, p in zip(r.ids, r.probs, strict=True):
        key = index.by_id[cid].service or NONE_SERVICE
        by_loop[key] = by_loop.get(key, 0.0) + p
    assert mass.keys() == by_loop.keys()
    for k, v in by_loop.items():
        assert mass[k] == pytest.approx(v, abs=1e-9)


def test_postings_dot_equals_a_dense_product() -> None:
    rng = np.random.default_rng(1)
    n_feat = 50
    rows = []
    for _ in range(12):
        idx = np.sort(rng.choice(n_feat, size=int(rng.integers(0, 8)), replace=False)).astype(np.int64)
        rows.append((idx, rng.random(len(idx)).astype(np.float32)))
    post = _Postings(rows, n_feat)
    dense = np.zeros((len(rows), n_feat), np.float32)
    for d, (i, v) in enumerate(rows):
        dense[d, i] = v
    q_idx = np.array([0, 3, 7, 11, 49], np.int64)
    q_val = rng.random(len(q_idx)).astype(np.float32)
    q = np.zeros(n_feat, np.float32)
    q[q_idx] = q_val
    np.testing.assert_allclose(post.dot(q_idx, q_val), dense @ q, rtol=1e-6, atol=1e-7)
    assert post.dot(np.zeros(0, np.int64), np.zeros(0, np.float32)).tolist() == [0.0] * len(rows)


def test_a_referral_cue_is_found_only_on_word_boundaries(assistant: Assistant) -> None:
    index = assistant.nlu.index
    assert index is not None
    assert "ref.sim" in index.referral_hits(normalize("mau perpanjang SIM C"))
    assert "ref.sim" not in index.referral_hits(normalize("simpan berkasnya di map"))


def _ask(assistant: Assistant, text: str, tag: str) -> tuple[Reply, Conversation]:
    conv = Conversation(f"status-{tag}", Caller(session_id="s"), FakePort())
    return assistant.respond(conv, text), conv


def test_a_status_question_without_a_number_gets_the_service_status_case(assistant: Assistant) -> None:
    reply, conv = _ask(assistant, "Bagaimana cara mengetahui status paspor saya?", "paspor")
    case = default_knowledge().case("paspor.status")
    assert case is not None
    assert reply.intent == "check_status" and reply.service == "paspor" and reply.case == "paspor.status"
    assert case.answer.id in reply.text and "BWI-" in reply.text
    assert not reply.fallback and reply.citations
    # The next message may still be the tracking number: the dialogue waits for one.
    assert conv.tracker.expecting == "tracking_number"


def test_a_status_question_naming_no_service_asks_for_the_number(assistant: Assistant) -> None:
    reply, _ = _ask(assistant, "sudah sampai mana permohonan saya?", "none")
    assert reply.intent == "check_status" and reply.case is None
    assert "BWI-" in reply.text


def test_the_evaluation_counts_a_status_case_reply_as_an_answer(assistant: Assistant) -> None:
    out = v2_outcome(assistant, FakePort(), "Bagaimana cara mengetahui status paspor saya?", 99001, default_knowledge())
    assert out.kind == "answer" and out.case == "paspor.status" and out.checked and out.violations == 0


@pytest.mark.parametrize(
    ("question", "want"),
    [
        ("Do I need an NPWP to open a shop?", "ref.npwp"),
        ("kapan saya harus perpanjang SIM?", "ref.sim"),
        ("bagaimana cara melacak laporan polisi saya?", "ref.laporan-polisi"),
    ],
)
def test_a_referral_named_by_its_core_word_is_answered(assistant: Assistant, question: str, want: str) -> None:
    reply, _ = _ask(assistant, question, want)
    assert reply.case == want and not reply.fallback, (reply.case, reply.text[:80])


def test_moving_house_wording_is_the_moving_service_not_the_domicile_letter(assistant: Assistant) -> None:
    # "domisili" alone names the domicile letter; "perpindahan domisili" is moving house.
    assert assistant.nlu.alias_hits(normalize("syarat surat perpindahan domisili apa saja")) == ["pindah-datang"]
    assert assistant.nlu.alias_hits(normalize("syarat surat domisili apa saja")) == ["surat-domisili"]


def test_a_status_case_chosen_by_the_ranker_is_a_status_reply(assistant: Assistant) -> None:
    """The ranker's pick of a ``status`` case ("/case skck.status", a quick reply) answers like a status
    question: intent check_status, the invitation to send the BWI number, and the dialogue waiting for it."""
    reply, conv = _ask(assistant, "/case skck.status", "ranked")
    case = default_knowledge().case("skck.status")
    assert case is not None
    assert reply.intent == "check_status" and reply.service == "skck" and reply.case == "skck.status"
    assert case.answer.id in reply.text and "BWI-" in reply.text
    assert conv.tracker.expecting == "tracking_number"
    # Any other case keeps its own intent and its apply/queue buttons.
    other, conv2 = _ask(assistant, "/case skck.lost", "other")
    assert other.intent == "ask_service" and "BWI-" not in other.text
    assert {q.payload for q in other.quick_replies} >= {"/apply skck", "/queue skck"}
    assert conv2.tracker.expecting != "tracking_number"
