"""Guided mode without rendering: press counts, read-backs, repeat/back/officer, documents, the walk."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

from protocol.catalog import Localized, default_catalog
from protocol.forms import example_answers, validate_form
from world.guided import GuidedCallError, GuidedFlow, Step, counter_path_fn, expand_abbreviations

NIK = "3510014104900001"  # Banyuwangi, woman born 1 April 1990
NAME = "Siti Aminah"
KK = "3510010101200001"


class Fakes:
    """Stand-ins for the NetClient calls, recording what the flow sent."""

    def __init__(self) -> None:
        self.submitted: list[tuple[str, dict[str, Any]]] = []
        self.tickets: list[int] = []
        self.handoffs: list[dict[str, Any]] = []
        self.spoken: list[str] = []

    def submit(self, service_id: str, data: dict[str, Any]) -> dict[str, Any]:
        self.submitted.append((service_id, data))
        return {"tracking_number": "BWI-2026-000123", "state": "submitted"}

    def ticket(self, counter: int) -> dict[str, Any]:
        self.tickets.append(counter)
        return {"code": "A-012", "counter": counter}

    def handoff(self, context: dict[str, Any]) -> None:
        self.handoffs.append(context)


@pytest.fixture(scope="module")
def catalog():
    return default_catalog()


@pytest.fixture(scope="module")
def layout():
    from world.layout import load_layout

    return load_layout()


@pytest.fixture(scope="module")
def path_fn(layout):
    return counter_path_fn(layout)


def make(
    catalog, fakes: Fakes, *, identity: dict[str, str] | None = None, lang: str = "id", path_fn=None
) -> GuidedFlow:
    return GuidedFlow(
        catalog,
        lang=lang,
        identity={"nik": NIK, "name": NAME} if identity is None else identity,
        submit=fakes.submit,
        take_ticket=fakes.ticket,
        handoff=fakes.handoff,
        path_to_counter=path_fn,
        on_speak=fakes.spoken.append,
    )


def labels(step: Step) -> list[str]:
    return [b.label for b in step.buttons]


def test_lost_ktp_from_entrance_to_ticket_in_7_presses(catalog, path_fn) -> None:
    fakes = Fakes()
    flow = make(catalog, fakes, path_fn=path_fn)
    assert flow.step.kind == "greet" and flow.presses == 0
    assert any(label.startswith("KTP-el") for label in labels(flow.step))
    flow.press("service:ktp-el")  # 1: the big KTP-el button
    assert flow.step.kind == "purpose" and "Hilang" in labels(flow.step)
    flow.press("option:hilang")  # 2: why -> lost
    assert flow.step.kind == "requirements"
    flow.press("next")  # 3: understood the requirements
    assert flow.step.kind == "documents"
    flow.press("all_docs")  # 4: "Semua ada"
    assert flow.step.kind == "walk" and flow.step.path
    flow.arrived()  # the autopilot, not a press
    assert flow.step.kind == "identity" and "3510 0141 0490 0001" in flow.step.text and NAME in flow.step.text
    flow.press("yes")  # 5: pre-filled NIK and name are right
    assert flow.step.kind == "field" and flow.step.input is not None and flow.step.input.name == "kk_number"
    flow.enter(KK)  # 6: type the KK number
    # the one read-back of what was typed, on the step that sends
    assert flow.step.kind == "review" and "3510 0101 0120 0001" in flow.step.text
    assert "edit:kk_number" in flow.step.actions()
    step = flow.press("submit")  # 7: send and take a ticket
    assert step.kind == "ticket" and step.ticket == "A-012" and step.tracking == "BWI-2026-000123"
    assert flow.presses == 7
    assert fakes.tickets == [1]
    ((service_id, data),) = fakes.submitted
    assert service_id == "ktp-el"
    assert data == {"nik": NIK, "full_name": NAME, "reason": "hilang", "kk_number": KK}
    clean, errors = validate_form(catalog.service("ktp-el"), data)
    assert errors == {} and clean["reason"] == "hilang"
    assert "a nol satu dua" in step.speak and "A-012" in step.text
    # 7: the reminder names what to bring, including the police letter for a lost card.
    remind = flow.press("next")
    assert remind.kind == "remind"
    assert "Kartu Keluarga" in remind.text and "kehilangan dari kepolisian" in remind.text


def test_typing_ktp_hilang_at_the_greeting_skips_the_reason_question(catalog) -> None:
    fakes = Fakes()
    flow = make(catalog, fakes)
    assert flow.step.input is not None  # typing is optional but possible
    flow.enter("ktp saya hilang")
    assert flow.step.kind == "requirements" and flow.answers == {"reason": "hilang"}
    for action in ("next", "all_docs"):
        flow.press(action)
    flow.arrived()
    flow.press("yes")
    flow.enter(KK)
    assert flow.press("submit").kind == "ticket"
    assert flow.presses == 6


def test_unknown_typed_request_says_so_and_stays(catalog) -> None:
    flow = make(catalog, Fakes())
    step = flow.enter("asdfgh")
    assert step.kind == "greet" and "belum mengerti" in step.text
    assert flow.press("back").kind == "greet"  # nothing to go back to, and no crash


def test_ulangi_repeats_the_last_thing_said(catalog) -> None:
    fakes = Fakes()
    flow = make(catalog, fakes)
    flow.press("service:ktp-el")
    flow.press("option:hilang")
    before = flow.step
    said = list(fakes.spoken)
    step = flow.press("repeat")
    assert step == before
    assert fakes.spoken == [*said, said[-1]]
    assert "kehilangan dari kepolisian" in fakes.spoken[-1]
    assert flow.presses == 3  # repeating is a press too


def test_kembali_goes_back_exactly_one_step(catalog) -> None:
    flow = make(catalog, Fakes(), identity={})
    flow.press("service:ktp-el")
    flow.press("option:rusak")
    flow.press("next")
    assert flow.step.kind == "documents"
    assert flow.press("back").kind == "requirements"
    assert flow.press("back").kind == "purpose"
    assert flow.answers == {}
    flow.press("option:hilang")
    assert flow.answers == {"reason": "hilang"}
    flow.press("next")
    flow.press("all_docs")
    flow.arrived()
    assert flow.step.kind == "field" and flow.step.input is not None and flow.step.input.name == "nik"
    flow.enter(NIK)
    assert flow.step.kind == "field" and flow.step.input is not None and flow.step.input.name == "full_name"
    back = flow.press("back")
    assert back.kind == "field" and back.input is not None and back.input.name == "nik"
    assert "nik" not in flow.answers


def test_panggil_petugas_calls_the_handoff_and_can_return(catalog) -> None:
    fakes = Fakes()
    flow = make(catalog, fakes)
    flow.press("service:ktp-el")
    flow.press("option:hilang")
    flow.press("next")
    flow.press("one_by_one")
    flow.press("no")  # no KK
    step = flow.press("officer")
    assert step.kind == "handoff" and "Petugas sudah dipanggil" in step.text
    (ctx,) = fakes.handoffs
    assert ctx["service_id"] == "ktp-el" and ctx["counter"] == 1 and ctx["step"] == "doc"
    assert ctx["missing"] == ["Kartu Keluarga"]
    assert NIK not in repr(ctx)  # personal data does not travel with the handoff context
    assert flow.press("back").kind == "doc"


def test_officer_unreachable_sends_the_visitor_to_the_information_desk(catalog) -> None:
    def broken(_: dict[str, Any]) -> None:
        raise ConnectionError("down")

    flow = GuidedFlow(catalog, handoff=broken)
    step = flow.press("officer")
    assert step.kind == "handoff" and "meja Informasi" in step.text


def test_invalid_nik_is_asked_again_and_no_re_enters(catalog) -> None:
    flow = make(catalog, Fakes())
    flow.enter("ktp hilang")
    flow.press("next")
    flow.press("all_docs")
    flow.arrived()
    flow.press("no")  # the pre-filled data is not right: type it
    step = flow.step
    assert step.kind == "field" and step.input is not None and step.input.name == "nik"
    assert step.input.prefill == NIK
    presses = flow.presses
    bad = flow.enter("3510 12")
    assert bad.kind == "field" and bad.input is not None and bad.input.name == "nik"
    assert "16 digit" in bad.text and "ketik lagi" in bad.text
    assert "enam belas" in bad.speak  # the reason is spoken, in words
    assert flow.presses == presses + 1
    bad = flow.enter("3510011304900000")  # serial 0000
    assert bad.kind == "field" and "0000" in bad.text
    ok = flow.enter("3510011204900001")
    assert ok.kind == "field" and ok.input is not None and ok.input.name == "full_name"
    flow.enter(NAME)
    review = flow.enter(KK)
    assert review.kind == "review" and "NIK (Nomor Induk Kependudukan): 3510 0112 0490 0001." in review.text
    assert "tiga lima satu nol, nol satu satu dua, nol empat sembilan nol, nol nol nol satu" in review.speak
    again = flow.press("edit:nik")  # the read-back changes one field
    assert again.kind == "field" and again.input is not None and again.input.name == "nik"
    assert flow.enter("3510011204900001").kind == "review"
    assert flow.answers["nik"] == "3510011204900001" and flow.answers["full_name"] == NAME


def test_invalid_session_nik_is_not_prefilled(catalog) -> None:
    flow = make(catalog, Fakes(), identity={"nik": "1234", "full_name": NAME})
    flow.enter("ktp hilang")
    flow.press("next")
    flow.press("all_docs")
    step = flow.arrived()
    assert step.kind == "identity" and NAME in step.text and "1234" not in step.text
    flow.press("yes")
    assert flow.step.kind == "field" and flow.step.input is not None and flow.step.input.name == "nik"


def test_missing_documents_are_listed_exactly(catalog) -> None:
    fakes = Fakes()
    flow = make(catalog, fakes)
    flow.press("service:ktp-el")
    flow.press("option:hilang")
    flow.press("next")
    docs = flow.step
    assert docs.text.splitlines()[1:] == ["1. Kartu Keluarga", "2. Surat keterangan kehilangan dari kepolisian"]
    q1 = flow.press("one_by_one")
    assert q1.kind == "doc" and q1.text == "Apakah Anda membawa Kartu Keluarga?"
    flow.press("yes")
    flow.press("no")
    missing = flow.step
    assert missing.kind == "missing"
    assert missing.text.splitlines()[0] == "Yang belum ada: Surat keterangan kehilangan dari kepolisian."
    assert "Kartu Keluarga" not in missing.text
    assert flow.missing_documents == ["Surat keterangan kehilangan dari kepolisian"]
    flow.press("next")  # go to the counter anyway
    assert flow.step.kind == "walk"
    flow.arrived()
    flow.press("yes")
    flow.enter(KK)
    flow.press("yes")
    flow.press("submit")
    remind = flow.press("next")
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
def test_documents_follow_the_reason(catalog, purpose: str, docs: str) -> None:
    flow = make(catalog, Fakes())
    flow.press("service:ktp-el")
    flow.press(f"option:{purpose}")
    flow.press("next")
    flow.press("all_docs")
    assert flow.step.kind == "walk"
    assert flow.missing_documents == []
    flow.arrived()
    flow.press("yes")
    flow.enter(KK)
    flow.press("yes")
    flow.press("submit")
    remind = flow.press("next")
    assert remind.text.splitlines()[0] == f"Saat dipanggil, serahkan: {docs}."


def test_requirements_expand_abbreviations_and_drop_other_reasons(catalog) -> None:
    flow = make(catalog, Fakes())
    flow.press("service:ktp-el")
    req = flow.press("option:hilang")
    assert "NIK (Nomor Induk Kependudukan)" in req.text
    assert "KTP-el (Kartu Tanda Penduduk elektronik)" in req.text
    assert "Kartu Keluarga (KK)" in req.text and "KK (Kartu Keluarga)" not in req.text  # already spelled out
    assert "kehilangan dari kepolisian" in req.text
    assert "rusak" not in req.text and "perubahan" not in req.text.lower()
    assert "gratis" in req.text
    # Spoken: the written glosses are not read twice, and no digit is left for espeak.
    assert "(Kartu Tanda Penduduk elektronik)" not in req.speak
    assert "ka te pe elektronik" in req.speak
    assert not re.search(r"\d", req.speak)


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


def test_walk_path_goes_from_the_entrance_to_the_counter_approach_point(catalog, layout, path_fn) -> None:
    from world.nav import NavGrid

    grid = NavGrid.from_layout(layout)
    flow = make(catalog, Fakes(), path_fn=path_fn)
    flow.enter("ktp hilang")
    flow.press("next")
    walk = flow.press("all_docs")
    assert walk.kind == "walk" and walk.path is not None and walk.counter == 1
    assert walk.text.splitlines()[-1].startswith("Mari ikut saya. Kita ke Loket 1, Dukcapil.")
    start, goal = walk.path[0], walk.path[-1]
    assert math.dist(start, layout.spawn[:2]) < 1e-6
    assert math.dist(goal, layout.counter(1).approach) < 1e-6
    for a, b in zip(walk.path, walk.path[1:], strict=False):
        assert grid.line_free(a, b), (a, b)


def test_every_catalogue_counter_is_reachable_from_the_entrance(catalog, layout, path_fn) -> None:
    for service in catalog.services:
        path = path_fn(service.counter)
        assert path is not None, service.id
        assert math.dist(path[-1], layout.counter(service.counter).approach) < 0.5, service.id


def test_no_path_still_tells_where_to_go(catalog) -> None:
    flow = make(catalog, Fakes(), path_fn=lambda counter: None)
    flow.enter("ktp hilang")
    flow.press("next")
    walk = flow.press("all_docs")
    assert walk.kind == "walk" and walk.path is None and "Loket 1" in walk.text
    assert flow.press("arrived").kind == "identity"  # the visitor can say they are there


def test_actions_not_on_the_step_are_ignored_and_not_counted(catalog) -> None:
    flow = make(catalog, Fakes())
    assert flow.press("submit").kind == "greet"
    assert flow.press("option:hilang").kind == "greet"
    assert flow.press("service:no-such-service").kind == "greet"
    assert flow.arrived().kind == "greet"
    assert flow.press(["service:ktp-el"]).kind == "greet"  # type: ignore[arg-type]
    assert flow.enter(None).kind == "greet"  # type: ignore[arg-type]
    assert flow.enter("x" * 100_000).kind == "greet"  # counted (a typed entry), not understood, no crash
    flow.press("service:ktp-el")
    assert flow.enter("12345").kind == "purpose"  # no text box on this step
    assert flow.presses == 2


def test_submit_failure_can_be_retried_without_a_second_application(catalog) -> None:
    fakes = Fakes()
    attempts = {"n": 0}

    def flaky_ticket(counter: int) -> str:
        attempts["n"] += 1
        if attempts["n"] == 1:
            raise GuidedCallError(Localized(id="Antrean loket 1 sedang penuh.", en="Counter 1 queue is full."))
        return "A-013"

    flow = GuidedFlow(catalog, identity={"nik": NIK, "full_name": NAME}, submit=fakes.submit, take_ticket=flaky_ticket)
    flow.enter("ktp hilang")
    for action in ("next", "all_docs", "arrived", "yes"):
        flow.press(action)
    flow.enter(KK)
    flow.press("yes")
    failed = flow.press("submit")
    assert failed.kind == "failed" and "Antrean loket 1 sedang penuh." in failed.text
    ok = flow.press("submit")
    assert ok.kind == "ticket" and ok.ticket == "A-013"
    assert len(fakes.submitted) == 1  # the application was sent once; only the ticket was retried


def test_unexpected_error_gives_a_plain_message(catalog) -> None:
    def boom(service_id: str, data: dict[str, Any]) -> str:
        raise RuntimeError("HTTP 500")

    flow = GuidedFlow(catalog, identity={"nik": NIK, "full_name": NAME}, submit=boom, take_ticket=lambda c: "A-1")
    flow.enter("ktp hilang")
    for action in ("next", "all_docs", "arrived", "yes"):
        flow.press(action)
    flow.enter(KK)
    flow.press("yes")
    failed = flow.press("submit")
    assert failed.kind == "failed" and "500" not in failed.text and "Sambungan" in failed.text


def test_english_flow_speaks_english(catalog) -> None:
    fakes = Fakes()
    flow = make(catalog, fakes, lang="en")
    assert flow.step.title == "Welcome" and "Other" in labels(flow.step)
    flow.press("service:ktp-el")
    req = flow.press("option:hilang")
    assert "police report of loss" in req.text and "free of charge" in req.text
    for action in ("next", "all_docs"):
        flow.press(action)
    flow.arrived()
    flow.press("yes")
    flow.enter(KK)
    assert flow.step.text.startswith("Family card (KK) number: 3510 0101 0120 0001.\nPlease check what you typed")
    ticket = flow.press("submit")
    assert ticket.title == "Your queue number" and "A zero one two" in ticket.speak
    assert all(tool.label in {"Repeat", "Back", "Call an officer"} for tool in ticket.tools)


def test_every_step_has_the_always_available_buttons_and_spoken_text(catalog, path_fn) -> None:
    fakes = Fakes()
    flow = make(catalog, fakes, path_fn=path_fn)
    seen: list[Step] = [flow.step]
    flow.enter("ktp hilang")
    seen.append(flow.step)
    for action in ("next", "all_docs"):
        seen.append(flow.press(action))
    seen.append(flow.arrived())
    seen.append(flow.press("yes"))
    seen.append(flow.enter(KK))
    for action in ("submit", "next", "finish"):
        seen.append(flow.press(action))
    assert [s.kind for s in seen] == [
        "greet",
        "requirements",
        "documents",
        "walk",
        "identity",
        "field",
        "review",
        "ticket",
        "remind",
        "done",
    ]
    for step in seen:
        tools = {b.action for b in step.tools}
        assert {"repeat", "officer"} <= tools, step.kind
        if step.kind not in ("greet", "ticket", "remind", "done"):
            assert "back" in tools, step.kind
        assert step.title and step.text and step.speak, step.kind
        assert not re.search(r"\d", step.speak), (step.kind, step.speak)
        assert all(len(line) <= 200 for line in step.text.splitlines()), step.kind
    assert fakes.spoken[: len(seen)] == [s.speak for s in seen]


@pytest.mark.parametrize("service_id", [s.id for s in default_catalog().services])
def test_every_service_can_be_completed(catalog, service_id: str) -> None:
    """No service leaves the visitor stuck: required fields are asked one by one until the ticket."""
    fakes = Fakes()
    flow = GuidedFlow(
        catalog,
        identity={"nik": NIK, "full_name": NAME},
        submit=fakes.submit,
        take_ticket=fakes.ticket,
        top_services=[service_id],
    )
    service = catalog.service(service_id)
    answers = example_answers(service, NIK, NAME)
    flow.press(f"service:{service_id}")
    for _ in range(60):
        step = flow.step
        if step.kind == "ticket":
            break
        if step.kind == "purpose":
            flow.press(step.buttons[0].action)
        elif step.kind in ("requirements", "missing"):
            flow.press("next")
        elif step.kind == "documents":
            flow.press("all_docs")
        elif step.kind == "walk":
            flow.arrived()
        elif step.kind in ("identity", "confirm"):
            flow.press("yes")
        elif step.kind == "field" and step.input is not None:
            flow.enter(str(answers[step.input.name]))
        elif step.kind == "field":
            flow.press(step.buttons[0].action)
        elif step.kind == "review":
            flow.press("submit")
        else:
            pytest.fail(f"unexpected step {step.kind}")
    assert flow.step.kind == "ticket", flow.step
    ((sid, data),) = fakes.submitted
    assert sid == service_id and fakes.tickets == [service.counter]
    _, errors = validate_form(service, data)
    assert errors == {}
    assert set(data) == {f.name for f in service.form if f.required}


def _to_review(flow: GuidedFlow) -> None:
    flow.enter("ktp hilang")
    for action in ("next", "all_docs", "arrived", "yes"):
        flow.press(action)
    flow.enter(KK)
    flow.press("yes")
    assert flow.step.kind == "review"


def test_async_mode_waits_for_the_view_to_deliver_answers(catalog) -> None:
    """The hall's NetClient answers later: the flow shows "sending" and names the request to send."""
    flow = GuidedFlow(catalog, identity={"nik": NIK, "full_name": NAME})
    _to_review(flow)
    sending = flow.press("submit")
    assert sending.kind == "sending" and not sending.buttons and "back" not in {b.action for b in sending.tools}
    assert flow.pending is not None and flow.pending.kind == "submit" and flow.pending.service_id == "ktp-el"
    assert flow.pending.data == {"nik": NIK, "full_name": NAME, "reason": "hilang", "kk_number": KK}
    assert flow.resolve("ticket", {"code": "A-001"}).kind == "sending"  # not what was asked: ignored
    assert flow.resolve("submit", {"tracking_number": "BWI-2026-000777"}).kind == "sending"
    assert flow.pending is not None and flow.pending.kind == "ticket" and flow.pending.counter == 1
    flow.reject("ticket", Localized(id="Loket sedang tutup.", en="The counter is closed."))
    assert flow.step.kind == "failed" and "Loket sedang tutup." in flow.step.text and flow.pending is None
    assert flow.press("submit").kind == "sending"
    assert flow.pending is not None and flow.pending.kind == "ticket"  # the application is not sent twice
    ticket = flow.resolve("ticket", {"code": "A-012", "counter": 1})
    assert ticket.kind == "ticket" and ticket.ticket == "A-012" and ticket.tracking == "BWI-2026-000777"
    assert flow.pending is None and flow.presses == 8  # 7 + the retry


