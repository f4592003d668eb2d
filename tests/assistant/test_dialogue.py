"""Dialogue: grounded answers, follow-ups, forms, checklist, status, ticket, handoff, resume."""

from __future__ import annotations

from assistant.core import Assistant, Conversation
from assistant.dialogue.tracker import CONFIRM
from assistant.ports import Caller
from protocol.catalog import default_catalog
from protocol.knowledge import default_knowledge
from protocol.messages import ChatReply
from tests.assistant.fakes import FakePort

NIK = "3510011201900001"
KK = "3510010101200001"


def _slots(conv: Conversation) -> dict[str, object]:
    assert conv.tracker.loop is not None
    return dict(conv.tracker.loop.slots)


def _in(conv: Conversation, loop: str) -> bool:
    return conv.tracker.loop is not None and conv.tracker.loop.loop == loop


def say(assistant: Assistant, conv: Conversation, *texts: str):  # type: ignore[no-untyped-def]
    reply = None
    for t in texts:
        reply = assistant.respond(conv, t)
    return reply


def test_grounded_answer_has_source_and_converts_to_frame(assistant: Assistant, conv: Conversation) -> None:
    r = say(assistant, conv, "syarat bikin KTP apa aja?")
    assert r.intent == "ask_service" and r.service == "ktp-el" and r.aspect == "requirements"
    # v2: the answer is the knowledge-base case, ending with that case's own source line.
    case = default_knowledge().case(r.case)
    assert case is not None and r.case == "ktp-el.requirements"
    assert f"Sumber: {case.source.legal_basis} · diperiksa {case.source.checked:%Y-%m}" in r.text
    frame = r.to_frame(conv.id)
    assert isinstance(frame, ChatReply)
    assert frame.citations[0].service_id == "ktp-el"
    assert any(q.payload == "/apply ktp-el" for q in frame.quick_replies)


def test_follow_up_keeps_the_service(assistant: Assistant, conv: Conversation) -> None:
    say(assistant, conv, "syarat bikin KTP apa aja?")
    r = say(assistant, conv, "kalau hilang bagaimana?")
    assert (r.service, r.aspect) == ("ktp-el", "lost_damaged")
    assert "kepolisian" in r.text


def test_english_question_gets_english_answer(assistant: Assistant, conv: Conversation) -> None:
    r = say(assistant, conv, "how much does a passport cost?")
    assert r.lang == "en" and r.service == "paspor"
    assert "Source:" in r.text and "Sumber" not in r.text
    assert "Rp350.000" in r.text


def test_out_of_scope_says_it_does_not_know_and_offers_officer(assistant: Assistant, conv: Conversation) -> None:
    r = say(assistant, conv, "resep rendang yang enak")
    assert r.fallback and r.service is None
    assert any(q.payload == "/officer" for q in r.quick_replies)
    assert "tidak tahu" in r.text


def test_low_confidence_asks_instead_of_guessing(assistant: Assistant, conv: Conversation) -> None:
    r = say(assistant, conv, "berapa biayanya?")  # an aspect but no service and no context
    assert r.fallback and r.service is None
    assert r.quick_replies and all(q.payload.startswith(("/ask", "/officer")) for q in r.quick_replies)


def test_form_happy_path_submits_with_idempotency_key(assistant: Assistant, conv: Conversation, port: FakePort) -> None:
    r = say(assistant, conv, "mau bikin KTP baru")
    assert r.intent == "start_application" and any(a.kind == "open_form" for a in r.actions)
    r = say(assistant, conv, NIK, "nama saya Siti Aminah", "Baru", KK, "lewati")
    assert "Mohon periksa" in r.text and "3510********0001" in r.text and "Siti Aminah" in r.text
    r = say(assistant, conv, "ya")
    assert "BWI-" in r.text
    submit = [c for c in port.calls if c[0] == "submit"][0][1]
    assert submit["service"] == "ktp-el"
    assert submit["data"] == {"nik": NIK, "full_name": "Siti Aminah", "reason": "baru", "kk_number": KK}
    assert submit["key"] == f"{conv.id}:form:1"
    assert any(a.kind == "show_application" for a in r.actions)


