"""Personal numbers in free text (conversation logs, handoff transcripts) sealed at rest.

NIK and KK numbers (16 digits) and mobile numbers are replaced in every string by a
token ``⟦pii:<kind>:<Fernet token>⟧`` before they are stored. The assistant gets the
originals back when it replays a conversation (``open_obj``); officers see the masked
form (``mask_obj``) and the originals only through the audited reveal.
"""

from __future__ import annotations

import re
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from server.domain import keys
from server.settings import Settings

_NUMBER = re.compile(r"(?<![\d+])(?:\+62|62|0)8[1-9](?:[ -]?\d){6,11}(?!\d)|(?<!\d)\d(?:[ .-]?\d){15}(?!\d)")
_TOKEN = re.compile(r"⟦pii:(nik|phone):([A-Za-z0-9_=-]+)⟧")


class Sealer:
    def __init__(self, settings: Settings) -> None:
        self.fernet = Fernet(keys.fernet_key(settings, "pii-at-rest"))

    def seal_text(self, text: str) -> str:
        def repl(mo: re.Match[str]) -> str:
            raw = mo.group(0)
            digits = re.sub(r"[ .-]", "", raw)
            kind = "nik" if len(digits) == 16 and digits.isdigit() else "phone"
            if kind == "phone" and not 9 <= len(digits.lstrip("+")) <= 15:
                return raw
            return f"⟦pii:{kind}:{self.fernet.encrypt(raw.encode()).decode()}⟧"

        return _NUMBER.sub(repl, text)

    def open_text(self, text: str) -> str:
        def repl(mo: re.Match[str]) -> str:
            try:
                return self.fernet.decrypt(mo.group(2).encode()).decode()
            except InvalidToken:
                return "[?]"

        return _TOKEN.sub(repl, text)

    def mask_text(self, text: str) -> str:
        """Sealed numbers in the masked form the console uses everywhere (3510********0001, 0812*****890)."""
        from protocol.forms import mask_value

        def repl(mo: re.Match[str]) -> str:
            try:
                raw = self.fernet.decrypt(mo.group(2).encode()).decode()
            except InvalidToken:
                return "[?]"
            return str(mask_value(mo.group(1), re.sub(r"[ .-]", "", raw)))

        return _TOKEN.sub(repl, text)

    def open_own(self, obj: Any, own: set[str]) -> Any:
        """A citizen's own copy: their own numbers in full, anyone else's masked (the data download)."""
        from protocol.forms import mask_value

        def text(value: str) -> str:
            def repl(mo: re.Match[str]) -> str:
                try:
                    raw = self.fernet.decrypt(mo.group(2).encode()).decode()
                except InvalidToken:
                    return "[?]"
                digits = normal_number(raw)
                return raw if digits in own else str(mask_value(mo.group(1), digits))

            return _TOKEN.sub(repl, value)

        return _walk(obj, text)

    def mask_plain(self, obj: Any) -> Any:
        """Mask numbers that were never sealed (e.g. a live message on its way to the console)."""
        return self.mask_obj(self.seal_obj(obj))

    def seal_obj(self, obj: Any) -> Any:
        return _walk(obj, self.seal_text)

    def open_obj(self, obj: Any) -> Any:
        return _walk(obj, self.open_text)

    def mask_obj(self, obj: Any) -> Any:
        """The officer's view: sealed numbers as stars (the reveal is a separate, audited action)."""
        return _walk(obj, self.mask_text)


def _walk(obj: Any, fn: Any) -> Any:
    if isinstance(obj, str):
        return fn(obj) if obj else obj
    if isinstance(obj, dict):
        return {k: _walk(v, fn) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_walk(v, fn) for v in obj]
    return obj


def normal_number(raw: str) -> str:
    """One spelling of a number for comparisons: no separators, a mobile number with its leading 0."""
    digits = re.sub(r"[ .()-]", "", raw)
    if digits.startswith("+62"):
        return "0" + digits[3:]
    if digits.startswith("62") and len(digits) < 16:
        return "0" + digits[2:]
    return digits


def blind_mask(text: str) -> str:
    """Sealed numbers as stars without the key (lists where no reveal is possible)."""
    return _TOKEN.sub(lambda mo: "*" * 16 if mo.group(1) == "nik" else "08**********", text)
