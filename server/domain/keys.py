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
# (secret, data dir, purpose) -> subkey: every submission derives its receipt PIN, and finding the root
# (a path built, a dict looked up) cost more than the MAC itself. Bounded as _derived is.
_by_settings: dict[tuple[str | None, str, str], bytes] = {}


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
    data = os.fspath(settings.data_dir)
    if not os.path.isabs(data):  # a relative data dir depends on the working directory
        data = os.path.abspath(data)
    where = (settings.secret_key, data, purpose)
    found = _by_settings.get(where)
    if found is not None:
        return found
    root = server_key(settings)
    found = _derived.get((root, purpose))
    if found is None:
        found = _derived[(root, purpose)] = hmac.new(root, purpose.encode(), hashlib.sha256).digest()
    _by_settings[where] = found
    return found


def mac(key: bytes, *parts: str) -> str:
    # the one-shot C digest: hmac.new builds two hash objects in Python first
    return hmac.digest(key, "\x1f".join(parts).encode("utf-8"), "sha256").hex()


def fernet_key(settings: Settings, purpose: str) -> bytes:
    return base64.urlsafe_b64encode(derive(settings, purpose))
