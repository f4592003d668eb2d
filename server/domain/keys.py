"""The server's secret: keys for code hashes, receipt PINs and personal numbers sealed at rest.

``MPP_SECRET_KEY`` (shared by every node of a deployment) wins; without it a random key is
created once in ``<data_dir>/secret.key`` (mode 0600), which suits a single node. Losing the
key makes sealed conversation logs unreadable, so back it up with the database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from server.settings import Settings

_cache: dict[str, bytes] = {}
_derived: dict[tuple[bytes, str], bytes] = {}  # a handful of purposes per key: bounded


def server_key(settings: Settings) -> bytes:
    if settings.secret_key:
        return hashlib.sha256(settings.secret_key.encode("utf-8")).digest()
    path = Path(settings.data_dir) / "secret.key"
    # abspath, not resolve(): no lstat per path part on every call (every submission derives a receipt PIN)
    where = os.path.abspath(path)
    cached = _cache.get(where)
    if cached is not None:
        return cached
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    key = bytes.fromhex(path.read_text().strip())
    if len(key) < 32:
        raise RuntimeError(f"{path} does not hold a 32-byte hex key")
    _cache[where] = key
    return key


def derive(settings: Settings, purpose: str) -> bytes:
    """An independent subkey per use, so one leaked use does not unlock the others."""
    root = server_key(settings)
    found = _derived.get((root, purpose))
    if found is None:
        found = _derived[(root, purpose)] = hmac.new(root, purpose.encode(), hashlib.sha256).digest()
    return found


def mac(key: bytes, *parts: str) -> str:
    return hmac.new(key, "\x1f".join(parts).encode("utf-8"), hashlib.sha256).hexdigest()


def fernet_key(settings: Settings, purpose: str) -> bytes:
    return base64.urlsafe_b64encode(derive(settings, purpose))
