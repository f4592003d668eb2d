"""The dialogue loops: questions inside a form, loose choices, relative dates, edits at the
read-back, submissions from elsewhere, long messages; and a property test over any input."""

from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.core import MAX_TEXT, Assistant, Conversation
from assistant.dialogue.values import match_option, relative_date
from assistant.ports import Caller
from protocol.catalog import default_catalog
from tests.assistant.fakes import FakePort

NIK = "3510011201900001"
KK = "3510010101200001"
_ids = itertools.count()


def say(assistant: Assistant, conv: Conversation, *texts: str):  # type: ignore[no-untyped-def]
    reply = None
    for t in texts:
        reply = assistant.respond(conv, t)
    return reply


def submitted(port: FakePort) -> list[dict[str, object]]:
    return [c[1] for c in port.calls if c[0] == "submit"]


def test_question_in_a_form_is_answered_and_the_field_asked_again(
    assistant: Assistant, conv: Conversation, port: FakePort
) -> None:
    r = say(assistant, conv, "/apply skck", "syaratnya apa aja?")
    assert "Pas foto" in r.text or "KTP" in r.text.split("(1/5)")[0]  # the requirements of SKCK
    assert r.text.rstrip().endswith("NIK?") and "Maaf" not in r.text
    r = say(assistant, conv, NIK, "berapa biayanya?")
    assert "Rp" in r.text and "(2/5) Nama lengkap?" in r.text
    r = say(assistant, conv, "Siti Aminah")
    assert "(3/5)" in r.text  # the question was not taken as the name
    assert not submitted(port)


def test_ya_does_not_pick_lainnya(assistant: Assistant, conv: Conversation) -> None:
    r = say(assistant, conv, "/apply skck", NIK, "Siti Aminah", "ya")
    assert "(3/5)" in r.text and "(4/5)" not in r.text
    r = say(assistant, conv, "ya", "Lainnya", "Banyuwangi", "081234567890")
    assert "Keperluan SKCK: Lainnya" in r.text


def test_melamar_kerja_picks_melamar_pekerjaan(assistant: Assistant, conv: Conversation, port: FakePort) -> None:
    r = say(assistant, conv, "/apply skck", NIK, "Siti Aminah", "melamar kerja", "Banyuwangi", "081234567890")
    assert "Keperluan SKCK: Melamar pekerjaan" in r.text
    say(assistant, conv, "ya")
    assert submitted(port)[0]["data"]["purpose"] == "melamar_kerja"  # type: ignore[index]


def test_kemarin_is_a_date(assistant: Assistant, conv: Conversation, port: FakePort) -> None:
    r = say(assistant, conv, "/apply akta-kelahiran", NIK, "Siti Aminah", "Budi", "kemarin")
    assert "(5/7)" in r.text
    from protocol.clock import office_today

    yesterday = office_today() - dt.timedelta(days=1)  # the citizen's (WIB) yesterday
    say(assistant, conv, "Banyuwangi", "laki-laki", "surat dokter", "ya")
    assert submitted(port)[0]["data"]["birth_date"] == yesterday.isoformat()  # type: ignore[index]


def test_no_and_a_field_name_at_the_read_back_asks_that_field_with_edit_buttons(
    assistant: Assistant, conv: Conversation, port: FakePort
) -> None:
    say(assistant, conv, "/apply ktp-el", NIK, "Siti Amina", "hilang", KK, "lewati")
    r = say(assistant, conv, "tidak, namanya salah")
    assert "Nama lengkap?" in r.text
    payloads = {q.payload for q in r.quick_replies}
    assert {"/edit nik", "/edit reason", "/edit kk_number"} <= payloads
    r = say(assistant, conv, "Siti Aminah")
    assert "Mohon periksa" in r.text and "Nama lengkap: Siti Aminah" in r.text
    say(assistant, conv, "ya")
    assert submitted(port)[0]["data"]["full_name"] == "Siti Aminah"  # type: ignore[index]


def test_submitted_from_the_form_panel_closes_the_chat_form(
    assistant: Assistant, conv: Conversation, port: FakePort
) -> None:
    """Hall: the panel submitted while the chat asked "(1/5) NIK?"; then Batal must not say nothing was sent."""
    say(assistant, conv, "/apply ktp-el")
    result = port.submit_application(
        conv.caller, "ktp-el", {"nik": NIK, "full_name": "Siti Aminah", "reason": "hilang", "kk_number": KK}, "panel-1"
    )
    r = say(assistant, conv, f"/submitted ktp-el {result.tracking_number}")
    assert result.tracking_number in r.text and "NIK?" not in r.text
    r = say(assistant, conv, "/cancel")
    assert "Tidak ada yang dikirim" not in r.text and result.tracking_number in r.text
    r = say(assistant, conv, NIK)
    assert "(2/5)" not in r.text


