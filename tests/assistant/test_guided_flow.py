"""The guided visit step by step (ported from the hall's old flow tests): documents, read-backs, back,
repeat, officer, failures, every service to a ticket. The loop is the server's; clients only draw it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from assistant.core import Conversation
from assistant.dialogue.guided import GuidedLoop, GuidedRefused, expand_abbreviations
from assistant.ports import Caller, PortError, SubmitResult, TicketResult
from protocol.catalog import default_catalog
from protocol.forms import example_answers, validate_form
from protocol.guided import GuidedStep
from tests.assistant.fakes import FakePort
from tests.assistant.test_guided_loop import Visitor

NIK = "3510014104900001"  # Banyuwangi, woman born 1 April 1990
NAME = "Siti Aminah"
KK = "3510010101200001"
KNOWN = Caller(session_id="s-1", citizen_id=3, nik=NIK, name=NAME)
_n = iter(range(10**6))


@pytest.fixture(scope="module")
def loop() -> GuidedLoop:
    return GuidedLoop(default_catalog())


def visit(loop: GuidedLoop, port: FakePort | None = None, caller: Caller | None = KNOWN, lang: str = "id") -> Visitor:
    conv = Conversation(f"g-{next(_n)}", caller or Caller(session_id="s-1"), port or FakePort())
    return Visitor(loop, conv, lang)


def labels(step: GuidedStep) -> list[str]:
    return [c.label for c in step.choices]


def ids(step: GuidedStep) -> list[str]:
    return [c.id for c in step.choices]


def test_lost_ktp_from_entrance_to_ticket_in_7_presses(loop: GuidedLoop) -> None:
    port = FakePort()
    v = visit(loop, port)
    assert v.step.kind == "greet" and v.step.presses == 0
    assert any(label.startswith("KTP-el") for label in labels(v.step))
    assert v.press("service:ktp-el").kind == "purpose" and "Hilang" in labels(v.step)
    assert v.press("option:hilang").kind == "requirements"
    assert v.press("next").kind == "documents"
    assert v.press("all_docs").kind == "walk" and v.step.counter == 1
    v.press("arrived", auto=True)  # the autopilot, not a press
    assert v.step.kind == "identity" and "3510 0141 0490 0001" in v.step.text and NAME in v.step.text
    assert v.press("yes").kind == "field" and v.step.field and v.step.field.name == "kk_number"
    v.type(KK)  # the one read-back of what was typed, on the step that sends
    assert v.step.kind == "check" and "3510 0101 0120 0001" in v.step.text and "edit:kk_number" in ids(v.step)
    step = v.press("submit")
    assert step.kind == "ticket" and step.ticket == port.tickets[0].code and step.presses == 7
    assert step.tracking and step.tracking in step.text and step.ticket in step.text
    ((_, sent),) = [c for c in port.calls if c[0] == "submit"]
    assert sent["service"] == "ktp-el"
    assert sent["data"] == {"nik": NIK, "full_name": NAME, "reason": "hilang", "kk_number": KK}
    clean, errors = validate_form(default_catalog().service("ktp-el"), sent["data"])
    assert errors == {} and clean["reason"] == "hilang"
    remind = v.press("next")
    assert remind.kind == "remind"
    assert "Kartu Keluarga" in remind.text and "kehilangan dari kepolisian" in remind.text


def test_typing_ktp_hilang_at_the_greeting_skips_the_reason_question(loop: GuidedLoop) -> None:
    v = visit(loop)
    assert v.step.field is not None and v.step.field.optional  # typing is optional but possible
    assert v.type("ktp saya hilang").kind == "requirements"
    for choice in ("next", "all_docs"):
        v.press(choice)
    v.press("arrived", auto=True)
    v.press("yes")
    v.type(KK)
    assert v.press("submit").kind == "ticket" and v.step.presses == 6


def test_unknown_typed_request_says_so_and_stays(loop: GuidedLoop) -> None:
    v = visit(loop)
    step = v.type("asdfgh")
    assert step.kind == "greet" and "belum mengerti" in step.note and step.tone == "problem"
    assert "back" not in {t.id for t in step.tools}  # nothing to go back to
    with pytest.raises(GuidedRefused):
        v.press("back")


def test_ulangi_repeats_the_last_thing_said(loop: GuidedLoop) -> None:
    v = visit(loop)
    v.press("service:ktp-el")
    before = v.press("option:hilang")
    again = v.press("repeat")
    assert again.repeat and (again.kind, again.text, again.speak) == (before.kind, before.text, before.speak)
    assert "kehilangan dari kepolisian" in again.speak
    assert again.presses == 3  # repeating is a press too


def test_kembali_goes_back_exactly_one_step(loop: GuidedLoop) -> None:
    v = visit(loop, caller=None)
    v.press("service:ktp-el")
    v.press("option:rusak")
    v.press("next")
    assert v.step.kind == "documents"
    assert v.press("back").kind == "requirements"
    assert v.press("back").kind == "purpose"
    v.press("option:hilang")
    v.press("next")
    v.press("all_docs")
    v.press("arrived", auto=True)
    assert v.step.kind == "field" and v.step.field and v.step.field.name == "nik"
    v.type(NIK)
    assert v.step.field and v.step.field.name == "full_name"
    back = v.press("back")
    assert back.kind == "field" and back.field and back.field.name == "nik" and back.field.prefill == ""
    assert "3510" not in back.text


def test_panggil_petugas_calls_the_handoff_and_can_return(loop: GuidedLoop) -> None:
    port = FakePort()
    v = visit(loop, port)
    v.press("service:ktp-el")
    v.press("option:hilang")
    v.press("next")
    v.press("each_doc")
    v.press("havenot")  # no KK
    step = v.press("officer")
    assert step.kind == "officer" and "Petugas sedang dipanggil" in step.text and step.tone == "officer"
    (h,) = port.handoffs
    said = " ".join(t["text"] for t in h["transcript"])
    assert "Kartu Keluarga" in said and h["transcript"][-1]["service"] == "ktp-el"
    assert NIK not in repr(h)  # personal data does not travel with the handoff
    assert v.press("back_to_step").kind == "doc"


def test_officer_unreachable_sends_the_visitor_to_the_information_desk(loop: GuidedLoop) -> None:
    class Down(FakePort):
        def request_handoff(self, caller: Caller, conversation_id: str, transcript: list[dict[str, Any]]) -> Any:
            raise PortError("unavailable", "Tidak tersedia.", "Unavailable.")

    v = visit(loop, Down())
    step = v.press("officer")
    assert step.kind == "officer" and "meja Informasi" in step.text and step.tone == "officer"


def test_invalid_nik_is_asked_again_and_no_re_enters(loop: GuidedLoop) -> None:
    v = visit(loop)
    v.type("ktp hilang")
    v.press("next")
    v.press("all_docs")
    v.press("arrived", auto=True)
    v.press("no")  # the pre-filled data is not right: type it
    assert v.step.kind == "field" and v.step.field and v.step.field.name == "nik" and v.step.field.prefill == NIK
    presses = v.step.presses
    bad = v.type("3510 12")
    assert bad.kind == "field" and bad.field and bad.field.name == "nik"
    assert "16 digit" in bad.note and "ketik lagi" in bad.note and "16 digit" in bad.speak
    assert bad.presses == presses + 1
    bad = v.type("3510011304900000")  # serial 0000
    assert bad.kind == "field" and "0000" in bad.note
    ok = v.type("3510011204900001")
    assert ok.kind == "field" and ok.field and ok.field.name == "full_name"
    v.type(NAME)
    check = v.type(KK)
    assert check.kind == "check" and "NIK (Nomor Induk Kependudukan): 3510 0112 0490 0001." in check.text
    again = v.press("edit:nik")  # the read-back changes one field
    assert again.kind == "field" and again.field and again.field.name == "nik"
    assert v.type("3510011204900001").kind == "check"


def test_invalid_session_nik_is_not_prefilled(loop: GuidedLoop) -> None:
    v = visit(loop, caller=Caller(session_id="s", citizen_id=9, nik="1234", name=NAME))
    v.type("ktp hilang")
    v.press("next")
    v.press("all_docs")
    step = v.press("arrived", auto=True)
    assert step.kind == "identity" and NAME in step.text and "1234" not in step.text
    v.press("yes")
    assert v.step.kind == "field" and v.step.field and v.step.field.name == "nik"


def test_missing_documents_are_listed_exactly(loop: GuidedLoop) -> None:
    v = visit(loop)
    v.press("service:ktp-el")
    v.press("option:hilang")
    docs = v.press("next")
    assert docs.text.splitlines()[1:] == ["1. Kartu Keluarga", "2. Surat keterangan kehilangan dari kepolisian"]
    q1 = v.press("each_doc")
    assert q1.kind == "doc" and q1.text == "Apakah Anda membawa Kartu Keluarga?"
    v.press("have")
    missing = v.press("havenot")
    assert missing.kind == "missing"
    assert missing.text.splitlines()[0] == "Yang belum ada: Surat keterangan kehilangan dari kepolisian."
    assert "Kartu Keluarga" not in missing.text
    assert v.press("next").kind == "walk"  # go to the counter anyway
    v.press("arrived", auto=True)
    v.press("yes")
    v.type(KK)
    v.press("submit")
    remind = v.press("next")
    assert "Saat dipanggil, serahkan: Kartu Keluarga." in remind.text
    assert "Yang belum Anda punya: Surat keterangan kehilangan dari kepolisian." in remind.text


@pytest.mark.parametrize(
    ("purpose", "docs"),
    [
        ("baru", "Kartu Keluarga"),
        ("hilang", "Kartu Keluarga; Surat keterangan kehilangan dari kepolisian"),
        ("rusak", "Kartu Keluarga; KTP-el (Kartu Tanda Penduduk elektronik) yang rusak"),
        ("perubahan_data", "Kartu Keluarga; Dokumen pendukung perubahan data"),
    ],
)
def test_documents_follow_the_reason(loop: GuidedLoop, purpose: str, docs: str) -> None:
    v = visit(loop)
    v.press("service:ktp-el")
    v.press(f"option:{purpose}")
    v.press("next")
    v.press("all_docs")
    v.press("arrived", auto=True)
    v.press("yes")
    v.type(KK)
    v.press("submit")
    remind = v.press("next")
    assert remind.text.splitlines()[0] == f"Saat dipanggil, serahkan: {docs}."


def test_requirements_expand_abbreviations_and_drop_other_reasons(loop: GuidedLoop) -> None:
    v = visit(loop)
    v.press("service:ktp-el")
    req = v.press("option:hilang")
    assert "NIK (Nomor Induk Kependudukan)" in req.text
    assert "KTP-el (Kartu Tanda Penduduk elektronik)" in req.text
    assert "Kartu Keluarga (KK)" in req.text and "KK (Kartu Keluarga)" not in req.text  # already spelled out
    assert "kehilangan dari kepolisian" in req.text
    assert "rusak" not in req.text and "perubahan" not in req.text.lower()
    assert "gratis" in req.text
    # Spoken: the written glosses are not read twice, and the list bullets are not read at all.
    assert "(Kartu Tanda Penduduk elektronik)" not in req.speak and "•" not in req.speak


@pytest.mark.parametrize(
    ("text", "lang", "expanded"),
    [
        ("Bawa KK dan KTP-el", "id", "Bawa KK (Kartu Keluarga) dan KTP-el (Kartu Tanda Penduduk elektronik)"),
        ("SKCK untuk melamar kerja", "id", "SKCK (Surat Keterangan Catatan Kepolisian) untuk melamar kerja"),
        ("Fotokopi KK, KK asli", "id", "Fotokopi KK (Kartu Keluarga), KK asli"),  # only the first time
        ("Kartu Keluarga (KK)", "id", "Kartu Keluarga (KK)"),
        ("KKN dan KTP-el", "id", "KKN dan KTP-el (Kartu Tanda Penduduk elektronik)"),
        ("Bring the KK", "en", "Bring the KK (family card)"),
        ("NIK/KTP-el pemilik", "id", "NIK (Nomor Induk Kependudukan)/KTP-el (Kartu Tanda Penduduk elektronik) pemilik"),
    ],
)
def test_expand_abbreviations(text: str, lang: str, expanded: str) -> None:
    assert expand_abbreviations(text, lang) == expanded


def test_submit_failure_can_be_retried_without_a_second_application(loop: GuidedLoop) -> None:
    class Flaky(FakePort):
        n = 0

        def take_ticket(self, caller: Caller, counter: int) -> TicketResult:
            self.n += 1
            if self.n == 1:
                raise PortError("queue_full", "Antrean loket 1 sedang penuh.", "Counter 1 queue is full.")
            return super().take_ticket(caller, counter)

    port = Flaky()
    v = visit(loop, port)
    v.type("ktp hilang")
    for choice in ("next", "all_docs", "arrived", "yes"):
        v.press(choice)
    v.type(KK)
    failed = v.press("submit")
    assert failed.kind == "failed" and "Antrean loket 1 sedang penuh." in failed.note
    assert {"retry", "officer"} <= set(ids(failed))
    ok = v.press("retry")
    assert ok.kind == "ticket" and ok.ticket
    assert [c[0] for c in port.calls].count("submit") == 1  # sent once; only the ticket was retried


def test_resubmitting_uses_one_idempotency_key(loop: GuidedLoop) -> None:
    class Lost(FakePort):
        n = 0

        def submit_application(self, caller: Caller, service_id: str, data: dict[str, Any], key: str) -> SubmitResult:
            self.n += 1
            out = super().submit_application(caller, service_id, data, key)
            if self.n == 1:  # stored, but the answer was lost on the way
                raise PortError("unavailable", "Sambungan terputus.", "Connection lost.")
            return out

    port = Lost()
    v = visit(loop, port)
    v.type("ktp hilang")
    for choice in ("next", "all_docs", "arrived", "yes"):
        v.press(choice)
    v.type(KK)
    assert v.press("submit").kind == "failed"
    assert v.press("retry").kind == "ticket"
    keys = [c[1]["key"] for c in port.calls if c[0] == "submit"]
    assert len(keys) == 2 and keys[0] == keys[1] and len(port.applications) == 1


def test_english_visit_speaks_english(loop: GuidedLoop) -> None:
    v = visit(loop, lang="en")
    assert v.step.title == "Welcome" and "Other" in labels(v.step)
    v.press("service:ktp-el")
    req = v.press("option:hilang")
    assert "police report of loss" in req.text and "free of charge" in req.text
    for choice in ("next", "all_docs"):
        v.press(choice)
    v.press("arrived", auto=True)
    v.press("yes")
    v.type(KK)
    assert "Family card (KK) number: 3510 0101 0120 0001." in v.step.text
    ticket = v.press("submit")
    assert ticket.title == "Your queue number" and "Please take a seat" in ticket.speak
    assert {t.label for t in ticket.tools} <= {"Repeat", "Back", "Call an officer"}


def test_every_step_has_the_always_available_buttons_and_spoken_text(loop: GuidedLoop) -> None:
    v = visit(loop)
    seen = [v.step, v.type("ktp hilang")]
    seen += [v.press(c) for c in ("next", "all_docs")]
    seen.append(v.press("arrived", auto=True))
    seen.append(v.press("yes"))
    seen.append(v.type(KK))
    seen += [v.press(c) for c in ("submit", "next", "done")]
    kinds = ["greet", "requirements", "documents", "walk", "identity", "field", "check", "ticket", "remind", "done"]
    assert [s.kind for s in seen] == kinds
    for step in seen:
        tools = {t.id for t in step.tools}
        assert {"repeat", "officer"} <= tools, step.kind
        if step.kind not in ("greet", "ticket", "remind", "done"):
            assert "back" in tools, step.kind
        assert step.title and step.text and step.speak, step.kind
        assert all(len(line) <= 200 for line in step.text.splitlines()), step.kind
    assert seen[-1].final and not any(s.final for s in seen[:-1])
    assert [s.step_id for s in seen] == sorted({s.step_id for s in seen})  # every step a new id


@pytest.mark.parametrize("service_id", [s.id for s in default_catalog().services])
def test_every_service_can_be_completed(service_id: str) -> None:
    """No service leaves the visitor stuck: required fields are asked one by one until the ticket."""
    catalog = default_catalog()
    loop = GuidedLoop(catalog, top_services=[service_id])
    port = FakePort()
    v = visit(loop, port)
    service = catalog.service(service_id)
    answers = example_answers(service, NIK, NAME)
    v.press(f"service:{service_id}")
    for _ in range(60):
        step = v.step
        if step.kind == "ticket":
            break
        if step.kind in ("purpose",) or (step.kind == "field" and step.field is None):
            v.press(step.choices[0].id)
        elif step.kind in ("requirements", "missing"):
            v.press("next")
        elif step.kind == "documents":
            v.press("all_docs")
        elif step.kind == "walk":
            v.press("arrived", auto=True)
        elif step.kind == "identity":
            v.press("yes")
        elif step.kind == "field" and step.field is not None:
            v.type(str(answers[step.field.name]))
        elif step.kind in ("check", "review"):
            v.press("submit")
        else:
            pytest.fail(f"unexpected step {step.kind}: {step.note}")
    assert v.step.kind == "ticket", v.step
    ((_, sent),) = [c for c in port.calls if c[0] == "submit"]
    assert sent["service"] == service_id and [t.counter for t in port.tickets] == [service.counter]
    _, errors = validate_form(service, sent["data"])
    assert errors == {}
    assert set(sent["data"]) == {f.name for f in service.form if f.required}


def test_name_mismatch_offers_the_officer_and_the_fields_not_a_retry(loop: GuidedLoop) -> None:
    """Issue 14: a failure the visitor cannot fix alone offers the officer instead of "Coba lagi"."""

    class Mismatch(FakePort):
        def submit_application(self, caller: Caller, service_id: str, data: dict[str, Any], key: str) -> SubmitResult:
            if data.get("full_name") != "Budi Santoso":
                raise PortError("identity_mismatch", "Nama tidak cocok dengan data NIK ini.", "No match.")
            return super().submit_application(caller, service_id, data, key)

    port = Mismatch()
    v = visit(loop, port, caller=Caller(session_id="s", citizen_id=4, nik=None, name=None))
    v.type("ktp hilang")
    for choice in ("next", "all_docs", "arrived"):
        v.press(choice)
    for value in (NIK, NAME, KK):
        v.type(value)
    failed = v.press("submit")
    assert failed.kind == "mismatch" and "tidak cocok" in failed.note
    assert "retry" not in ids(failed) and "submit" not in ids(failed)
    assert ids(failed)[0] == "officer" and "edit:full_name" in ids(failed)
    field = v.press("edit:full_name")
    assert field.kind == "field" and field.field and field.field.name == "full_name"
    assert v.type("Budi Santoso").kind == "check"
    assert v.press("submit").kind == "ticket"


def test_identity_unknown_lost_ktp_counts_and_reads_back_once(loop: GuidedLoop) -> None:
    """Issue 14 target: <= 10 presses plus the typed NIK, name and code; one read-back for every typed field."""
    port = FakePort()
    v = visit(loop, port, caller=None)
    kinds = [v.step.kind]
    kinds += [v.press(c).kind for c in ("service:ktp-el", "option:hilang", "next", "all_docs")]
    kinds.append(v.press("arrived", auto=True).kind)
    kinds += [v.type(value).kind for value in (NIK, NAME, KK)]
    kinds.append(v.press("submit").kind)
    kinds.append(v.type("siti@example.com").kind)
    code = next(iter(port.codes.values()))[0]
    kinds.append(v.type(code).kind)
    assert kinds.count("check") == 1 and kinds[-1] == "ticket"
    assert v.step.presses == 10
    assert not re.search(r"\d{16}", " ".join(s.text for s in [v.step]))  # the ticket step repeats no NIK
