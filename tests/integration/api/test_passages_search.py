"""Opening a citation (GET /v1/passages/{id}) and retrieval only (GET /v1/search)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from tests.integration.api.conftest import is_problem


def test_every_reference_opens_to_a_passage_containing_its_quote(
    http: httpx.Client, flagship: dict[str, Any]
) -> None:
    assert flagship["references"]
    for ref in flagship["references"]:
        assert ":" in ref["passage_id"]
        assert "#" in ref["passage_id"]
        r = http.get("/v1/passages/" + quote(ref["passage_id"], safe=""))
        assert r.status_code == 200, r.text
        passage = r.json()
        assert passage["id"] == ref["passage_id"]
        assert passage["label"] == ref["label"]
        for q in ref["quotes"]:
            assert passage["text"][q["start"] : q["end"]] == q["text"]


def test_passage_id_with_only_the_hash_encoded_works_too(
    http: httpx.Client, flagship: dict[str, Any]
) -> None:
    pid = flagship["references"][0]["passage_id"]
    r = http.get("/v1/passages/" + pid.replace("#", "%23"))
    assert r.status_code == 200
    assert r.json()["id"] == pid


def test_unknown_passage_is_a_404_problem(http: httpx.Client) -> None:
    body = is_problem(http.get("/v1/passages/" + quote("label:nope:none#0", safe="")), 404)
    assert "label:nope:none#0" in str(body["detail"])


def test_search_ranks_passages_per_section(http: httpx.Client) -> None:
    r = http.get("/v1/search", params={"q": "naltrexone dose alcohol dependence", "k": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body["sections"]) == {"guideline", "fda_label", "research"}
    assert all(len(hits) <= 3 for hits in body["sections"].values())
    assert "naltrexone" in body["drugs"]
    top = body["sections"]["fda_label"][0]
    assert top["passage"]["source_type"] == "fda_label"
    assert top["score"] > 0


def test_search_one_section_lexical(http: httpx.Client) -> None:
    r = http.get(
        "/v1/search",
        params=[
            ("q", "hepatotoxicity"),
            ("section", "guidelines"),
            ("section", "research"),
            ("method", "lexical"),
        ],
    )
    assert r.status_code == 200, r.text
    assert set(r.json()["sections"]) == {"guideline", "research"}
    assert r.json()["method"] == "lexical"


def test_search_rejects_bad_parameters_naming_them(http: httpx.Client) -> None:
    body = is_problem(http.get("/v1/search", params={"q": "naltrexone", "k": 0}), 422)
    assert "k:" in str(body["detail"])
    body = is_problem(http.get("/v1/search", params={"q": "naltrexone", "section": "blogs"}), 422)
    assert "section" in str(body["detail"])
    is_problem(http.get("/v1/search"), 422)
    body = is_problem(http.get("/v1/search", params={"q": "x" * 2500}), 422)
    assert "limit" in str(body["detail"])
