"""A real coturn for tests: loopback only, TURN REST shared secret, started on a free port."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import free_port, need, port_open

TURNSERVER = shutil.which("turnserver") or "/usr/bin/turnserver"
REALM = "mpp.test"


@contextmanager
def coturn(tmp: Path, secret: str) -> Iterator[int]:
    """Yields the port; the flags are the ones docs/calls.md ships, narrowed to 127.0.0.1."""
    need(Path(TURNSERVER).exists(), "coturn is not installed (apt-get install coturn)")
    port = free_port()
    log = tmp / f"coturn-{port}.log"
    args = [
        TURNSERVER, "-n", "--no-cli", "--no-tls", "--no-dtls",
        "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", f"--listening-port={port}",
        "--use-auth-secret", f"--static-auth-secret={secret}", f"--realm={REALM}",
        "--allow-loopback-peers", "--fingerprint", f"--log-file={log}", "--simple-log",
        f"--pidfile={tmp / f'coturn-{port}.pid'}", "--min-port=40000", "--max-port=40999",
    ]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not port_open("127.0.0.1", port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("coturn did not start: " + (log.read_text() if log.exists() else ""))
            time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