def test_name_mismatch_offers_the_officer_and_the_fields(assistant: Assistant, conv: Conversation) -> None:
    port = conv.port
    assert isinstance(port, FakePort)
    port.identify(Caller(session_id="other"), NIK, "Budi Santoso")  # this NIK belongs to Budi
    r = say(assistant, conv, "/apply ktp-el", NIK, "Siti Aminah", "hilang", KK, "lewati", "ya")
    payloads = {q.payload for q in r.quick_replies}
    assert "/officer" in payloads and "/edit full_name" in payloads
    assert not submitted(port)


def test_long_message_is_answered_from_its_end(assistant: Assistant, conv: Conversation) -> None:
    story = "Saya sudah datang kemarin tapi antre lama sekali. " * 60
    r = say(assistant, conv, story + "Berapa biaya paspor?")
    assert len(story) > MAX_TEXT
    assert r.service == "paspor" and "Rp" in r.text and str(MAX_TEXT) in r.text


def test_long_message_in_a_form_is_refused_clearly(assistant: Assistant, conv: Conversation) -> None:
    say(assistant, conv, "/apply ktp-el")
    r = say(assistant, conv, "1" * (MAX_TEXT + 5))
    assert f"lebih dari {MAX_TEXT} karakter" in r.text and "NIK?" in r.text
    assert "digit" not in r.text  # not validated as a cut-off NIK


def test_match_option_never_on_a_piece_of_a_word() -> None:
    cat = default_catalog()
    purpose = next(f for f in cat.service("skck").form if f.name == "purpose")
    assert match_option(purpose.options, "ya") is None
    assert match_option(purpose.options, "lain") is None or match_option(purpose.options, "lain") == "lainnya"
    assert match_option(purpose.options, "melamar kerja") == "melamar_kerja"
    assert match_option(purpose.options, "2") == "cpns_asn"
    assert match_option(purpose.options, "sekolah") == "sekolah"
    reason = next(f for f in cat.service("kartu-keluarga").form if f.name == "reason")
    assert match_option(reason.options, "baru") is None  # two options say "baru": ask, don't guess
    assert match_option(reason.options, "baru menikah") == "baru_menikah"


def test_relative_dates() -> None:
    today = dt.date(2026, 3, 1)
    assert relative_date("kemarin", today) == dt.date(2026, 2, 28)
    assert relative_date("hari ini", today) == today
    assert relative_date("2 hari lalu", today) == dt.date(2026, 2, 27)
    assert relative_date("yesterday", today) == dt.date(2026, 2, 28)
    assert relative_date("sebulan", today) is None


# ------------------------------------------------------------------ property

INPUTS = st.sampled_from(
    [NIK, "Siti Aminah", "hilang", "baru", KK, "lewati", "ya", "tidak", "kembali", "ulangi", "batal",
     "syaratnya apa aja?", "berapa biayanya?", "tidak, namanya salah", "bukan, namanya Budi Santoso",
     "/edit reason", "/edit full_name", "/yes", "/no", "/back", "/skip", "/cancel", "12345", "kemarin", "", "?"]
)  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(INPUTS, min_size=1, max_size=14))
def test_any_inputs_submit_once_or_not_at_all_and_leave_a_next_step(assistant: Assistant, inputs: list[str]) -> None:
    port = FakePort()
    conv = Conversation(f"prop-{next(_ids)}", Caller(session_id="s"), port)
    r = assistant.respond(conv, "/apply ktp-el")
    for text in inputs:
        r = assistant.respond(conv, text)
        assert r.text.strip()
        assert r.quick_replies or r.actions, (text, r.text)  # always a next step
    subs = submitted(port)
    assert len(subs) <= 1
    if subs:
        assert subs[0]["key"] == f"{conv.id}:form:1"
        assert any(e.get("kind") == "submitted" for e in port.conversations[conv.id])
    # The log folds back to the same state: a restart resumes exactly here.
    again = Conversation(conv.id, conv.caller, port)
    assert again.tracker.loop == conv.tracker.loop


def test_a_conversation_stored_before_typed_events_resumes(assistant: Assistant, port: FakePort) -> None:
    """Logs written by the previous engine kept a state snapshot in each reply: a half-filled form resumes."""
    port.conversations["legacy-1"] = [
        {"kind": "user", "text": "/apply ktp-el"},
        {"kind": "assistant", "text": "(1/5) NIK?", "lang": "id", "state": {
            "lang": "id", "last_service": "ktp-el", "last_aspect": None, "mode": "form", "checklist": None,
            "form": {"service": "ktp-el", "idx": 1, "data": {"nik": NIK}, "seq": 1}, "forms_started": 1,
            "pending": None, "identity": None}},
    ]  # fmt: skip
    conv = Conversation("legacy-1", Caller(session_id="s"), port)
    assert conv.tracker.loop is not None and conv.tracker.loop.slots == {"nik": NIK}
    r = assistant.respond(conv, "Siti Aminah")
    assert "(3/5)" in r.text
    r = say(assistant, conv, "hilang", KK, "lewati", "ya")
    assert "BWI-" in r.text and submitted(port)[0]["key"] == "legacy-1:form:1"
