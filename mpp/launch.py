"""The one way to run ``mpp serve`` as a child process.

``mpp up``, the presenter's demo, the tests and the benches all start the same command, wait for
the same readiness answer and stop it the same way; each used to carry its own copy, and the
copies had drifted (a pipe nobody drained, a log that was lost, a different readiness URL).
Only the standard library and httpx: the hall imports this without importing the server.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Literal

import httpx

Readiness = Literal["health", "ready", "assistant"]


class LaunchError(RuntimeError):
    """The server exited or never became ready; the message ends with its log's tail."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """``python -m mpp.cli serve`` on a port and a data directory, logging to ``<data_dir>/serve-<port>.log``.

    ``wait_for``: ``health`` (the process answers), ``ready`` (database and migrations ready) or
    ``assistant`` (ready and the assistant loaded). ``env`` overrides the inherited environment; a
    value of ``None`` removes the variable (e.g. ``MPP_DATABASE_URL`` for a private SQLite file).
    """

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        *,
        args: Sequence[str] = (),
        env: Mapping[str, str | None] | None = None,
        wait_for: Readiness = "health",
        python: str = sys.executable,
        log_path: Path | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.args = tuple(args)
        self.overrides = dict(env or {})
        self.wait_for = wait_for
        self.python = python
        self.log_path = log_path or self.data_dir / f"serve-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        env = {**os.environ, "MPP_DATA_DIR": str(self.data_dir), "MPP_PORT": str(self.port)}
        for key, value in self.overrides.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    def command(self, *args: str) -> list[str]:
        return [self.python, "-m", "mpp.cli", *args]

    def run(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        """Another ``mpp`` verb against the same data directory and settings (``officer add``, ``db upgrade``)."""
        return subprocess.run(
            self.command(*args), env=self.environment(), capture_output=True, text=True, timeout=timeout, check=False
        )

    def start(self, timeout: float = 90.0) -> ServerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:  # a file, not a pipe: a busy server never blocks on its output
            self.proc = subprocess.Popen(
                self.command("serve", "--port", str(self.port), *self.args),
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.wait(timeout)
        return self

    def _ready(self) -> bool:
        path = "/api/v1/health" if self.wait_for == "health" else "/api/v1/ready"
        try:
            r = httpx.get(self.url + path, timeout=1.0)
        except httpx.HTTPError:
            return False
        if r.status_code != 200:
            return False
        if self.wait_for != "assistant":
            return True
        try:
            return bool(r.json().get("checks", {}).get("assistant") == "ok")
        except ValueError:
            return False

    def wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise LaunchError(f"server exited (code {self.proc.returncode}): {self.log_tail()}")
            if self._ready():
                return
            time.sleep(0.2)
        self.stop()
        raise LaunchError(f"server not {self.wait_for} after {timeout:.0f} s: {self.log_tail()}")

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def kill9(self) -> None:
        """A crash, for the recovery tests: no shutdown handlers run."""
        if self.alive:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.alive:
            assert self.proc is not None
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
