"""Key material: the development CA, a deployment's own PKCS#12 keys, RFC 3161 timestamps, and the CLI."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.server.conftest import identified, make_officer
from tests.server.docs_helpers import apply, birth_form, complete, have_poppler, pdf_text, pyhanko_status, to_ready


def _issue(app: Any, settings: Any) -> tuple[TestClient, Any, dict[str, Any], bytes]:
    client = TestClient(app)
    client.__enter__()
    officer = make_officer(client, settings, f"duk{id(app) % 10000}", "dukcapil")
    citizen = identified(client)
    tracking = apply(client, citizen, "akta-kelahiran", birth_form())
    to_ready(client, officer, tracking)
    r = complete(client, officer, tracking)
    info: dict[str, Any] = {"status": r.status_code, "tracking": tracking, "officer": officer, "body": r.json()}
    pdf = b""
    if r.status_code == 200:
        info |= client.get(f"/api/v1/applications/{tracking}/document", headers=citizen).json()
        pdf = client.get(f"/api/v1/applications/{tracking}/document.pdf", headers=citizen).content
    return client, officer, info, pdf


@pytest.fixture(autouse=True)
def _fresh_keys() -> Iterator[None]:
    from server.domain.documents.pki import clear_cache

    clear_cache()
    yield
    clear_cache()


class _Tsa(BaseHTTPRequestHandler):
    stamper: Any = None
    requests = 0

    def do_POST(self) -> None:
        from asn1crypto import tsp

        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        type(self).requests += 1
        resp = type(self).stamper.request_tsa_response(tsp.TimeStampReq.load(body))
        out = resp.dump()
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def tsa(migrated: Any) -> Iterator[str]:
    """A local RFC 3161 responder signing with the development TSA certificate (EKU timeStamping)."""
    from pyhanko.sign.timestamps import DummyTimeStamper

    from server.domain.documents.pki import dev_tsa, init_dev_pki, load_pem_cert

    root = migrated.data_dir / "pki"
    init_dev_pki(root)
    cert, key = dev_tsa(root)
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    chain = SimpleCertificateStore.from_certs([load_pem_cert(root / "ca.pem")])
    _Tsa.stamper = DummyTimeStamper(tsa_cert=cert, tsa_key=key, certs_to_embed=chain)
    _Tsa.requests = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Tsa)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/tsa"
    finally:
        server.shutdown()


def test_signature_carries_a_timestamp_when_a_tsa_is_configured(migrated: Any, tsa: str) -> None:
    from server.app import create_app
    from tests.server.docs_helpers import ca_cert

    settings = migrated.model_copy(update={"tsa_url": tsa})
    client, _, info, pdf = _issue(create_app(settings), settings)
    try:
        assert info["status"] == 200, info
        assert _Tsa.requests >= 1  # pyHanko may ask once more to size the signature
        status = pyhanko_status(pdf, ca_cert(migrated.data_dir))
        assert status.intact and status.trusted
        assert status.timestamp_validity is not None and status.timestamp_validity.intact
        assert status.timestamp_validity.trusted
        assert abs(status.timestamp_validity.timestamp - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
        check = client.post("/api/v1/verify", files={"file": ("a.pdf", pdf, "application/pdf")}).json()
        assert check["status"] == "valid" and check["timestamped"] is True
    finally:
        client.__exit__(None, None, None)


def test_an_unreachable_tsa_refuses_completion_without_losing_it(migrated: Any) -> None:
    from server.app import create_app
    from tests.conftest import free_port

    settings = migrated.model_copy(update={"tsa_url": f"http://127.0.0.1:{free_port()}/tsa"})
    client, officer, info, _ = _issue(create_app(settings), settings)
    try:
        assert info["status"] == 503 and info["body"]["detail"]["code"] == "signing_unavailable"
        state = client.get(f"/api/v1/officer/applications/{info['tracking']}", headers=officer).json()["state"]
        assert state == "ready"  # not completed without its document; the officer retries later
    finally:
        client.__exit__(None, None, None)


def _production_keys(root: Path, password: bytes) -> tuple[dict[str, Path], Path]:
    """A stand-in for a certified CA's issue: PKCS#12 files without the development mark."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Sertifikat Induk Uji")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    root.mkdir(parents=True, exist_ok=True)
    (root / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files = {}
    for i, role in enumerate(("dukcapil", "desa", "polri")):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Penanda tangan {role}")]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(10 + i)
            .not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        blob = pkcs12.serialize_key_and_certificates(
            role.encode(), key, cert, [ca], serialization.BestAvailableEncryption(password)
        )
        files[role] = root / f"{role}.p12"
        files[role].write_bytes(blob)
    return files, root / "ca.pem"


def test_a_deployment_signs_with_its_own_pkcs12_keys_without_the_specimen_mark(migrated: Any, tmp_path: Path) -> None:
    from server.app import create_app
    from server.domain.documents.pki import load_pem_cert

    files, ca_pem = _production_keys(tmp_path / "prod", b"kata-sandi-p12")
    from pydantic import SecretStr

    settings = migrated.model_copy(
        update={"signing_keys": files, "signing_key_password": SecretStr("kata-sandi-p12"), "trust_roots": [ca_pem]}
    )
    client, _, info, pdf = _issue(create_app(settings), settings)
    try:
        assert info["status"] == 200, info
        assert info["specimen"] is False
        status = pyhanko_status(pdf, load_pem_cert(ca_pem))
        assert status.intact and status.trusted
        assert not (migrated.data_dir / "pki" / "ca.pem").exists()  # no development CA was made
        if have_poppler():
            assert "SPESIMEN" not in pdf_text(pdf, tmp_path)
        check = client.post("/api/v1/verify", files={"file": ("a.pdf", pdf, "application/pdf")}).json()
        assert check["status"] == "valid"
    finally:
        client.__exit__(None, None, None)


def test_a_wrong_pkcs12_password_is_a_503_not_a_crash(migrated: Any, tmp_path: Path) -> None:
    from pydantic import SecretStr

    from server.app import create_app

    files, ca_pem = _production_keys(tmp_path / "prod", b"kata-sandi-p12")
    settings = migrated.model_copy(
        update={"signing_keys": files, "signing_key_password": SecretStr("salah"), "trust_roots": [ca_pem]}
    )
    client, officer, info, _ = _issue(create_app(settings), settings)
    try:
        assert info["status"] == 503 and info["body"]["detail"]["code"] == "signing_unavailable"
        state = client.get(f"/api/v1/officer/applications/{info['tracking']}", headers=officer).json()["state"]
        assert state == "ready"
    finally:
        client.__exit__(None, None, None)


def test_pki_init_makes_private_keys_0600_and_is_idempotent(tmp_path: Path) -> None:
    from server.domain.documents.pki import ROLES, init_dev_pki, is_development, load_pem_cert

    root = tmp_path / "pki"
    written = init_dev_pki(root)
    assert {p.name for p in written} >= {"ca.key", "ca.pem", *(f"{r}.key" for r in ROLES), "tsa.key"}
    for key in [root / "ca.key", *(root / "signers").glob("*.key")]:
        assert key.stat().st_mode & 0o777 == 0o600, key
    assert is_development(load_pem_cert(root / "ca.pem"))
    before = (root / "ca.pem").read_bytes()
    assert init_dev_pki(root) == []
    assert (root / "ca.pem").read_bytes() == before
    init_dev_pki(root, force=True)
    assert (root / "ca.pem").read_bytes() != before


def test_cli_pki_init_and_offline_verify(migrated: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from mpp.cli import app as cli
    from server.app import create_app
    from server.settings import get_settings

    monkeypatch.setenv("MPP_DATA_DIR", str(migrated.data_dir))
    if migrated.database_url:
        monkeypatch.setenv("MPP_DATABASE_URL", migrated.database_url)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        first = runner.invoke(cli, ["pki", "init"])
        assert first.exit_code == 0 and "ca.key" in first.output
        assert "already present" in runner.invoke(cli, ["pki", "init"]).output
        client, officer, info, pdf = _issue(create_app(migrated), migrated)
        try:
            good = tmp_path / "akta.pdf"
            good.write_bytes(pdf)
            ok = runner.invoke(cli, ["verify", str(good)])
            assert ok.exit_code == 0, ok.output
            assert "VALID" in ok.output and info["number"] in ok.output
            flipped = bytearray(pdf)
            flipped[len(flipped) // 3] ^= 1
            bad = tmp_path / "bad.pdf"
            bad.write_bytes(bytes(flipped))
            assert runner.invoke(cli, ["verify", str(bad)]).exit_code == 1
            text = tmp_path / "x.pdf"
            text.write_text("hello")
            assert runner.invoke(cli, ["verify", str(text)]).exit_code == 2
            r = client.post(
                f"/api/v1/officer/applications/{info['tracking']}/document/revoke",
                json={"reason": "Salah cetak nama"},
                headers=officer,
            )
            assert r.status_code == 200
            revoked = runner.invoke(cli, ["verify", str(good)])
            assert revoked.exit_code == 1 and "REVOKED" in revoked.output
            offline = runner.invoke(cli, ["verify", "--no-registry", str(good)])
            assert offline.exit_code == 0  # the signature alone is still intact
        finally:
            client.__exit__(None, None, None)
    finally:
        get_settings.cache_clear()


def test_workers_racing_to_create_the_development_pki_agree_on_one_ca(tmp_path: Path) -> None:
    import subprocess
    import sys

    from cryptography import x509

    root = tmp_path / "pki"
    code = (
        "import sys; from pathlib import Path; from server.domain.documents.pki import init_dev_pki; "
        "init_dev_pki(Path(sys.argv[1]))"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(root)]) for _ in range(4)]
    assert all(p.wait(120) == 0 for p in procs)
    ca = x509.load_pem_x509_certificate((root / "ca.pem").read_bytes())
    for pem in (root / "signers").glob("*.pem"):
        leaf = x509.load_pem_x509_certificate(pem.read_bytes())
        leaf.verify_directly_issued_by(ca)  # raises when a leaf was signed by a CA that another worker replaced
