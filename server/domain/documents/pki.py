"""Key material for signing: a development regency CA made by ``mpp pki init``, or a deployment's own.

A development key is marked in its certificate (OU ``SPESIMEN``), and every document it signs
carries the SPESIMEN watermark, so a development print can never pass for a real one.
Production points ``MPP_SIGNING_KEYS`` at PKCS#12 files (one per signer role) issued by a
certified CA, and ``MPP_TRUST_ROOTS`` at that CA's certificates.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.sign.signers import SimpleSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore

log = logging.getLogger(__name__)

DEV_MARK = "SPESIMEN - kunci pengembangan"
REGENCY = "Pemerintah Kabupaten Banyuwangi"


@dataclass(frozen=True)
class SignerRole:
    """Who signs: the office holder a document names under its signature."""

    key: str
    title_id: str
    title_en: str
    cn: str


ROLES: dict[str, SignerRole] = {
    r.key: r
    for r in (
        SignerRole(
            "dukcapil",
            "Kepala Dinas Kependudukan dan Pencatatan Sipil Kabupaten Banyuwangi",
            "Head of the Banyuwangi Population and Civil Registration Office",
            "Kepala Dinas Dukcapil Kabupaten Banyuwangi",
        ),
        SignerRole("desa", "Kepala Desa / Lurah", "Village head", "Kepala Desa/Lurah Kabupaten Banyuwangi"),
        SignerRole(
            "polri",
            "Petugas Pelayanan SKCK Polresta Banyuwangi",
            "SKCK service officer, Banyuwangi City Police",
            "Pelayanan SKCK Polresta Banyuwangi",
        ),
    )
}


class KeyMaterialError(Exception):
    """Signing is impossible: missing or unreadable key material (an operator must act)."""


@dataclass(frozen=True)
class KeyMaterial:
    signers: dict[str, SimpleSigner]
    trust_roots: tuple[asn1_x509.Certificate, ...]
    development: bool

    def signer(self, role: str) -> SimpleSigner:
        try:
            return self.signers[role]
        except KeyError:
            raise KeyMaterialError(f"no signing key configured for role {role!r}") from None


def _name(cn: str, ou: str | None) -> x509.Name:
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, REGENCY),
    ]
    if ou:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def _write_private(path: Path, data: bytes) -> None:
    """Private keys are created 0600 from the start (never world-readable, not even briefly)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def _pem_key(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def init_dev_pki(root: Path, *, force: bool = False, years: int = 5) -> list[Path]:
    """Create a development regency CA, one signer per role and a TSA certificate; EC P-256 keys.

    Idempotent: existing material is kept unless ``force``. Returns the files written. Several
    processes (workers) may race here: a file lock makes one of them create it and the others reuse it.
    """
    import fcntl

    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return _init_locked(root, force, years)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _init_locked(root: Path, force: bool, years: int) -> list[Path]:
    ca_key_path, ca_cert_path = root / "ca.key", root / "ca.pem"
    written: list[Path] = []
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    if force or not (ca_key_path.exists() and ca_cert_path.exists()):
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = _name("CA Kabupaten Banyuwangi (pengembangan)", DEV_MARK)
        ca = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=365 * years * 2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        _write_private(ca_key_path, _pem_key(ca_key))
        ca_cert_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        written += [ca_key_path, ca_cert_path]
        force = True  # new CA: every leaf must be re-issued under it
    ca_key_loaded = serialization.load_pem_private_key(ca_key_path.read_bytes(), None)
    assert isinstance(ca_key_loaded, ec.EllipticCurvePrivateKey)
    ca_cert = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
    leaves = {role.key: (role.cn, False) for role in ROLES.values()}
    leaves["tsa"] = ("Stempel Waktu Kabupaten Banyuwangi", True)
    for key, (cn, tsa) in leaves.items():
        key_path, cert_path = root / "signers" / f"{key}.key", root / "signers" / f"{key}.pem"
        if not force and key_path.exists() and cert_path.exists():
            continue
        # The TSA key is RSA: RFC 3161 responders (and pyHanko's local one) commonly are.
        leaf_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey = (
            rsa.generate_private_key(65537, 2048) if tsa else ec.generate_private_key(ec.SECP256R1())
        )
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(cn, DEV_MARK))
            .issuer_name(ca_cert.subject)
            .public_key(leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=365 * years))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key_loaded.public_key()), critical=False
            )
        )
        if tsa:
            builder = builder.add_extension(
                x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
            ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        else:
            builder = builder.add_extension(
                x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True
            )
        leaf = builder.sign(ca_key_loaded, hashes.SHA256())
        _write_private(key_path, _pem_key(leaf_key))
        cert_path.parent.mkdir(parents=True, exist_ok=True)
        cert_path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
        written += [key_path, cert_path]
    return written


def _asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _asn1_key(key: object) -> asn1_keys.PrivateKeyInfo:
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise KeyMaterialError(f"unsupported key type {key.__class__.__name__} (EC or RSA expected)")
    fmt = serialization.PrivateFormat.PKCS8
    return asn1_keys.PrivateKeyInfo.load(
        key.private_bytes(serialization.Encoding.DER, fmt, serialization.NoEncryption())
    )


def load_pem_cert(path: Path) -> asn1_x509.Certificate:
    return _asn1_cert(x509.load_pem_x509_certificate(path.read_bytes()))


def load_trust_roots(paths: list[Path]) -> tuple[asn1_x509.Certificate, ...]:
    roots: list[asn1_x509.Certificate] = []
    for p in paths:
        try:
            roots += [_asn1_cert(c) for c in x509.load_pem_x509_certificates(p.read_bytes())]
        except (OSError, ValueError) as exc:
            raise KeyMaterialError(f"cannot read trust root {p}: {exc}") from None
    return tuple(roots)


def is_development(cert: asn1_x509.Certificate) -> bool:
    return DEV_MARK in str(cert.subject.native.get("organizational_unit_name", ""))


def dev_tsa(root: Path) -> tuple[asn1_x509.Certificate, asn1_keys.PrivateKeyInfo]:
    """The development TSA's certificate and key (for a local RFC 3161 responder)."""
    key = serialization.load_pem_private_key((root / "signers" / "tsa.key").read_bytes(), None)
    return load_pem_cert(root / "signers" / "tsa.pem"), _asn1_key(key)


def _load_dev(root: Path) -> KeyMaterial:
    ca = load_pem_cert(root / "ca.pem")
    store = SimpleCertificateStore.from_certs([ca])
    signers: dict[str, SimpleSigner] = {}
    for role in ROLES:
        key = serialization.load_pem_private_key((root / "signers" / f"{role}.key").read_bytes(), None)
        cert = load_pem_cert(root / "signers" / f"{role}.pem")
        signers[role] = SimpleSigner(signing_cert=cert, signing_key=_asn1_key(key), cert_registry=store)
    return KeyMaterial(signers, (ca,), development=True)


def _load_pkcs12(files: dict[str, Path], password: str | None, roots: list[Path]) -> KeyMaterial:
    from cryptography.hazmat.primitives.serialization import pkcs12

    signers: dict[str, SimpleSigner] = {}
    development = False
    for role, path in files.items():
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(
                path.read_bytes(), password.encode() if password is not None else None
            )
        except (OSError, ValueError) as exc:
            raise KeyMaterialError(f"cannot read PKCS#12 for role {role!r} ({path}): {exc}") from None
        if key is None or cert is None:
            raise KeyMaterialError(f"PKCS#12 for role {role!r} holds no key and certificate")
        leaf = _asn1_cert(cert)
        development = development or is_development(leaf)
        store = SimpleCertificateStore.from_certs([_asn1_cert(c) for c in extra])
        signers[role] = SimpleSigner(signing_cert=leaf, signing_key=_asn1_key(key), cert_registry=store)
    trust = load_trust_roots(roots)
    if not trust:
        raise KeyMaterialError("MPP_TRUST_ROOTS must name the CA certificates that verify the configured keys")
    return KeyMaterial(signers, trust, development=development)


_cache: dict[tuple[object, ...], KeyMaterial] = {}
_lock = threading.Lock()


def key_material(
    pki_dir: Path,
    signing_keys: dict[str, Path] | None = None,
    password: str | None = None,
    trust_roots: list[Path] | None = None,
    *,
    auto_init: bool = True,
) -> KeyMaterial:
    """The signers for this deployment, loaded once per process (parsing keys costs more than signing)."""
    cache_key = (str(pki_dir), tuple(sorted((signing_keys or {}).items())), password, tuple(trust_roots or ()))
    with _lock:
        found = _cache.get(cache_key)
        if found is not None:
            return found
        if signing_keys:
            material = _load_pkcs12(signing_keys, password, list(trust_roots or ()))
        else:
            if not (pki_dir / "ca.pem").exists() or any(not (pki_dir / "signers" / f"{r}.key").exists() for r in ROLES):
                if not auto_init:
                    raise KeyMaterialError(f"no key material in {pki_dir}: run `mpp pki init`")
                log.warning("no signing keys configured: creating a development CA in %s (SPESIMEN)", pki_dir)
                init_dev_pki(pki_dir)
            material = _load_dev(pki_dir)
            if trust_roots:
                material = KeyMaterial(material.signers, material.trust_roots + load_trust_roots(trust_roots), True)
        _cache[cache_key] = material
        return material


def clear_cache() -> None:
    with _lock:
        _cache.clear()
