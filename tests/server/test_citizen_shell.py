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
    import l10n

    template = (ROOT / "templates" / "citizen" / "index.html").read_text(encoding="utf-8")
    used = set(re.findall(r'data-i18n(?:-aria|-placeholder)?="([a-z0-9_]+)"', template))
    used |= set(re.findall(r"_\('web\.([a-z0-9_]+)'\)", template))
    for name in ("citizen.js", "call.js"):
        script = (ROOT / "static" / name).read_text(encoding="utf-8")
        used |= set(re.findall(r'\b[tT]\("([a-z0-9_]+)"[,)]', script))
    used |= {f"survey_{n}" for n in range(1, 5)}
    states = (
        "draft submitted verified in_process needs_revision ready completed rejected cancelled "
        "open in_progress responded closed waiting called served skipped"
    ).split()
    used |= {f"state_{s}" for s in states}
    assert len(used) > 60
    for lang in ("id", "en"):
        missing = sorted(k for k in used if f"web.{k}" not in l10n.catalogue(lang))
        assert missing == [], lang


def test_the_page_gets_its_texts_from_the_catalogue_as_json(client: TestClient) -> None:
    import json

    page = client.get("/", headers={"Accept-Language": "en"})
    found = re.search(r'<script id="i18n" type="application/json">(.*?)</script>', page.text)
    assert found is not None, "the page carries its texts inline"
    inline = json.loads(found.group(1))
    assert inline["lang"] == "en" and inline["strings"]["call_officer"] == "Call an officer"
    r = client.get("/i18n/id.json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    idn = r.json()
    assert idn["call_officer"] == "Panggil Petugas" and idn["g_enter"] == "Mode Dibantu"
    assert idn["wait_min"] == "Perkiraan menunggu {n} menit"  # placeholders are filled in by the page
    en = client.get("/i18n/en.json").json()
    assert set(en) == set(idn) and en["call_officer"] == "Call an officer"
    assert not any(k.startswith(("console.", "hall.", "web.")) for k in idn)
    ja = client.get("/i18n/ja.json").json()
    assert set(ja) == set(idn)  # Japanese falls back to English where it has no text
    again = client.get("/i18n/id.json", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and not again.content
    for bad in ("/i18n/fr.json", "/i18n/..%2Fid.json", "/i18n/id"):
        miss = client.get(bad)
        assert miss.status_code == 404, bad
    assert client.get("/i18n/xx.json").json()["detail"]["code"] == "not_found"


def test_page_never_uses_inner_html_or_puts_the_token_in_a_url() -> None:
    script = (ROOT / "static" / "citizen.js").read_text(encoding="utf-8")
    assert "innerHTML" not in script.replace("never innerHTML", "")
    assert "insertAdjacentHTML" not in script and "document.write" not in script
    assert not re.search(r"[?&]token=", script)
    assert 'localStorage.setItem("mpp.token"' not in script and "sessionStorage" in script
