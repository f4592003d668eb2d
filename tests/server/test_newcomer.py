"""What a newcomer needs on day one (issue 15 D7): each of these was missing before.

The Debian packages behind the hall, voice and browser tests; the URL ``mpp serve`` listens on, printed;
how to create the first officer; and that ``mpp officer add`` writes to the database of ``MPP_DATA_DIR``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import free_port, start_mpp_serve

ROOT = Path(__file__).resolve().parents[2]


def _first_run() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("## First run")
    return readme[start : readme.index("\n## ", start + 3)]


def test_readme_names_every_debian_package_ci_installs() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    block = ci[ci.index("apt-get install") : ci.index(">/dev/null", ci.index("apt-get install"))]
    packages = [w for w in block.replace("\\", " ").split() if re.fullmatch(r"[a-z0-9][a-z0-9.+-]+", w)]
    packages = [p for p in packages if p not in ("apt-get", "install")]
    assert len(packages) > 8
    section = _first_run()
    missing = [p for p in packages if f"`{p}" not in section and f" {p}" not in section]
    assert not missing, missing
    for need in ("hall", "voice", "browser"):
        assert need in section


def test_readme_tells_how_to_make_the_first_officer_and_where_it_goes() -> None:
    section = _first_run()
    assert "mpp officer add admin --role admin" in section
    assert "MPP_DATA_DIR" in section and "/officer" in section
    assert "http://127.0.0.1:8765/" in section


def test_officer_add_says_which_database_it_wrote_to(tmp_path: Path) -> None:
    env = {**os.environ, "MPP_DATA_DIR": str(tmp_path), "MPP_LOAD_ASSISTANT": "0", "PYTHONPATH": str(ROOT)}
    env.pop("MPP_DATABASE_URL", None)
    r = subprocess.run(
        [sys.executable, "-m", "mpp", "officer", "add", "admin", "--role", "admin", "--password", "rahasia-123"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert str((tmp_path / "mpp.db").resolve()) in r.stdout


def test_serve_prints_the_url_it_listens_on(tmp_path: Path) -> None:
    port = free_port()
    proc = start_mpp_serve(tmp_path, port)
    try:
        log = (tmp_path / f"serve-{port}.log").read_text(encoding="utf-8", errors="replace")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert f"listening on http://127.0.0.1:{port}/" in log, log[-2000:]
    assert f"http://127.0.0.1:{port}/officer" in log
