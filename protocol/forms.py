"""Validation of application form answers against a service's form schema.

Shared so that the server (API), the assistant (one question at a time) and
the world (inline hints) all give the same verdict and the same wording.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from l10n import pair, t
from protocol.catalog import PERSONAL_TYPES, FormField, Localized, Service

_PHONE_RE = re.compile(r"^(\+62|62|0)8[1-9][0-9]{6,11}$")
_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,24}$")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class FieldError(ValueError):
    def __init__(self, message: Localized) -> None:
        super().__init__(message.en)
        self.message = message


def _err(id_: str, en: str) -> FieldError:
    return FieldError(Localized(id=id_, en=en))


def parse_date(value: str) -> dt.date:
    """Accept ISO dates and the Indonesian day-first forms people type."""
    v = value.strip()
    for fmt in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y", "%d/%m/%y", "%d-%m-%y", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(v, fmt).date()
        except ValueError:
            continue
    raise _err(
        *pair("protocol.field_date_digits_not_recognised_example", digits=v[:20]),
    )


def validate_field(field: FormField, value: Any) -> Any:
    """Return the cleaned value or raise FieldError with an id/en message."""
    label = field.label
    if value is None or (isinstance(value, str) and not value.strip()):
        if field.required:
            raise _err(*pair("protocol.field_label_is_required", label=label.get))
        return None
    if field.type == "number":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise _err(*pair("protocol.field_label_must_be_a_number", label=label.get))
        try:
            num = float(value)
        except ValueError:
            raise _err(*pair("protocol.field_label_must_be_a_number", label=label.get)) from None
        if field.minimum is not None and num < field.minimum:
            raise _err(*pair("protocol.field_label_must_be_at_least", label=label.get, minimum=field.minimum))
        if field.maximum is not None and num > field.maximum:
            raise _err(*pair("protocol.field_label_must_be_at_most", label=label.get, maximum=field.maximum))
        return int(num) if num.is_integer() else num
    if not isinstance(value, str):
        raise _err(*pair("protocol.field_label_must_be_text", label=label.get))
    text = value.strip()
    if _CONTROL_RE.search(text):
        raise _err(*pair("protocol.field_label_contains_forbidden_characters", label=label.get))
    if field.type == "nik":
        from protocol.nik import NikError, validate_nik

        try:
            validate_nik(text)
        except NikError as exc:
            raise FieldError(Localized(id=exc.message_id, en=exc.message_en)) from None
        return text
    if field.type == "kk":
        compact = re.sub(r"[\s.-]", "", text)
        if not (len(compact) == 16 and compact.isascii() and compact.isdigit()):
            raise _err(*pair("protocol.field_label_must_be_16_digits", label=label.get))
        return compact
    if field.type == "date":
        d = parse_date(text)
        if d > dt.date.today() + dt.timedelta(days=366 * 5) or d.year < 1900:
            raise _err(*pair("protocol.field_label_date_out_of_range", label=label.get))
        return d.isoformat()
    if field.type == "phone":
        compact = re.sub(r"[\s-]", "", text)
        if not _PHONE_RE.match(compact):
            raise _err(*pair("protocol.field_label_is_not_valid_example", label=label.get))
        return compact
    if field.type == "email":
        if not _EMAIL_RE.match(text):
            raise _err(*pair("protocol.field_label_is_not_a_valid", label=label.get))
        return text
    if field.type == "select":
        values = {o.value: o for o in field.options}
        if text in values:
            return text
        lowered = text.lower()
        for o in field.options:
            if lowered in (o.label.id.lower(), o.label.en.lower()):
                return o.value
        raise _err(
            *pair("protocol.field_choose_one", choices=lambda lang: ", ".join(o.label.get(lang) for o in field.options))
        )
    if field.type == "village":
        from protocol.regions import find_village

        village = find_village(text)
        if village is None:
            raise _err(
                *pair("protocol.field_village_digits_was_not_found", digits=text[:40]),
            )
        return village.id
    if field.min_length is not None and len(text) < field.min_length:
        raise _err(
            *pair("protocol.field_label_needs_at_least_min", label=label.get, min_length=field.min_length),
        )
    if field.max_length is not None and len(text) > field.max_length:
        raise _err(
            *pair("protocol.field_label_allows_at_most_max", label=label.get, max_length=field.max_length),
        )
    if field.pattern and not re.fullmatch(field.pattern, text):
        hint = field.help.get if field.help else (lambda lang: t("protocol.field_wrong_format", lang))
        raise _err(*pair("protocol.field_label_hint", label=label.get, hint=hint))
    return text


def validate_form(service: Service, data: Any) -> tuple[dict[str, Any], dict[str, Localized]]:
    """Return (clean data, errors by field). Unknown fields are errors, not silently kept."""
    if not isinstance(data, dict):
        return {}, {"_": Localized(id=t("protocol.form_not_object", "id"), en=t("protocol.form_not_object", "en"))}
    clean: dict[str, Any] = {}
    errors: dict[str, Localized] = {}
    known = {f.name for f in service.form}
    for key in data:
        if key not in known:
            errors[str(key)[:40]] = Localized(
                id=t("protocol.unknown_field", "id"), en=t("protocol.unknown_field", "en")
            )
    for field in service.form:
        try:
            cleaned = validate_field(field, data.get(field.name))
        except FieldError as exc:
            errors[field.name] = exc.message
            continue
        if cleaned is not None:
            clean[field.name] = cleaned
    return clean, errors


_EXAMPLES: dict[str, Any] = {
    "kk_number": "3510010101200001",
    "plate_number": "P 1234 AB",
    "address": "Jl. Melati No. 1, RT 01 RW 02",
    "destination_address": "Jl. Kenanga No. 5, Genteng",
    "birth_place": "Banyuwangi",
    "birth_certificate_number": "3510-LT-12042020-0001",
    "business_field": "Kuliner",
    "business_name": "Warung Osing",
    "purpose": "Melamar pekerjaan",
}


def mask_value(kind: str, value: Any) -> Any:
    """The display-safe form of a personal value of catalogue type ``kind`` (nik, kk, phone, email)."""
    if not isinstance(value, str) or not value:
        return value
    if kind in ("nik", "kk"):
        return f"{value[:4]}{'*' * 8}{value[-4:]}" if len(value) == 16 else "*" * min(len(value), 16)
    if kind == "phone":
        return f"{value[:4]}{'*' * max(1, len(value) - 7)}{value[-3:]}" if len(value) > 7 else "*" * len(value)
    if kind == "email":
        user, _, domain = value.partition("@")
        return f"{user[:1]}***@{domain}" if domain else "***"
    return value


def masked_answers(service: Service, data: dict[str, Any]) -> dict[str, Any]:
    """Answers with every personal field masked by its catalogue type, whatever the field is called."""
    kinds = {f.name: f.type for f in service.form if f.type in PERSONAL_TYPES}
    return {k: (mask_value(kinds[k], v) if k in kinds else v) for k, v in data.items()}


def example_answers(service: Service, nik: str, name: str) -> dict[str, Any]:
    """A valid answer for every required field: the scripted demo tour, benchmarks and tests use it."""
    data: dict[str, Any] = {}
    for f in service.form:
        if f.type == "nik":
            data[f.name] = nik
        elif f.name in ("full_name", "child_name"):
            data[f.name] = name
        elif f.name in _EXAMPLES:
            data[f.name] = _EXAMPLES[f.name]
        elif not f.required:
            continue
        elif f.type == "select":
            data[f.name] = f.options[0].value
        elif f.type == "date":
            data[f.name] = (dt.date.today() - dt.timedelta(days=10)).isoformat()
        elif f.type == "phone":
            data[f.name] = "081234567890"
        elif f.type == "kk":
            data[f.name] = "3510010101200001"
        elif f.type == "email":
            data[f.name] = "warga@example.com"
        elif f.type == "village":
            data[f.name] = "Pesanggaran"
        elif f.type == "number":
            data[f.name] = int(f.minimum) if f.minimum is not None else 1
        else:
            data[f.name] = "Contoh isian"
    return data
