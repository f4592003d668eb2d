"""Shared steps for the issued-document tests: apply, walk an application to ready, read PDFs."""

from __future__ import annotations

import io
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.server.conftest import VALID_NIK

BIRTH = {
    "child_name": "Ayu Lestari",
    "birth_date": "2026-12-01",
    "birth_place": "Banyuwangi",
    "child_sex": "P",
    "birth_letter": "surat_dokter_bidan",
}


def apply(
    client: TestClient, headers: dict[str, str], service_id: str, data: dict[str, Any], submit: bool = True
) -> str:
    r = client.post(
        "/api/v1/applications",
        json={"service_id": service_id, "data": data, "submit": submit},
        headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["tracking_number"])


def birth_form(nik: str = VALID_NIK, name: str = "Budi Santoso") -> dict[str, Any]:
    return {"nik": nik, "full_name": name, **BIRTH}


def to_ready(client: TestClient, officer: dict[str, str], tracking: str) -> None:
    for target in ("verified", "in_process", "ready"):
        r = client.post(f"/api/v1/officer/applications/{tracking}/transition", json={"to": target}, headers=officer)
        assert r.status_code == 200, r.text


def complete(client: TestClient, officer: dict[str, str], tracking: str) -> Any:
    return client.post(f"/api/v1/officer/applications/{tracking}/transition", json={"to": "completed"}, headers=officer)


def ca_cert(data_dir: Path) -> Any:
    from server.domain.documents.pki import load_pem_cert

    return load_pem_cert(data_dir / "pki" / "ca.pem")


def pyhanko_status(pdf: bytes, ca: Any) -> Any:
    """pyHanko's own validator, straight: the test does not trust our wrapper around it."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    reader = PdfFileReader(io.BytesIO(pdf))
    assert len(reader.embedded_signatures) == 1
    return validate_pdf_signature(reader.embedded_signatures[0], ValidationContext(trust_roots=[ca]))


def have_poppler() -> bool:
    return shutil.which("pdftoppm") is not None and shutil.which("pdftotext") is not None


def pdf_text(pdf: bytes, tmp: Path) -> str:
    src = tmp / f"{uuid.uuid4().hex}.pdf"
    src.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-layout", str(src), "-"], capture_output=True, check=True, timeout=30)
    return out.stdout.decode("utf-8", "replace")


def qr_texts(pdf: bytes, tmp: Path) -> list[str]:
    """Rasterise the page (poppler) and decode every QR on it (zxing-cpp)."""
    import zxingcpp
    from PIL import Image

    src = tmp / f"{uuid.uuid4().hex}.pdf"
    src.write_bytes(pdf)
    prefix = tmp / src.stem
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(src), str(prefix)], check=True, timeout=60)
    image = Image.open(f"{prefix}.png")
    return [b.text for b in zxingcpp.read_barcodes(image) if b.format == zxingcpp.BarcodeFormat.QRCode]
