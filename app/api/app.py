"""The app factory: ``create_app(settings)`` wires settings, runtime, middleware, routes and error handlers.

No global state: everything a route needs hangs off ``app.state.runtime``. Pass ``engine`` to serve an
engine built elsewhere (tests, benchmarks); otherwise it loads in the background at startup.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from pydantic.json_schema import models_json_schema
from starlette.middleware.cors import CORSMiddleware

from app.answer.engine import AnswerEngine
from app.api.deps import Runtime
from app.api.errors import install_handlers
from app.api.middleware import (
    ApiKeyMiddleware,
    BodyLimitMiddleware,
    RateLimitMiddleware,
    RequestContextMiddleware,
)
from app.api.models import (
    AnswerStreamEvent,
    ChatCompletionStreamEvent,
    RetrievalEventData,
    SectionEventData,
)
from app.api.routes import answers, conversations, health, openai_compat, passages, search, web
from app.api.routes.health import version
from app.settings import Settings

log = logging.getLogger("curbside.api")

DESCRIPTION = """Medical questions answered from clinical guidelines, FDA drug labels and research abstracts,
in three sections, every statement with a numbered citation to a quoted passage.

Errors are `application/problem+json` (RFC 9457). When the server has an API key, `/v1` routes need
`Authorization: Bearer <key>`.
"""


def create_app(settings: Settings | None = None, engine: AnswerEngine | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = Runtime(settings, engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        runtime.start_loading()
        try:
            yield
        finally:
            runtime.close()
            log.info("stopped: in-flight requests finished, conversation store closed")

    # /docs with no network: Swagger UI's script and styles are served from the fastapi-offline package
    # (under /static-offline-docs), not from a CDN.
    app = FastAPIOffline(
        docs_url="/docs",
        redoc_url=None,
        title="Curbside",
        version=version(),
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_tags=[
            {"name": "answers", "description": "ask, follow up, stream"},
            {"name": "conversations"},
            {"name": "passages", "description": "open a citation"},
            {"name": "search", "description": "retrieval only"},
            {"name": "openai-compatible", "description": "for existing chat clients and SDKs"},
            {"name": "health"},
            {"name": "info"},
        ],
    )
    app.state.runtime = runtime
    install_handlers(app)
    for module in (answers, conversations, passages, search, openai_compat, health, web):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=web.WEB_DIR), name="static")

    api = settings.api
    # Added innermost first: the last one added wraps all the others.
    app.add_middleware(BodyLimitMiddleware, max_bytes=api.max_body_bytes)
    if api.api_key is not None:
        app.add_middleware(ApiKeyMiddleware, key=api.api_key.get_secret_value())
    if api.rate_limit_per_minute > 0:
        app.add_middleware(RateLimitMiddleware, per_minute=api.rate_limit_per_minute)
    if api.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=api.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Accept", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
            max_age=600,
        )
    app.add_middleware(RequestContextMiddleware, log_questions=api.log_questions)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        # The streams' events (named by the text/event-stream responses' contentSchema) and their
        # payloads, so SSE clients can generate types for them.
        # The events are read as sent (``data`` a string of JSON), so their schemas are in validation mode.
        _, defs = models_json_schema(
            [
                (RetrievalEventData, "serialization"),
                (SectionEventData, "serialization"),
                (AnswerStreamEvent, "validation"),
                (ChatCompletionStreamEvent, "validation"),
            ],
            ref_template="#/components/schemas/{model}",
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, body in defs.get("$defs", {}).items():
            components.setdefault(name, body)
        schema["components"].setdefault("securitySchemes", {})["bearer"] = {
            "type": "http",
            "scheme": "bearer",
            "description": "needed on /v1 routes when the server sets CURBSIDE_API__API_KEY",
        }
        for path, ops in schema.get("paths", {}).items():
            if path.startswith("/v1/"):
                for op in ops.values():
                    if isinstance(op, dict):
                        op.setdefault("security", [{"bearer": []}, {}])
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
