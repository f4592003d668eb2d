"""Public verification: clear answers for every code and upload, no personal data, rate-limited."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.server.conftest import VALID_NIK, identified
from tests.server.docs_helpers import apply, birth_form, complete, to_ready


@pytest.fixture
def issued(client: TestClient, officer_token: dict[str, str]) -> dict[str, Any]:
    citizen = identified(client)
    tracking = apply(client, citizen, "akta-kelahiran", birth_form())
    to_ready(client, officer_token, tracking)
    assert complete(client, officer_token, tracking).status_code == 200
    info = client.get(f"/api/v1/applications/{tracking}/document", headers=citizen).json()
    pdf = client.get(f"/api/v1/applications/{tracking}/document.pdf", headers=citizen).content
    return {"info": info, "pdf": pdf, "tracking": tracking}


def test_valid_page_shows_type_number_office_date_and_a_masked_holder_only(
    issued: dict[str, Any], client: TestClient
) -> None:
    page = client.get(f"/verify/{issued['info']['code']}")
    assert page.status_code == 200
    html = page.text
    assert 'data-status="valid"' in html
    assert "Kutipan Akta Kelahiran" in html and issued["info"]["number"] in html
    assert "Dinas Kependudukan dan Pencatatan Sipil" in html
    assert "A** L******" in html  # the child, masked
    for secret in (VALID_NIK, "Ayu Lestari", "Budi Santoso", "Budi", "Lestari"):
        assert secret not in html
    body = client.get(f"/api/v1/verify/{issued['info']['code']}").json()
    assert body["status"] == "valid" and body["holder"] == "A** L******"
    assert VALID_NIK not in str(body) and "Budi" not in str(body)
    en = client.get(f"/verify/{issued['info']['code']}?lang=en")
    assert "VALID" in en.text and "Birth certificate" in en.text


@pytest.mark.parametrize(
    "code", ["AAAAAAAAAAAAAAAAAAAAAA", "short", "x" * 70, "a%00bcdefghijklmnopqrstu", "<script>alert(1)<script>"]
)
def test_unknown_or_malformed_code_gets_a_clear_page_not_a_500(code: str, client: TestClient) -> None:
    r = client.get(f"/verify/{code}")
    assert r.status_code == 404
    assert "TIDAK DIKENAL" in r.text and "<script>alert" not in r.text
    assert client.get(f"/api/v1/verify/{code}").status_code == 404


def test_lookups_are_rate_limited_with_retry_after(client: TestClient, app: Any) -> None:
    app.state.settings.verify_rate_per_min = 5
    app.state.verify_limiter = None
    codes = [client.get("/api/v1/verify/AAAAAAAAAAAAAAAAAAAAAA").status_code for _ in range(6)]
    assert codes[:5] == [404] * 5 and codes[5] == 429
    r = client.get("/api/v1/verify/AAAAAAAAAAAAAAAAAAAAAA")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    page = client.get("/verify/AAAAAAAAAAAAAAAAAAAAAA")
    assert page.status_code == 429 and int(page.headers["Retry-After"]) >= 1 and "Coba lagi" in page.text
    upload = client.post("/api/v1/verify", files={"file": ("a.pdf", b"%PDF-1.4", "application/pdf")})
    assert upload.status_code == 429


def test_bad_uploads_get_4xx(client: TestClient, issued: dict[str, Any]) -> None:
    not_pdf = client.post("/api/v1/verify", files={"file": ("a.pdf", b"GIF89a....", "application/pdf")})
    assert not_pdf.status_code == 415 and not_pdf.json()["detail"]["code"] == "not_pdf"
    broken = client.post("/api/v1/verify", files={"file": ("a.pdf", b"%PDF-1.7\nnonsense", "application/pdf")})
    assert broken.status_code in (200, 415)
    if broken.status_code == 200:
        assert broken.json()["status"] in ("unsigned", "invalid")
    empty = client.post("/api/v1/verify", files={"file": ("a.pdf", b"", "application/pdf")})
    assert empty.status_code == 422
    big = client.post("/api/v1/verify", files={"file": ("a.pdf", b"%PDF-" + b"0" * (2 * 1024 * 1024), "x")})
    assert big.status_code == 413
    missing = client.post("/api/v1/verify")
    assert missing.status_code == 422
    truncated = client.post("/api/v1/verify", files={"file": ("a.pdf", issued["pdf"][: len(issued["pdf"]) // 2], "x")})
    assert truncated.status_code in (200, 415) and truncated.json().get("status") != "valid"
    page = client.post("/verify", files={"file": ("a.txt", b"hello", "text/plain")})
    assert page.status_code == 415 and "bukan PDF" in page.text


def test_upload_page_reports_valid_for_the_issued_file(client: TestClient, issued: dict[str, Any]) -> None:
    r = client.post("/verify", files={"file": ("akta.pdf", issued["pdf"], "application/pdf")})
    assert r.status_code == 200 and 'data-status="valid"' in r.text and issued["info"]["number"] in r.text
    unsigned = client.post("/verify", files={"file": ("x.pdf", _plain_pdf(), "application/pdf")})
    assert unsigned.status_code == 200 and 'data-status="unsigned"' in unsigned.text


def test_a_pdf_signed_by_another_ca_is_not_valid(client: TestClient, issued: dict[str, Any], tmp_path: Any) -> None:
    from server.domain.documents import pki, sign

    other = pki.key_material(tmp_path / "other-pki")
    forged = sign.sign_pdf(_plain_pdf(), other, "dukcapil", reason="forged")
    r = client.post("/api/v1/verify", files={"file": ("x.pdf", forged, "application/pdf")})
    assert r.status_code == 200 and r.json()["status"] == "invalid"
    assert r.json()["signer_trusted"] is False


def test_verify_form_renders(client: TestClient) -> None:
    r = client.get("/verify")
    assert r.status_code == 200 and 'type="file"' in r.text
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


def _plain_pdf() -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="KUTIPAN AKTA KELAHIRAN (palsu)")
    return bytes(pdf.output())