def test_a_reply_without_a_tracking_number_is_a_failure_not_a_crash(catalog) -> None:
    flow = GuidedFlow(catalog, identity={"nik": NIK, "full_name": NAME})
    _to_review(flow)
    flow.press("submit")
    assert flow.resolve("submit", {"detail": "weird"}).kind == "failed"
    assert flow.press("back").kind == "review"


def test_name_mismatch_offers_the_officer_and_the_fields_not_a_retry(catalog) -> None:
    """Issue 14: a failure the visitor cannot fix alone offers the officer instead of "Coba lagi"."""
    fakes = Fakes()
    sent = {"n": 0}

    def mismatch(service_id: str, data: dict[str, Any]) -> dict[str, Any]:
        sent["n"] += 1
        if data.get("full_name") != "Budi Santoso":
            raise GuidedCallError(
                Localized(id="Nama tidak cocok dengan data NIK ini.", en="The name does not match."), retry=False
            )
        return fakes.submit(service_id, data)

    flow = GuidedFlow(catalog, identity={}, submit=mismatch, take_ticket=fakes.ticket, handoff=fakes.handoff)
    flow.enter("ktp hilang")
    for action in ("next", "all_docs", "arrived"):
        flow.press(action)
    for value in (NIK, NAME, KK):
        flow.enter(value)
        flow.press("yes")
    failed = flow.press("submit")
    actions = [b.action for b in failed.buttons]
    assert failed.kind == "failed" and "tidak cocok" in failed.text
    assert "submit" not in actions and "officer" in actions and "edit:full_name" in actions
    field = flow.press("edit:full_name")
    assert field.kind == "field" and field.input is not None and field.input.name == "full_name"
    flow.enter("Budi Santoso")
    flow.press("yes")
    assert flow.press("submit").kind == "ticket" and sent["n"] == 2


