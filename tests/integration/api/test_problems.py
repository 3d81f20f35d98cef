"""Every error is application/problem+json with a useful detail and a request id — never a stack trace."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.api.conftest import FLAGSHIP, is_problem

JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"question": ""}, 422, "question: String should have at least 1 character"),
        ({"question": "   \n\t "}, 422, "question is empty"),
        ({"question": "?!?"}, 422, "no letters or digits"),
        ({"question": "a" * 2001}, 422, "the limit is 2000"),
        ({"question": 42}, 422, "question: Input should be a valid string"),
        ({"question": ["a", "b"]}, 422, "question: Input should be a valid string"),
        ({}, 422, "question: Field required"),
        ({"question": "x?", "audience": "doctor"}, 422, "audience: Input should be 'clinician' or 'patient'"),
        ({"question": "x?", "sections": ["blogs"]}, 422, "sections.0:"),
        ({"question": "x?", "sections": []}, 422, "sections:"),
        ({"question": "x?", "conversation_id": "../etc/passwd"}, 422, "conversation_id:"),
        ({"question": "x?", "colour": "red"}, 422, "colour: Extra inputs are not permitted"),
        ({"question": "and the dose?", "conversation_id": "0" * 32}, 404, "no conversation"),
        ([FLAGSHIP], 422, "request body must be a JSON object"),
    ],
)
def test_bad_answer_requests(http: httpx.Client, body: Any, status: int, says: str) -> None:
    problem = is_problem(http.post("/v1/answers", json=body), status)
    assert says in str(problem["detail"])
    assert problem["instance"] == "/v1/answers"
    if status == 422 and "errors" in problem:
        assert all("input" not in e for e in problem["errors"])  # the input is never echoed back


def test_malformed_json_is_400(http: httpx.Client) -> None:
    problem = is_problem(http.post("/v1/answers", content=b'{"question": "x"', headers=JSON), 400)
    assert "not valid JSON" in str(problem["detail"])


def test_missing_body_is_422(http: httpx.Client) -> None:
    problem = is_problem(http.post("/v1/answers", headers=JSON), 422)
    assert "body is required" in str(problem["detail"])


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_wrong_content_type_is_415(http: httpx.Client, ctype: str) -> None:
    problem = is_problem(
        http.post("/v1/answers", content=b'{"question": "x"}', headers={"Content-Type": ctype}), 415
    )
    assert "application/json" in str(problem["detail"])


@pytest.mark.parametrize(
    "accept", ["text/html", "application/xml", "text/event-stream;q=0, application/json;q=0"]
)
def test_an_accept_the_endpoint_cannot_produce_is_406(http: httpx.Client, accept: str) -> None:
    problem = is_problem(
        http.post("/v1/answers", json={"question": FLAGSHIP}, headers={"Accept": accept}), 406
    )
    assert "application/json or text/event-stream" in str(problem["detail"])
    is_problem(http.get("/v1/info", headers={"Accept": accept}), 406)


def test_wildcard_and_weighted_accept_headers_are_fine(http: httpx.Client) -> None:
    for accept in ("*/*", "application/*", "text/html, application/json;q=0.5", "application/json"):
        r = http.get("/v1/info", headers={"Accept": accept})
        assert r.status_code == 200, accept


def test_body_over_the_limit_is_413(http: httpx.Client) -> None:
    big = {"question": "a" * 70_000}
    problem = is_problem(http.post("/v1/answers", json=big), 413)
    assert "65536 bytes" in str(problem["detail"])


def test_chunked_body_over_the_limit_is_413(http: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"question": "'
        for _ in range(80):
            yield b"a" * 1024
        yield b'"}'

    problem = is_problem(http.post("/v1/answers", content=chunks(), headers=JSON), 413)
    assert "max_body_bytes" in str(problem["detail"])


def test_deeply_nested_json_is_a_problem_not_a_crash(http: httpx.Client) -> None:
    nested = b'{"question": "x", "llm": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    r = http.post("/v1/answers", content=nested, headers=JSON)
    assert r.status_code in (400, 422)
    is_problem(r, r.status_code)


def test_unknown_route_and_wrong_method(http: httpx.Client) -> None:
    problem = is_problem(http.get("/v1/nothing-here"), 404)
    assert "GET /v1/nothing-here" in str(problem["detail"])
    is_problem(http.get("/static/nothing.js"), 404)
    r = http.put("/v1/answers", json={"question": FLAGSHIP})
    problem = is_problem(r, 405)
    assert r.headers["allow"] == "POST"
    assert "allowed: POST" in str(problem["detail"])
    is_problem(http.get("/v1/answers"), 405)


def test_405_allow_names_every_method_of_the_path_not_just_the_first_routes(http: httpx.Client) -> None:
    """Starlette's own 405 lists only the first route of a path; GET and DELETE share a conversation's."""
    for path, allowed in (
        ("/healthz", "GET, HEAD"),
        ("/v1/conversations/0123456789abcdef", "GET, DELETE"),
        ("/v1/answers", "POST"),
    ):
        for method in ("OPTIONS", "PATCH"):
            r = http.request(method, path)
            problem = is_problem(r, 405)
            assert r.headers["allow"] == allowed, (method, path)
            assert f"allowed: {allowed}" in str(problem["detail"])


def test_request_id_is_echoed_or_made(http: httpx.Client) -> None:
    r = http.get("/v1/nothing-here", headers={"X-Request-ID": "trace-123"})
    assert r.headers["x-request-id"] == "trace-123"
    assert r.json()["request_id"] == "trace-123"
    r = http.get("/healthz", headers={"X-Request-ID": "bad id with spaces <script>"})
    assert r.headers["x-request-id"] != "bad id with spaces <script>"
    assert len(r.headers["x-request-id"]) == 32


@pytest.mark.parametrize(
    "path", ["/", "/static/app.js", "/static/style.css", "/healthz", "/v1/info", "/v1/nope"]
)
def test_security_headers_on_every_response(http: httpx.Client, path: str) -> None:
    r = http.get(path)
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "default-src 'self'" in csp
    assert "object-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"


def test_no_cors_by_default(http: httpx.Client) -> None:
    r = http.get("/v1/info", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers
    r = http.options(
        "/v1/answers",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in r.headers


def test_the_chat_page_and_its_assets_are_served(http: httpx.Client) -> None:
    page = http.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<script src="/static/app.js"' in page.text
    assert "<script>" not in page.text
    assert "onclick" not in page.text.lower()
    assert (
        http.get("/static/app.js")
        .headers["content-type"]
        .startswith(("text/javascript", "application/javascript"))
    )
    script = http.get("/static/app.js").text
    for sink in (".innerHTML", ".outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script, sink


def test_openapi_documents_the_endpoints_with_examples(http: httpx.Client) -> None:
    spec = http.get("/openapi.json").json()
    for path in (
        "/v1/answers",
        "/v1/answers/stream",
        "/v1/conversations/{conversation_id}",
        "/v1/passages/{passage_id}",
        "/v1/search",
        "/v1/chat/completions",
        "/healthz",
        "/readyz",
        "/v1/info",
    ):
        assert path in spec["paths"], path
    schemas = spec["components"]["schemas"]
    assert schemas["AnswerRequest"]["examples"][0]["question"] == FLAGSHIP
    assert "RetrievalEventData" in schemas
    assert "SectionEventData" in schemas
    responses = spec["paths"]["/v1/answers"]["post"]["responses"]
    assert "application/problem+json" in responses["422"]["content"]
    assert "text/event-stream" in responses["200"]["content"]


def test_invalid_utf8_is_400(http: httpx.Client) -> None:
    problem = is_problem(
        http.post("/v1/answers", content=b'{"question": "\xff\xfe dose?"}', headers=JSON), 400
    )
    assert "body" in str(problem["detail"])


def test_control_characters_are_cleaned_not_fatal(http: httpx.Client) -> None:
    r = http.post("/v1/answers", json={"question": "What is\x00 naltrexone\x1b used for?\u2028"})
    assert r.status_code == 200, r.text
    assert r.json()["question"] == "What is naltrexone used for?"
