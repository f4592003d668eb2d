"""Guided mode for elderly visitors: one step at a time, everything said aloud, big buttons.

Pure Python (no Panda3D) so the whole visit is tested without rendering; the hall only draws
the current :class:`Step` and animates ``walk`` paths. From the entrance to a queue ticket for a
lost KTP-el: 7 presses when the identity is known, 5 presses plus the typed NIK, name and KK number
when it is not (with one read-back of everything typed), so nobody has to fight the interface.

API for the shell/view (``mpp hall --guided``)::

    flow = GuidedFlow(
        catalog, lang="id",
        identity={"nik": "3510...", "full_name": "Siti Aminah"},   # from the session, may be empty
        submit=lambda service_id, data: "BWI-2026-000123",        # NetClient POST /applications (submit=true)
        take_ticket=lambda counter: "A-012",                      # NetClient POST /queue/tickets
        handoff=lambda context: None,                             # call a human officer
        path_to_counter=counter_path_fn(layout),                  # entrance -> counter approach point
        on_speak=lambda text: voice.speak(text, "id", slow=True), # already normalised for speech
    )
    step = flow.step            # draw step.title / step.text, step.buttons + step.tools (big buttons),
                                # step.input (a text box when not None), step.ticket (huge), step.path
    step = flow.press(action)   # a button was pressed (action from step.buttons or step.tools)
    step = flow.enter(text)     # the visitor typed something and pressed OK (only when step.input)
    step = flow.arrived()       # the autopilot finished walking step.path (not a press)
    flow.presses                # presses so far (buttons and typed entries)

Without ``submit``/``take_ticket`` callables the flow is asynchronous (the hall's NetClient answers
later): pressing "submit" shows a ``sending`` step and sets ``flow.pending`` (a :class:`Pending`:
kind "submit" with service_id/data, then kind "ticket" with counter). The view sends that request
and calls ``flow.resolve(kind, response_body)`` or ``flow.reject(kind, Localized message | None)``.
A retry after a failure never submits the application twice.

``press``/``enter`` with an action or input the current step does not offer change nothing and
are not counted: bad input never crashes the flow. Always offered (``step.tools``): ``repeat``
("Ulangi": say the last thing again), ``back`` ("Kembali": one step back) and ``officer``
("Panggil Petugas": hand off to a human).

Step kinds, in order: greet (service buttons; typing "ktp hilang" also works) -> more (all other
services) -> purpose (why: new/lost/damaged... as big buttons, when the form has such a field)
-> requirements -> documents ("Semua ada" or one by one) -> doc -> missing -> walk ("Mari ikut
saya") -> identity (pre-filled NIK and name confirmed with one press) -> field (typed or big
option buttons, required fields only) -> review (everything typed read back once, "NIK: 3510 0112
0490 0001", with "Ubah ..." per field; submit and take the ticket) -> ticket -> remind -> done;
handoff, officer (the officer's words) and failed can appear anywhere.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from protocol.catalog import Catalog, FormField, Localized, Service
from protocol.forms import FieldError, validate_field
from world.voice.normalize import normalize

if TYPE_CHECKING:
    from world.layout import HallLayout

__all__ = [
    "TOP_SERVICES",
    "Button",
    "GuidedCallError",
    "GuidedFlow",
    "InputSpec",
    "Pending",
    "Step",
    "counter_path_fn",
    "expand_abbreviations",
]

log = logging.getLogger(__name__)

Point = tuple[float, float]

TOP_SERVICES = ("ktp-el", "kartu-keluarga", "akta-kelahiran", "kia", "skck", "paspor")

# Select fields that say *why* someone comes (new, lost, damaged...): asked right after the
# service because the documents to bring depend on the answer.
PURPOSE_FIELDS = ("reason", "application_type", "request_type", "direction", "service_type")

IDENTITY_FIELDS = ("nik", "full_name")

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

_T: dict[str, tuple[str, str]] = {
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
    "docs_none": ("Tidak ada dokumen yang perlu dibawa.", "You do not need to bring any documents."),
    "all_docs": ("Semua ada", "I have all"),
    "one_by_one": ("Periksa satu per satu", "Check one by one"),
    "doc_text": ("Apakah Anda membawa {doc}?", "Do you have {doc} with you?"),
    "doc_yes": ("Ya, ada", "Yes, I have it"),
    "doc_no": ("Tidak ada", "No, I don't"),
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
    "walk_no_path": (
        "Loket {counter}, {agency}, ada di dalam aula. Petugas Informasi bisa mengantar Anda.",
        "Counter {counter}, {agency}, is inside the hall. The information desk can take you there.",
    ),
    "arrived": ("Sudah sampai", "We are there"),
    "identity_title": ("Data Anda", "Your details"),
    "identity_text": ("Ini data Anda:", "These are your details:"),
    "identity_ask": ("Benar?", "Is that correct?"),
    "field_title": ("Isi formulir", "Fill in the form"),
    "field_type": ("Ketik {label} Anda, lalu tekan OK.", "Type your {label}, then press OK."),
    "field_choose": ("Pilih {label}.", "Choose the {label}."),
    "confirm_title": ("Periksa", "Check"),
    "confirm_text": ("{label} Anda {value}, benar?", "Your {label} is {value}, correct?"),
    "confirm_yes": ("Benar", "Correct"),
    "confirm_no": ("Salah, ketik lagi", "Wrong, type again"),
    "retype": ("Silakan ketik lagi.", "Please type it again."),
    "chosen": ("Anda memilih {choice}.", "You chose {choice}."),
    "review_title": ("Kirim", "Send"),
    "review_check": ("Periksa yang Anda ketik di atas.", "Please check what you typed above."),
    "review_text": (
        "Data sudah lengkap. Saya kirim permohonan {service} dan ambilkan nomor antrean Loket {counter}?",
        "Everything is filled in. Shall I send the {service} application and take a ticket for counter {counter}?",
    ),
    "submit": ("Kirim dan ambil antrean", "Send and take a ticket"),
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
    "finish": ("Selesai", "Done"),
    "done_title": ("Terima kasih", "Thank you"),
    "done_text": ("Terima kasih. Semoga urusan Anda lancar.", "Thank you. We hope everything goes well."),
    "failed_title": ("Belum berhasil", "Not sent yet"),
    "failed_text": (
        "Maaf, permohonan belum terkirim. {reason} Coba lagi, atau panggil petugas.",
        "Sorry, the application was not sent. {reason} Try again, or call an officer.",
    ),
    "failed_generic": ("Sambungan sedang bermasalah.", "There is a connection problem."),
    "retry": ("Coba lagi", "Try again"),
    "sending_title": ("Mengirim", "Sending"),
    "sending_text": (
        "Mohon tunggu sebentar. Permohonan Anda sedang dikirim dan nomor antrean sedang diambil.",
        "Please wait a moment. Your application is being sent and your ticket is being taken.",
    ),
    "handoff_title": ("Petugas dipanggil", "Officer called"),
    "handoff_text": (
        "Petugas sudah dipanggil. Mohon tunggu sebentar, petugas akan datang menemui Anda.",
        "An officer has been called. Please wait a moment, they will come to you.",
    ),
    "handoff_failed": (
        "Maaf, petugas belum bisa dipanggil dari sini. Silakan ke meja Informasi dekat pintu masuk.",
        "Sorry, an officer cannot be called from here. Please go to the information desk near the entrance.",
    ),
    "back_to_step": ("Kembali ke langkah tadi", "Back to where I was"),
    "officer_title_who": ("Petugas {who}", "Officer {who}"),
    "officer_connected": (
        "Anda terhubung dengan petugas {who} di Loket {n}. Petugas akan berbicara dengan Anda di sini.",
        "You are connected to officer {who} at counter {n}. The officer will talk to you here.",
    ),
    "officer_connected_plain": (
        "Anda terhubung dengan petugas. Petugas akan berbicara dengan Anda di sini.",
        "You are connected to an officer. The officer will talk to you here.",
    ),
    "mismatch_title": ("Perlu bantuan petugas", "An officer can help"),
    "mismatch_text": (
        "Mencoba lagi dengan data yang sama tidak akan berhasil. Panggil petugas, atau ubah nama atau NIK.",
        "Trying again with the same details will not work. Call an officer, or change the name or NIK.",
    ),
    "change": ("Ubah {label}", "Change {label}"),
    "counter": ("Loket", "Counter"),
}


def _t(key: str, lang: str, **fmt: object) -> str:
    text = _T[key][1 if lang == "en" else 0]
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


def _for_speech(text: str) -> str:
    """Drop the written "(KK)"/"(Kartu Keluarga)" glosses: read aloud they only repeat the word."""
    return _GLOSS_PAREN.sub("", text)


def _tidy_typed(f: FormField, text: str) -> str:
    """Forgive the spaces and dashes people type inside long numbers ("3510 0112 ...")."""
    digits_only = f.pattern is not None and re.fullmatch(r"\^\[0-9\]\{\d+(,\d+)?\}\$", f.pattern)
    if f.type == "nik" or digits_only:
        squeezed = re.sub(r"[\s.-]", "", text)
        if squeezed.isdigit():
            return squeezed
    return text


class Button(NamedTuple):
    """A big button: what it says and the action passed back to ``GuidedFlow.press``."""

    label: str
    action: str


@dataclass(frozen=True)
class InputSpec:
    """A text box on the step (typing is always optional at the greeting)."""

    name: str
    label: str
    kind: str
    hint: str = ""
    prefill: str = ""


@dataclass(frozen=True)
class Step:
    """Everything the view needs to draw and say one step."""

    kind: str
    title: str
    text: str
    speak: str
    buttons: tuple[Button, ...]
    tools: tuple[Button, ...]
    input: InputSpec | None = None
    path: tuple[Point, ...] | None = None
    ticket: str | None = None
    tracking: str | None = None
    counter: int | None = None
    service_id: str | None = None

    def actions(self) -> set[str]:
        return {b.action for b in self.buttons} | {b.action for b in self.tools}


class GuidedCallError(Exception):
    """Raised by an injected callable with a message the visitor should hear (e.g. a 422 field error).

    ``retry=False`` when sending the same data again cannot help (the name does not match the NIK).
    """

    def __init__(self, message: Localized, retry: bool = True) -> None:
        super().__init__(message.en)
        self.message = message
        self.retry = retry


@dataclass(frozen=True)
class Pending:
    """A request the view must send (async mode): "submit" the application, then take a "ticket"."""

    kind: str
    service_id: str
    counter: int
    data: dict[str, Any]


@dataclass
class _State:
    stage: str = "greet"
    service_id: str | None = None
    purpose: str | None = None
    doc_index: int = 0
    have: dict[str, bool] = field(default_factory=dict)
    answers: dict[str, Any] = field(default_factory=dict)
    pending: str | None = None
    note: str | None = None  # one-off line shown above the step (an error or an acknowledgement)
    path: tuple[Point, ...] | None = None
    tracking: str | None = None
    ticket: str | None = None
    handoff_ok: bool = True
    retry: bool = True  # a failure the visitor can fix by trying again
    typed: list[str] = field(default_factory=list)  # fields typed by the visitor, read back on the review
    officer: str | None = None  # who is talking (officer steps)


SubmitFn = Callable[[str, dict[str, Any]], Any]
TicketFn = Callable[[int], Any]
HandoffFn = Callable[[dict[str, Any]], Any]
PathFn = Callable[[int], Sequence[Point] | None]


class GuidedFlow:
    """The guided visit as a state machine; see the module docstring for the API."""

    def __init__(
        self,
        catalog: Catalog,
        *,
        lang: str = "id",
        identity: Mapping[str, str] | None = None,
        submit: SubmitFn | None = None,
        take_ticket: TicketFn | None = None,
        handoff: HandoffFn | None = None,
        path_to_counter: PathFn | None = None,
        on_speak: Callable[[str], Any] | None = None,
        top_services: Sequence[str] = TOP_SERVICES,
    ) -> None:
        self.catalog = catalog
        self.lang = "en" if lang == "en" else "id"
        ident = dict(identity or {})
        if "name" in ident and "full_name" not in ident:
            ident["full_name"] = ident.pop("name")
        self.identity = {k: str(v) for k, v in ident.items() if v}
        self._submit = submit
        self._take_ticket = take_ticket
        self._handoff = handoff
        self._path_fn = path_to_counter
        self._on_speak = on_speak
        known = {s.id for s in catalog.services}
        self.top_services = tuple(s for s in top_services if s in known)
        self.presses = 0
        self.spoken: list[str] = []
        self._state = _State()
        self._history: list[_State] = []
        self.pending: Pending | None = None
        self.step = self._render()
        self._say(self.step.speak)

    # ------------------------------------------------------------------ public API

    @property
    def last_spoken(self) -> str:
        return self.spoken[-1] if self.spoken else ""

    @property
    def service(self) -> Service | None:
        sid = self._state.service_id
        return self.catalog.service(sid) if sid else None

    @property
    def answers(self) -> dict[str, Any]:
        return dict(self._state.answers)

    @property
    def missing_documents(self) -> list[str]:
        """Labels of the checklist documents the visitor said they do not have."""
        return [self._doc_label(d) for d in self._checklist() if self._state.have.get(d.id) is False]

    def press(self, action: str) -> Step:
        """Handle a button; an action the current step does not offer is ignored (not counted)."""
        if not isinstance(action, str) or action not in self.step.actions():
            log.info("guided: ignored action %r on step %s", str(action)[:40], self.step.kind)
            return self.step
        self.presses += 1
        if action == "repeat":
            self._say(self.last_spoken or self.step.speak)
            return self.step
        if action == "back":
            return self._back()
        if action == "officer":
            return self._call_officer()
        self._forward(action)
        self._pump_sync()
        return self._show()

    def resolve(self, kind: str, result: Any) -> Step:
        """The answer to ``flow.pending`` arrived (async views): kind "submit" or "ticket".

        ``result`` is the response body (``{"tracking_number": ...}`` / ``{"code": ...}``) or the bare string.
        """
        if self._resolve(kind, result):
            self._pump_sync()
            if self._state.stage != "sending":
                return self._show()
            self.step = self._render()
        return self.step

    def reject(self, kind: str, message: Localized | None = None, retry: bool = True) -> Step:
        """The request in ``flow.pending`` failed; ``message`` (e.g. a 422 detail) is shown and spoken.

        ``retry=False`` (e.g. the name does not match the NIK): the step offers the officer and the
        fields to correct instead of "Coba lagi".
        """
        if self.pending is not None and self.pending.kind == kind:
            self._reject(kind, message, retry)
            return self._show()
        return self.step

    def officer_said(self, text: str, who: str | None = None) -> Step:
        """The officer's words (after Panggil Petugas): a large spoken step, never an error.

        "Kembali ke langkah tadi" returns to where the visit was, not to the previous officer line.
        """
        while self._state.stage in ("officer", "handoff") and self._history:
            self._state = self._history.pop()
        st = self._next_state()
        st.stage, st.note, st.officer = "officer", text.strip(), who
        return self._commit(st)

    def officer_connected(self, who: str | None, counter: int | None) -> Step:
        """ "Connected to officer X at counter N": a step of its own."""
        line = (
            _t("officer_connected", self.lang, who=who, n=counter or "-") if who else _t("officer_connected_plain",
                                                                                          self.lang)
        )  # fmt: skip
        return self.officer_said(line, who)

    def enter(self, text: str) -> Step:
        """Handle typed input on a step with a text box; elsewhere ignored (not counted)."""
        if self.step.input is None or not isinstance(text, str):
            return self.step
        self.presses += 1
        st = self._next_state()
        if st.stage == "greet":
            self._from_text(st, text)
            if st.stage == "greet":  # not understood: same step with the reason, no history entry
                self._state = st
                return self._show()
        else:
            f = self._current_field(st)
            if f is None:
                return self.step
            try:
                text = _tidy_typed(f, text)
                cleaned = validate_field(f, text)
            except FieldError as exc:
                st.note = f"{exc.message.get(self.lang)} {_t('retype', self.lang)}"
                self._state = st  # same step again with the reason: no history entry
                return self._show()
            # A village is sent as typed (the server resolves it again); the rest as cleaned.
            # No read-back per field: every typed value is read back once, together, on the review.
            st.answers[f.name] = text.strip() if f.type == "village" else str(cleaned)
            if f.name not in st.typed:
                st.typed.append(f.name)
            self._after_field(st)
        return self._commit(st)

    def arrived(self) -> Step:
        """The autopilot reached the counter; not counted as a press."""
        if self._state.stage != "walk":
            return self.step
        st = self._next_state()
        self._after_walk(st)
        return self._commit(st)

    # ------------------------------------------------------------------ transitions

    def _next_state(self) -> _State:
        st = copy.deepcopy(self._state)
        st.note = None
        return st

    def _commit(self, st: _State) -> Step:
        self._history.append(self._state)
        self._state = st
        return self._show()

    def _show(self) -> Step:
        self.step = self._render()
        self._say(self.step.speak)
        return self.step

    def _say(self, text: str) -> None:
        if not text:
            return
        self.spoken.append(text)
        if self._on_speak is not None:
            try:
                self._on_speak(text)
            except Exception:  # voice must never break the visit
                log.exception("guided: speaking failed")

    def _back(self) -> Step:
        if self._state.stage in ("ticket", "remind", "done"):
            return self._show()
        if self._history:
            self._state = self._history.pop()
            self._state.note = None
        return self._show()

    def _call_officer(self) -> Step:
        st = self._next_state()
        svc = self.service
        context = {
            "service_id": svc.id if svc else None,
            "counter": svc.counter if svc else None,
            "step": self._state.stage,
            "lang": self.lang,
            "missing": self.missing_documents,
        }
        st.handoff_ok = True
        if self._handoff is not None:
            try:
                self._handoff(context)
            except Exception:
                log.exception("guided: officer handoff failed")
                st.handoff_ok = False
        else:
            st.handoff_ok = False
        st.stage = "handoff"
        return self._commit(st)

    def _forward(self, action: str) -> None:
        st = self._next_state()
        stage = st.stage
        if action.startswith("service:"):
            self._choose_service(st, action.split(":", 1)[1])
        elif action == "more":
            st.stage = "more"
        elif action.startswith("option:") and stage == "purpose":
            svc = self._svc(st)
            pf = self._purpose_field(svc)
            if pf is not None:
                st.purpose = action.split(":", 1)[1]
                st.answers[pf.name] = st.purpose
            st.stage = "requirements"
        elif action.startswith("option:") and stage == "field":
            f = self._current_field(st)
            if f is not None:
                value = action.split(":", 1)[1]
                st.answers[f.name] = value
                st.note = _t("chosen", self.lang, choice=self._option_label(f, value))
            self._after_field(st)
        elif action == "next" and stage == "requirements":
            st.stage = "documents" if self._checklist(st) else "walk"
            if st.stage == "walk":
                self._enter_walk(st)
        elif action == "all_docs":
            for d in self._checklist(st):
                st.have[d.id] = True
            st.note = _t("all_present", self.lang)
            self._enter_walk(st)
        elif action == "one_by_one":
            st.stage, st.doc_index = "doc", 0
        elif stage == "doc" and action in ("yes", "no"):
            docs = self._checklist(st)
            st.have[docs[st.doc_index].id] = action == "yes"
            st.doc_index += 1
            if st.doc_index >= len(docs):
                if any(st.have.get(d.id) is False for d in docs):
                    st.stage = "missing"
                else:
                    st.note = _t("all_present", self.lang)
                    self._enter_walk(st)
        elif action == "next" and stage == "missing":
            self._enter_walk(st)
        elif action == "arrived" and stage == "walk":
            self._after_walk(st)
        elif stage == "identity" and action == "yes":
            svc = self._svc(st)
            for f in svc.form:
                if f.name in self._prefill(svc):
                    st.answers[f.name] = self._prefill(svc)[f.name]
            self._after_field(st)
        elif stage == "identity" and action == "no":
            st.stage = "field"
        elif stage == "confirm" and action == "yes":
            f = self._current_field(st)
            if f is not None:
                st.answers[f.name] = st.pending
            st.pending = None
            self._after_field(st)
        elif stage == "confirm" and action == "no":
            st.pending = None
            st.stage = "field"
            st.note = _t("retype", self.lang)
        elif action == "submit":
            self._start_sending(st)
        elif action.startswith("edit:") and stage in ("failed", "review"):
            name = action.split(":", 1)[1]
            st.answers.pop(name, None)
            st.stage = "field"
        elif action == "next" and stage == "ticket":
            st.stage = "remind"
        elif action == "finish":
            st.stage = "done"
        if stage in ("failed", "sending"):
            self._state = st  # a retry replaces the failure; "Kembali" still leads to the review
            return
        self._history.append(self._state)
        self._state = st

    def _choose_service(self, st: _State, service_id: str) -> None:
        try:
            svc = self.catalog.service(service_id)
        except KeyError:
            st.note = _t("not_understood", self.lang)
            return
        st.service_id = svc.id
        st.purpose = None
        st.answers = {}
        st.have = {}
        st.stage = "purpose" if self._purpose_field(svc) is not None else "requirements"

    def _from_text(self, st: _State, text: str) -> None:
        """Typed request at the greeting: pick the service (and the purpose when it is named)."""
        low = text.lower().strip()
        best: tuple[int, Service] | None = None
        for svc in self.catalog.services:
            for kw in (*svc.keywords, svc.short_name.id, svc.short_name.en, svc.id):
                k = kw.lower()
                if k and re.search(rf"(?<!\w){re.escape(k)}(?!\w)", low) and (best is None or len(k) > best[0]):
                    best = (len(k), svc)
        if best is None:
            st.note = _t("not_understood", self.lang)
            return
        self._choose_service(st, best[1].id)
        pf = self._purpose_field(best[1])
        if pf is None:
            return
        for o in pf.options:
            names = {o.value.replace("_", " "), o.label.id.lower(), o.label.en.lower()}
            if any(re.search(rf"(?<!\w){re.escape(n)}(?!\w)", low) for n in names):
                st.purpose = o.value
                st.answers[pf.name] = o.value
                st.stage = "requirements"
                break

    def _enter_walk(self, st: _State) -> None:
        st.stage = "walk"
        svc = self._svc(st)
        st.path = None
        if self._path_fn is not None:
            try:
                pts = self._path_fn(svc.counter)
            except Exception:
                log.exception("guided: no path to counter %s", svc.counter)
                pts = None
            st.path = tuple((float(x), float(y)) for x, y in pts) if pts else None

    def _after_walk(self, st: _State) -> None:
        svc = self._svc(st)
        if self._prefill(svc) and not all(n in st.answers for n in self._prefill(svc)):
            st.stage = "identity"
        else:
            self._after_field(st)

    def _after_field(self, st: _State) -> None:
        st.stage = "field" if self._current_field(st) is not None else "review"

    def _start_sending(self, st: _State) -> None:
        """Queue the application (once) and then the ticket; the view or the sync callables answer."""
        svc = self._svc(st)
        st.stage = "sending"
        kind = "submit" if st.tracking is None else "ticket"
        self.pending = Pending(kind, svc.id, svc.counter, dict(st.answers))

    def _pump_sync(self) -> None:
        """Answer pending requests right away when synchronous callables were injected."""
        while self.pending is not None:
            p = self.pending
            if (self._submit if p.kind == "submit" else self._take_ticket) is None:
                return  # asynchronous: the view sends the request and calls resolve()/reject()
            kind = p.kind
            try:
                result = self._call(p)
            except GuidedCallError as exc:
                self._reject(kind, exc.message, exc.retry)
                return
            except Exception:
                log.exception("guided: %s failed for %s", kind, self.pending.service_id)
                self._reject(kind, None)
                return
            self._resolve(kind, result)

    def _call(self, p: Pending) -> Any:
        if p.kind == "submit" and self._submit is not None:
            return self._submit(p.service_id, dict(p.data))
        if p.kind == "ticket" and self._take_ticket is not None:
            return self._take_ticket(p.counter)
        return None

    def _resolve(self, kind: str, result: Any) -> bool:
        if self.pending is None or self.pending.kind != kind:
            return False
        st = self._state
        if kind == "submit":
            st.tracking = self._tracking(result)
            if st.tracking is None:
                self._reject(kind, None)
                return True
            self.pending = Pending("ticket", self.pending.service_id, self.pending.counter, self.pending.data)
            return True
        st.ticket = self._code(result)
        if st.ticket is None:
            self._reject(kind, None)
            return True
        self.pending = None
        st.stage, st.note = "ticket", None
        return True

    def _reject(self, kind: str, message: Localized | None, retry: bool = True) -> None:
        if self.pending is None or self.pending.kind != kind:
            return
        self.pending = None
        self._state.stage = "failed"
        self._state.retry = retry
        self._state.note = message.get(self.lang) if message is not None else _t("failed_generic", self.lang)

    @staticmethod
    def _tracking(result: Any) -> str | None:
        if isinstance(result, Mapping):
            result = result.get("tracking_number")
        return str(result) if result else None

    @staticmethod
    def _code(result: Any) -> str | None:
        if isinstance(result, Mapping):
            result = result.get("code")
        return str(result) if result else None

    # ------------------------------------------------------------------ catalogue helpers

    def _svc(self, st: _State) -> Service:
        assert st.service_id is not None
        return self.catalog.service(st.service_id)

    @staticmethod
    def _purpose_field(svc: Service) -> FormField | None:
        for name in PURPOSE_FIELDS:
            for f in svc.form:
                if f.name == name and f.type == "select" and f.required:
                    return f
        return None

    def _options_of(self, st: _State, text: Localized) -> set[str]:
        """The purpose options a requirement or document line is about ("Untuk KTP-el hilang" -> {hilang}).

        Whole option labels count first; only when none is named do distinctive single words of a
        label ("menikah", "marriage") count. A phrase inside a longer matched one is ignored, so
        "lima tahunan" is not also taken for "tahunan". Empty means "for everyone".
        """
        svc = self._svc(st)
        pf = self._purpose_field(svc)
        if pf is None:
            return set()
        hay = f"{text.id} || {text.en}".lower()

        def words(*texts: str) -> set[str]:
            return {w for t in texts for w in re.findall(r"\w+", t.lower())}

        per_option = {o.value: words(o.label.id, o.label.en) for o in pf.options}
        common = {w for v, ws in per_option.items() for w in ws if any(w in o for k, o in per_option.items() if k != v)}
        weak = _WEAK_WORDS | common | words(svc.name.id, svc.name.en, svc.short_name.id, svc.short_name.en)
        for level in ("phrase", "word"):
            found: list[tuple[str, str]] = []
            for o in pf.options:
                if level == "phrase":
                    cands = {o.value.replace("_", " "), o.label.id.lower(), o.label.en.lower()}
                else:
                    cands = {w for w in per_option[o.value] - weak if len(w) >= 5}
                found += [(c, o.value) for c in cands if c and re.search(rf"(?<!\w){re.escape(c)}(?!\w)", hay)]
            kept = {v for c, v in found if not any(c != c2 and c in c2 for c2, _ in found)}
            if kept:
                return kept
        return set()

    def _checklist(self, st: _State | None = None) -> list[Any]:
        """Required documents plus the optional ones that belong to the chosen purpose."""
        st = st or self._state
        if st.service_id is None:
            return []
        svc = self._svc(st)
        chosen = st.purpose
        if chosen is None:
            return [d for d in svc.documents if d.required]
        # Requirement lines about the chosen purpose may name an optional document ("Perubahan KK: KK lama ...").
        specific = " ".join(r.id.lower() for r in svc.requirements if chosen in self._options_of(st, r))

        def wanted(d: Any) -> bool:
            if d.required or chosen in self._options_of(st, d.label):
                return True
            name = re.sub(r"\s*\(.*?\)", "", d.label.id).strip().lower()
            return bool(name) and name in specific

        return [d for d in svc.documents if wanted(d)]

    def _doc_label(self, doc: Any) -> str:
        label = re.sub(r"\s*\((bila|if|untuk|for)\b[^)]*\)", "", doc.label.get(self.lang)).strip()
        return expand_abbreviations(label, self.lang)

    def _requirements(self, st: _State) -> list[str]:
        svc = self._svc(st)
        out = []
        for req in svc.requirements:
            text = req.get(self.lang)
            about = self._options_of(st, req)
            if about and st.purpose is not None and st.purpose not in about:
                continue  # a line for another purpose (e.g. "for a damaged card" when the card was lost)
            out.append(expand_abbreviations(text, self.lang))
        return out

    def _prefill(self, svc: Service) -> dict[str, str]:
        """Identity values from the session that are valid for this form (invalid ones are typed instead)."""
        out: dict[str, str] = {}
        for f in svc.form:
            if f.name in self.identity:
                try:
                    out[f.name] = str(validate_field(f, self.identity[f.name]))
                except FieldError:
                    continue
        return out

    def _current_field(self, st: _State) -> FormField | None:
        if st.service_id is None:
            return None
        for f in self._svc(st).form:
            if f.required and f.name not in st.answers:
                return f
        return None

    def _option_label(self, f: FormField, value: str) -> str:
        for o in f.options:
            if o.value == value:
                return o.label.get(self.lang)
        return value

    def _spoken_value(self, f: FormField, value: str) -> str:
        """How a value is shown and read back: long numbers in groups of four, dates in words."""
        if re.fullmatch(r"\d{16}", value):
            return " ".join(value[i : i + 4] for i in range(0, 16, 4))
        if f.type == "phone":
            return " ".join(value[i : i + 4] for i in range(0, len(value), 4))
        if f.type == "date":
            try:
                d = dt.date.fromisoformat(value)
            except ValueError:
                return value
            return f"{d.day:02d}-{d.month:02d}-{d.year}"
        if f.type == "select":
            return self._option_label(f, value)
        if f.type == "village":
            from protocol.regions import find_village

            v = find_village(value)
            if v is not None:
                return f"{v.name}, {'Kecamatan' if self.lang == 'id' else 'district'} {v.kecamatan_name}"
        return value

    # ------------------------------------------------------------------ rendering

    def _tools(self, stage: str) -> tuple[Button, ...]:
        names = ["repeat", "back", "officer"]
        if stage in ("greet", "sending", "ticket", "remind", "done"):
            names = ["repeat", "officer"]  # nothing to go back to, or the application is already on its way
        if stage in ("handoff", "officer"):
            names = ["repeat"]  # the big "back to where I was" button is the way back
        return tuple(Button(_t(n, self.lang), n) for n in names)

    def _render(self) -> Step:
        st = self._state
        lang = self.lang
        svc = self._svc(st) if st.service_id else None
        title = ""
        lines: list[str] = []
        buttons: list[Button] = []
        inp: InputSpec | None = None
        kind = st.stage
        if kind == "greet":
            title = _t("greet_title", lang)
            lines = [_t("greet_text", lang)]
            for sid in self.top_services:
                s = self.catalog.service(sid)
                buttons.append(Button(expand_abbreviations(s.short_name.get(lang), lang), f"service:{sid}"))
            buttons.append(Button(_t("other", lang), "more"))
            inp = InputSpec("request", _t("greet_title", lang), "text", hint=_t("greet_hint", lang))
        elif kind == "more":
            title, lines = _t("more_title", lang), [_t("more_text", lang)]
            for s in self.catalog.services:
                if s.id not in self.top_services:
                    buttons.append(Button(expand_abbreviations(s.short_name.get(lang), lang), f"service:{s.id}"))
        elif kind == "purpose" and svc is not None:
            pf = self._purpose_field(svc)
            title = expand_abbreviations(svc.short_name.get(lang), lang)
            lines = [_t("purpose_text", lang)]
            buttons = [Button(o.label.get(lang), f"option:{o.value}") for o in (pf.options if pf else ())]
        elif kind == "requirements" and svc is not None:
            title = _t("req_title", lang)
            lines = [_t("req_intro", lang, service=expand_abbreviations(svc.short_name.get(lang), lang))]
            lines += [f"• {r}." if not r.endswith(".") else f"• {r}" for r in self._requirements(st)]
            lines.append(self._fee_line(svc))
            buttons = [Button(_t("next", lang), "next")]
        elif kind == "documents" and svc is not None:
            title = _t("docs_title", lang)
            docs = self._checklist(st)
            lines = [_t("docs_text", lang)] + [f"{i}. {self._doc_label(d)}" for i, d in enumerate(docs, 1)]
            buttons = [Button(_t("all_docs", lang), "all_docs"), Button(_t("one_by_one", lang), "one_by_one")]
        elif kind == "doc" and svc is not None:
            docs = self._checklist(st)
            title = f"{_t('docs_title', lang)} {st.doc_index + 1}/{len(docs)}"
            lines = [_t("doc_text", lang, doc=self._doc_label(docs[st.doc_index]))]
            buttons = [Button(_t("doc_yes", lang), "yes"), Button(_t("doc_no", lang), "no")]
        elif kind == "missing":
            title = _t("missing_title", lang)
            lines = [_t("missing_text", lang, docs="; ".join(self.missing_documents)), _t("missing_hint", lang)]
            buttons = [Button(_t("go_anyway", lang), "next")]
        elif kind == "walk" and svc is not None:
            agency = self.catalog.agency(svc.agency).short
            title = _t("walk_title", lang)
            key = "walk_text" if st.path else "walk_no_path"
            lines = [_t(key, lang, counter=svc.counter, agency=agency)]
            buttons = [Button(_t("arrived", lang), "arrived")]
        elif kind == "identity" and svc is not None:
            title = _t("identity_title", lang)
            lines = [_t("identity_text", lang)]
            for pre in svc.form:
                value = self._prefill(svc).get(pre.name)
                if value is not None:
                    label = expand_abbreviations(pre.label.get(lang), lang)
                    lines.append(f"{label}: {self._spoken_value(pre, value)}.")
            lines.append(_t("identity_ask", lang))
            buttons = [Button(_t("yes", lang), "yes"), Button(_t("no", lang), "no")]
        elif kind == "field" and svc is not None:
            f = self._current_field(st)
            title = _t("field_title", lang)
            if f is not None:
                label = f.label.get(lang)
                if f.type == "select":
                    lines = [_t("field_choose", lang, label=label.lower() if lang == "en" else label)]
                    buttons = [Button(o.label.get(lang), f"option:{o.value}") for o in f.options]
                else:
                    lines = [_t("field_type", lang, label=label)]
                    if f.help is not None:
                        lines.append(f.help.get(lang))
                    prefill = self.identity.get(f.name, "")
                    inp = InputSpec(f.name, label, f.type, hint=f.help.get(lang) if f.help else "", prefill=prefill)
        elif kind == "confirm" and svc is not None:
            f = self._current_field(st)
            title = _t("confirm_title", lang)
            if f is not None and st.pending is not None:
                lines = [_t("confirm_text", lang, label=f.label.get(lang), value=self._spoken_value(f, st.pending))]
            buttons = [Button(_t("confirm_yes", lang), "yes"), Button(_t("confirm_no", lang), "no")]
        elif kind == "review" and svc is not None:
            title = _t("review_title", lang)
            typed = [f for f in svc.form if f.name in st.typed and f.name in st.answers]
            lines = [
                f"{expand_abbreviations(f.label.get(lang), lang)}: {self._spoken_value(f, str(st.answers[f.name]))}."
                for f in typed
            ]
            if typed:
                lines.append(_t("review_check", lang))
            lines.append(
                _t(
                    "review_text",
                    lang,
                    service=expand_abbreviations(svc.short_name.get(lang), lang),
                    counter=svc.counter,
                )
            )
            buttons = [Button(_t("submit", lang), "submit")]
            buttons += [Button(_t("change", lang, label=f.label.get(lang)), f"edit:{f.name}") for f in typed]
        elif kind == "sending":
            title, lines = _t("sending_title", lang), [_t("sending_text", lang)]
        elif kind == "failed" and not st.retry:
            # Sending the same data again cannot help: the officer, or the fields the visitor can fix.
            title = _t("mismatch_title", lang)
            lines = [f"{st.note or _t('failed_generic', lang)} {_t('mismatch_text', lang)}"]
            buttons = [Button(_t("officer", lang), "officer")]
            if svc is not None:
                buttons += [
                    Button(_t("change", lang, label=f.label.get(lang)), f"edit:{f.name}")
                    for f in svc.form
                    if f.name in IDENTITY_FIELDS
                ]
        elif kind == "failed":
            title = _t("failed_title", lang)
            lines = [_t("failed_text", lang, reason=st.note or _t("failed_generic", lang))]
            buttons = [Button(_t("retry", lang), "submit")]
        elif kind == "officer":
            title = _t("officer_title_who", lang, who=st.officer) if st.officer else _t("handoff_title", lang)
            lines = [st.note or ""]
            buttons = [Button(_t("back_to_step", lang), "back")]
        elif kind == "ticket" and svc is not None:
            agency = self.catalog.agency(svc.agency).short
            title = _t("ticket_title", lang)
            lines = [
                _t("ticket_text", lang, ticket=st.ticket, counter=svc.counter, agency=agency, tracking=st.tracking)
            ]
            buttons = [Button(_t("next", lang), "next")]
        elif kind == "remind" and svc is not None:
            title = _t("remind_title", lang)
            have = [self._doc_label(d) for d in self._checklist(st) if st.have.get(d.id) is not False]
            lines = []
            if have:
                lines.append(_t("remind_text", lang, docs="; ".join(have)))
            if self.missing_documents:
                lines.append(_t("remind_missing", lang, docs="; ".join(self.missing_documents)))
            lines.append(_t("remind_ticket", lang, ticket=st.ticket))
            buttons = [Button(_t("finish", lang), "finish")]
        elif kind == "done":
            title, lines = _t("done_title", lang), [_t("done_text", lang)]
        elif kind == "handoff":
            title = _t("handoff_title", lang)
            lines = [_t("handoff_text" if st.handoff_ok else "handoff_failed", lang)]
            buttons = [Button(_t("back_to_step", lang), "back")]
        if st.note and kind not in ("failed", "officer"):
            lines.insert(0, st.note)
        text = "\n".join(lines)
        spoken_src = _for_speech(" ".join(re.sub(r"^(•|\d+\.)\s*", "", line) for line in lines))
        return Step(
            kind=kind,
            title=title,
            text=text,
            speak=normalize(spoken_src, lang),
            buttons=tuple(buttons),
            tools=self._tools(kind),
            input=inp,
            path=st.path if kind == "walk" else None,
            ticket=st.ticket if kind in ("ticket", "remind") else None,
            tracking=st.tracking if kind in ("ticket", "remind") else None,
            counter=svc.counter if svc else None,
            service_id=svc.id if svc else None,
        )

    def _fee_line(self, svc: Service) -> str:
        if svc.fee.free:
            return _t("fee_free", self.lang)
        total = sum(i.amount for i in svc.fee.items)
        amount = f"Rp{total:,}".replace(",", ".")
        return _t("fee", self.lang, amount=amount)


def counter_path_fn(layout: HallLayout | None = None) -> PathFn:
    """Path from the hall entrance to a counter's approach point over the nav grid (built once)."""
    from world.layout import load_layout
    from world.nav import NavGrid

    hall = layout or load_layout()
    grid = NavGrid.from_layout(hall)
    start = (hall.spawn[0], hall.spawn[1])

    def path(counter: int) -> list[Point] | None:
        try:
            goal = hall.counter(counter).approach
        except KeyError:
            return None
        return grid.find_path(start, goal)

    return path
