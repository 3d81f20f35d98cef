"""Streaming answers: Server-Sent Events in order — retrieval, one section at a time, the final answer."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.integration.api.conftest import FLAGSHIP, is_problem
from tests.integration.api.sse import Frame, frames

SSE = {"Accept": "text/event-stream"}


def stream(http: httpx.Client, path: str, body: dict[str, Any], headers: dict[str, str]) -> list[Frame]:
    with http.stream("POST", path, json=body, headers=headers) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["cache-control"].startswith("no-cache")
        return list(frames(r.iter_lines()))


def test_stream_sends_retrieval_then_each_section_then_the_answer(http: httpx.Client) -> None:
    got = stream(http, "/v1/answers/stream", {"question": FLAGSHIP}, {})
    assert [f.event for f in got] == ["retrieval", "section", "section", "section", "answer"]
    assert [f.id for f in got] == ["1", "2", "3", "4", "5"]
    retrieval = json.loads(got[0].data)
    assert retrieval["standalone_question"] == FLAGSHIP
    assert "naltrexone" in retrieval["drugs"]
    assert set(retrieval["passages"]) == {"guidelines", "fda_label", "research"}
    first = retrieval["passages"]["fda_label"][0]
    assert first["id"]
    assert first["label"]
    assert first["source_type"] == "fda_label"
    sections = [json.loads(f.data) for f in got[1:4]]
    assert [s["section"]["key"] for s in sections] == ["guidelines", "fda_label", "research"]
    numbered = [len(s["references"]) for s in sections]
    assert numbered == sorted(numbered), "references so far only ever grow"
    answer = json.loads(got[-1].data)
    assert [s["section"] for s in sections] == answer["sections"]
    assert answer["references"] == sections[-1]["references"]
    assert answer["conversation_id"]
    assert answer["turn"] == 1


def test_answers_endpoint_streams_when_asked_for_event_stream(http: httpx.Client) -> None:
    got = stream(http, "/v1/answers", {"question": FLAGSHIP}, SSE)
    assert got[0].event == "retrieval"
    assert got[-1].event == "answer"


def test_streamed_answer_matches_the_json_answer(http: httpx.Client) -> None:
    streamed = json.loads(stream(http, "/v1/answers", {"question": FLAGSHIP}, SSE)[-1].data)
    plain = http.post("/v1/answers", json={"question": FLAGSHIP}).json()
    for key in ("sections", "references", "follow_ups", "disclaimer", "standalone_question"):
        assert streamed[key] == plain[key], key


def test_streamed_follow_up_is_stored_in_the_conversation(http: httpx.Client) -> None:
    first = http.post("/v1/answers", json={"question": FLAGSHIP}).json()
    got = stream(
        http,
        "/v1/answers/stream",
        {"question": "What dose?", "conversation_id": first["conversation_id"]},
        {},
    )
    retrieval = json.loads(got[0].data)
    assert "naltrexone" in retrieval["standalone_question"].lower()
    answer = json.loads(got[-1].data)
    assert answer["turn"] == 2
    turns = http.get(f"/v1/conversations/{first['conversation_id']}").json()["turns"]
    assert len(turns) == 2


def test_a_bad_question_fails_with_its_status_not_inside_a_stream(http: httpx.Client) -> None:
    body = is_problem(http.post("/v1/answers/stream", json={"question": " \t "}, headers=SSE), 422)
    assert "question is empty" in str(body["detail"])
    body = is_problem(
        http.post("/v1/answers", json={"question": "and the dose?", "conversation_id": "nope"}, headers=SSE),
        404,
    )
    assert body["conversation_id"] == "nope"


def test_stream_route_refuses_an_accept_it_cannot_produce(http: httpx.Client) -> None:
    is_problem(
        http.post("/v1/answers/stream", json={"question": FLAGSHIP}, headers={"Accept": "application/json"}),
        406,
    )
