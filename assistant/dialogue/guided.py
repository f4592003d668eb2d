"""The guided visit as a loop of the dialogue engine: one big step at a time, driven by the server.

The hall and the 2D page only draw the ``guided.step`` frames built here and send back the
visitor's ``guided.choose``; no flow and no strings live in either client. The visit is folded
from typed events in the conversation's event log (``LoopStarted("guided")``, ``GuidedChose``,
``GuidedOutcome``, ``Identified``, ``OfficerSaid``), so a reconnect resumes it exactly, and every
press is counted here: the press count a client shows is the server's.

From the entrance to a queue ticket for a lost KTP-el: 7 presses when the identity is known, 10
when it is not (NIK, name and KK number typed, then the second factor: a contact and the code),
with one read-back of everything typed. Effects (the code, the application, the ticket, the
officer) go through the ``ServicePort``; a failure the visitor cannot fix alone offers the officer.

All user-facing strings are in ``MESSAGES`` (one table keyed by message id), so moving them
behind the localizer is mechanical.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from assistant.dialogue.tracker import (
    ContextSet,
    GuidedChose,
    GuidedOutcome,
    Identified,
    LoopStarted,
    OfficerSaid,
    event_from_dict,
)
from assistant.ports import PortError
from protocol.catalog import Catalog, FormField, Localized, Service
from protocol.forms import FieldError, validate_field
from protocol.guided import GuidedChoice, GuidedField, GuidedStep

if TYPE_CHECKING:
    from assistant.core import Conversation

__all__ = ["GLOSSARY", "MESSAGES", "TOP_SERVICES", "GuidedLoop", "GuidedRefused", "Visit", "expand_abbreviations"]

log = logging.getLogger(__name__)

TOP_SERVICES = ("ktp-el", "kartu-keluarga", "akta-kelahiran", "kia", "skck", "paspor")

# Select fields that say *why* someone comes (new, lost, damaged...): asked right after the
# service because the documents to bring depend on the answer.
PURPOSE_FIELDS = ("reason", "application_type", "request_type", "direction", "service_type")
IDENTITY_FIELDS = ("nik", "full_name")
CONTACT_FIELDS = ("phone", "email")

# Words of option labels too common to tell options apart ("Kartu", "pertama kali"...).
_WEAK_WORDS = frozenset({"kartu", "untuk", "pertama", "first", "card", "time", "baru", "data"})

# Officers' abbreviations with the plain words an elderly visitor understands.
GLOSSARY: list[tuple[str, str, str]] = [
    ("KTP-el", "Kartu Tanda Penduduk elektronik", "electronic ID card"),
    ("e-KTP", "Kartu Tanda Penduduk elektronik", "electronic ID card"),
    ("SKPWNI", "Surat Keterangan Pindah WNI", "moving-out certificate"),
    ("SPTJM", "Surat Pernyataan Tanggung Jawab Mutlak", "signed statement of responsibility"),
    ("SKCK", "Surat Keterangan Catatan Kepolisian", "police clearance certificate"),
    ("SKTM", "Surat Keterangan Tidak Mampu", "certificate of low income"),
    ("STNK", "Surat Tanda Nomor Kendaraan", "vehicle registration certificate"),
    ("BPKB", "Buku Pemilik Kendaraan Bermotor", "vehicle ownership book"),
    ("BPJS", "Badan Penyelenggara Jaminan Sosial", "social security agency"),
    ("NPWP", "Nomor Pokok Wajib Pajak", "tax ID number"),
    ("SPPT", "Surat Pemberitahuan Pajak Terutang", "tax assessment notice"),
    ("KTP", "Kartu Tanda Penduduk", "ID card"),
    ("NIK", "Nomor Induk Kependudukan", "national ID number"),
    ("NIB", "Nomor Induk Berusaha", "business ID number"),
    ("KIA", "Kartu Identitas Anak", "child ID card"),
    ("PBB", "Pajak Bumi dan Bangunan", "land and building tax"),
    ("MPP", "Mal Pelayanan Publik", "public service mall"),
    ("KK", "Kartu Keluarga", "family card"),
]

# Every user-facing string of guided mode: message id -> (Indonesian, English).
MESSAGES: dict[str, tuple[str, str]] = {
    "repeat": ("Ulangi", "Repeat"),
    "back": ("Kembali", "Back"),
    "officer": ("Panggil Petugas", "Call an officer"),
    "yes": ("Ya, benar", "Yes, correct"),
    "no": ("Tidak, ubah", "No, change it"),
    "next": ("Lanjut", "Continue"),
    "other": ("Lainnya", "Other"),
    "greet_title": ("Selamat datang", "Welcome"),
    "greet_text": (
        "Selamat datang di MPP Banyuwangi. Saya akan menemani Anda. Apa yang Anda perlukan hari ini?",
        "Welcome to MPP Banyuwangi. I will stay with you. What do you need today?",
    ),
    "greet_field": ("Keperluan Anda", "What you need"),
    "greet_hint": ("Atau ketik keperluan Anda, mis. KTP hilang", "Or type what you need, e.g. lost ID card"),
    "not_understood": (
        "Maaf, saya belum mengerti. Silakan pilih salah satu tombol.",
        "Sorry, I did not understand. Please choose one of the buttons.",
    ),
    "more_title": ("Layanan lainnya", "Other services"),
    "more_text": ("Pilih layanan yang Anda perlukan.", "Choose the service you need."),
    "purpose_text": ("Untuk keperluan apa?", "What is it for?"),
    "req_title": ("Syarat", "Requirements"),
    "req_intro": ("Untuk {service}, syaratnya:", "For {service}, you need:"),
    "fee_free": ("Biayanya gratis.", "It is free of charge."),
    "fee": ("Biayanya {amount}.", "The fee is {amount}."),
    "docs_title": ("Dokumen", "Documents"),
    "docs_text": ("Apakah Anda membawa semua dokumen ini?", "Do you have all of these documents with you?"),
    "all_docs": ("Semua ada", "I have all"),
    "each_doc": ("Periksa satu per satu", "Check one by one"),
    "doc_text": ("Apakah Anda membawa {doc}?", "Do you have {doc} with you?"),
    "have": ("Ya, ada", "Yes, I have it"),
    "havenot": ("Tidak ada", "No, I don't"),
    "missing_title": ("Dokumen belum lengkap", "Documents missing"),
    "missing_text": ("Yang belum ada: {docs}.", "Still missing: {docs}."),
    "missing_hint": (
        "Tanpa dokumen ini permohonan belum bisa selesai. Anda tetap bisa mengambil antrean dan bertanya ke petugas.",
        "Without these the application cannot be finished. You can still take a ticket and ask the officer.",
    ),
    "go_anyway": ("Tetap ke loket", "Go to the counter anyway"),
    "all_present": ("Semua dokumen sudah ada.", "You have all the documents."),
    "walk_title": ("Mari ikut saya", "Please follow me"),
    "walk_text": (
        "Mari ikut saya. Kita ke Loket {counter}, {agency}. Saya jalan pelan-pelan.",
        "Please follow me. We are going to counter {counter}, {agency}. I will walk slowly.",
    ),
    "arrived": ("Sudah sampai", "We are there"),
    "identity_title": ("Data Anda", "Your details"),
    "identity_text": ("Ini data Anda:", "These are your details:"),
    "identity_ask": ("Benar?", "Is that correct?"),
    "field_type": ("Ketik {label} Anda, lalu tekan OK.", "Type your {label}, then press OK."),
    "field_choose": ("Pilih {label}.", "Choose the {label}."),
    "retype": ("Silakan ketik lagi.", "Please type it again."),
    "chosen": ("Anda memilih {choice}.", "You chose {choice}."),
    "check_title": ("Periksa", "Check"),
    "check_text": ("Periksa yang Anda ketik:", "Please check what you typed:"),
    "review_title": ("Kirim", "Send"),
    "review_text": (
        "Data sudah lengkap. Saya kirim permohonan {service} dan ambilkan nomor antrean Loket {counter}?",
        "Everything is filled in. Shall I send the {service} application and take a ticket for counter {counter}?",
    ),
    "submit": ("Kirim dan ambil antrean", "Send and take a ticket"),
    "change": ("Ubah {label}", "Change {label}"),
    "contact_title": ("Kontak Anda", "Your contact"),
    "contact_text": (
        "Untuk membuktikan bahwa ini Anda, kami kirim kode ke kontak yang terdaftar untuk NIK Anda. "
        "Ketik nomor HP atau email Anda (dipakai bila NIK belum punya kontak terdaftar).",
        "To prove it is you, we send a code to the contact registered for your NIK. "
        "Type your phone number or email (used when your NIK has no registered contact yet).",
    ),
    "contact_label": ("Nomor HP atau email", "Phone number or email"),
    "code_title": ("Kode verifikasi", "Verification code"),
    "code_text": (
        "Kode 6 angka sudah dikirim ke kontak yang terdaftar untuk NIK Anda. Ketik kodenya.",
        "A 6-digit code was sent to the contact registered for your NIK. Type the code.",
    ),
    "code_label": ("Kode 6 angka", "6-digit code"),
    "code_again": ("Kirim kode lagi", "Send the code again"),
    "code_readback": ("Yang Anda ketik: {code}.", "You typed: {code}."),
    "ticket_title": ("Nomor antrean Anda", "Your queue number"),
    "ticket_text": (
        "Nomor antrean Anda {ticket}. Loket {counter}, {agency}. Nomor permohonan {tracking}. "
        "Silakan duduk. Nomor Anda akan dipanggil.",
        "Your queue number is {ticket}. Counter {counter}, {agency}. Application number {tracking}. "
        "Please take a seat. Your number will be called.",
    ),
    "remind_title": ("Jangan lupa", "Remember"),
    "remind_text": ("Saat dipanggil, serahkan: {docs}.", "When you are called, hand over: {docs}."),
    "remind_missing": ("Yang belum Anda punya: {docs}.", "Still missing: {docs}."),
    "remind_ticket": ("Nomor antrean Anda {ticket}.", "Your queue number is {ticket}."),
    "done": ("Selesai", "Done"),
    "done_title": ("Terima kasih", "Thank you"),
    "done_text": ("Terima kasih. Semoga urusan Anda lancar.", "Thank you. We hope everything goes well."),
    "failed_title": ("Belum berhasil", "Not sent yet"),
    "failed_text": (
        "Maaf, permohonan belum terkirim. Coba lagi, atau panggil petugas.",
        "Sorry, the application was not sent. Try again, or call an officer.",
    ),
    "failed_generic": ("Sambungan sedang bermasalah.", "There is a connection problem."),
    "retry": ("Coba lagi", "Try again"),
    "mismatch_title": ("Perlu bantuan petugas", "An officer can help"),
    "mismatch_text": (
        "Mencoba lagi dengan data yang sama tidak akan berhasil. Petugas bisa membantu, atau ubah nama atau NIK.",
        "Trying again with the same details will not work. An officer can help, or change the name or NIK.",
    ),
    "officer_help": ("Minta bantuan petugas", "Ask an officer for help"),
    "officer_title": ("Petugas", "Officer"),
    "officer_title_who": ("Petugas {who}", "Officer {who}"),
    "officer_called": (
        "Petugas sedang dipanggil. Mohon tunggu sebentar, petugas akan berbicara dengan Anda di sini.",
        "An officer is being called. Please wait a moment, the officer will talk to you here.",
    ),
    "officer_failed": (
        "Maaf, petugas belum bisa dipanggil dari sini. Silakan ke meja Informasi dekat pintu masuk.",
        "Sorry, an officer cannot be called from here. Please go to the information desk near the entrance.",
    ),
    "officer_connected": (
        "Anda terhubung dengan petugas {who} di Loket {n}. Petugas akan berbicara dengan Anda di sini.",
        "You are connected to officer {who} at counter {n}. The officer will talk to you here.",
    ),
    "officer_connected_plain": (
        "Anda terhubung dengan petugas. Petugas akan berbicara dengan Anda di sini.",
        "You are connected to an officer. The officer will talk to you here.",
    ),
    "officer_closed": (
        "Petugas sudah selesai membantu. Anda bisa kembali ke langkah tadi.",
        "The officer has finished. You can go back to where you were.",
    ),
    "back_to_step": ("Kembali ke langkah tadi", "Back to where I was"),
    "doc_ready_title": ("Dokumen Anda", "Your document"),
    "doc_ready": ("Dokumen Anda sudah jadi, bisa dicetak.", "Your document is ready, you can print it."),
    "counter": ("Loket", "Counter"),
    "district": ("Kecamatan", "district"),
}


def msg(key: str, lang: str, **fmt: object) -> str:
    """The message ``key`` in ``lang`` (Indonesian unless English), formatted."""
    text = MESSAGES[key][1 if lang == "en" else 0]
    return text.format(**fmt) if fmt else text


def expand_abbreviations(text: str, lang: str = "id") -> str:
    """Add the plain words after the first use of each abbreviation: "KK" -> "KK (Kartu Keluarga)".

    Skipped when the text already spells the words out (e.g. "Kartu Keluarga (KK)").
    """
    col = 2 if lang == "en" else 1
    for row in GLOSSARY:
        abbr, words = row[0], row[col]
        if words.lower() in text.lower():
            continue
        pattern = re.compile(rf"(?<![\w-]){re.escape(abbr)}(?![\w-])")
        text = pattern.sub(rf"\g<0> ({words})", text, count=1)
    return text


_GLOSS_PAREN = re.compile(
    r"\s*\((?:" + "|".join(re.escape(w) for row in GLOSSARY for w in row) + r")\)",
    re.IGNORECASE,
)


def for_speech(text: str) -> str:
    """What is said aloud: no written "(Kartu Keluarga)" glosses, no list bullets."""
    lines = [re.sub(r"^(•|\d+\.)\s*", "", line) for line in text.splitlines()]
    return _GLOSS_PAREN.sub("", " ".join(x for x in lines if x))


def _tidy_typed(f: FormField, text: str) -> str:
    """Forgive the spaces and dashes people type inside long numbers ("3510 0112 ...")."""
    digits_only = f.pattern is not None and re.fullmatch(r"\^\[0-9\]\{\d+(,\d+)?\}\$", f.pattern)
    if f.type in ("nik", "kk", "phone") or digits_only:
        squeezed = re.sub(r"[\s.-]", "", text)
        if squeezed.isdigit():
            return squeezed
    return text.strip()


class GuidedRefused(Exception):
    """A ``guided.choose`` that does not fit the current step; answered with a protocol ``error``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Visit:
    """The folded state of one guided visit (never mutated outside ``GuidedLoop.fold``)."""

    lang: str = "id"
    started: bool = False
    stage: str = "greet"
    service: str | None = None
    purpose: str | None = None
    doc_index: int = 0
    have: dict[str, bool] = field(default_factory=dict)
    answers: dict[str, str] = field(default_factory=dict)
    typed: list[str] = field(default_factory=list)
    editing: str | None = None  # the field being changed from the read-back
    checking: bool = False  # after an edit, go straight back to the read-back
    known: dict[str, str] = field(default_factory=dict)  # the session's proven identity (prefill)
    identified: bool = False
    contact: str | None = None
    challenge: str | None = None
    tracking: str | None = None
    ticket: str | None = None
    note: str = ""
    problem: bool = False
    pending: str | None = None  # effect to run: handoff | request_code | verify | submit | ticket
    code_typed: str | None = None
    handoff_id: int | None = None
    officer: str | None = None
    officer_counter: int | None = None
    officer_text: str | None = None  # what the officer said (officer_says) or a system line
    repeat: bool = False
    presses: int = 0
    step_id: int = 0
    key: str = ""  # idempotency key of this visit's application: a retry never submits twice
    history: list[Visit] = field(default_factory=list, repr=False)


