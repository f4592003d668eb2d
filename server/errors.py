"""One error shape for every refusal: a code and the message in both languages (texts from the catalogue)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from l10n import N_, Msg, negotiate, t


class ApiError(Exception):
    """A refusal with its message as a catalogue key (``"error.queue_busy"`` or ``msg("error.x", n=3)``).

    ``message_en`` is only for texts that arrive already translated from elsewhere (the protocol's
    validators), passed on as ``ApiError(422, code, exc.message_id, exc.message_en)``.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str | Msg,
        message_en: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        self.message: Msg | None = None
        self._pair: tuple[str, str] | None = None
        if message_en is not None:
            assert isinstance(message, str)
            self._pair = (message, message_en)
        else:
            self.message = message if isinstance(message, Msg) else Msg(message)
        self.headers = headers
        self.status = status
        self.code = code
        self.extra = extra
        super().__init__(self.message_en)

    def text(self, lang: str | None) -> str:
        if self._pair is not None:
            return self._pair[1] if lang == "en" else self._pair[0]
        assert self.message is not None
        return self.message.text(lang)

    @property
    def message_id(self) -> str:
        return self.text("id")

    @property
    def message_en(self) -> str:
        return self.text("en")


def _lang(request: Request) -> str:
    return negotiate(request.headers.get("accept-language"))


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
            t("error.invalid_request", "id", where=where),
            t("error.invalid_request", "en", where=where),
            _lang(request),
            errors=problems,
        ),
        status_code=422,
    )


HTTP_TEXTS = {
    401: N_("error.http_401"),
    403: N_("error.http_403"),
    404: N_("error.http_404"),
    405: N_("error.http_405"),
}


async def http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = exc.headers
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": allowed_methods(request)}
    if isinstance(exc.detail, dict):
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)
    key = HTTP_TEXTS.get(exc.status_code)
    mid, men = (t(key, "id"), t(key, "en")) if key else (str(exc.detail), str(exc.detail))
    return JSONResponse(
        body(f"http_{exc.status_code}", mid, men, _lang(request)), status_code=exc.status_code, headers=headers
    )


_DESCRIPTIONS: dict[int, str] = {
    400: "Bad request",
    401: "Missing or invalid token",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed (the Allow header lists those that are)",
    409: "Conflict",
    410: "Gone",
    413: "Body too large",
    415: "Unsupported file type",
    422: "Invalid input (per-field details in errors or fields)",
    429: "Too many attempts (Retry-After header)",
    503: "Busy or not ready (Retry-After header)",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The refusals a route really gives, documented with the one error shape (``protocol.api.ErrorBody``).

    A route that takes a body (413) also answers 400 to one that is not JSON at all.
    """
    from protocol.api import ErrorBody

    wanted = set(codes) | ({400} if 413 in codes else set())
    return {code: {"model": ErrorBody, "description": _DESCRIPTIONS[code]} for code in sorted(wanted)}


ERROR_RESPONSES = responses(400, 401, 403, 404, 409, 413, 422, 429)


def error_shaped_openapi(app: Any) -> dict[str, Any]:
    """The OpenAPI with every 422 in the one error shape (FastAPI adds its own for routes that take input)."""
    if app.openapi_schema:
        return dict(app.openapi_schema)
    from fastapi.openapi.utils import get_openapi

    from protocol.api import ErrorBody

    spec = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = spec.setdefault("components", {}).setdefault("schemas", {})
    if "ErrorBody" not in components:
        components.update(ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")["$defs"])
        components["ErrorBody"] = {
            k: v
            for k, v in ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}").items()
            if k != "$defs"
        }
    fastapi_default = "#/components/schemas/HTTPValidationError"
    for item in spec.get("paths", {}).values():
        for op in item.values():
            invalid = op.get("responses", {}).get("422")
            schema = (invalid or {}).get("content", {}).get("application/json", {}).get("schema", {})
            if schema.get("$ref") == fastapi_default:
                op["responses"]["422"] = {
                    "description": _DESCRIPTIONS[422],
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
                }
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    app.openapi_schema = spec
    return spec


def allowed_methods(request: Request) -> str:
    """Every method some route serves at this path: Starlette's 405 names only the first route's."""
    path = request.scope.get("path", "")
    methods: set[str] = set()
    for route in request.app.router.routes:
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(path) and getattr(route, "methods", None):
            methods |= set(route.methods)
    order = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
    return ", ".join(m for m in order if m in methods)


def not_found(key: str = "error.not_found") -> ApiError:
    """404 with what was not found in the message: ``not_found("error.not_found_application")``."""
    return ApiError(404, "not_found", key)


def unauthorized(code: str = "unauthorized") -> ApiError:
    if code == "token_expired":
        return ApiError(401, code, "error.token_expired")
    return ApiError(401, code, "error.unauthorized")
