"""The guided visit as a loop of the dialogue engine: steps, presses, effects through the port, refusals."""

from __future__ import annotations

import itertools
import re

import pytest

from assistant.core import Conversation
from assistant.dialogue.guided import GuidedLoop, GuidedRefused
from assistant.ports import Caller, PortError, TicketResult
from protocol.catalog import default_catalog
from protocol.guided import GuidedStep
from protocol.messages import server_adapter
from tests.assistant.fakes import FakePort

NIK = "3510011204900001"
KK = "3510010101900001"
_ids = itertools.count()


@pytest.fixture(scope="module")
def loop() -> GuidedLoop:
    return GuidedLoop(default_catalog())


def _conv(port: FakePort, caller: Caller | None = None, cid: str | None = None) -> Conversation:
    return Conversation(cid or f"g-{next(_ids)}", caller or Caller(session_id="s-1"), port)


class Visitor:
    """Presses like a client would: always answering the step it was shown last."""

    def __init__(self, loop: GuidedLoop, conv: Conversation, lang: str = "id") -> None:
        self.loop, self.conv = loop, conv
        self.step = loop.start(conv, lang)

    def press(self, choice: str, auto: bool = False) -> GuidedStep:
        self.step = self.loop.choose(self.conv, self.step.step_id, choice, None, auto)
        return self.step

    def type(self, value: str) -> GuidedStep:
        self.step = self.loop.choose(self.conv, self.step.step_id, None, value)
        return self.step

    def reload(self) -> Visitor:
        """A new connection on the same conversation: the visit is folded again from the log."""
        self.conv = Conversation(self.conv.id, self.conv.caller, self.conv.port)
        self.step = self.loop.start(self.conv)
        return self


def _to_lost_ktp_walk(v: Visitor) -> None:
    assert v.step.kind == "greet" and v.step.presses == 0
    assert v.press("service:ktp-el").kind == "purpose"
    assert v.press("option:hilang").kind == "requirements"
    assert "kehilangan" in v.step.text.lower() and "Kartu Keluarga" in v.step.text
    assert v.press("next").kind == "documents"
    assert v.press("all_docs").kind == "walk"
    assert v.step.counter == 1 and "Loket 1" in v.step.text


def test_identity_known_lost_ktp_to_a_real_ticket_in_7_presses(loop: GuidedLoop) -> None:
    port = FakePort()
    caller = Caller(session_id="s-1", citizen_id=7, nik=NIK, name="Budi Santoso")
    v = Visitor(loop, _conv(port, caller))
    _to_lost_ktp_walk(v)
    assert v.press("arrived", auto=True).kind == "identity"  # the walk ends by itself: not a press
    assert "3510 0112 0490 0001" in v.step.text and v.step.presses == 4
    assert v.press("yes").kind == "field" and v.step.field is not None and v.step.field.name == "kk_number"
    assert v.type(KK).kind == "check" and "3510 0101 0190 0001" in v.step.text
    assert v.press("submit").kind == "ticket"
    assert v.step.presses == 7 and v.step.ticket == port.tickets[0].code and v.step.tracking
    assert [c[0] for c in port.calls] == ["submit"]  # no second factor for a proven session
    sent = port.calls[0][1]
    assert sent["data"]["reason"] == "hilang" and sent["data"]["nik"] == NIK and sent["data"]["kk_number"] == KK
    assert v.press("next").kind == "remind" and "Kartu Keluarga" in v.step.text
    assert v.press("done").final


def test_identity_unknown_goes_through_the_code_in_10_presses(loop: GuidedLoop) -> None:
    port = FakePort()
    v = Visitor(loop, _conv(port))
    _to_lost_ktp_walk(v)
    assert v.press("arrived", auto=True).kind == "field" and v.step.field and v.step.field.name == "nik"
    assert v.type("3510 0152 0490 0004").kind == "field"  # spaces forgiven
    assert v.type("Sri Wahyuni").kind == "field"
    assert v.type("3510010101900004").kind == "check"
    assert "3510 0152 0490 0004" in v.step.text and "Sri Wahyuni" in v.step.text
    assert v.press("submit").kind == "contact" and v.step.field and v.step.field.kind == "contact"
    assert v.type("sri@example.com").kind == "code"
    assert v.step.field is not None and v.step.field.autocomplete == "one-time-code"
    v.type("000000")  # a wrong code: the same step, what was typed read back, styled as a problem
    assert v.step.kind == "code" and "0 0 0 0 0 0" in v.step.note and v.step.tone == "problem"
    code = next(iter(port.codes.values()))[0]
    assert v.type(code).kind == "ticket"
    assert v.step.presses == 11  # 10 + the wrong code
    assert port.applications and next(iter(port.applications.values()))["owner"] == "3510015204900004"