def test_officer_words_are_a_spoken_step_with_a_way_back(catalog) -> None:
    fakes = Fakes()
    flow = make(catalog, fakes)
    flow.enter("ktp hilang")
    before = flow.step.kind
    assert flow.press("officer").kind == "handoff" and fakes.handoffs
    step = flow.officer_connected("Rina Petugas", 1)
    assert step.kind == "officer" and "Rina Petugas" in step.text and "Loket 1" in step.text
    step = flow.officer_said("Selamat pagi Ibu, saya bantu dari sini.", "Rina Petugas")
    assert step.kind == "officer" and step.title == "Petugas Rina Petugas"
    assert "Selamat pagi Ibu" in step.text and "Selamat pagi Ibu" in fakes.spoken[-1]
    assert [b.action for b in step.buttons] == ["back"]
    assert flow.press("back").kind == before  # back to where the visit was, not to the previous line


def test_identity_unknown_lost_ktp_is_5_presses_plus_typed_fields_with_one_read_back(catalog) -> None:
    """Issue 14 target: <= 10 presses plus the typed NIK and name, one read-back for all typed fields."""
    fakes = Fakes()
    flow = make(catalog, fakes, identity={})
    kinds = [flow.step.kind]
    for action in ("service:ktp-el", "option:hilang", "next", "all_docs"):
        kinds.append(flow.press(action).kind)
    kinds.append(flow.arrived().kind)
    for value in (NIK, NAME, KK):
        kinds.append(flow.enter(value).kind)
    assert kinds.count("review") == 1 and "confirm" not in kinds
    assert flow.press("submit").kind == "ticket"
    assert flow.presses == 8 and flow.presses - 3 <= 10  # 5 presses + 3 typed entries
    assert fakes.submitted[0][1] == {"nik": NIK, "full_name": NAME, "reason": "hilang", "kk_number": KK}
