"""The official OpenAI Python SDK against a real server: what an existing client sees, plain and streaming."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest
from openai import OpenAI

from eval.live_server import LiveServer
from tests.integration.api.conftest import FLAGSHIP

TITLES = ("## From the Guidelines", "## From the FDA Drug Label", "## From the Research")


@pytest.fixture(scope="module")
def sdk(api_server: LiveServer) -> Iterator[OpenAI]:
    """The SDK pointed at the server's /v1 (no retries: a failure shows at once; no proxy from the env)."""
    http = openai.DefaultHttpxClient(trust_env=False)
    with OpenAI(
        base_url=f"{api_server.url}/v1", api_key="unused", max_retries=0, timeout=120.0, http_client=http
    ) as client:
        yield client


def test_sdk_chat_completion_is_the_markdown_answer_with_the_structured_one_alongside(sdk: OpenAI) -> None:
    completion = sdk.chat.completions.create(
        model="curbside",
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": FLAGSHIP},
        ],
        temperature=0.2,
    )
    assert completion.object == "chat.completion"
    assert completion.model == "curbside"
    [choice] = completion.choices
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    content = choice.message.content or ""
    for title in TITLES:
        assert title in content
    answer = (completion.model_extra or {})["curbside"]
    assert answer["question"] == FLAGSHIP
    assert [s["key"] for s in answer["sections"]] == ["guidelines", "fda_label", "research"]
    assert completion.usage is not None
    assert (
        completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens
    )


def test_sdk_stream_adds_up_to_the_plain_answer_and_ends_with_usage(sdk: OpenAI) -> None:
    messages: list[openai.types.chat.ChatCompletionMessageParam] = [{"role": "user", "content": FLAGSHIP}]
    plain = sdk.chat.completions.create(model="curbside", messages=messages)
    stream = sdk.chat.completions.create(
        model="curbside", messages=messages, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert content == plain.choices[0].message.content
    finished = [c for c in chunks if c.choices and c.choices[0].finish_reason == "stop"]
    assert len(finished) == 1
    assert (finished[0].model_extra or {})["curbside"]["sections"] == (plain.model_extra or {})["curbside"][
        "sections"
    ]
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens > 0


def test_sdk_follow_up_continues_a_stored_conversation_through_metadata(sdk: OpenAI) -> None:
    first = sdk.chat.completions.create(model="curbside", messages=[{"role": "user", "content": FLAGSHIP}])
    cid = (first.model_extra or {})["curbside"]["conversation_id"]
    follow = sdk.chat.completions.create(
        model="curbside",
        messages=[{"role": "user", "content": "What dose?"}],
        metadata={"conversation_id": cid},
    )
    answer = (follow.model_extra or {})["curbside"]
    assert answer["conversation_id"] == cid
    assert answer["turn"] == 2
    assert "naltrexone" in answer["standalone_question"].lower()


def test_sdk_raises_its_own_errors_with_the_servers_detail(sdk: OpenAI) -> None:
    with pytest.raises(openai.UnprocessableEntityError) as bad:
        sdk.chat.completions.create(
            model="curbside",
            messages=[{"role": "user", "content": FLAGSHIP}, {"role": "assistant", "content": "x"}],
        )
    assert "must end with a user message" in bad.value.message
    with pytest.raises(openai.NotFoundError) as gone:
        sdk.chat.completions.create(
            model="curbside",
            messages=[{"role": "user", "content": "What dose?"}],
            metadata={"conversation_id": "no-such-conversation"},
        )
    assert "no-such-conversation" in gone.value.message


def test_sdk_lists_the_curbside_model(sdk: OpenAI) -> None:
    assert [m.id for m in sdk.models.list()] == ["curbside"]