def test_invalid_nik_is_reasked(assistant: Assistant, conv: Conversation, port: FakePort) -> None:
    say(assistant, conv, "/apply ktp-el")
    r = say(assistant, conv, "12345")
    assert r.text.startswith("Maaf") and "16 digit" in r.text
    assert conv.tracker.loop is not None and conv.tracker.loop.requested == "nik"
    r = say(assistant, conv, NIK)
    assert "Nama lengkap" in r.text


def test_correction_back_repeat_and_cancel(assistant: Assistant, conv: Conversation, port: FakePort) -> None:
    say(assistant, conv, "/apply ktp-el", NIK, "Siti Amina")
    r = say(assistant, conv, "bukan, namanya Siti Aminah")
    assert _slots(conv)["full_name"] == "Siti Aminah"
    assert "Alasan" in r.text
    r = say(assistant, conv, "ulangi")
    assert "Alasan" in r.text
    r = say(assistant, conv, "kembali")
    assert "Nama lengkap" in r.text
    r = say(assistant, conv, "batal")
    assert "dibatalkan" in r.text and conv.tracker.loop is None
    assert "submit" not in port.names()


def test_correction_at_read_back(assistant: Assistant, conv: Conversation, port: FakePort) -> None:
    say(assistant, conv, "/apply ktp-el", NIK, "Siti Amina", "hilang", KK, "lewati")
    r = say(assistant, conv, "bukan, namanya Siti Aminah")
    assert "Siti Aminah" in r.text and conv.tracker.loop is not None and conv.tracker.loop.requested == CONFIRM
    say(assistant, conv, "ya")
    assert [c for c in port.calls if c[0] == "submit"][0][1]["data"]["full_name"] == "Siti Aminah"


def test_resume_after_restart(assistant: Assistant, port: FakePort) -> None:
    conv = Conversation("restart-1", Caller(session_id="s"), port)
    say(assistant, conv, "/apply ktp-el", NIK)
    # The server restarts: a new Assistant (same weights) and a new Conversation over the same event log.
    fresh = Assistant(assistant.nlu, assistant.catalog, assistant.nlu.heads.meta)
    conv2 = Conversation("restart-1", Caller(session_id="s"), port)
    assert _slots(conv2) == {"nik": NIK}
    r = say(fresh, conv2, "ulangi")
    assert "Nama lengkap" in r.text
    r = say(fresh, conv2, "Budi Santoso", "rusak", KK, "lewati", "ya")
    assert "BWI-" in r.text


def test_checklist_then_ticket(assistant: Assistant, conv: Conversation, port: FakePort) -> None:
    r = say(assistant, conv, "ambil antrean ktp")
    assert "Kartu Keluarga" in r.text
    r = say(assistant, conv, "tidak")
    for _ in range(3):
        if not _in(conv, "checklist"):
            break
        r = say(assistant, conv, "ya")
    assert "belum lengkap" in r.text and "Kartu Keluarga" in r.text
    assert not port.tickets
    r = say(assistant, conv, "/ticket ktp-el")
    assert port.tickets and port.tickets[0].code == "A-001"
    assert {a.kind for a in r.actions} == {"show_ticket", "walk_to_counter"}


def test_status_only_for_own_applications(assistant: Assistant, port: FakePort) -> None:
    mine = Conversation("st-1", Caller(session_id="a"), port)
    say(assistant, mine, "/apply ktp-el", NIK, "Siti Aminah", "baru", KK, "lewati", "ya")
    tracking = port.calls[-1][1] and next(iter(port.applications))
    r = say(assistant, mine, f"cek status {tracking}")
    assert r.intent == "check_status" and tracking in r.text
    assert any(a.kind == "show_application" for a in r.actions)
    other = Conversation("st-2", Caller(session_id="b"), port)
    r = say(assistant, other, f"cek status {tracking}")
    assert "tidak ditemukan" in r.text and not r.actions


