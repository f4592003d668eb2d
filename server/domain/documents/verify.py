"""Check a PDF's PAdES signature against trust roots, without a server (``mpp verify`` and ``/verify``).

A document counts as intact only when its one signature validates, chains to a
trust root and covers the entire file: an incremental update appended after
signing (an "edited field") leaves the signature intact but no longer covering
the file, and is reported as altered.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import re
from dataclasses import dataclass

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

log = logging.getLogger(__name__)
# A failed validation is the answer we report, not an incident: pyHanko would log a traceback for
# every forged or foreign upload.
logging.getLogger("pyhanko.sign.validation").setLevel(logging.CRITICAL)
CODE_RE = re.compile(r"mpp-verify:([A-Za-z0-9_-]{16,64})")


class NotAPdf(ValueError):
    """The bytes are not a readable PDF."""


@dataclass(frozen=True)
class SignatureCheck:
    sha256: str
    signed: bool
    intact: bool = False
    trusted: bool = False
    entire_file: bool = False
    signer: str = ""
    signed_at: dt.datetime | None = None
    timestamped: bool = False
    code: str | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.signed and self.intact and self.trusted and self.entire_file


def _code_of(reader: PdfFileReader) -> str | None:
    try:
        info = reader.trailer["/Info"] if "/Info" in reader.trailer else None
        subject = str(info.get("/Subject", "")) if info is not None else ""
    except (PdfError, KeyError, TypeError, ValueError, AttributeError):
        return None
    found = CODE_RE.search(subject)
    return found.group(1) if found else None


def check_pdf(data: bytes, trust_roots: tuple[asn1_x509.Certificate, ...]) -> SignatureCheck:
    digest = hashlib.sha256(data).hexdigest()
    if not data.startswith(b"%PDF-"):
        raise NotAPdf("not a PDF")
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        sigs = reader.embedded_signatures
    except (PdfError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise NotAPdf(f"unreadable PDF: {exc.__class__.__name__}") from None
    code = _code_of(reader)
    if not sigs:
        return SignatureCheck(digest, signed=False, code=code, problem="no signature")
    sig = sigs[-1]
    vc = ValidationContext(trust_roots=list(trust_roots), allow_fetching=False)
    try:
        status = validate_pdf_signature(sig, vc)
    except (SignatureValidationError, PdfError, ValueError, KeyError, TypeError) as exc:
        return SignatureCheck(digest, signed=True, code=code, problem=f"signature unreadable: {exc}"[:200])
    signer = ""
    try:
        signer = status.signing_cert.subject.native.get("common_name", "") if status.signing_cert else ""
    except (AttributeError, ValueError):
        signer = ""
    ts = status.timestamp_validity
    entire = status.coverage == SignatureCoverageLevel.ENTIRE_FILE and len(sigs) == 1
    problems = []
    if not (status.intact and status.valid):
        problems.append("the signed bytes were changed")
    if not status.trusted:
        problems.append("the signer does not chain to a trusted root")
    if not entire:
        problems.append("content was added after signing")
    return SignatureCheck(
        digest,
        signed=True,
        intact=bool(status.intact and status.valid),
        trusted=bool(status.trusted),
        entire_file=entire,
        signer=str(signer),
        signed_at=ts.timestamp if ts is not None else status.signer_reported_dt,
        timestamped=ts is not None,
        code=code,
        problem="; ".join(problems),
    )