def test_bad_typed_value_is_refused_on_the_same_step_with_the_reason(loop: GuidedLoop) -> None:
    v = Visitor(loop, _conv(FakePort()))
    _to_lost_ktp_walk(v)
    v.press("arrived", auto=True)
    before = v.step.presses
    v.type("1234")
    assert v.step.kind == "field" and v.step.field and v.step.field.name == "nik"
    assert "16" in v.step.note and v.step.tone == "problem" and v.step.presses == before + 1
    v.press("back")  # Kembali from the NIK goes to the documents, not into the walk again
    assert v.step.kind == "documents"


def test_back_repeat_and_edit_from_the_read_back(loop: GuidedLoop) -> None:
    v = Visitor(loop, _conv(FakePort()))
    v.press("service:ktp-el")
    v.press("option:rusak")
    assert "kehilangan" not in v.step.text.lower()
    assert v.press("back").kind == "purpose"
    v.press("option:hilang")
    n = v.step.presses
    again = v.press("repeat")
    assert again.kind == "requirements" and again.repeat and again.presses == n + 1 and again.text
    v.press("next")
    v.press("each_doc")
    assert v.step.kind == "doc"
    v.press("have")
    v.press("havenot")
    assert v.step.kind == "missing" and "kehilangan" in v.step.text.lower()
    v.press("next")
    v.press("arrived")
    v.type(NIK)
    v.type("Siti Aminah")
    v.type(KK)
    assert v.step.kind == "check" and {c.id for c in v.step.choices} >= {"submit", "edit:nik", "edit:full_name"}
    v.press("edit:full_name")
    assert v.step.kind == "field" and v.step.field and v.step.field.name == "full_name"
    assert v.type("Siti Aminah Rahayu").kind == "check"  # straight back to the one read-back
    assert "Siti Aminah Rahayu" in v.step.text


def test_the_visit_resumes_from_the_event_log(loop: GuidedLoop) -> None:
    port = FakePort()
    v = Visitor(loop, _conv(port))
    v.press("service:ktp-el")
    v.press("option:hilang")
    shown = v.step
    v.reload()
    assert (v.step.kind, v.step.step_id, v.step.presses, v.step.text) == (
        shown.kind, shown.step_id, shown.presses, shown.text,
    )  # fmt: skip
    assert v.press("next").kind == "documents"


def test_bad_choices_are_refused_with_a_code_and_change_nothing(loop: GuidedLoop) -> None:
    v = Visitor(loop, _conv(FakePort()))
    sid = v.step.step_id
    with pytest.raises(GuidedRefused) as e:
        loop.choose(v.conv, sid, "option:hilang", None)  # not offered on the greeting
    assert e.value.code == "guided_unknown_choice"
    with pytest.raises(GuidedRefused) as e:
        loop.choose(v.conv, sid + 5, "more", None)
    assert e.value.code == "guided_out_of_order"
    with pytest.raises(GuidedRefused) as e:
        loop.choose(v.conv, sid, "more", "typed too")
    assert e.value.code == "guided_bad_choice"
    with pytest.raises(GuidedRefused) as e:
        loop.choose(v.conv, sid, "more", None, auto=True)  # only the walk ends by itself
    assert e.value.code == "guided_bad_choice"
    v.press("service:ktp-el")
    with pytest.raises(GuidedRefused) as e:
        loop.choose(v.conv, v.step.step_id, None, "hilang")  # nothing to type on the purpose step
    assert e.value.code == "guided_no_field"
    with pytest.raises(GuidedRefused) as e:
        loop.choose(_conv(FakePort()), 0, "more", None)
    assert e.value.code == "guided_not_started"
    assert v.reload().step.kind == "purpose" and v.step.presses == 1


def test_typed_request_at_the_greeting(loop: GuidedLoop) -> None:
    v = Visitor(loop, _conv(FakePort()))
    assert v.type("ktp saya hilang").kind == "requirements" and v.step.service_id == "ktp-el"
    w = Visitor(loop, _conv(FakePort()))
    assert w.type("resep rendang").kind == "greet" and w.step.tone == "problem" and w.step.presses == 1


