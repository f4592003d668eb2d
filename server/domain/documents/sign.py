"""PAdES signing of a rendered PDF with pyHanko, with an RFC 3161 timestamp when a TSA is configured."""

from __future__ import annotations

import io

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.timestamps.api import TimeStamper

from server.domain.documents.pki import KeyMaterial

FIELD = "TTE"


def timestamper_for(tsa_url: str | None, timeout: float = 10.0) -> TimeStamper | None:
    return HTTPTimeStamper(tsa_url, timeout=int(timeout)) if tsa_url else None


def sign_pdf(
    pdf: bytes,
    material: KeyMaterial,
    role: str,
    *,
    reason: str,
    location: str = "Banyuwangi",
    timestamper: TimeStamper | None = None,
) -> bytes:
    """One PAdES B-B (B-T with a timestamper) signature covering the whole file.

    pyHanko runs its own event loop here: call it from a thread without a running loop (FastAPI runs
    sync routes in its threadpool), never from inside ``async def``.
    """
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=reason,
        location=location,
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    out = signers.sign_pdf(writer, meta, signer=material.signer(role), timestamper=timestamper)
    return out.getvalue()
