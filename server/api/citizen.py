"""The citizen's 2D page at ``/``: one server-rendered template plus vanilla JS, no build step.

Everything the page shows comes from the public API and the citizen websocket;
this module only serves the shell, the catalogue's ``web.*`` texts as JSON (``/i18n/{lang}.json``)
and the static files.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.templating import Jinja2Templates

import l10n
from l10n.jinja import install as install_i18n
from server.errors import not_found

router = APIRouter(include_in_schema=False)
HERE = Path(__file__).resolve().parent.parent  # server/: the templates and static files
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))
install_i18n(TEMPLATES.env)
STATIC = {
    "citizen.js": "text/javascript",
    "citizen-guided.js": "text/javascript",
    "call.js": "text/javascript",
    "citizen.css": "text/css",
}


def _harden(request: Request, response: Response) -> Response:
    ws = request.app.state.settings.ws_sources  # from settings: never the request's Host header
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' {ws}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    return response


def _export(lang: str) -> tuple[bytes, str]:
    """The page's texts in one language and their ETag (a browser revalidates instead of downloading again)."""
    body = json.dumps(l10n.export("web", lang), ensure_ascii=False, separators=(",", ":")).encode()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


@router.get("/", response_class=HTMLResponse)
def citizen_page(request: Request) -> Response:
    lang = l10n.negotiate(request.headers.get("accept-language"))
    # the page's own language inline (first paint without a round trip); citizen.js fetches another on a switch
    inline = {"lang": lang, "strings": l10n.export("web", lang)}
    response = TEMPLATES.TemplateResponse(request, "citizen/index.html", {"lang": lang, "i18n": inline})
    response.headers["Cache-Control"] = "no-cache"
    return _harden(request, response)


@router.get("/i18n/{lang}.json")
def citizen_strings(lang: str, request: Request) -> Response:
    """The catalogue's ``web.*`` texts for the 2D page's JavaScript, keys without the prefix."""
    if lang not in l10n.LANGS:
        raise not_found("error.not_found_language")
    body, etag = _export(lang)
    headers = {"ETag": etag, "Cache-Control": "no-cache", "Content-Language": lang}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


@router.get("/static/{name}")
def citizen_static(name: str) -> Response:
    if name not in STATIC:
        raise not_found("error.not_found_file")
    return FileResponse(HERE / "static" / name, media_type=STATIC[name], headers={"Cache-Control": "no-cache"})
