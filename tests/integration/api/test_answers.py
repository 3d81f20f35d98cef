"""POST /v1/answers and the conversation routes, against a real server over the fixture index."""

from __future__ import annotations

from typing import Any

import httpx

from tests.integration.api.conftest import FLAGSHIP, is_problem


def test_flagship_question_is_answered_in_three_cited_sections(flagship: dict[str, Any]) -> None:
    assert flagship["question"] == FLAGSHIP
    assert [s["key"] for s in flagship["sections"]] == ["guidelines", "fda_label", "research"]
    assert [s["title"] for s in flagship["sections"]] == [
        "From the Guidelines",
        "From the FDA Drug Label",
        "From the Research",
    ]
    numbers = {ref["number"] for ref in flagship["references"]}
    cited = [n for s in flagship["sections"] for st in s["statements"] for n in st["citations"]]
    assert cited, "the answer cites nothing"
    assert set(cited) <= numbers, "a citation does not resolve to a reference"
    assert flagship["disclaimer"]
    assert flagship["conversation_id"]
    assert flagship["turn"] == 1
    assert flagship["backend"]["composer"] == "extractive"


def test_label_section_says_it_does_not_cover_low_doses(flagship: dict[str, Any]) -> None:
    label = next(s for s in flagship["sections"] if s["key"] == "fda_label")
    assert label["abstained"] is True
    assert label["message"]


def test_follow_up_continues_the_conversation(http: httpx.Client, flagship: dict[str, Any]) -> None:
    r = http.post(
        "/v1/answers", json={"question": "What dose?", "conversation_id": flagship["conversation_id"]}
    )
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["conversation_id"] == flagship["conversation_id"]
    assert answer["turn"] >= 2
    assert "naltrexone" in answer["standalone_question"].lower()
    turns = http.get(f"/v1/conversations/{flagship['conversation_id']}").json()["turns"]
    assert [t["question"] for t in turns][:2] == [FLAGSHIP, "What dose?"]
    assert turns[1]["answer"]["standalone_question"] == answer["standalone_question"]


def test_each_question_without_a_conversation_starts_a_new_one(http: httpx.Client) -> None:
    a = http.post("/v1/answers", json={"question": "What is naltrexone used for?"}).json()
    b = http.post("/v1/answers", json={"question": "What is naltrexone used for?"}).json()
    assert a["conversation_id"] != b["conversation_id"]
    assert a["turn"] == b["turn"] == 1


def test_patient_audience_and_a_subset_of_sections(http: httpx.Client) -> None:
    r = http.post(
        "/v1/answers",
        json={"question": "What is naltrexone used for?", "audience": "patient", "sections": ["fda_label"]},
    )
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["audience"] == "patient"
    assert [s["key"] for s in answer["sections"]] == ["fda_label"]


def test_deleting_a_conversation_forgets_it(http: httpx.Client) -> None:
    cid = http.post("/v1/answers", json={"question": "What is naltrexone used for?"}).json()[
        "conversation_id"
    ]
    assert http.delete(f"/v1/conversations/{cid}").status_code == 204
    is_problem(http.get(f"/v1/conversations/{cid}"), 404)
    is_problem(http.delete(f"/v1/conversations/{cid}"), 404)
    body = is_problem(http.post("/v1/answers", json={"question": "What dose?", "conversation_id": cid}), 404)
    assert "start a new one" in str(body["detail"])


def test_extractive_only_is_always_allowed_but_choosing_an_llm_is_not(http: httpx.Client) -> None:
    r = http.post(
        "/v1/answers", json={"question": "What is naltrexone used for?", "llm": {"backend": "none"}}
    )
    assert r.status_code == 200
    assert r.json()["backend"]["composer"] == "extractive"
    body = is_problem(
        http.post(
            "/v1/answers",
            json={"question": "What is naltrexone used for?", "llm": {"backend": "openai", "model": "x"}},
        ),
        403,
    )
    assert "ALLOW_LLM_OVERRIDE" in str(body["detail"])


def test_info_reports_corpus_counts_and_the_index(http: httpx.Client) -> None:
    info = http.get("/v1/info").json()
    assert info["status"] == "ready"
    assert info["index"]["passages"] > 0
    assert set(info["index"]["counts"]) == {"guideline", "fda_label", "research"}
    assert info["composer"] == "extractive"
    assert info["auth_required"] is False
    assert info["version"]


def test_health_and_readiness(http: httpx.Client) -> None:
    assert http.get("/healthz").json() == {"status": "ok"}
    ready = http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["index"] == "ok"
    assert ready.json()["checks"]["llm"] == "not configured"
