"""The form loop: the catalogue's form fields asked one at a time, validated, read back, submitted."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from assistant import actions
from assistant.dialogue.words import BACK, CANCEL, CORRECT, FIELD_HINTS, NO, REPEAT, SKIP, YES
from assistant.ports import PortError
from assistant.reply import Reply, qr_officer
from assistant.reply import t as _t
from assistant.slots import NIK_RE, Slots, extract_name, parse_date_text
from assistant.text import detect_lang, normalize
from protocol.catalog import Catalog, FormField, Service
from protocol.messages import QuickReply, WorldAction

if TYPE_CHECKING:
    from assistant.core import Conversation


class FormLoop:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def start(
        self, conv: Conversation, state: dict[str, Any], svc: Service, lang: str, slots: Slots | None = None
    ) -> Reply:
        state["forms_started"] = int(state.get("forms_started") or 0) + 1
        state["mode"] = "form"
        state["form"] = {"service": svc.id, "idx": 0, "data": {}, "seq": state["forms_started"]}
        intro = _t(
            lang,
            f"Baik, kita isi permohonan {svc.short_name.id} satu per satu. "
            "Ketik 'batal' untuk membatalkan, 'kembali' untuk pertanyaan sebelumnya, 'ulangi' untuk mengulang.",
            f"All right, let's fill in the {svc.short_name.en} application one question at a time. "
            "Type 'cancel' to stop, 'back' for the previous question, 'repeat' to hear it again.",
        )
        form = state["form"]
        known: dict[str, str | None] = {"nik": conv.caller.nik, "full_name": conv.caller.name}
        prefilled = []
        for f in svc.form:
            value = known.get(f.name)
            if value and self.validate(f, value)[1] is None:
                form["data"][f.name] = value
                prefilled.append(f.label.get(lang))
        if prefilled:
            # An identified citizen is not asked again; the read-back still shows it for correction.
            intro += (
                "\n" + _t(lang, "Dari identitas sesi Anda: ", "From your session identity: ") + ", ".join(prefilled)
            )
        taken = self.prefill_from_slots(svc, form["data"], slots)
        if taken:
            intro += (
                "\n"
                + _t(lang, "Dari pesan Anda: ", "From your message: ")
                + ", ".join(f.label.get(lang) for f in taken)
            )
        while form["idx"] < len(svc.form) and svc.form[form["idx"]].name in form["data"]:
            form["idx"] += 1
        if form["idx"] >= len(svc.form):
            reply = self.read_back(state, svc, lang, intro)
        else:
            reply = self.ask_field(state, lang, intro)
        reply.actions.insert(0, WorldAction(kind="open_form", data={"service_id": svc.id}))
        return reply

    def prefill_from_slots(self, svc: Service, data: dict[str, Any], slots: Slots | None) -> list[FormField]:
        """Values already given in the opening message ("... NIK 3510..., lahir 12 Januari 2024")."""
        if slots is None:
            return []
        taken: list[FormField] = []
        dates = [f for f in svc.form if f.type == "date"]
        for f in svc.form:
            if f.name in data:
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
                    data[f.name] = value
                    taken.append(f)
        return taken

    def field_prompt(self, f: FormField, lang: str) -> str:
        q = f.label.get(lang)
        if f.type == "select":
            q += "? " + _t(lang, "Pilih: ", "Choose: ") + ", ".join(o.label.get(lang) for o in f.options)
        elif f.type == "date":
            q += "? " + _t(lang, "(contoh: 12 Januari 2020 atau 12-01-2020)", "(e.g. 12 January 2020 or 12-01-2020)")
        else:
            q += "?"
        if not f.required:
            q += _t(lang, " (boleh dilewati: ketik 'lewati')", " (optional: type 'skip')")
        if f.help is not None:
            q += " " + f.help.get(lang)
        return q

    def ask_field(self, state: dict[str, Any], lang: str, intro: str = "") -> Reply:
        form = state["form"]
        svc = self.catalog.service(form["service"])
        f = svc.form[form["idx"]]
        qrs = [QuickReply(label=o.label.get(lang), payload=o.value) for o in f.options]
        if not f.required:
            qrs.append(QuickReply(label=_t(lang, "Lewati", "Skip"), payload="/skip"))
        if form["idx"] > 0:
            qrs.append(QuickReply(label=_t(lang, "Kembali", "Back"), payload="/back"))
        qrs.append(QuickReply(label=_t(lang, "Batal", "Cancel"), payload="/cancel"))
        step = f"({form['idx'] + 1}/{len(svc.form)}) "
        return Reply(
            (intro + "\n" if intro else "") + step + self.field_prompt(f, lang),
            lang=lang,
            intent="start_application",
            service=svc.id,
            quick_replies=qrs,
        )

    def prepare_value(self, f: FormField, text: str) -> str:
        """Pull the value out of a sentence: 'NIK saya 3510...' -> the digits, '12 Januari 2020' -> ISO."""
        raw = text.strip()
        if f.type == "nik":
            m = NIK_RE.search(raw)
            return m.group(1) if m else re.sub(r"[\s.\-]", "", raw)
        if f.type == "date":
            d = parse_date_text(raw)
            return d.isoformat() if d else raw
        if f.type == "select":
            norm = raw.lower().strip(" .")
            if norm.isdigit() and 1 <= int(norm) <= len(f.options):
                return f.options[int(norm) - 1].value
            for o in f.options:
                if norm in (o.value, o.label.id.lower(), o.label.en.lower()):
                    return o.value
            for o in f.options:
                lid, len_ = o.label.id.lower(), o.label.en.lower()
                if norm and (norm in lid or norm in len_ or lid.split(" (")[0] in norm or len_.split(" (")[0] in norm):
                    return o.value
            return raw
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

    def correction_field(self, svc: Service, text: str, form: dict[str, Any]) -> tuple[FormField | None, str]:
        """Which field a correction targets and the new value text."""
        body = CORRECT.sub("", text.strip(), count=1)
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
                    return f, value.strip() or body
        names = [f.name for f in svc.form]
        answered = [n for n in names if n in form["data"]]
        if answered:
            prev = answered[-1] if form["idx"] >= len(names) else names[max(0, form["idx"] - 1)]
            return svc.form[names.index(prev)], body
        return None, body

    def turn(self, conv: Conversation, state: dict[str, Any], text: str) -> Reply:
        form = state["form"]
        svc = self.catalog.service(form["service"])
        lang = detect_lang(text, state.get("lang") or "id")
        norm = normalize(text)
        if CANCEL.match(norm):
            state["mode"], state["form"] = None, None
            return Reply(
                _t(lang, "Permohonan dibatalkan. Tidak ada yang dikirim.", "Application cancelled. Nothing was sent."),
                lang=lang,
                intent="start_application",
                service=svc.id,
            )
        if state["mode"] == "confirm":
            return self.confirm_turn(conv, state, svc, text, norm, lang)
        if REPEAT.match(norm):
            return self.ask_field(state, lang)
        if BACK.match(norm):
            form["idx"] = max(0, form["idx"] - 1)
            return self.ask_field(state, lang)
        if CORRECT.match(norm) and (form["data"] or form["idx"] > 0):
            return self.apply_correction(state, svc, text, lang)
        f = svc.form[form["idx"]]
        if not f.required and (SKIP.match(norm) or norm in ("lewati", "skip")):
            form["data"].pop(f.name, None)
            return self.advance(state, svc, lang)
        value, err_id, err_en = self.validate(f, text)
        if err_id is not None:
            again = self.ask_field(state, lang)
            again.text = _t(lang, f"Maaf, {err_id}", f"Sorry, {err_en}") + "\n" + again.text
            return again
        form["data"][f.name] = value
        return self.advance(state, svc, lang)

    def edit(self, state: dict[str, Any], name: str, lang: str) -> Reply | None:
        """``/edit FIELD`` from the read-back's buttons."""
        form = state.get("form")
        if not form:
            return None
        names = [f.name for f in self.catalog.service(form["service"]).form]
        if name not in names:
            return None
        form["idx"] = names.index(name)
        form["return_to_confirm"] = True
        state["mode"] = "form"
        return self.ask_field(state, lang)

    def apply_correction(self, state: dict[str, Any], svc: Service, text: str, lang: str) -> Reply:
        form = state["form"]
        f, value_text = self.correction_field(svc, text, form)
        if f is None:
            return self.ask_field(state, lang)
        value, err_id, err_en = self.validate(f, value_text)
        if err_id is not None:
            return Reply(
                _t(lang, f"Maaf, {err_id} Coba lagi.", f"Sorry, {err_en} Please try again."),
                lang=lang,
                intent="start_application",
                service=svc.id,
            )
        form["data"][f.name] = value
        note = _t(lang, f"Baik, {f.label.id} diubah.", f"OK, {f.label.en} updated.")
        if state["mode"] == "confirm" or form["idx"] >= len(svc.form):
            return self.read_back(state, svc, lang, note)
        reply = self.ask_field(state, lang)
        reply.text = note + "\n" + reply.text
        return reply

    def advance(self, state: dict[str, Any], svc: Service, lang: str) -> Reply:
        form = state["form"]
        if form.pop("return_to_confirm", False):
            return self.read_back(state, svc, lang)
        form["idx"] += 1
        while form["idx"] < len(svc.form) and svc.form[form["idx"]].name in form["data"]:
            form["idx"] += 1  # already answered (e.g. through a correction): don't ask twice
        if form["idx"] < len(svc.form):
            return self.ask_field(state, lang)
        return self.read_back(state, svc, lang)

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

    def read_back(self, state: dict[str, Any], svc: Service, lang: str, note: str = "") -> Reply:
        form = state["form"]
        state["mode"] = "confirm"
        form["idx"] = len(svc.form)
        lines = [f"• {f.label.get(lang)}: {self.display(f, form['data'].get(f.name), lang)}" for f in svc.form]
        head = _t(
            lang,
            f"Mohon periksa permohonan {svc.short_name.id}:",
            f"Please check your {svc.short_name.en} application:",
        )
        tail = _t(
            lang,
            "Sudah benar? Jawab 'ya' untuk mengirim, atau koreksi mis. 'bukan, namanya Siti Aminah'.",
            "Is this correct? Answer 'yes' to submit, or correct it, e.g. 'no, the name is Siti Aminah'.",
        )
        qrs = [
            QuickReply(label=_t(lang, "Ya, kirim", "Yes, submit"), payload="/yes"),
            QuickReply(label=_t(lang, "Ubah", "Change"), payload="/no"),
            QuickReply(label=_t(lang, "Batal", "Cancel"), payload="/cancel"),
        ]
        text = "\n".join(x for x in (note, head, "\n".join(lines), tail) if x)
        return Reply(text, lang=lang, intent="start_application", service=svc.id, quick_replies=qrs)

    def confirm_turn(
        self, conv: Conversation, state: dict[str, Any], svc: Service, text: str, norm: str, lang: str
    ) -> Reply:
        if CORRECT.match(norm) and len(norm.split()) > 1:
            return self.apply_correction(state, svc, text, lang)
        if YES.match(norm):
            return self.submit(conv, state, svc, lang)
        if NO.match(norm):
            qrs = [QuickReply(label=f.label.get(lang), payload=f"/edit {f.name}") for f in svc.form]
            return Reply(
                _t(lang, "Bagian mana yang ingin diubah?", "Which answer do you want to change?"),
                lang=lang,
                intent="start_application",
                service=svc.id,
                quick_replies=qrs,
            )
        if REPEAT.match(norm):
            return self.read_back(state, svc, lang)
        # A bare value while confirming: treat it as a correction of the field it fits.
        for rx, _frags in FIELD_HINTS:
            if rx.search(norm):
                return self.apply_correction(state, svc, text, lang)
        return self.read_back(
            state, svc, lang, _t(lang, "Mohon jawab 'ya' atau koreksi.", "Please answer 'yes' or correct it.")
        )

    def submit(self, conv: Conversation, state: dict[str, Any], svc: Service, lang: str) -> Reply:
        form = state["form"]
        data = dict(form["data"])
        if conv.caller.citizen_id is None and data.get("nik") and data.get("full_name"):
            try:
                actions.identify(conv, str(data["nik"]), str(data["full_name"]))
                c = conv.caller
                state["identity"] = {"citizen_id": c.citizen_id, "nik": c.nik, "name": c.name}
            except PortError as exc:
                return Reply(exc.message(lang), lang=lang, intent="start_application", service=svc.id)
        key = f"{conv.id}:form:{form['seq']}"
        try:
            reply = actions.submit(self.catalog, conv, svc, data, key, lang)
        except PortError as exc:
            return Reply(
                exc.message(lang), lang=lang, intent="start_application", service=svc.id,
                quick_replies=[qr_officer(lang)],
            )  # fmt: skip
        state["mode"], state["form"] = None, None
        return reply
