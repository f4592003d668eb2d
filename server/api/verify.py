"""Public verification of issued documents: the QR target ``/verify/{code}`` and PDF upload, no login.

Shows only what a verifier needs (status, type, number, office, date, a masked
holder name), never a NIK. Lookups are rate-limited per client address, so the
128-bit codes cannot be enumerated even in part.
"""

from __future__ import annotations

import math
import re
import threading
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select

from l10n import msg, negotiate
from l10n.jinja import install as install_i18n
from protocol.api import PdfCheckOut, PublicDocumentView
from server.api.deps import DbDep, SettingsDep
from server.domain.documents import issue as issuance
from server.domain.documents.verify import NotAPdf, check_pdf
from server.errors import ApiError, responses
from server.persistence import models as m

router = APIRouter(include_in_schema=False)
api = APIRouter(tags=["verify"])
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))
install_i18n(TEMPLATES.env)
CODE_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_PDF = 1024 * 1024


def _lang(request: Request) -> str:
    q = request.query_params.get("lang")
    if q in ("id", "en"):
        return q
    return negotiate(request.headers.get("accept-language"))


class RateLimit:
    """Token bucket per client address: ``per_min`` lookups a minute, bursts up to the same number."""

    def __init__(self, per_min: int) -> None:
        self.rate = per_min / 60.0
        self.burst = float(per_min)
        self.buckets: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def take(self, key: str) -> int:
        """0 when allowed, else the seconds to wait."""
        now = time.monotonic()
        with self.lock:
            tokens, last = self.buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self.buckets[key] = (tokens - 1.0, now)
                if len(self.buckets) > 50_000:
                    self.buckets.clear()  # bounded memory under a spray of addresses
                return 0
            self.buckets[key] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / self.rate))


def _limiter(request: Request) -> RateLimit:
    state = request.app.state
    limiter: RateLimit | None = getattr(state, "verify_limiter", None)
    if limiter is None:
        limiter = state.verify_limiter = RateLimit(state.settings.verify_rate_per_min)
    return limiter


def _throttle(request: Request) -> None:
    wait = _limiter(request).take(request.client.host if request.client else "?")
    if wait:
        raise ApiError(
            429,
            "rate_limited",
            msg("error.rate_limited", wait=wait),
            retry_after=wait,
        )


def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def _page(request: Request, status: int, **data: Any) -> Response:
    lang = _lang(request)
    data.setdefault("result", None)
    data.setdefault("error", "")
    response = TEMPLATES.TemplateResponse(request, "verify/page.html", {"lang": lang, **data}, status_code=status)
    return _headers(response)


def lookup(db: Any, code: str) -> dict[str, Any]:
    doc = db.scalar(select(m.IssuedDocument).where(m.IssuedDocument.code == code)) if CODE_RE.match(code) else None
    if doc is None:
        return {"status": "unknown"}
    return issuance.public_view(doc)


def check_upload(db: Any, settings: Any, data: bytes) -> dict[str, Any]:
    if not data:
        raise ApiError(422, "file_empty", "error.file_empty")
    if len(data) > MAX_PDF:
        raise ApiError(413, "file_too_large", "error.file_too_large")
    try:
        check = check_pdf(data, issuance.material_for(settings).trust_roots)
    except NotAPdf:
        raise ApiError(415, "not_pdf", "error.not_pdf") from None
    doc = db.scalar(select(m.IssuedDocument).where(m.IssuedDocument.sha256 == check.sha256))
    out: dict[str, Any] = {
        "signed": check.signed,
        "signature_intact": check.intact,
        "signer_trusted": check.trusted,
        "covers_whole_file": check.entire_file,
        "signer": check.signer,
        "signed_at": check.signed_at.isoformat() if check.signed_at else None,
        "timestamped": check.timestamped,
        "problem": check.problem,
    }
    if doc is not None and check.ok:
        return {**issuance.public_view(doc), **out}
    claimed = None
    if check.code and CODE_RE.match(check.code):
        claimed = db.scalar(select(m.IssuedDocument).where(m.IssuedDocument.code == check.code))
    if claimed is not None:
        view = issuance.public_view(claimed)
        problem = check.problem or "the file's bytes differ from the issued document"
        return {**view, **out, "status": "altered", "problem": problem}
    if not check.signed:
        return {**out, "status": "unsigned"}
    if not check.ok:
        return {**out, "status": "invalid"}
    return {**out, "status": "unknown_file"}


# ------------------------------------------------------------------ JSON


@api.get(
    "/verify/{code}",
    response_model=PublicDocumentView,
    responses={404: {"model": PublicDocumentView, "description": "Unknown code (status: unknown)"}, **responses(429)},
)
def verify_code_json(code: str, request: Request, db: DbDep) -> JSONResponse:
    _throttle(request)
    view = lookup(db, code)
    return JSONResponse(view, status_code=404 if view["status"] == "unknown" else 200)


@api.post("/verify", response_model=PdfCheckOut, responses=responses(413, 415, 422, 429))
def verify_upload_json(request: Request, db: DbDep, settings: SettingsDep, file: UploadFile = File(...)) -> Any:
    _throttle(request)
    return check_upload(db, settings, file.file.read(MAX_PDF + 1))


# ------------------------------------------------------------------ HTML


def _html_error(request: Request, exc: ApiError) -> Response:
    lang = _lang(request)
    response = _page(request, exc.status, error=exc.message_en if lang == "en" else exc.message_id)
    if exc.status == 429:
        response.headers["Retry-After"] = str(exc.extra.get("retry_after", 60))
    return response


@router.get("/verify", response_class=HTMLResponse)
def verify_form(request: Request) -> Response:
    return _page(request, 200)


@router.get("/verify/{code}", response_class=HTMLResponse)
def verify_code_page(code: str, request: Request, db: DbDep) -> Response:
    try:
        _throttle(request)
    except ApiError as exc:
        return _html_error(request, exc)
    view = lookup(db, code)
    return _page(request, 404 if view["status"] == "unknown" else 200, result=view)


@router.post("/verify", response_class=HTMLResponse)
def verify_upload_page(request: Request, db: DbDep, settings: SettingsDep, file: UploadFile = File(...)) -> Response:
    try:
        _throttle(request)
        result = check_upload(db, settings, file.file.read(MAX_PDF + 1))
    except ApiError as exc:
        return _html_error(request, exc)
    return _page(request, 200, result=result, uploaded=True)
