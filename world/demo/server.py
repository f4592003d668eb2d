"""The embedded backend of a demo: a real ``mpp serve`` child process on a throw-away database.

The world never imports the server; it starts it as a separate process, exactly as an
operator would, with a fresh temporary ``MPP_DATA_DIR`` so every demo (and every loop
round) starts from the same clean state, and creates the demo officer accounts through
the ``mpp officer add`` command.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path

from mpp.launch import LaunchError, ServerProcess, free_port
from world.demo.actions import DEMO_PASSWORD, officer_username
from world.demo.phone import DemoPhone

__all__ = ["DemoServer", "DemoServerError", "free_port"]

log = logging.getLogger(__name__)

# Agencies the default tour needs before it starts; the others are added in the background.
FIRST_AGENCIES = ("dukcapil",)
FASKES = "Puskesmas Sobo"
ALL_AGENCIES = (
    "dukcapil",
    "polri",
    "imigrasi",
    "samsat",
    "bpjs-kesehatan",
    "dpmptsp",
    "bapenda",
    "disnaker",
    "kemenag",
    "bpn",
    "pdam",
    "bank-jatim",
    "pengadilan-agama",
    "kejaksaan",
    "smart-kampung",
)


def create_demo_officer(
    agency: str, password: str, *, env: dict[str, str] | None = None, python: str | None = None
) -> bool:
    """``mpp officer add demo-<agency>`` in the database ``env`` points at (default: this one)."""
    cmd = [
        python or sys.executable,
        "-m",
        "mpp.cli",
        "officer",
        "add",
        officer_username(agency),
        "--password",
        password,
        "--agency",
        agency,
        "--full-name",
        f"Petugas {agency.replace('-', ' ').title()}",
        "--demo",  # sees the tour's (demo-tagged) applications only, never a real office's
    ]
    try:
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("demo officer %s not created: %s", agency, exc)
        return False
    if out.returncode != 0:
        log.warning("demo officer %s not created: %s", agency, (out.stderr or out.stdout).strip()[-300:])
    return out.returncode == 0


class DemoServerError(RuntimeError):
    """The embedded server did not come up; the message says where its log is."""


class DemoServer:
    """Start/stop/reset a private ``mpp serve``; ``url`` is where the tour's actions go."""

    def __init__(
        self,
        *,
        port: int | None = None,
        agencies: Iterable[str] = ALL_AGENCIES,
        first: Iterable[str] = FIRST_AGENCIES,
        ready_timeout: float = 120.0,
        python: str = sys.executable,
    ) -> None:
        self.port = port or free_port()
        self.agencies = tuple(agencies)
        self.first = tuple(a for a in first if a in self.agencies)
        self.ready_timeout = ready_timeout
        self.python = python
        self.data_dir: Path | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.server: ServerProcess | None = None
        self._log: Path | None = None
        self._background: threading.Thread | None = None
        self._stop = threading.Event()
        self.phone = DemoPhone()
        self.phone_started = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _launcher(self) -> ServerProcess:
        assert self.data_dir is not None
        root = str(Path(__file__).resolve().parents[2])
        env: dict[str, str | None] = {
            "MPP_DATABASE_URL": None,  # always the private SQLite file, never a shared database
            "PYTHONPATH": root + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else ""),
            **self.phone.env(),  # one-time codes go to the demo visitors' phone
        }
        return ServerProcess(
            self.data_dir,
            self.port,
            env=env,
            wait_for="ready",
            python=self.python,
            log_path=self.data_dir / "server.log",
        )

    def _env(self) -> dict[str, str]:
        return self._launcher().environment()

    def add_officer(self, agency: str) -> bool:
        """``mpp officer add demo-<agency>`` against the demo database (it also migrates and seeds)."""
        return create_demo_officer(agency, DEMO_PASSWORD, env=self._env(), python=self.python)

    def add_faskes(self) -> bool:
        """The health facility of the Lahir Procot step (``mpp officer add demo-faskes --role faskes``)."""
        cmd = [
            self.python,
            "-m",
            "mpp.cli",
            "officer",
            "add",
            officer_username("faskes"),
            "--password",
            DEMO_PASSWORD,
            "--role",
            "faskes",
            "--facility",
            FASKES,
            "--full-name",
            "Bidan Puskesmas Sobo",
            "--demo",
        ]
        try:
            out = subprocess.run(cmd, env=self._env(), capture_output=True, text=True, timeout=120, check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("demo faskes officer not created: %s", exc)
            return False
        if out.returncode != 0:
            log.warning("demo faskes officer not created: %s", (out.stderr or out.stdout).strip()[-300:])
        return out.returncode == 0

    def start(self) -> str:
        """Fresh database, first officers, server up and ready; returns the base URL."""
        self._stop.clear()
        if not self.phone_started:
            self.phone.start()
            self.phone_started = True
        self.data_dir = Path(tempfile.mkdtemp(prefix="mpp-demo-"))
        for agency in self.first:
            self.add_officer(agency)
        if "dukcapil" in self.agencies:
            self.add_faskes()
        self.server = self._launcher()
        self._log = self.server.log_path
        try:
            self.server.start(self.ready_timeout)
        except LaunchError as exc:
            raise DemoServerError(f"demo server did not start: {exc}") from None
        self.proc = self.server.proc
        rest = [a for a in self.agencies if a not in self.first]
        if rest:
            self._background = threading.Thread(target=self._add_rest, args=(rest,), daemon=True, name="demo-officers")
            self._background.start()
        return self.url

    def wait_officers(self, timeout: float) -> None:
        """Until every agency's demo officer exists (or ``timeout``): board seeding calls tickets."""
        if self._background is not None:
            self._background.join(timeout=timeout)

    def _add_rest(self, agencies: list[str]) -> None:
        for agency in agencies:
            if self._stop.is_set():
                return
            self.add_officer(agency)

    def stop(self) -> None:
        self._stop.set()
        if self._background is not None:
            self._background.join(timeout=130)
            self._background = None
        if self.server is not None:
            self.server.stop()
            self.server = None
        self.proc = None
        if self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None

    def reset(self) -> str:
        """A new loop round: stop, wipe the database, start again on the same port."""
        self.stop()
        return self.start()

    def __enter__(self) -> DemoServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