def test_handoff_sends_transcript(assistant: Assistant, conv: Conversation, port: FakePort) -> None:
    say(assistant, conv, "syarat skck apa")
    r = say(assistant, conv, "saya mau bicara dengan petugas")
    assert r.intent == "talk_to_officer" and r.actions[0].kind == "handoff"
    transcript = port.handoffs[0]["transcript"]
    assert (transcript[0]["role"], transcript[0]["text"]) == ("citizen", "syarat skck apa")
    assert transcript[1]["role"] == "assistant" and transcript[1]["service"] == "skck"


def test_office_hours_from_catalogue(assistant: Assistant, conv: Conversation) -> None:
    r = say(assistant, conv, "mpp buka jam berapa?")
    assert r.intent == "office_hours" and "15.30" in r.text and r.citations


def test_garbage_input_does_not_crash(assistant: Assistant, conv: Conversation) -> None:
    for text in ["", "   ", "\x00\x01", "/", "/apply nope", "a" * 5000, "🙂🙂🙂"]:
        r = assistant.respond(conv, text)
        assert isinstance(r.text, str) and r.text


def test_village_form_resubmits_cleanly_and_context_starts_the_form(
    assistant: Assistant, conv: Conversation, port: FakePort
) -> None:
    say(assistant, conv, "surat domisili itu apa")
    r = say(assistant, conv, "mau ajukan")
    assert r.service == "surat-domisili" and any(a.kind == "open_form" for a in r.actions)
    r = say(assistant, conv, "3510015201900002", "Rina Wati", "desa Atlantis")
    assert r.text.startswith("Maaf") and "Atlantis" in r.text
    r = say(assistant, conv, "Kemiren", "Jl. Mawar 1 RT 2", "buka rekening")
    assert "Kemiren, Glagah" in r.text
    r = say(assistant, conv, "bukan, desanya Olehsari")
    assert "Olehsari, Glagah" in r.text
    r = say(assistant, conv, "ya")
    assert "BWI-" in r.text
    assert port.calls[-1][1]["data"]["village"] == "Olehsari"


def test_completeness_question_runs_the_checklist(assistant: Assistant, conv: Conversation, port: FakePort) -> None:
    say(assistant, conv, "syarat skck apa saja")
    r = say(assistant, conv, "apakah dokumen saya sudah lengkap?")
    assert _in(conv, "checklist") and r.service == "skck"
    while _in(conv, "checklist"):
        r = say(assistant, conv, "ya")
    assert "lengkap" in r.text and not port.tickets
    assert any(q.payload == "/ticket skck" for q in r.quick_replies)


def test_form_in_english_with_date_and_select(assistant: Assistant, conv: Conversation, port: FakePort) -> None:
    r = say(assistant, conv, "I want to register my baby's birth certificate")
    assert r.lang == "en" and r.service == "akta-kelahiran"
    r = say(assistant, conv, NIK, "Siti Aminah", "Budi", "12 Januari 2024", "Banyuwangi", "2")
    assert "Proof of birth" in r.text
    data = _slots(conv)
    assert data["birth_date"] == "2024-01-12" and data["child_sex"] == "P"


def test_corrupt_event_log_resets_instead_of_crashing(assistant: Assistant, port: FakePort) -> None:
    port.conversations["bad-1"] = [
        {"kind": "assistant", "text": "x", "state": {"mode": "form", "form": {"service": "gone", "idx": 9, "data": {}}}}
    ]
    conv = Conversation("bad-1", Caller(session_id="s"), port)
    r = assistant.respond(conv, "Siti")
    assert r.fallback and conv.tracker.loop is None
    r = assistant.respond(conv, "syarat skck")
    assert r.service == "skck"


