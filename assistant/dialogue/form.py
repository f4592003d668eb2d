"""The form loop: the catalogue's form fields asked one at a time, validated with the shared
validators, read back, and submitted exactly once through the port.

Within the loop a question ("syaratnya apa aja?") is answered through the answering path and
the loop asks again; a choice is matched loosely (``values.match_option``); a relative date
("kemarin") is understood; and the read-back lets the visitor change any field by name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from assistant import actions
from assistant.dialogue.tracker import (
    CONFIRM,
    Identified,
    LoopEnded,
    LoopStarted,
    LoopState,
    SlotRequested,
    SlotSet,
    Submitted,
    Tracker,
)
from assistant.dialogue.values import looks_like_question, match_option, relative_date
from assistant.dialogue.words import BACK, CANCEL, CORRECT, FIELD_HINTS, NO, REPEAT, SKIP, YES
from assistant.ports import PortError
from assistant.reply import Reply, qr_officer
from assistant.slots import NIK_RE, Slots, extract_name, parse_date_text
from assistant.text import detect_lang, normalize
from l10n import t
from protocol.catalog import Catalog, FormField, Service
from protocol.messages import QuickReply, WorldAction

if TYPE_CHECKING:
    from assistant.core import Conversation

# The second factor inside the chat: pseudo-slots of the form loop (never form data, never sent).
CODE_CONTACT = "__contact"  # waiting for a contact (or "kirim") before a code is sent
CODE = "__code"  # waiting for the 6-digit code
CHALLENGE = "__challenge"
_SEND = re.compile(r"^(kirim( kode)?|kirimkan|send( the)?( code)?|sudah terdaftar|already registered)[\s.!]*$")
_SIX = re.compile(r"^\D*(\d(?:\s?\d){5})\D*$")

# Answers a question asked inside a loop: (text, lang, service the loop is about) -> Reply.
AskFn = Callable[[str, str, str], Reply]

# Words that name a field without giving its new value ("tidak, namanya salah").
_NOT_A_VALUE = re.compile(
    r"^(salah|keliru|ganti|ubah|diubah|diganti|wrong|incorrect|change|typo|kurang tepat|tidak benar|bukan itu)?[\s.!]*$"
)


class FormLoop:
    def __init__(self, catalog: Catalog, ask: AskFn) -> None:
        self.catalog = catalog
        self.ask = ask

    # ------------------------------------------------------------------ starting

    def start(self, conv: Conversation, tr: Tracker, svc: Service, lang: str, slots: Slots | None = None) -> Reply:
        if svc.apply_via is not None:
            return self.elsewhere(svc, lang)
        seq = tr.forms_started + 1
        tr.apply(LoopStarted("form", svc.id, seq))
        intro = t("assistant.all_right_let_s_fill_in", lang, short_name=svc.short_name.get(lang))
        known: dict[str, str | None] = {"nik": conv.caller.nik, "full_name": conv.caller.name}
        prefilled = []
        for f in svc.form:
            value = known.get(f.name)
            if value and self.validate(f, value)[1] is None:
                tr.apply(SlotSet(f.name, value))
                prefilled.append(f.label.get(lang))
        if prefilled:
            # An identified citizen is not asked again; the read-back still shows it for correction.
            intro += "\n" + t("assistant.from_your_session_identity", lang) + ", ".join(prefilled)
        taken = self.prefill_from_slots(tr, svc, slots)
        if taken:
            intro += "\n" + t("assistant.from_your_message", lang) + ", ".join(f.label.get(lang) for f in taken)
        reply = self.next(tr, svc, lang, intro)
        reply.actions.insert(0, WorldAction(kind="open_form", data={"service_id": svc.id}))
        return reply

    def elsewhere(self, svc: Service, lang: str) -> Reply:
        """A service applied for outside MPP (passport: M-Paspor): say where, offer the counter queue."""
        assert svc.apply_via is not None
        _agency, counter = self.catalog.counter(svc.counter)
        return Reply(
            t(
                "assistant.a_short_name_application_is_not",
                lang,
                short_name=svc.short_name.get(lang),
                apply_via=svc.apply_via.get(lang),
                where_note=svc.where_note.get(lang),
                number=counter.number,
            ),
            lang=lang,
            intent="start_application",
            service=svc.id,
            quick_replies=[
                QuickReply(label=t("assistant.take_a_ticket", lang), payload=f"/queue {svc.id}"),
                QuickReply(label=t("assistant.requirements", lang), payload=f"/ask {svc.id} requirements"),
                qr_officer(lang),
            ],
        )

    def prefill_from_slots(self, tr: Tracker, svc: Service, slots: Slots | None) -> list[FormField]:
        """Values already given in the opening message ("... NIK 3510..., lahir 12 Januari 2024")."""
        if slots is None or tr.loop is None:
            return []
        taken: list[FormField] = []
        dates = [f for f in svc.form if f.type == "date"]
        for f in svc.form:
            if f.name in tr.loop.slots:
                continue
            raw: str | None = None
            if f.type == "nik" and f.name == "nik":
                raw = slots.nik
            elif f.name == "full_name":
                raw = slots.name
            elif f.type == "date" and len(dates) == 1 and slots.date is not None:
                raw = slots.date.isoformat()
            elif f.type == "village":
                raw = slots.village
            if raw:
                value, err, _err_en = self.validate(f, raw)
                if err is None:
                    tr.apply(SlotSet(f.name, value))
                    taken.append(f)
        return taken

    # ------------------------------------------------------------------ asking

    @staticmethod
    def _loop(tr: Tracker) -> LoopState:
        assert tr.loop is not None and tr.loop.loop == "form"
        return tr.loop

    def next(self, tr: Tracker, svc: Service, lang: str, intro: str = "") -> Reply:
        """Ask the first field without a value, or read the answers back when none is left."""
        lp = self._loop(tr)
        for f in svc.form:
            if f.name not in lp.slots:
                tr.apply(SlotRequested(f.name))
                return self.ask_field(tr, svc, lang, intro)
        return self.read_back(tr, svc, lang, intro)

    def field_prompt(self, f: FormField, lang: str) -> str:
        q = f.label.get(lang)
        if f.type == "select":
            q += "? " + t("assistant.choose", lang) + ", ".join(o.label.get(lang) for o in f.options)
        elif f.type == "date":
            q += "? " + t("assistant.e_g_12_january_2020_12", lang)
        else:
            q += "?"
        if not f.required:
            q += t("assistant.optional_type_skip", lang)
        if f.help is not None:
            q += " " + f.help.get(lang)
        return q

    def ask_field(self, tr: Tracker, svc: Service, lang: str, intro: str = "") -> Reply:
        lp = self._loop(tr)
        names = [f.name for f in svc.form]
        idx = names.index(str(lp.requested))
        f = svc.form[idx]
        qrs = [QuickReply(label=o.label.get(lang), payload=o.value) for o in f.options]
        if not f.required:
            qrs.append(QuickReply(label=t("assistant.skip", lang), payload="/skip"))
        if idx > 0:
            qrs.append(QuickReply(label=t("assistant.back", lang), payload="/back"))
        qrs.append(QuickReply(label=t("assistant.cancel", lang), payload="/cancel"))
        step = f"({idx + 1}/{len(svc.form)}) "
        return Reply(
            (intro + "\n" if intro else "") + step + self.field_prompt(f, lang),
            lang=lang,
            intent="start_application",
            service=svc.id,
            quick_replies=qrs,
        )

    def again(self, tr: Tracker, svc: Service, lang: str, intro: str = "") -> Reply:
        """The loop's current question once more (the field, or the read-back)."""
        if self._loop(tr).requested == CONFIRM:
            return self.read_back(tr, svc, lang, intro)
        return self.ask_field(tr, svc, lang, intro)

    # ------------------------------------------------------------------ values

    def prepare_value(self, f: FormField, text: str) -> str:
        """Pull the value out of a sentence: 'NIK saya 3510...' -> the digits, '12 Januari 2020' -> ISO."""
        raw = text.strip()
        if f.type == "nik":
            m = NIK_RE.search(raw)
            return m.group(1) if m else re.sub(r"[\s.\-]", "", raw)
        if f.type == "date":
            d = parse_date_text(raw) or relative_date(raw)
            return d.isoformat() if d else raw
        if f.type == "select":
            return match_option(f.options, raw) or raw
        if f.type == "number":
            m = re.search(r"\d+", raw)
            return m.group(0) if m else raw
        if f.type == "text" and "name" in f.name:
            name = extract_name(raw)
            return name or raw
        return raw

    def validate(self, f: FormField, text: str) -> tuple[Any, str | None, str | None]:
        from protocol.forms import FieldError, validate_field

        value = self.prepare_value(f, text)
        try:
            cleaned = validate_field(f, value)
        except FieldError as exc:
            return None, exc.message.id, exc.message.en
        # A village is stored as typed: the server validates the submitted form again, and the
        # cleaned village id would not be found by name a second time.
        return (value.strip() if f.type == "village" else cleaned), None, None

    def named_field(self, svc: Service, text: str) -> tuple[FormField | None, str]:
        """The field a message names ("namanya", "tanggal lahir") and what follows the name."""
        body = CORRECT.sub("", text.strip(), count=1)
        body = re.sub(r"^(tidak|no|nope|bukan|ubah|ganti|change)\b[\s,:]*", "", body, flags=re.IGNORECASE)
        low = body.lower()
        for rx, frags in FIELD_HINTS:
            m = rx.search(low)
            if not m:
                continue
            for f in svc.form:
                if any(fr == f.name or (fr in f.name and fr != "name") or (fr == "name" and f.name == "full_name")
                       for fr in frags) or (frags in (("date",), ("village",)) and f.type == frags[0]):  # fmt: skip
                    value = body[m.end() :]
                    value = re.sub(r"^(nya)?\s*(saya|anak|adalah|is|should be|harusnya|seharusnya)?\s*[:=]?\s*", "",
                                   value, flags=re.IGNORECASE)  # fmt: skip
                    return f, value.strip()
        for f in svc.form:  # the field's own label ("Nomor KK", "Alasan permohonan")
            for label in (f.label.id, f.label.en):
                m = re.search(rf"(?<!\w){re.escape(label.lower())}(?!\w)", low)
                if m:
                    return f, re.sub(r"^\s*(nya)?\s*[:=]?\s*", "", body[m.end() :]).strip()
        return None, body

    # ------------------------------------------------------------------ a turn

    def turn(self, conv: Conversation, tr: Tracker, text: str) -> Reply:
        lp = self._loop(tr)
        svc = self.catalog.service(lp.service)
        lang = detect_lang(text, tr.lang or "id")
        norm = normalize(text)
        if CANCEL.match(norm):
            tr.apply(LoopEnded("form", "cancelled"))
            return Reply(
                t("assistant.application_cancelled_nothing_was_sent", lang),
                lang=lang,
                intent="start_application",
                service=svc.id,
                quick_replies=[
                    QuickReply(label=t("assistant.start_again", lang), payload=f"/apply {svc.id}"),
                    qr_officer(lang),
                ],
            )
        if lp.requested is None:  # resumed from an older log: this message answers the next open field
            pending = next((f.name for f in svc.form if f.name not in lp.slots), CONFIRM)
            tr.apply(SlotRequested(pending))
        if lp.requested == CONFIRM:
            return self.confirm_turn(conv, tr, svc, text, norm, lang)
        if lp.requested in (CODE_CONTACT, CODE):
            return self.code_turn(conv, tr, svc, text, norm, lang)
        if REPEAT.match(norm):
            return self.ask_field(tr, svc, lang)
        names = [f.name for f in svc.form]
        if BACK.match(norm):
            idx = names.index(str(lp.requested))
            tr.apply(SlotRequested(names[max(0, idx - 1)]))
            return self.ask_field(tr, svc, lang)
        if CORRECT.match(norm) and any(n in lp.slots for n in names):
            return self.apply_correction(tr, svc, text, lang)
        f = svc.form[names.index(str(lp.requested))]
        if not f.required and (SKIP.match(norm) or norm in ("lewati", "skip")):
            tr.apply(SlotSet(f.name, None))
            return self.advance(tr, svc, lang)
        asked = looks_like_question(text, norm)
        if not asked or f.type in ("nik", "number", "phone", "date", "email", "select"):
            # A strict field takes a valid value even with a question mark ("kemarin?").
            value, err_id, err_en = self.validate(f, text)
            if err_id is None:
                tr.apply(SlotSet(f.name, value))
                return self.advance(tr, svc, lang)
            if not asked:
                return self.ask_field(
                    tr, svc, lang, t("assistant.sorry_problem", lang, problem=err_en if lang == "en" else err_id)
                )
        return self.answer_then_ask(tr, svc, text, lang)

    def answer_then_ask(self, tr: Tracker, svc: Service, text: str, lang: str) -> Reply:
        """A question inside the loop: answer it about this service, then ask the same thing again."""
        answer = self.ask(text, lang, svc.id)
        again = self.again(tr, svc, lang)
        again.text = answer.text + "\n\n" + again.text
        again.citations = list(answer.citations)
        again.aspect = answer.aspect
        return again

    def edit(self, tr: Tracker, name: str, lang: str, note: str = "") -> Reply | None:
        """Ask one field again and come back to the read-back (``/edit FIELD`` or the field's name)."""
        lp = tr.loop
        if lp is None or lp.loop != "form":
            return None
        svc = self.catalog.service(lp.service)
        if name not in [f.name for f in svc.form]:
            return None
        back = lp.requested == CONFIRM or lp.return_to_confirm or all(f.name in lp.slots for f in svc.form)
        tr.apply(SlotRequested(name, return_to_confirm=back))
        reply = self.ask_field(tr, svc, lang, note)
        if back:  # the other fields stay one press away
            reply.quick_replies[-1:-1] = self.edit_buttons(svc, lang, skip=name)
        return reply

    def edit_buttons(self, svc: Service, lang: str, skip: str | None = None) -> list[QuickReply]:
        return [QuickReply(label=f.label.get(lang), payload=f"/edit {f.name}") for f in svc.form if f.name != skip]

    def apply_correction(self, tr: Tracker, svc: Service, text: str, lang: str) -> Reply:
        lp = self._loop(tr)
        f, value_text = self.named_field(svc, text)
        if f is None:
            names = [x.name for x in svc.form]
            answered = [n for n in names if n in lp.slots]
            if not answered:
                return self.again(tr, svc, lang)
            if lp.requested == CONFIRM:
                prev = answered[-1]
            else:
                prev = names[max(0, names.index(str(lp.requested)) - 1)]
            f = svc.form[names.index(prev)]
        if not value_text or _NOT_A_VALUE.match(value_text.lower()):
            # "tidak, namanya salah": the field is named but no new value given: ask for it.
            return self.edit(tr, f.name, lang) or self.again(tr, svc, lang)
        value, err_id, err_en = self.validate(f, value_text)
        if err_id is not None:
            return self.edit(
                tr, f.name, lang, t("assistant.sorry_problem", lang, problem=err_en if lang == "en" else err_id)
            ) or self.again(tr, svc, lang)
        tr.apply(SlotSet(f.name, value))
        note = t("assistant.ok_label_updated", lang, label=f.label.get(lang))
        if lp.requested == CONFIRM or lp.return_to_confirm:
            return self.read_back(tr, svc, lang, note)
        return self.ask_field(tr, svc, lang, note)

    def advance(self, tr: Tracker, svc: Service, lang: str) -> Reply:
        lp = self._loop(tr)
        if lp.return_to_confirm:
            return self.read_back(tr, svc, lang)
        return self.next(tr, svc, lang)

    # ------------------------------------------------------------------ read-back and submit

    def display(self, f: FormField, value: Any, lang: str) -> str:
        if value is None:
            return "-"
        if f.type == "nik":
            from protocol.nik import mask_nik

            return mask_nik(str(value))
        if f.type == "select":
            for o in f.options:
                if o.value == value:
                    return o.label.get(lang)
        if f.type == "village":
            from protocol.regions import find_village

            v = find_village(str(value))
            if v is not None:
                return f"{v.name}, {v.kecamatan_name}"
        return str(value)

    def read_back(self, tr: Tracker, svc: Service, lang: str, note: str = "") -> Reply:
        lp = self._loop(tr)
        if lp.requested != CONFIRM or lp.return_to_confirm:
            tr.apply(SlotRequested(CONFIRM))
        lines = [f"• {f.label.get(lang)}: {self.display(f, lp.slots.get(f.name), lang)}" for f in svc.form]
        head = t("assistant.please_check_your_short_name_application", lang, short_name=svc.short_name.get(lang))
        tail = t("assistant.is_this_correct_answer_yes_to", lang)
        qrs = [
            QuickReply(label=t("assistant.yes_submit", lang), payload="/yes"),
            QuickReply(label=t("assistant.change", lang), payload="/no"),
            QuickReply(label=t("assistant.cancel", lang), payload="/cancel"),
        ]
        text = "\n".join(x for x in (note, head, "\n".join(lines), tail) if x)
        return Reply(text, lang=lang, intent="start_application", service=svc.id, quick_replies=qrs)

    def confirm_turn(self, conv: Conversation, tr: Tracker, svc: Service, text: str, norm: str, lang: str) -> Reply:
        f, rest = self.named_field(svc, text)
        if f is not None and not YES.match(norm):
            # A field named at the read-back ("tidak, namanya salah", "bukan, NIK 3510...", "alamat"):
            # change that one field, with or without the new value in the same message.
            return self.apply_correction(tr, svc, text, lang)
        if CORRECT.match(norm) and len(norm.split()) > 1:
            return self.apply_correction(tr, svc, text, lang)
        if YES.match(norm):
            return self.submit(conv, tr, svc, lang)
        if NO.match(norm):
            return Reply(
                t("assistant.which_answer_do_you_want_to", lang),
                lang=lang,
                intent="start_application",
                service=svc.id,
                quick_replies=[
                    *self.edit_buttons(svc, lang),
                    QuickReply(label=t("assistant.cancel", lang), payload="/cancel"),
                ],
            )
        if REPEAT.match(norm):
            return self.read_back(tr, svc, lang)
        if looks_like_question(text, norm):
            return self.answer_then_ask(tr, svc, text, lang)
        return self.read_back(tr, svc, lang, t("assistant.please_answer_yes_or_correct_it", lang))

    def submit(self, conv: Conversation, tr: Tracker, svc: Service, lang: str) -> Reply:
        lp = self._loop(tr)
        data = {k: v for k, v in lp.slots.items() if v is not None and not k.startswith("__")}
        if conv.caller.citizen_id is None and data.get("nik") and data.get("full_name"):
            try:
                actions.identify(conv, str(data["nik"]), str(data["full_name"]))
            except PortError as exc:
                if exc.code == "verify_first":
                    return self.ask_contact(tr, svc, lang)
                # Not something a retry fixes (e.g. the name does not match the NIK): offer the
                # fields to correct and a human, never the same "try again".
                return Reply(
                    exc.message(lang) + "\n" + t("assistant.check_the_nik_and_the_name", lang),
                    lang=lang, intent="start_application", service=svc.id,
                    quick_replies=[
                        QuickReply(label=t("assistant.change_the_name", lang), payload="/edit full_name"),
                        QuickReply(label=t("assistant.change_the_nik", lang), payload="/edit nik"),
                        qr_officer(lang),
                    ],
                )  # fmt: skip
            c = conv.caller
            tr.apply(Identified(c.citizen_id, c.nik, c.name))
        key = f"{conv.id}:form:{lp.seq}"
        try:
            reply, tracking = actions.submit(self.catalog, conv, svc, data, key, lang)
        except PortError as exc:
            return Reply(
                exc.message(lang), lang=lang, intent="start_application", service=svc.id,
                quick_replies=[*self.edit_buttons(svc, lang), qr_officer(lang)],
            )  # fmt: skip
        tr.apply(Submitted(svc.id, tracking))
        tr.apply(LoopEnded("form", "submitted"))
        return reply

    # ------------------------------------------------------------------ the second factor, in the chat

    def ask_contact(self, tr: Tracker, svc: Service, lang: str, note: str = "") -> Reply:
        """A NIK and a name prove nothing: a code goes to the NIK's registered contact first."""
        tr.apply(SlotRequested(CODE_CONTACT))
        text = t("assistant.to_submit_first_prove_this_nik", lang)
        return Reply(
            (note + "\n" if note else "") + text,
            lang=lang, intent="start_application", service=svc.id,
            quick_replies=[
                QuickReply(label=t("assistant.send_the_code", lang), payload="kirim kode"),
                QuickReply(label=t("assistant.cancel", lang), payload="/cancel"),
                qr_officer(lang),
            ],
        )  # fmt: skip

    def code_turn(self, conv: Conversation, tr: Tracker, svc: Service, text: str, norm: str, lang: str) -> Reply:
        lp = self._loop(tr)
        nik, name = str(lp.slots.get("nik") or ""), str(lp.slots.get("full_name") or "")
        if lp.requested == CODE_CONTACT or _SEND.match(norm) and lp.requested == CODE:
            contact = None if _SEND.match(norm) else text.strip()
            try:
                challenge = conv.port.request_code(conv.caller, nik, name, contact)
            except PortError as exc:
                return self.ask_contact(tr, svc, lang, exc.message(lang))
            tr.apply(SlotSet(CHALLENGE, challenge.challenge_id))
            tr.apply(SlotRequested(CODE))
            minutes = max(1, challenge.expires_in // 60)
            return Reply(
                t("assistant.a_6_digit_code_has_been", lang, minutes=minutes),
                lang=lang, intent="start_application", service=svc.id,
                quick_replies=[
                    QuickReply(label=t("assistant.send_again", lang), payload="kirim kode"),
                    QuickReply(label=t("assistant.cancel", lang), payload="/cancel"),
                    qr_officer(lang),
                ],
            )  # fmt: skip
        found = _SIX.match(text.strip())
        if found is None:
            return Reply(
                t("assistant.the_code_has_6_digits_type", lang),
                lang=lang, intent="start_application", service=svc.id,
                quick_replies=[QuickReply(label=t("assistant.send_again", lang), payload="kirim kode"),
                               qr_officer(lang)],
            )  # fmt: skip
        code = re.sub(r"\s", "", found.group(1))
        try:
            conv.caller = conv.port.verify_code(conv.caller, str(lp.slots.get(CHALLENGE) or ""), code)
        except PortError as exc:
            return Reply(
                exc.message(lang), lang=lang, intent="start_application", service=svc.id,
                quick_replies=[QuickReply(label=t("assistant.send_again", lang), payload="kirim kode"),
                               qr_officer(lang)],
            )  # fmt: skip
        c = conv.caller
        tr.apply(Identified(c.citizen_id, c.nik, c.name))
        tr.apply(SlotSet(CHALLENGE, None))
        tr.apply(SlotRequested(CONFIRM))
        return self.submit(conv, tr, svc, lang)

    def submitted_elsewhere(self, conv: Conversation, tr: Tracker, service_id: str, tracking: str, lang: str) -> Reply:
        """The form panel (hall) or the page submitted the application this loop was filling."""
        st = conv.port.application_status(conv.caller, tracking)  # PortError(not_found) if not theirs
        tr.apply(Submitted(st.service_id, st.tracking_number, via="form"))
        if tr.loop is not None and tr.loop.loop == "form" and tr.loop.service == st.service_id:
            tr.apply(LoopEnded("form", "submitted"))
        svc = self.catalog.service(st.service_id)
        return Reply(
            t(
                "assistant.your_short_name_application_was_submitted",
                lang,
                short_name=svc.short_name.get(lang),
                tracking_number=st.tracking_number,
            ),
            lang=lang,
            intent="start_application",
            service=svc.id,
            quick_replies=[QuickReply(label=t("assistant.take_a_ticket", lang), payload=f"/queue {svc.id}")],
        )
