"""Console plumbing: cookie sessions, CSRF, language, and rendering with security headers.

The officer is looked up from the database on every request, so a role or
agency change by an admin applies at once, whatever the cookie says.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Form, Header, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from l10n import PRODUCT_LANGS as LANGS
from l10n import t
from l10n.jinja import install as install_i18n
from protocol.catalog import Catalog
from server.api.deps import DbDep
from server.domain import keys, officers, sessions
from server.errors import ApiError
from server.persistence import models as m
from server.settings import Settings

COOKIE = "mpp_officer"
LANG_COOKIE = "mpp_officer_lang"
PRE_CSRF_COOKIE = "mpp_officer_precsrf"
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))
install_i18n(TEMPLATES.env)


@dataclass
class Ctx:
    officer: m.Officer
    session: m.OfficerSession
    lang: str

    @property
    def csrf(self) -> str:
        return self.session.csrf_token

    @property
    def read_only(self) -> bool:
        return self.officer.role == "supervisor"


class LoginRequired(Exception):
    """No valid officer cookie: pages redirect to the login form, other requests get 401."""


class ConsoleError(Exception):
    def __init__(self, status: int, key: str) -> None:
        super().__init__(key)
        self.status = status
        self.key = key


def lang_of(request: Request) -> str:
    """The console speaks Indonesian unless the officer switched (a cookie): browsers' English defaults do not count."""
    lang = request.cookies.get(LANG_COOKIE, "")
    return lang if lang in LANGS else "id"


def secure_request(request: Request) -> bool:
    settings = request.app.state.settings
    return bool(
        settings.secure_cookies
        or request.url.scheme == "https"
        or request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower() == "https"
    )


def console_ctx(request: Request, db: DbDep) -> Ctx:
    try:
        officer, sess = officers.officer_for_token(db, request.cookies.get(COOKIE))
    except ApiError:
        raise LoginRequired() from None
    return Ctx(officer, sess, lang_of(request))


CtxDep = Annotated[Ctx, Depends(console_ctx)]


def require_csrf(
    ctx: CtxDep,
    csrf: str = Form(default="", max_length=200),
    x_csrf_token: str | None = Header(default=None, max_length=200),
) -> Ctx:
    """Every state-changing console request carries the session's CSRF token."""
    given = csrf or x_csrf_token or ""
    if not given or not secrets.compare_digest(given.encode(), ctx.csrf.encode()):
        raise ConsoleError(403, "console.csrf_failed")
    return ctx


CsrfDep = Annotated[Ctx, Depends(require_csrf)]


def require_roles(ctx: Ctx, *roles: str) -> None:
    if ctx.officer.role not in roles:
        raise ConsoleError(403, "console.forbidden")


def csp(request: Request) -> str:
    """Built from settings: a forged Host header must not widen where the page may connect."""
    ws = request.app.state.settings.ws_sources
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' {ws}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )


PRE_CSRF_TTL_S = 3600


def issue_pre_csrf(settings: Settings) -> str:
    """A fresh pre-login token signed by the server: a value planted in the cookie by someone else never passes."""
    nonce = secrets.token_urlsafe(18)
    expires = str(int(time.time()) + PRE_CSRF_TTL_S)
    return f"{nonce}.{expires}.{keys.mac(keys.derive(settings, 'pre-csrf'), nonce, expires)}"


def pre_csrf_valid(settings: Settings, form_token: str, cookie_token: str) -> bool:
    """The form's token equals the cookie's, carries the server's signature and has not expired."""
    if not form_token or not cookie_token or not secrets.compare_digest(form_token.encode(), cookie_token.encode()):
        return False
    nonce, _, rest = form_token.partition(".")
    expires, _, sig = rest.partition(".")
    if not nonce or not expires.isdigit() or int(expires) < time.time():
        return False
    want = keys.mac(keys.derive(settings, "pre-csrf"), nonce, expires)
    return secrets.compare_digest(sig.encode(), want.encode())


def harden(request: Request, response: Response) -> Response:
    response.headers["Content-Security-Policy"] = csp(request)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
    return response


def fmt_time(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    return m.utc(value).astimezone(sessions.WIB).strftime("%d-%m-%Y %H:%M WIB")


def service_name(catalog: Catalog, service_id: str | None, lang: str) -> str:
    if not service_id:
        return t("console.general", lang)
    try:
        s = catalog.service(service_id)
    except KeyError:
        return service_id
    return s.short_name.en if lang == "en" else s.short_name.id


def render(
    request: Request, template: str, ctx: Ctx | None, status: int = 200, lang: str | None = None, **data: Any
) -> HTMLResponse:
    lang = lang or (ctx.lang if ctx else lang_of(request))
    catalog = request.app.state.catalog

    data.update(
        request=request,
        lang=lang,
        ctx=ctx,
        me=ctx.officer if ctx else None,
        csrf=ctx.csrf if ctx else data.get("csrf", ""),
        fmt_time=fmt_time,
        service_name=lambda sid: service_name(catalog, sid, lang),
        path=request.url.path,
    )
    response = TEMPLATES.TemplateResponse(request, f"officer/{template}", data, status_code=status)
    harden(request, response)
    return response


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


async def login_required_handler(request: Request, exc: Exception) -> Response:
    if request.method == "GET" and "authorization" not in request.headers:
        return redirect("/officer/login")
    return JSONResponse(
        {
            "detail": {
                "code": "unauthorized",
                "message": t("console.login_required", lang_of(request)),
                "message_id": t("console.login_required", "id"),
                "message_en": t("console.login_required", "en"),
            }
        },
        status_code=401,
    )


async def console_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ConsoleError)
    lang = lang_of(request)
    page = render(request, "error.html", None, status=exc.status, lang=lang, message=t(exc.key, lang))
    return page