def test_queue_at_an_agency_offers_only_its_services(assistant: Assistant, conv: Conversation) -> None:
    r = say(assistant, conv, "minta nomor antrian buat loket dukcapil")
    assert r.intent == "take_queue" and r.service is None
    offered = {q.payload.split()[1] for q in r.quick_replies if q.payload.startswith("/queue")}
    assert offered and offered <= {
        "ktp-el",
        "kartu-keluarga",
        "kia",
        "pindah-datang",
        "akta-kelahiran",
        "akta-kematian",
    }


def test_random_input_in_every_mode_never_crashes(assistant: Assistant, port: FakePort) -> None:
    import random

    rng = random.Random(7)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789 /-.,?!ÄéğĞ漢字🙂\t\n"
    starts = [[], ["/apply akta-kelahiran"], ["/queue ktp-el"], ["cek status"], ["/apply nib", NIK, "Siti"]]
    for k, start in enumerate(starts):
        conv = Conversation(f"fuzz-{k}", Caller(session_id="s"), port)
        if start:
            say(assistant, conv, *start)
        for _ in range(12):
            text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))
            r = assistant.respond(conv, text)
            assert r.text and r.to_frame(conv.id).text


def test_identified_citizen_is_not_asked_for_nik_and_name(assistant: Assistant, port: FakePort) -> None:
    conv = Conversation("ident-1", Caller(session_id="s", citizen_id=7, nik=NIK, name="Siti Aminah"), port)
    r = say(assistant, conv, "/apply ktp-el")
    assert "(3/5)" in r.text and "Alasan" in r.text and "identitas sesi" in r.text
    r = say(assistant, conv, "baru", KK, "lewati")
    assert "3510********0001" in r.text and "Siti Aminah" in r.text
    say(assistant, conv, "ya")
    assert "identify" not in port.names()
    assert port.calls[-1][1]["data"]["nik"] == NIK


def test_yes_to_the_officer_offer_hands_off(assistant: Assistant, conv: Conversation, port: FakePort) -> None:
    r = say(assistant, conv, "cara bikin sim c gimana")
    # v2: a SIM question gets the referral (where to go instead), which also offers an officer.
    assert (r.fallback or r.case == "ref.sim") and r.offer == "officer" and "petugas" in r.text
    r = say(assistant, conv, "iya")
    assert r.intent == "talk_to_officer" and port.handoffs


def test_other_text_after_the_officer_offer_is_routed_normally(assistant: Assistant, conv: Conversation) -> None:
    say(assistant, conv, "cara bikin sim c gimana")
    r = say(assistant, conv, "syarat skck apa saja")
    assert r.service == "skck" and r.aspect == "requirements"


def test_values_in_the_opening_message_fill_the_form(assistant: Assistant, conv: Conversation) -> None:
    r = say(assistant, conv, f"mau daftar akta kelahiran anak, NIK saya {NIK}, bayi lahir 12 Januari 2024")
    assert r.service == "akta-kelahiran" and "Dari pesan Anda" in r.text
    data = _slots(conv)
    assert data == {"nik": NIK, "birth_date": "2024-01-12"}
    assert "(2/7)" in r.text


def test_what_is_the_mpp_lists_agencies_and_services_then_hours(assistant: Assistant, conv: Conversation) -> None:
    catalog = default_catalog()
    r = say(assistant, conv, "MPP itu apa? ada layanan apa saja?")
    assert r.intent == "office_hours" and r.citations
    for agency in catalog.agencies:
        assert agency.short in r.text
    for svc in catalog.services:
        assert svc.short_name.id in r.text
    assert "15.30" in r.text and r.text.index("Dukcapil") < r.text.index("15.30")
    # A plain hours question stays short: no list of agencies.
    r = say(assistant, conv, "mpp buka jam berapa?")
    assert r.intent == "office_hours" and "Polresta" not in r.text and "15.30" in r.text
    # English too.
    r = say(assistant, conv, "what services can I get here?")
    assert r.intent == "office_hours" and "Passport" in r.text and "Imigrasi" in r.text
