"""Every 4xx/5xx as RFC 9457 ``application/problem+json``: type, title, status, detail, instance, request_id.

``detail`` says what went wrong and what to do about it, in the same words the CLI uses. A stack trace
never leaves the server; a 500 says only that it happened and which request id to look for in the logs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.routing import Match
from starlette.types import Scope

from app.answer.engine import QuestionError
from app.api.logs import request_id_var
from app.conversation import ConversationNotFound
from app.index.manifest import IndexMismatch
from app.llm.base import LLMError

PROBLEM_JSON = "application/problem+json"
PATH_SAFE = "/:@!$&'()*+,;=-._~"
TYPE_PREFIX = "urn:curbside:problem:"
log = logging.getLogger("curbside.api")


class ApiError(Exception):
    """An error the API answers with a problem document (raise it from routes and dependencies)."""

    def __init__(
        self,
        status: int,
        kind: str,
        detail: str,
        *,
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.detail = detail
        self.title = title or _phrase(status)
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


# RFC 9110 names where Python's table still has the older ones.
_PHRASES = {413: "Content Too Large", 422: "Unprocessable Content"}


def _phrase(status: int) -> str:
    if status in _PHRASES:
        return _PHRASES[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_body(
    status: int,
    kind: str | None,
    detail: str,
    *,
    title: str | None = None,
    instance: str | None = None,
    request_id: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + kind if kind else "about:blank",
        "title": title or _phrase(status),
        "status": status,
        "detail": detail,
        "instance": instance,
        "request_id": request_id or request_id_var.get(),
    }
    body.update(extra or {})
    if instance and instance.startswith(("/v1/chat/", "/v1/models")):
        # OpenAI SDKs read ``error.message``; the problem document carries it as an extension member.
        body.setdefault("error", {"message": detail, "type": kind or "error", "code": status})
    return body


def problem_response(
    scope: Scope,
    status: int,
    kind: str | None,
    detail: str,
    *,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Response:
    body = problem_body(
        status,
        kind,
        detail,
        title=title,
        instance=quote(scope.get("path", ""), safe=PATH_SAFE) or None,
        request_id=scope.get("state", {}).get("request_id"),
        extra=extra,
    )
    return JSONResponse(body, status_code=status, headers=dict(headers or {}), media_type=PROBLEM_JSON)


# -- mapping exceptions to problems ----------------------------------------------------------------------

_HTTP_KINDS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    413: "body-too-large",
    415: "unsupported-media-type",
    429: "rate-limited",
}


def _http_detail(exc: StarletteHTTPException, scope: Scope) -> str:
    method = scope.get("method", "")
    path = scope.get("path", "")
    if exc.status_code == 404 and exc.detail in ("Not Found", None, ""):
        return f"no such endpoint: {method} {path}; see /docs for the API"
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow") or (exc.headers or {}).get("allow")
        more = f"; allowed: {allowed}" if allowed else ""
        return f"{method} is not allowed on {path}{more}"
    if exc.status_code == 413 and exc.detail == "Content Too Large":
        return "request body too large"
    return str(exc.detail)


def _loc(loc: Sequence[int | str]) -> str:
    return ".".join(str(p) for p in loc)


def validation_problem(exc: RequestValidationError) -> tuple[int, str, str, list[dict[str, Any]]]:
    """(status, kind, detail, errors) for pydantic errors: each names its field, never echoes the input."""
    errors: list[dict[str, Any]] = []
    for err in exc.errors():
        loc = list(err.get("loc", ()))
        if err.get("type") == "json_invalid":
            reason = (err.get("ctx") or {}).get("error", "invalid JSON")
            where = loc[1] if len(loc) > 1 else "?"
            return (
                400,
                "malformed-json",
                f"request body is not valid JSON ({reason} at character {where})",
                [],
            )
        if err.get("type") == "model_attributes_type" and loc == ["body"]:
            detail = "request body must be a JSON object"
            return 422, "validation", detail, [{"field": "body", "message": detail, "type": err["type"]}]
        if err.get("type") == "missing" and loc == ["body"]:
            detail = "request body is required: a JSON object"
            return 422, "validation", detail, [{"field": "body", "message": detail, "type": "missing"}]
        if loc and loc[0] in ("body", "query", "path", "header") and len(loc) > 1:
            loc = loc[1:]
        field = _loc(loc) or "body"
        errors.append({"field": field, "message": err.get("msg", "invalid"), "type": err.get("type")})
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
    return 422, "validation", detail, errors


def problem_for_exception(exc: BaseException) -> tuple[int, str, str, dict[str, str], dict[str, Any]]:
    """(status, kind, detail, headers, extra) for the domain errors that reach the API edge."""
    if isinstance(exc, ApiError):
        return exc.status, exc.kind, exc.detail, exc.headers, exc.extra
    if isinstance(exc, QuestionError):
        return 422, "question", str(exc), {}, {}
    if isinstance(exc, ConversationNotFound):
        return 404, "conversation-not-found", str(exc), {}, {"conversation_id": exc.conversation_id}
    if isinstance(exc, IndexMismatch):
        return 503, "index-unavailable", str(exc), {"Retry-After": "30"}, {}
    if isinstance(exc, LLMError):
        status = 400 if exc.reason == "bad configuration" else 502
        return status, "llm", str(exc), {}, {"reason": exc.reason}
    return 500, "internal", "internal error; the server log has the details under this request_id", {}, {}


_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> str | None:
    """Every method some route serves at this path. Starlette's 405 names only the first matching route's
    (``GET`` for ``/v1/conversations/{id}``, which also takes ``DELETE``), so each method is tried here."""
    allowed = [
        method
        for method in _METHOD_ORDER
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in request.app.router.routes
        )
    ]
    return ", ".join(allowed) or None


def install_handlers(app: FastAPI) -> None:
    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        kind = _HTTP_KINDS.get(exc.status_code)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers.pop("allow", None)
            allow = allowed_methods(request)
            if allow:
                headers["Allow"] = allow
                exc = StarletteHTTPException(405, exc.detail, headers=headers)
        return problem_response(
            request.scope, exc.status_code, kind, _http_detail(exc, request.scope), headers=headers
        )

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        status, kind, detail, errors = validation_problem(exc)
        extra = {"errors": errors} if errors else {}
        return problem_response(request.scope, status, kind, detail, extra=extra)

    async def on_domain(request: Request, exc: Exception) -> Response:
        status, kind, detail, headers, extra = problem_for_exception(exc)
        if status >= 500:
            log.error("request failed", exc_info=exc)
        return problem_response(request.scope, status, kind, detail, headers=headers, extra=extra)

    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    for cls in (ApiError, QuestionError, ConversationNotFound, IndexMismatch, LLMError, Exception):
        app.add_exception_handler(cls, on_domain)
