"""One error shape for every refusal: a code and the message in both languages."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message_id: str,
        message_en: str,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message_en)
        self.headers = headers
        self.status = status
        self.code = code
        self.message_id = message_id
        self.message_en = message_en
        self.extra = extra


def _lang(request: Request) -> str:
    return "en" if request.headers.get("accept-language", "").lower().startswith("en") else "id"


def body(code: str, message_id: str, message_en: str, lang: str, **extra: Any) -> dict[str, Any]:
    return {
        "detail": {
            "code": code,
            "message": message_en if lang == "en" else message_id,
            "message_id": message_id,
            "message_en": message_en,
            **extra,
        }
    }


async def api_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    retry = exc.extra.get("retry_after")
    return JSONResponse(
        body(exc.code, exc.message_id, exc.message_en, _lang(request), **exc.extra),
        status_code=exc.status,
        headers=exc.headers
        or ({"Retry-After": str(retry)} if retry is not None and exc.status in (429, 503) else None),
    )


async def validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for err in exc.errors()[:20]:
        loc = ".".join(str(p) for p in err.get("loc", ()))
        problems.append({"loc": loc, "msg": str(err.get("msg", ""))[:200], "type": err.get("type")})
    where = problems[0]["loc"] if problems else "body"
    return JSONResponse(
        body(
            "invalid_request",
            f"Permintaan tidak valid pada '{where}'.",
            f"Invalid request at '{where}'.",
            _lang(request),
            errors=problems,
        ),
        status_code=422,
    )


async def http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    texts = {
        404: ("Tidak ditemukan.", "Not found."),
        405: ("Metode tidak diizinkan.", "Method not allowed."),
        401: ("Perlu masuk terlebih dahulu.", "Authentication required."),
        403: ("Akses ditolak.", "Forbidden."),
    }
    if isinstance(exc.detail, dict):
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
    mid, men = texts.get(exc.status_code, (str(exc.detail), str(exc.detail)))
    return JSONResponse(
        body(f"http_{exc.status_code}", mid, men, _lang(request)), status_code=exc.status_code, headers=exc.headers
    )


_ERROR_SCHEMA = {
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {
            "type": "object",
            "required": ["code", "message", "message_id", "message_en"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "message_id": {"type": "string"},
                "message_en": {"type": "string"},
            },
        }
    },
}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"description": desc, "content": {"application/json": {"schema": _ERROR_SCHEMA}}}
    for code, desc in (
        (400, "Bad request"),
        (401, "Missing or invalid token"),
        (403, "Forbidden"),
        (404, "Not found"),
        (409, "Conflict"),
        (413, "Body too large"),
        (422, "Invalid input"),
        (429, "Too many attempts (Retry-After header)"),
    )
}


def not_found(what_id: str = "Data", what_en: str = "Resource") -> ApiError:
    return ApiError(404, "not_found", f"{what_id} tidak ditemukan.", f"{what_en} not found.")


def unauthorized(code: str = "unauthorized") -> ApiError:
    if code == "token_expired":
        return ApiError(
            401, code, "Sesi sudah kedaluwarsa. Silakan mulai sesi baru.", "Session expired. Start a new one."
        )
    return ApiError(401, code, "Token sesi tidak ada atau tidak valid.", "Missing or invalid session token.")