class GuidedLoop:
    """Builds steps from the visit and folds the visitor's choices; effects go through the port."""

    def __init__(self, catalog: Catalog, top_services: Sequence[str] = TOP_SERVICES) -> None:
        self.catalog = catalog
        known = {s.id for s in catalog.services}
        self.top_services = tuple(s for s in top_services if s in known)

    # ------------------------------------------------------------------ entry points

    def visit(self, conv: Conversation) -> Visit:
        """The visit folded from the conversation's stored events."""
        v = Visit()
        for raw in conv.events:
            ev = event_from_dict(raw)
            if ev is not None:
                self.fold(v, ev)
        return v

    def start(self, conv: Conversation, lang: str | None = None) -> GuidedStep:
        """Begin the visit, or resume it where it stopped (the log holds it)."""
        v = self.visit(conv)
        if not v.started:
            self._apply(conv, v, ContextSet(lang="en" if lang == "en" else "id"))
            self._apply(conv, v, LoopStarted("guided", ""))
        self._sync_identity(conv, v)
        conv.commit()
        return self.render(conv.id, v)

    def choose(
        self, conv: Conversation, step_id: int, choice: str | None, value: str | None, auto: bool = False
    ) -> GuidedStep:
        """The visitor's answer to step ``step_id``; raises ``GuidedRefused`` when it does not fit."""
        v = self.visit(conv)
        if not v.started:
            raise GuidedRefused("guided_not_started", "Send guided.start first.")
        if step_id != v.step_id:
            raise GuidedRefused("guided_out_of_order", f"Step {step_id} is not the current step ({v.step_id}).")
        if (choice is None) == (value is None):
            raise GuidedRefused("guided_bad_choice", "Send exactly one of choice or value.")
        self._sync_identity(conv, v)
        step = self.render(conv.id, v)
        if choice is not None:
            offered = {c.id for c in step.choices} | {c.id for c in step.tools}
            if choice not in offered:
                raise GuidedRefused("guided_unknown_choice", f"{choice!r} is not offered on step {step.kind}.")
            if auto and not (choice == "arrived" and v.stage == "walk"):
                raise GuidedRefused("guided_bad_choice", "Only the end of the walk happens without a press.")
        else:
            if step.field is None:
                raise GuidedRefused("guided_no_field", f"Step {step.kind} has nothing to type.")
            if auto:
                raise GuidedRefused("guided_bad_choice", "A typed value is always a press.")
            if not str(value).strip():
                raise GuidedRefused("guided_empty_value", "The typed value is empty.")
        self._apply(conv, v, GuidedChose(choice, value.strip() if value is not None else None, auto))
        self._run_effects(conv, v)
        conv.commit()
        return self.render(conv.id, v)

    def officer_connected(self, conv: Conversation, who: str | None, counter: int | None) -> GuidedStep:
        """ "Connected to officer X at counter N": a large spoken step of its own."""
        v = self.visit(conv)
        self._apply(conv, v, GuidedOutcome("connected", True, {"who": who, "counter": counter}))
        conv.commit()
        return self.render(conv.id, v)

    def officer_said(self, conv: Conversation, text: str, who: str | None = None) -> GuidedStep:
        """The officer's words: a large spoken step, never an error."""
        v = self.visit(conv)
        self._apply(conv, v, OfficerSaid(text.strip()[:2000], who))
        conv.commit()
        return self.render(conv.id, v)

    def officer_closed(self, conv: Conversation) -> GuidedStep:
        v = self.visit(conv)
        self._apply(conv, v, GuidedOutcome("closed", True, {}))
        conv.commit()
        return self.render(conv.id, v)

    def document_ready(self, conv: Conversation, tracking: str) -> GuidedStep:
        v = self.visit(conv)
        self._apply(conv, v, GuidedOutcome("document", True, {"tracking": tracking}))
        conv.commit()
        return self.render(conv.id, v)

    # ------------------------------------------------------------------ events

    def _apply(self, conv: Conversation, v: Visit, ev: Any) -> None:
        conv.tracker.apply(ev)
        self.fold(v, ev)

    def _sync_identity(self, conv: Conversation, v: Visit) -> None:
        """A session identified elsewhere (the page's identity card) is known to the visit from now on."""
        c = conv.caller
        if c.citizen_id is not None and not v.identified:
            self._apply(conv, v, Identified(c.citizen_id, c.nik, c.name))

    def fold(self, v: Visit, ev: Any) -> None:
        """The one transition function: the visit after ``ev`` (pure; replaying the log rebuilds it)."""
        if isinstance(ev, ContextSet):
            v.lang = "en" if ev.lang == "en" else "id"
            return
        if isinstance(ev, LoopStarted) and ev.loop == "guided":
            v.started = True
        elif isinstance(ev, Identified):
            v.identified = ev.citizen_id is not None
            v.known = {k: str(x) for k, x in (("nik", ev.nik), ("full_name", ev.name)) if x}
        elif isinstance(ev, GuidedChose):
            self._fold_choice(v, ev)
        elif isinstance(ev, GuidedOutcome):
            self._fold_outcome(v, ev)
        elif isinstance(ev, OfficerSaid):
            self._to_officer(v)
            v.stage, v.officer_text = "officer_says", ev.text
            v.officer = ev.who or v.officer
        else:
            return
        v.step_id += 1

    def _push(self, v: Visit) -> None:
        snap = copy.copy(v)
        snap.history = []
        snap.have, snap.answers, snap.typed = dict(v.have), dict(v.answers), list(v.typed)
        snap.known = dict(v.known)
        v.history.append(snap)
        del v.history[:-60]

    def _restore(self, v: Visit, snap: Visit) -> None:
        """Back to ``snap``, keeping what is true for the whole visit (presses, identity, results)."""
        keep = {
            "presses": v.presses, "step_id": v.step_id, "history": v.history, "known": v.known,
            "identified": v.identified, "tracking": v.tracking, "ticket": v.ticket, "key": v.key,
            "handoff_id": v.handoff_id, "officer": v.officer, "contact": v.contact, "lang": v.lang,
            "started": v.started, "officer_counter": v.officer_counter,
        }  # fmt: skip
        for name in Visit.__dataclass_fields__:
            setattr(v, name, keep.get(name, getattr(snap, name)))
        v.note, v.problem, v.repeat, v.pending = "", False, False, None

    def _to_officer(self, v: Visit) -> None:
        """Officer steps stack on the visit: "back to where I was" skips all of them."""
        if v.stage not in ("officer", "officer_says"):
            self._push(v)
        v.note, v.problem, v.repeat = "", False, False

    def _fold_choice(self, v: Visit, ev: GuidedChose) -> None:
        if not ev.auto:
            v.presses += 1
        choice, value = ev.choice, ev.value
        v.repeat = False
        if choice == "repeat":
            v.repeat = True
            return
        if choice == "back":
            while v.history:
                snap = v.history.pop()
                if snap.stage not in ("walk", "officer", "officer_says"):
                    self._restore(v, snap)
                    break
            return
        if choice == "back_to_step":
            while v.history and v.stage in ("officer", "officer_says", "document"):
                self._restore(v, v.history.pop())
            return
        if choice == "officer":
            self._to_officer(v)
            v.stage = "officer"
            v.officer_text = None
            if v.handoff_id is None:
                v.pending = "handoff"
            return
        stage = v.stage
        if stage in ("failed", "mismatch", "code", "contact"):
            pass  # a retry replaces the failure; "Kembali" still leads to the read-back
        else:
            self._push(v)
        v.note, v.problem = "", False
        if choice is not None and choice.startswith("service:"):
            self._choose_service(v, choice.split(":", 1)[1])
        elif choice == "more":
            v.stage = "more"
        elif stage == "greet" and value is not None:
            self._from_text(v, value)
        elif stage == "purpose" and choice is not None and choice.startswith("option:"):
            pf = self._purpose_field(self._svc(v))
            if pf is not None:
                v.purpose = choice.split(":", 1)[1]
                v.answers[pf.name] = v.purpose
            v.stage = "requirements"
        elif stage == "requirements" and choice == "next":
            v.stage = "documents" if self._checklist(v) else "walk"
        elif stage == "documents" and choice == "all_docs":
            v.have = {d.id: True for d in self._checklist(v)}
            v.note = msg("all_present", v.lang)
            v.stage = "walk"
        elif stage == "documents" and choice == "each_doc":
            v.stage, v.doc_index, v.have = "doc", 0, {}
        elif stage == "doc" and choice in ("have", "havenot"):
            docs = self._checklist(v)
            v.have[docs[v.doc_index].id] = choice == "have"
            v.doc_index += 1
            if v.doc_index >= len(docs):
                if any(v.have.get(d.id) is False for d in docs):
                    v.stage = "missing"
                else:
                    v.note = msg("all_present", v.lang)
                    v.stage = "walk"
        elif stage == "missing" and choice == "next":
            v.stage = "walk"
        elif stage == "walk" and choice == "arrived":
            if self._prefill(v) and not all(n in v.answers for n in self._prefill(v)):
                v.stage = "identity"
            else:
                self._after_field(v)
        elif stage == "identity" and choice == "yes":
            v.answers.update(self._prefill(v))
            self._after_field(v)
        elif stage == "identity" and choice == "no":
            v.stage = "field"
        elif stage == "field":
            self._fold_field(v, choice, value)
        elif stage in ("check", "review", "failed", "mismatch") and choice is not None and choice.startswith("edit:"):
            name = choice.split(":", 1)[1]
            v.editing, v.checking, v.stage = name, True, "field"
        elif stage in ("check", "review", "failed") and choice in ("submit", "retry"):
            self._start_send(v)
        elif stage == "contact" and value is not None:
            v.contact = value
            v.pending = "request_code"
        elif stage == "code" and choice == "code_again":
            v.pending = "request_code"
        elif stage == "code" and value is not None:
            v.code_typed = re.sub(r"\s+", "", value)
            v.pending = "verify"
        elif stage == "ticket" and choice == "next":
            v.stage = "remind"
        elif stage in ("remind", "document") and choice == "done":
            v.stage = "done"

    def _fold_field(self, v: Visit, choice: str | None, value: str | None) -> None:
        f = self._current_field(v)
        if f is None:
            self._after_field(v)
            return
        if choice is not None and choice.startswith("option:"):
            picked = choice.split(":", 1)[1]
            v.answers[f.name] = picked
            v.note = msg("chosen", v.lang, choice=self._option_label(f, picked, v.lang))
        elif value is not None:
            text = _tidy_typed(f, value)
            try:
                cleaned = validate_field(f, text)
            except FieldError as exc:
                self._restore_same(v)
                v.note, v.problem = f"{exc.message.get(v.lang)} {msg('retype', v.lang)}", True
                return
            # A village is sent as typed (the server resolves it again); the rest as cleaned.
            v.answers[f.name] = text if f.type == "village" else str(cleaned)
            if f.name not in v.typed:
                v.typed.append(f.name)
        if v.editing == f.name:
            v.editing = None
        self._after_field(v)

    @staticmethod
    def _restore_same(v: Visit) -> None:
        """A refused typed value: the same step again with the reason (no history entry)."""
        if v.history:
            v.history.pop()

    def _fold_outcome(self, v: Visit, ev: GuidedOutcome) -> None:
        data, lang = ev.data or {}, v.lang
        err = Localized(
            id=ev.message_id or msg("failed_generic", "id"), en=ev.message_en or msg("failed_generic", "en")
        )
        v.pending = None
        v.repeat = False
        if ev.effect == "handoff":
            v.handoff_id = int(data["handoff_id"]) if ev.ok and data.get("handoff_id") else None
            v.stage, v.officer_text = "officer", None if ev.ok else msg("officer_failed", lang)
        elif ev.effect == "connected":
            self._to_officer(v)
            v.stage = "officer"
            v.officer = str(data.get("who")) if data.get("who") else None
            v.officer_counter = int(data["counter"]) if data.get("counter") else None
            who, n = v.officer, v.officer_counter or (self._svc(v).counter if v.service else "-")
            v.officer_text = (
                msg("officer_connected", lang, who=who, n=n) if who else msg("officer_connected_plain", lang)
            )
        elif ev.effect == "closed":
            self._to_officer(v)
            v.stage, v.officer_text = "officer", msg("officer_closed", lang)
            v.handoff_id = None
        elif ev.effect == "document":
            self._to_officer(v)
            v.stage, v.officer_text = "document", None
            v.tracking = v.tracking or data.get("tracking")
        elif ev.effect == "request_code":
            if ev.ok:
                v.challenge, v.stage = str(data.get("challenge_id")), "code"
            elif ev.code == "invalid_contact":
                v.stage, v.note, v.problem = "contact", err.get(lang), True
            elif ev.code == "invalid_nik":
                v.answers.pop("nik", None)
                v.editing, v.checking, v.stage = "nik", True, "field"
                v.note, v.problem = err.get(lang), True
            else:
                v.stage, v.note, v.problem = "failed", err.get(lang), True
        elif ev.effect == "verify":
            if ev.ok:
                v.pending = "submit"
            elif ev.code == "code_invalid":
                spaced = " ".join(v.code_typed or "")
                v.stage, v.problem = "code", True
                v.note = f"{err.get(lang)} {msg('code_readback', lang, code=spaced)}"
            else:
                v.stage, v.note, v.problem = "mismatch", err.get(lang), True
        elif ev.effect == "submit":
            if ev.ok:
                v.tracking, v.pending = str(data.get("tracking_number")), "ticket"
            elif ev.code in ("identity_mismatch", "forbidden", "verify_first"):
                v.stage, v.note, v.problem = "mismatch", err.get(lang), True
            else:
                v.stage, v.note, v.problem = "failed", err.get(lang), True
        elif ev.effect == "ticket":
            if ev.ok or data.get("ticket"):
                v.ticket, v.stage = str(data.get("code") or data.get("ticket")), "ticket"
            else:
                v.stage, v.note, v.problem = "failed", err.get(lang), True

    # ------------------------------------------------------------------ effects (through the port)

    def _run_effects(self, conv: Conversation, v: Visit) -> None:
        for _ in range(4):  # verify -> submit -> ticket at most
            kind = v.pending
            if kind is None:
                return
            try:
                data = self._effect(conv, v, kind)
            except PortError as exc:
                out = GuidedOutcome(kind, False, dict(exc.extra), exc.code, exc.message_id, exc.message_en)
                self._apply(conv, v, out)
                continue
            self._apply(conv, v, GuidedOutcome(kind, True, data))

    def _effect(self, conv: Conversation, v: Visit, kind: str) -> dict[str, Any]:
        port, caller = conv.port, conv.caller
        if kind == "handoff":
            svc = self._svc(v) if v.service else None
            said = [
                {"role": "assistant", "text": f"{s.title}: {s.text}", "service": s.service_id} for s in self._said(v)
            ]
            if svc is not None:
                said.append({"role": "citizen", "text": msg("officer", v.lang), "service": svc.id})
            h = port.request_handoff(caller, conv.id, said)
            return {"handoff_id": h.handoff_id, "state": h.state}
        if kind == "request_code":
            contact = v.contact or next((v.answers[n] for n in CONTACT_FIELDS if v.answers.get(n)), None)
            ch = port.request_code(caller, v.answers.get("nik", ""), v.answers.get("full_name", ""), contact)
            return {"challenge_id": ch.challenge_id, "expires_in": ch.expires_in}
        if kind == "verify":
            who = port.verify_code(caller, v.challenge or "", v.code_typed or "")
            conv.caller = who
            self._apply(conv, v, Identified(who.citizen_id, who.nik, who.name))
            return {}
        if kind == "submit":
            svc = self._svc(v)
            res = port.submit_application(caller, svc.id, dict(v.answers), f"{conv.id}:{v.key}")
            return {"tracking_number": res.tracking_number, "state": res.state}
        if kind == "ticket":
            t = port.take_ticket(caller, self._svc(v).counter)
            return {"code": t.code, "counter": t.counter}
        raise PortError("unknown_effect", "Langkah tidak dikenal.", "Unknown step.")

    def _said(self, v: Visit) -> list[GuidedStep]:
        """The last steps the guide showed (for the officer's transcript)."""
        return [self.render("-", s) for s in [*v.history[-8:], v]]

    def _start_send(self, v: Visit) -> None:
        if v.tracking is not None:
            v.pending = "ticket"
        elif not v.identified and v.answers.get("nik"):
            has_contact = v.contact or any(v.answers.get(n) for n in CONTACT_FIELDS)
            if has_contact:
                v.pending = "request_code"
            else:
                v.stage = "contact"
        else:
            v.pending = "submit"

    # ------------------------------------------------------------------ catalogue helpers

    def _svc(self, v: Visit) -> Service:
        if v.service is None:
            raise KeyError("service")
        return self.catalog.service(v.service)

    def _choose_service(self, v: Visit, service_id: str) -> None:
        try:
            svc = self.catalog.service(service_id)
        except KeyError:
            v.note, v.problem = msg("not_understood", v.lang), True
            return
        v.service, v.purpose, v.answers, v.have, v.typed = svc.id, None, {}, {}, []
        v.tracking, v.ticket, v.editing, v.checking = None, None, None, False
        v.key = f"s{v.step_id}"  # deterministic: replaying the log gives the same key
        v.stage = "purpose" if self._purpose_field(svc) is not None else "requirements"

    def _from_text(self, v: Visit, text: str) -> None:
        """Typed request at the greeting: pick the service (and the purpose when it is named)."""
        low = text.lower().strip()
        best: tuple[int, Service] | None = None
        for svc in self.catalog.services:
            for kw in (*svc.keywords, svc.short_name.id, svc.short_name.en, svc.id):
                k = kw.lower()
                if k and re.search(rf"(?<!\w){re.escape(k)}(?!\w)", low) and (best is None or len(k) > best[0]):
                    best = (len(k), svc)
        if best is None:
            self._restore_same(v)
            v.note, v.problem = msg("not_understood", v.lang), True
            return
        self._choose_service(v, best[1].id)
        pf = self._purpose_field(best[1])
        if pf is None:
            return
        for o in pf.options:
            names = {o.value.replace("_", " "), o.label.id.lower(), o.label.en.lower()}
            if any(re.search(rf"(?<!\w){re.escape(n)}(?!\w)", low) for n in names):
                v.purpose = o.value
                v.answers[pf.name] = o.value
                v.stage = "requirements"
                break

    @staticmethod
    def _purpose_field(svc: Service) -> FormField | None:
        for name in PURPOSE_FIELDS:
            for f in svc.form:
                if f.name == name and f.type == "select" and f.required:
                    return f
        return None

    def _options_of(self, v: Visit, text: Localized) -> set[str]:
        """The purpose options a requirement or document line is about ("Untuk KTP-el hilang" -> {hilang}).

        Whole option labels count first; only when none is named do distinctive single words of a
        label ("menikah", "marriage") count. A phrase inside a longer matched one is ignored, so
        "lima tahunan" is not also taken for "tahunan". Empty means "for everyone".
        """
        svc = self._svc(v)
        pf = self._purpose_field(svc)
        if pf is None:
            return set()
        hay = f"{text.id} || {text.en}".lower()

        def words(*texts: str) -> set[str]:
            return {w for t in texts for w in re.findall(r"\w+", t.lower())}

        per_option = {o.value: words(o.label.id, o.label.en) for o in pf.options}
        common = {
            w for val, ws in per_option.items() for w in ws if any(w in o for k, o in per_option.items() if k != val)
        }
        weak = _WEAK_WORDS | common | words(svc.name.id, svc.name.en, svc.short_name.id, svc.short_name.en)
        for level in ("phrase", "word"):
            found: list[tuple[str, str]] = []
            for o in pf.options:
                if level == "phrase":
                    cands = {o.value.replace("_", " "), o.label.id.lower(), o.label.en.lower()}
                else:
                    cands = {w for w in per_option[o.value] - weak if len(w) >= 5}
                found += [(c, o.value) for c in cands if c and re.search(rf"(?<!\w){re.escape(c)}(?!\w)", hay)]
            kept = {val for c, val in found if not any(c != c2 and c in c2 for c2, _ in found)}
            if kept:
                return kept
        return set()

    def _checklist(self, v: Visit) -> list[Any]:
        """Required documents plus the optional ones that belong to the chosen purpose."""
        if v.service is None:
            return []
        svc = self._svc(v)
        chosen = v.purpose
        if chosen is None:
            return [d for d in svc.documents if d.required]
        # Requirement lines about the chosen purpose may name an optional document ("Perubahan KK: KK lama ...").
        specific = " ".join(r.id.lower() for r in svc.requirements if chosen in self._options_of(v, r))

        def wanted(d: Any) -> bool:
            if d.required or chosen in self._options_of(v, d.label):
                return True
            name = re.sub(r"\s*\(.*?\)", "", d.label.id).strip().lower()
            return bool(name) and name in specific

        return [d for d in svc.documents if wanted(d)]

    def _doc_label(self, doc: Any, lang: str) -> str:
        label = re.sub(r"\s*\((bila|if|untuk|for)\b[^)]*\)", "", doc.label.get(lang)).strip()
        return expand_abbreviations(label, lang)

    def _missing(self, v: Visit) -> list[str]:
        return [self._doc_label(d, v.lang) for d in self._checklist(v) if v.have.get(d.id) is False]

    def _requirements(self, v: Visit) -> list[str]:
        svc = self._svc(v)
        out = []
        for req in svc.requirements:
            about = self._options_of(v, req)
            if about and v.purpose is not None and v.purpose not in about:
                continue  # a line for another purpose (e.g. "for a damaged card" when the card was lost)
            out.append(expand_abbreviations(req.get(v.lang), v.lang))
        return out

    def _prefill(self, v: Visit) -> dict[str, str]:
        """Identity values from the session that are valid for this form (invalid ones are typed instead)."""
        out: dict[str, str] = {}
        if v.service is None:
            return out
        for f in self._svc(v).form:
            if f.name in v.known:
                try:
                    out[f.name] = str(validate_field(f, v.known[f.name]))
                except FieldError:
                    continue
        return out

    def _current_field(self, v: Visit) -> FormField | None:
        if v.service is None:
            return None
        form = self._svc(v).form
        if v.editing is not None:
            for f in form:
                if f.name == v.editing:
                    return f
        for f in form:
            if f.required and f.name not in v.answers:
                return f
        return None

    def _after_field(self, v: Visit) -> None:
        if v.checking and v.editing is None and self._current_field(v) is None:
            v.stage = "check" if v.typed else "review"
            return
        v.stage = "field" if self._current_field(v) is not None else ("check" if v.typed else "review")

    @staticmethod
    def _option_label(f: FormField, value: str, lang: str) -> str:
        for o in f.options:
            if o.value == value:
                return o.label.get(lang)
        return value

    def _shown_value(self, f: FormField, value: str, lang: str) -> str:
        """How a value is shown and read back: long numbers in groups of four, dates in words."""
        if re.fullmatch(r"\d{16}", value) or f.type == "phone":
            return " ".join(value[i : i + 4] for i in range(0, len(value), 4))
        if f.type == "date":
            try:
                d = dt.date.fromisoformat(value)
            except ValueError:
                return value
            return f"{d.day:02d}-{d.month:02d}-{d.year}"
        if f.type == "select":
            return self._option_label(f, value, lang)
        if f.type == "village":
            from protocol.regions import find_village

            vil = find_village(value)
            if vil is not None:
                return f"{vil.name}, {msg('district', lang)} {vil.kecamatan_name}"
        return value

    def _fee_line(self, svc: Service, lang: str) -> str:
        if svc.fee.free:
            return msg("fee_free", lang)
        total = sum(i.amount for i in svc.fee.items)
        return msg("fee", lang, amount=f"Rp{total:,}".replace(",", "."))

    # ------------------------------------------------------------------ rendering

    def render(self, conversation_id: str, v: Visit) -> GuidedStep:
        """The step the visitor sees now: everything the client draws and says."""
        lang = v.lang
        svc = self._svc(v) if v.service else None
        kind = v.stage
        title = ""
        lines: list[str] = []
        choices: list[GuidedChoice] = []
        fld: GuidedField | None = None
        tone = "normal"

        def ch(cid: str, label: str, primary: bool = False) -> GuidedChoice:
            return GuidedChoice(id=cid, label=label, primary=primary)

        if kind == "greet":
            title, lines = msg("greet_title", lang), [msg("greet_text", lang)]
            for sid in self.top_services:
                s = self.catalog.service(sid)
                choices.append(ch(f"service:{sid}", expand_abbreviations(s.short_name.get(lang), lang)))
            choices.append(ch("more", msg("other", lang)))
            fld = GuidedField(
                name="request", label=msg("greet_field", lang), hint=msg("greet_hint", lang), optional=True
            )
        elif kind == "more":
            title, lines = msg("more_title", lang), [msg("more_text", lang)]
            rest = [s for s in self.catalog.services if s.id not in self.top_services]
            for s in sorted(rest, key=lambda s: s.name.get(lang)):
                choices.append(ch(f"service:{s.id}", expand_abbreviations(s.short_name.get(lang), lang)))
        elif kind == "purpose" and svc is not None:
            pf = self._purpose_field(svc)
            title, lines = expand_abbreviations(svc.short_name.get(lang), lang), [msg("purpose_text", lang)]
            choices = [ch(f"option:{o.value}", o.label.get(lang)) for o in (pf.options if pf else ())]
        elif kind == "requirements" and svc is not None:
            title = msg("req_title", lang)
            lines = [msg("req_intro", lang, service=expand_abbreviations(svc.short_name.get(lang), lang))]
            lines += [f"• {r}" if r.endswith(".") else f"• {r}." for r in self._requirements(v)]
            lines.append(self._fee_line(svc, lang))
            choices = [ch("next", msg("next", lang), True)]
        elif kind == "documents" and svc is not None:
            title = msg("docs_title", lang)
            docs = self._checklist(v)
            lines = [msg("docs_text", lang)] + [f"{i}. {self._doc_label(d, lang)}" for i, d in enumerate(docs, 1)]
            choices = [ch("all_docs", msg("all_docs", lang), True), ch("each_doc", msg("each_doc", lang))]
        elif kind == "doc" and svc is not None:
            docs = self._checklist(v)
            title = f"{msg('docs_title', lang)} {v.doc_index + 1}/{len(docs)}"
            lines = [msg("doc_text", lang, doc=self._doc_label(docs[v.doc_index], lang))]
            choices = [ch("have", msg("have", lang), True), ch("havenot", msg("havenot", lang))]
        elif kind == "missing":
            title = msg("missing_title", lang)
            lines = [msg("missing_text", lang, docs="; ".join(self._missing(v))), msg("missing_hint", lang)]
            choices = [ch("next", msg("go_anyway", lang), True)]
        elif kind == "walk" and svc is not None:
            agency = self.catalog.agency(svc.agency).short
            title = msg("walk_title", lang)
            lines = [msg("walk_text", lang, counter=svc.counter, agency=agency)]
            choices = [ch("arrived", msg("arrived", lang), True)]
        elif kind == "identity" and svc is not None:
            title, lines = msg("identity_title", lang), [msg("identity_text", lang)]
            pre = self._prefill(v)
            for f in svc.form:
                if f.name in pre:
                    label = expand_abbreviations(f.label.get(lang), lang)
                    lines.append(f"{label}: {self._shown_value(f, pre[f.name], lang)}.")
            lines.append(msg("identity_ask", lang))
            choices = [ch("yes", msg("yes", lang), True), ch("no", msg("no", lang))]
        elif kind == "field" and svc is not None:
            cur = self._current_field(v)
            if cur is not None:
                f = cur
                label = expand_abbreviations(f.label.get(lang), lang)
                title = label
                if f.type == "select":
                    lines = [msg("field_choose", lang, label=label.lower() if lang == "en" else label)]
                    choices = [ch(f"option:{o.value}", o.label.get(lang)) for o in f.options]
                else:
                    lines = [msg("field_type", lang, label=label)]
                    hint = f.help.get(lang) if f.help else ""
                    if hint:
                        lines.append(hint)
                    numeric = f.type in ("nik", "kk", "phone") or bool(f.pattern and f.pattern.startswith("^[0-9]"))
                    prefill = v.answers.get(f.name) or v.known.get(f.name, "")
                    fld = GuidedField(
                        name=f.name, label=label, kind=f.type, hint=hint, prefill=prefill, numeric=numeric,
                        autocomplete="name" if f.name == "full_name" else "off",
                    )  # fmt: skip
        elif kind in ("check", "review") and svc is not None:
            typed = [f for f in svc.form if f.name in v.typed and f.name in v.answers]
            if kind == "check":
                title, lines = msg("check_title", lang), [msg("check_text", lang)]
                for f in typed:
                    shown = self._shown_value(f, str(v.answers[f.name]), lang)
                    lines.append(f"{expand_abbreviations(f.label.get(lang), lang)}: {shown}.")
            else:
                title = msg("review_title", lang)
            short = expand_abbreviations(svc.short_name.get(lang), lang)
            lines.append(msg("review_text", lang, service=short, counter=svc.counter))
            choices = [ch("submit", msg("submit", lang), True)]
            choices += [ch(f"edit:{f.name}", msg("change", lang, label=f.label.get(lang))) for f in typed]
        elif kind == "contact":
            title, lines = msg("contact_title", lang), [msg("contact_text", lang)]
            fld = GuidedField(name="contact", label=msg("contact_label", lang), kind="contact", prefill=v.contact or "")
        elif kind == "code":
            title, lines = msg("code_title", lang), [msg("code_text", lang)]
            fld = GuidedField(
                name="code", label=msg("code_label", lang), kind="code", numeric=True, autocomplete="one-time-code"
            )
            choices = [ch("code_again", msg("code_again", lang))]
        elif kind == "failed":
            title, lines = msg("failed_title", lang), [msg("failed_text", lang)]
            choices = [ch("retry", msg("retry", lang), True), ch("officer", msg("officer_help", lang))]
        elif kind == "mismatch":
            title, lines = msg("mismatch_title", lang), [msg("mismatch_text", lang)]
            choices = [ch("officer", msg("officer_help", lang), True)]
            if svc is not None:
                choices += [
                    ch(f"edit:{f.name}", msg("change", lang, label=f.label.get(lang)))
                    for f in svc.form
                    if f.name in IDENTITY_FIELDS
                ]
        elif kind in ("officer", "officer_says"):
            tone = "officer"
            who = v.officer
            title = msg("officer_title_who", lang, who=who) if who else msg("officer_title", lang)
            if kind == "officer_says":
                lines = [v.officer_text or ""]
            else:
                lines = [v.officer_text or msg("officer_called", lang)]
            choices = [ch("back_to_step", msg("back_to_step", lang))]
        elif kind == "document":
            tone = "officer"
            title, lines = msg("doc_ready_title", lang), [msg("doc_ready", lang)]
            choices = [ch("back_to_step", msg("back_to_step", lang)), ch("done", msg("done", lang))]
        elif kind == "ticket" and svc is not None:
            agency = self.catalog.agency(svc.agency).short
            title = msg("ticket_title", lang)
            text = msg("ticket_text", lang, ticket=v.ticket, counter=svc.counter, agency=agency, tracking=v.tracking)
            lines = [text]
            choices = [ch("next", msg("next", lang), True)]
        elif kind == "remind" and svc is not None:
            title = msg("remind_title", lang)
            have = [self._doc_label(d, lang) for d in self._checklist(v) if v.have.get(d.id) is not False]
            if have:
                lines.append(msg("remind_text", lang, docs="; ".join(have)))
            if self._missing(v):
                lines.append(msg("remind_missing", lang, docs="; ".join(self._missing(v))))
            lines.append(msg("remind_ticket", lang, ticket=v.ticket))
            choices = [ch("done", msg("done", lang), True)]
        elif kind == "done":
            title, lines = msg("done_title", lang), [msg("done_text", lang)]
        if v.problem and kind not in ("officer", "officer_says", "document"):
            tone = "problem"
        text = "\n".join(lines)
        note = v.note if kind not in ("officer", "officer_says", "document") else ""
        return GuidedStep(
            conversation_id=conversation_id,
            step_id=v.step_id,
            kind=kind,
            title=title,
            text=text,
            speak=for_speech(f"{note}\n{text}" if note else text),
            note=note,
            tone=tone,  # type: ignore[arg-type]
            choices=choices,
            tools=self._tools(v),
            field=fld,
            presses=v.presses,
            ticket=v.ticket if kind in ("ticket", "remind") else None,
            tracking=v.tracking if kind in ("ticket", "remind", "document") else None,
            counter=svc.counter if svc else None,
            service_id=svc.id if svc else None,
            handoff_id=v.handoff_id,
            repeat=v.repeat,
            final=kind == "done",
        )

    def _tools(self, v: Visit) -> list[GuidedChoice]:
        """Ulangi and Panggil Petugas always; Kembali while there is somewhere to go back to."""
        names = ["repeat", "back", "officer"]
        no_back = ("greet", "ticket", "remind", "done", "officer", "officer_says", "document")
        if v.stage in no_back or not any(s.stage not in ("walk", "officer", "officer_says") for s in v.history):
            names.remove("back")
        return [GuidedChoice(id=n, label=msg(n, v.lang)) for n in names]
