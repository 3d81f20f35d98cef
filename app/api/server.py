"""``curbside serve``: the API and the chat page under uvicorn, JSON-lines logs, graceful shutdown.

Also an ASGI factory for other servers: ``uvicorn --factory app.api.server:app_from_env``.
"""

from __future__ import annotations

import logging
import os

import uvicorn
from fastapi import FastAPI

from app.api.app import create_app
from app.api.logs import configure_logging
from app.settings import Settings

log = logging.getLogger("curbside.api")


def app_from_env() -> FastAPI:
    """An app from the environment's settings (CURBSIDE_*), with the JSON-lines logging set up."""
    settings = Settings()
    configure_logging(log_questions=settings.api.log_questions)
    return create_app(settings)


def serve(settings: Settings) -> int:
    """Serve until SIGINT/SIGTERM (in-flight requests get ``api.shutdown_timeout_s``); 0 when clean.

    After a graceful shutdown on a signal uvicorn re-raises it, so the exit status says "terminated by
    SIGTERM" as service managers expect (systemd counts that as a clean stop).
    """
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    configure_logging(log_questions=settings.api.log_questions)
    api = settings.api
    config = uvicorn.Config(
        create_app(settings),
        host=api.host,
        port=api.port,
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=api.shutdown_timeout_s,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    log.info(
        "starting",
        extra={
            "url": f"http://{api.host}:{api.port}/",
            "auth": api.api_key is not None,
            "rate_limit_per_minute": api.rate_limit_per_minute,
            "log_questions": api.log_questions,
        },
    )
    try:
        server.run()
    except SystemExit as exc:  # uvicorn exits when it cannot bind the port (it has logged why)
        return int(exc.code) if isinstance(exc.code, int) else 1
    return 0 if server.started else 1
