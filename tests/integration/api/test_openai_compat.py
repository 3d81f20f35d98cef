"""POST /v1/chat/completions in the official OpenAI request shape (JSON and streaming); GET /v1/models."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.integration.api.conftest import FLAGSHIP, is_problem
from tests.integration.api.sse import frames


def chat(http: httpx.Client, messages: list[dict[str, Any]], **extra: Any) -> httpx.Response:
    return http.post(
        "/v1/chat/completions",
        json={"model": "curbside", "messages": messages, **extra},
        headers={"Authorization": "Bearer unused-when-the-server-has-no-key"},
    )


def test_chat_completion_has_the_official_shape_and_the_structured_answer(http: httpx.Client) -> None:
    r = chat(
        http,
        [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": FLAGSHIP},
        ],
        temperature=0.2,
        max_tokens=500,
        top_p=1,
        n=1,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "chat.completion"
    assert body["id"].startswith("chatcmpl-")
    assert isinstance(body["created"], int)
    assert body["model"] == "curbside"
    [choice] = body["choices"]
    assert choice["index"] == 0
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant"
    content = choice["message"]["content"]
    for title in (
        "## From the Guidelines",
        "## From the FDA Drug Label",
        "## From the Research",
        "## References",
    ):
        assert title in content
    answer = body["curbside"]
    assert answer["disclaimer"] in content
    assert answer["question"] == FLAGSHIP
    assert set(body["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}


def test_earlier_user_messages_are_the_conversation(http: httpx.Client) -> None:
    r = chat(
        http,
        [
            {"role": "user", "content": "What is naltrexone used for?"},
            {"role": "assistant", "content": "(an earlier answer)"},
            {"role": "user", "content": [{"type": "text", "text": "What dose?"}]},
        ],
    )
    assert r.status_code == 200, r.text
    answer = r.json()["curbside"]
    assert answer["question"] == "What dose?"
    assert "naltrexone" in answer["standalone_question"].lower()
    assert "*Answering:*" in r.json()["choices"][0]["message"]["content"]


def test_metadata_conversation_id_continues_a_stored_conversation(http: httpx.Client) -> None:
    first = chat(http, [{"role": "user", "content": FLAGSHIP}]).json()["curbside"]
    cid = first["conversation_id"]
    r = chat(http, [{"role": "user", "content": "What dose?"}], metadata={"conversation_id": cid})
    assert r.status_code == 200, r.text
    answer = r.json()["curbside"]
    assert answer["conversation_id"] == cid
    assert answer["turn"] == 2
    assert "naltrexone" in answer["standalone_question"].lower()
    r = chat(http, [{"role": "user", "content": "And its side effects?"}], user=cid)
    assert r.json()["curbside"]["conversation_id"] == cid
    assert r.json()["curbside"]["turn"] == 3


def test_user_field_that_is_not_a_conversation_is_just_an_end_user_id(http: httpx.Client) -> None:
    r = chat(http, [{"role": "user", "content": FLAGSHIP}], user="user-1234")
    assert r.status_code == 200
    assert r.json()["curbside"]["conversation_id"] != "user-1234"


def test_unknown_metadata_conversation_is_a_404_problem(http: httpx.Client) -> None:
    body = is_problem(
        chat(http, [{"role": "user", "content": "What dose?"}], metadata={"conversation_id": "gone"}), 404
    )
    assert body["error"]["message"] == body["detail"]  # what OpenAI SDKs display


def test_messages_must_end_with_a_user_question(http: httpx.Client) -> None:
    body = is_problem(
        chat(http, [{"role": "user", "content": FLAGSHIP}, {"role": "assistant", "content": "x"}]), 422
    )
    assert "user" in str(body["detail"])
    is_problem(chat(http, []), 422)
    is_problem(chat(http, [{"role": "wizard", "content": "x"}]), 422)
    is_problem(chat(http, [{"role": "user", "content": "   "}]), 422)


def test_streaming_gives_chunks_that_add_up_to_the_answer_and_end_with_done(http: httpx.Client) -> None:
    plain = chat(http, [{"role": "user", "content": FLAGSHIP}]).json()
    with http.stream(
        "POST",
        "/v1/chat/completions",
        json={
            "model": "curbside",
            "stream": True,
            "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": FLAGSHIP}],
        },
        headers={"Accept": "application/json"},  # what the OpenAI SDK sends, even when streaming
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        got = [f.data for f in frames(r.iter_lines())]
    assert got[-1] == "[DONE]"
    chunks = [json.loads(d) for d in got[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    content = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert content == plain["choices"][0]["message"]["content"]
    finals = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"] == "stop"]
    assert len(finals) == 1
    assert finals[0]["curbside"]["sections"] == plain["curbside"]["sections"]
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["total_tokens"] > 0
    # One delta per section as it is guarded, before the references and the disclaimer.
    assert (
        sum(
            1 for c in chunks if c["choices"] and "## From the" in c["choices"][0]["delta"].get("content", "")
        )
        == 3
    )


def test_models_lists_curbside(http: httpx.Client) -> None:
    body = http.get("/v1/models").json()
    assert body["object"] == "list"
    assert [m["id"] for m in body["data"]] == ["curbside"]


def test_booleans_are_strict_as_the_schema_says(http: httpx.Client) -> None:
    """`stream` and `stream_options.include_usage` are JSON booleans: 0 or "yes" is a 422, not a guess."""
    question = [{"role": "user", "content": FLAGSHIP}]
    body = is_problem(chat(http, question, stream=0), 422)
    assert body["errors"][0]["field"] == "stream"
    body = is_problem(chat(http, question, stream=True, stream_options={"include_usage": 0}), 422)
    assert body["errors"][0]["field"] == "stream_options.include_usage"
    is_problem(chat(http, question, stream="yes"), 422)
