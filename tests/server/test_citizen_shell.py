"""The citizen page's shell without a browser: headers, static files, and that every string it uses exists."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[2] / "server"


def test_page_is_served_with_a_strict_policy_and_the_visitors_language(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert '<html lang="id">' in r.text and "Panggil Petugas" in r.text
    en = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in en.text and "Call an officer" in en.text


def test_static_files_are_an_allowlist(client: TestClient) -> None:
    assert client.get("/static/citizen.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/static/citizen.css").headers["content-type"].startswith("text/css")
    for bad in ("/static/app.py", "/static/..%2Fapp.py", "/static/citizen.js.map", "/static/"):
        assert client.get(bad).status_code == 404, bad


def test_every_string_the_page_uses_exists_in_both_languages() -> None:
    from server.api.citizen import STRINGS

    template = (ROOT / "templates" / "citizen" / "index.html").read_text(encoding="utf-8")
    script = (ROOT / "static" / "citizen.js").read_text(encoding="utf-8")
    used = set(re.findall(r'data-i18n(?:-aria|-placeholder)?="([a-z0-9_]+)"', template))
    used |= set(re.findall(r"\bt\.([a-z0-9_]+)\b", template))
    used |= set(re.findall(r'\bt\("([a-z0-9_]+)"[,)]', script))
    used |= {f"survey_{n}" for n in range(1, 5)}
    states = (
        "draft submitted verified in_process needs_revision ready completed rejected cancelled "
        "open in_progress responded closed waiting called served skipped"
    ).split()
    used |= {f"state_{s}" for s in states}
    assert len(used) > 60
    missing = sorted(k for k in used if k not in STRINGS)
    assert missing == []
    assert all(a.strip() and b.strip() for a, b in STRINGS.values())


def test_page_never_uses_inner_html_or_puts_the_token_in_a_url() -> None:
    script = (ROOT / "static" / "citizen.js").read_text(encoding="utf-8")
    assert "innerHTML" not in script.replace("never innerHTML", "")
    assert "insertAdjacentHTML" not in script and "document.write" not in script
    assert not re.search(r"[?&]token=", script)
    assert 'localStorage.setItem("mpp.token"' not in script and "sessionStorage" in script
