"""Pure-ASGI middleware (streaming-safe): request context, body limit, rate limit, API key.

Order, outermost first: RequestContext (request id, access log, security headers, last-resort 500)
→ CORS (only when origins are configured) → RateLimit → ApiKey → BodyLimit → the app.
"""

from __future__ import annotations

import hmac
import logging
import math
import re
import time
import uuid
from collections.abc import MutableMapping
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import problem_response
from app.api.logs import request_id_var

access_log = logging.getLogger("curbside.access")
log = logging.getLogger("curbside.api")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
# Swagger UI is FastAPI's page: its bootstrap script is inline and its assets come from a CDN.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
DOCS_PATHS = ("/docs", "/redoc")
OPEN_PATHS = ("/healthz", "/readyz")


def is_api(path: str) -> bool:
    return path == "/v1" or path.startswith("/v1/")


class RequestContextMiddleware:
    """Request id (X-Request-ID echoed or made), one access-log line, security headers, no stack traces."""

    def __init__(self, app: ASGIApp, *, log_questions: bool = False) -> None:
        self.app = app
        self.log_questions = log_questions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("x-request-id", "")
        rid = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        state: MutableMapping[str, Any] = scope.setdefault("state", {})
        state["request_id"] = rid
        token = request_id_var.set(rid)
        path: str = scope.get("path", "")
        started = time.perf_counter()
        status = 0
        sent_bytes = 0

        async def send_wrapper(message: Message) -> None:
            nonlocal status, sent_bytes
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = rid
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                headers.setdefault("Content-Security-Policy", DOCS_CSP if path in DOCS_PATHS else CSP)
                if is_api(path) or path in OPEN_PATHS:
                    headers.setdefault("Cache-Control", "no-store")
            elif message["type"] == "http.response.body":
                sent_bytes += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except ClientDisconnect:
            status = status or 499
        except Exception as exc:
            log.error("unhandled error", exc_info=exc)
            if status == 0:
                response = problem_response(
                    scope,
                    500,
                    "internal",
                    "internal error; the server log has the details under this request_id",
                )
                await response(scope, receive, send_wrapper)
        finally:
            fields: dict[str, Any] = {
                "method": scope.get("method"),
                "path": path,
                "status": status or 499,
                "duration_ms": round(1000 * (time.perf_counter() - started), 1),
                "bytes": sent_bytes,
            }
            if self.log_questions and scope.get("query_string"):
                fields["query"] = scope["query_string"].decode("latin-1")
            access_log.info("request", extra=fields)
            request_id_var.reset(token)


class BodyTooLarge(HTTPException):
    """An HTTPException, so FastAPI lets it through while reading the body (it turns others into a 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            413, f"request body is larger than {limit} bytes (api.max_body_bytes); send a shorter question"
        )


class BodyLimitMiddleware:
    """413 at once when Content-Length is too large, or while reading when a chunked body grows too large."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length")
        if length is not None:
            try:
                too_big = int(length) > self.max_bytes
            except ValueError:
                too_big = False
            if too_big:
                err = BodyTooLarge(self.max_bytes)
                await problem_response(scope, 413, "body-too-large", err.detail)(scope, receive, send)
                return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge as err:
            if started:
                raise
            await problem_response(scope, 413, "body-too-large", err.detail)(scope, receive, send)


class RateLimitMiddleware:
    """Token bucket per client IP on /v1 routes: ``per_minute`` requests, refilled continuously."""

    MAX_CLIENTS = 10_000

    def __init__(self, app: ASGIApp, *, per_minute: int, clock: Any = time.monotonic) -> None:
        self.app = app
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.clock = clock
        self.buckets: dict[str, tuple[float, float]] = {}  # ip → (tokens, at)

    def _take(self, client: str) -> float:
        """0 when a request may go now, else seconds until it may."""
        now = self.clock()
        tokens, at = self.buckets.get(client, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - at) * self.rate)
        if tokens >= 1.0:
            self.buckets[client] = (tokens - 1.0, now)
            wait = 0.0
        else:
            self.buckets[client] = (tokens, now)
            wait = (1.0 - tokens) / self.rate
        if len(self.buckets) > self.MAX_CLIENTS:
            full = [ip for ip, (t, a) in self.buckets.items() if t + (now - a) * self.rate >= self.capacity]
            for ip in full:
                del self.buckets[ip]
        return wait

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_api(scope.get("path", "")) or scope.get("method") == "OPTIONS":
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        wait = self._take(client)
        if wait > 0:
            retry = max(1, math.ceil(wait))
            response = problem_response(
                scope,
                429,
                "rate-limited",
                f"more than {int(self.capacity)} requests a minute from {client}; retry in {retry} s",
                headers={"Retry-After": str(retry)},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class ApiKeyMiddleware:
    """Every /v1 route needs ``Authorization: Bearer <key>``; health checks and the chat page stay open."""

    def __init__(self, app: ASGIApp, *, key: str) -> None:
        self.app = app
        self.key = key.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_api(scope.get("path", "")) or scope.get("method") == "OPTIONS":
            await self.app(scope, receive, send)
            return
        auth = Headers(scope=scope).get("authorization", "")
        scheme, _, given = auth.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), self.key):
            await self.app(scope, receive, send)
            return
        detail = (
            "this server needs an API key: send 'Authorization: Bearer <key>'"
            if not auth
            else "the API key is wrong (send 'Authorization: Bearer <key>')"
        )
        response = problem_response(
            scope, 401, "unauthorized", detail, headers={"WWW-Authenticate": 'Bearer realm="curbside"'}
        )
        await response(scope, receive, send)