def test_officer_steps_are_large_spoken_and_never_errors(loop: GuidedLoop) -> None:
    port = FakePort()
    v = Visitor(loop, _conv(port))
    v.press("service:ktp-el")
    v.press("officer")
    assert v.step.kind == "officer" and v.step.tone == "officer" and v.step.handoff_id == 1
    assert port.handoffs[0]["conversation_id"] == v.conv.id and port.handoffs[0]["transcript"]
    step = loop.officer_connected(v.conv, "Rina Petugas", 1)
    assert "Rina Petugas" in step.text and "Loket 1" in step.text and step.speak and step.tone == "officer"
    step = loop.officer_said(v.conv, "Selamat pagi Ibu, saya bantu dari sini.", "Rina Petugas")
    assert step.kind == "officer_says" and step.text == "Selamat pagi Ibu, saya bantu dari sini."
    assert step.title.endswith("Rina Petugas") and "Selamat pagi" in step.speak
    assert [c.id for c in step.choices] == ["back_to_step"] and "officer" in {t.id for t in step.tools}
    v.step = step
    v.press("officer")  # pressed again: the same request, not a second one
    assert len(port.handoffs) == 1
    assert v.press("back_to_step").kind == "purpose"  # back to where the visit was


def test_a_mismatch_the_visitor_cannot_fix_offers_the_officer(loop: GuidedLoop) -> None:
    class Mismatch(FakePort):
        def submit_application(self, caller, service_id, data, idempotency_key):  # type: ignore[no-untyped-def]
            raise PortError("identity_mismatch", "Nama tidak cocok.", "The name does not match.")

    port = Mismatch()
    caller = Caller(session_id="s-1", citizen_id=7, nik=NIK, name="Budi Santoso")
    v = Visitor(loop, _conv(port, caller))
    _to_lost_ktp_walk(v)
    v.press("arrived")
    v.press("yes")
    v.type(KK)
    v.press("submit")
    assert v.step.kind == "mismatch" and "retry" not in {c.id for c in v.step.choices}
    assert v.step.choices[0].id == "officer" and v.step.choices[0].primary
    assert v.press("officer").kind == "officer" and port.handoffs


def test_a_held_ticket_is_shown_not_an_error(loop: GuidedLoop) -> None:
    class Held(FakePort):
        def take_ticket(self, caller: Caller, counter: int) -> TicketResult:
            raise PortError("ticket_exists", "Sudah punya A-004.", "Already hold A-004.", {"ticket": "A-004"})

    caller = Caller(session_id="s-1", citizen_id=7, nik=NIK, name="Budi Santoso")
    v = Visitor(loop, _conv(Held(), caller))
    _to_lost_ktp_walk(v)
    v.press("arrived")
    v.press("yes")
    v.type(KK)
    assert v.press("submit").kind == "ticket" and v.step.ticket == "A-004"


def test_english_steps_and_the_frame_round_trips(loop: GuidedLoop) -> None:
    v = Visitor(loop, _conv(FakePort()), lang="en")
    assert v.step.title == "Welcome" and {t.label for t in v.step.tools} >= {"Repeat", "Call an officer"}
    frame = server_adapter.validate_json(v.step.model_dump_json())
    assert isinstance(frame, GuidedStep) and frame.protocol_version >= 2 and frame.type == "guided.step"


def test_every_string_is_behind_the_localizer() -> None:
    """No sentence is written inside the loop: visitor-facing text is l10n.t("guided.<id>") from the catalogues."""
    import ast
    import inspect

    import l10n
    from assistant.dialogue import guided

    source = inspect.getsource(guided)
    tree = ast.parse(source)
    skip: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            skip.add(id(body[0].value))  # docstrings
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("GuidedRefused", "PortError"):
            skip.update(id(a) for a in ast.walk(node))  # protocol error texts, for developers
    sentences = [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in skip
        and len(n.value.split()) >= 3 and re.search(r"[a-z]{3}", n.value)
    ]  # fmt: skip
    assert sentences == []
    keys = set(re.findall(r"""["'](guided\.[a-z_]+)["']""", source))
    assert len(keys) > 60
    for lang in ("id", "en"):
        missing = [k for k in keys if not l10n.has(k, lang)]
        assert missing == [], (lang, missing)
    assert all(l10n.has(f"guided.gloss.{a}", "en") for a in guided.ABBREVIATIONS)
    assert guided.expand_abbreviations("Bawa KK asli", "en") == "Bawa KK (family card) asli"
