"""Pluggable LLM clients: a backend is one file plus one line in ``BACKENDS``; ``make_client`` picks one.

``backend = "none"`` → no client: answers stay extractive. Any ``LLMError`` from a client means "fall back".
"""

from __future__ import annotations

from collections.abc import Callable

from app.llm.base import CircuitBreaker, Completion, LLMClient, LLMError, Message
from app.llm.local import LocalLlamaClient
from app.llm.openai import OpenAIClient
from app.llm.settings import LLMSettings

BACKENDS: dict[str, Callable[[LLMSettings], LLMClient]] = {
    "openai": OpenAIClient.from_settings,
    "local": LocalLlamaClient.from_settings,
}


def make_client(settings: LLMSettings) -> LLMClient | None:
    """The configured client, or None for backend "none"; LLMError when the backend cannot be set up."""
    if settings.backend == "none":
        return None
    try:
        factory = BACKENDS[settings.backend]
    except KeyError:
        known = ", ".join(["none", *sorted(BACKENDS)])
        raise LLMError(
            "bad configuration", f"unknown LLM backend {settings.backend!r}; choose one of {known}"
        ) from None
    return factory(settings)


__all__ = [
    "BACKENDS",
    "CircuitBreaker",
    "Completion",
    "LLMClient",
    "LLMError",
    "LLMSettings",
    "Message",
    "make_client",
]
