"""Logs are JSON lines with a request id, and carry no question text unless asked to."""

from __future__ import annotations

import json

import httpx

from eval.live_server import LiveServer

SECRET = "zebracorn-7361 naltrexone question"


def _log_lines(server: LiveServer) -> list[dict[str, object]]:
    out = []
    for raw in server.logs().splitlines():
        line = raw.strip()
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def test_logs_are_json_lines_with_request_ids_and_no_question_text(
    api_server: LiveServer, http: httpx.Client
) -> None:
    r = http.post(
        "/v1/answers", json={"question": f"What is the {SECRET}?"}, headers={"X-Request-ID": "log-test-1"}
    )
    assert r.status_code == 200, r.text
    http.get("/v1/search", params={"q": SECRET}, headers={"X-Request-ID": "log-test-2"})
    http.post(
        "/v1/chat/completions",
        json={"messages": [{"role": "user", "content": f"Tell me about {SECRET}"}]},
        headers={"X-Request-ID": "log-test-3"},
    )
    http.post("/v1/answers", json={"question": f"{SECRET} " + "x" * 3000})  # a rejected question
    text = api_server.logs()
    assert "zebracorn" not in text
    lines = _log_lines(api_server)
    assert lines, "no JSON log lines"
    by_id = {line.get("request_id"): line for line in lines if line.get("logger") == "curbside.access"}
    for rid, path in (
        ("log-test-1", "/v1/answers"),
        ("log-test-2", "/v1/search"),
        ("log-test-3", "/v1/chat/completions"),
    ):
        assert by_id[rid]["path"] == path
        assert by_id[rid]["status"] == 200
        assert isinstance(by_id[rid]["duration_ms"], float)
    answered = [
        line for line in lines if line.get("msg") == "answered" and line.get("request_id") == "log-test-1"
    ]
    assert answered, "the engine's log line carries the request id of its request"
    assert "query" not in by_id["log-test-2"]
