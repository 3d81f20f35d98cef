"""Schema-driven fuzzing of the real server from its own OpenAPI document (schemathesis + hypothesis).

For every operation, cases generated from the spec (positive: valid by the schema; negative: violating it)
are sent over HTTP to ``curbside serve`` on 127.0.0.1. Whatever comes in:
- never a 5xx (a 503 would mean the index is not loaded, which this server has);
- every 4xx is ``application/problem+json`` whose ``detail`` says what is wrong, with the status and the
  request id, and never a stack trace;
- the status, content type, headers and body conform to the spec (schemathesis' own checks);
- a request that violates the schema is rejected, never answered with a 2xx.
Generation is derandomized (same cases every run) and bounded per operation; the totals are printed at
the end of the test session.

Then the schemathesis command itself, ``schemathesis run <server>/openapi.json --checks all`` (every check:
a schema-valid request accepted, an undocumented method answered 405 with the right ``Allow``, each SSE
event valid against its documented model, stateful links …, in all four phases), a few examples per
operation so it stays near a minute: the schema says what the server accepts, and the server enforces it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hsettings
from schemathesis import Case, GenerationMode
from schemathesis.checks import CheckFunction
from schemathesis.core.transport import Response

from app.api.models import AnswerStreamEvent, ChatCompletionStreamEvent
from eval.live_server import ROOT, LiveServer
from tests.integration.api.sse import frames
from tests.integration.reliability.tally import FUZZ

# Every operation of the API (a test below fails if the spec gains one not listed here), and whether it
# has anything to violate (parameters with constraints or a body) for negative cases.
OPERATIONS = [
    ("POST", "/v1/answers", True),
    ("POST", "/v1/answers/stream", True),
    ("GET", "/v1/conversations/{conversation_id}", True),
    ("DELETE", "/v1/conversations/{conversation_id}", True),
    ("GET", "/v1/passages/{passage_id}", False),  # any string is a well-formed passage id
    ("GET", "/v1/search", True),
    ("GET", "/v1/models", False),
    ("POST", "/v1/chat/completions", True),
    ("GET", "/healthz", False),
    ("HEAD", "/healthz", False),
    ("GET", "/readyz", False),
    ("GET", "/v1/info", False),
]
CASES = [
    pytest.param((m, p, mode), id=f"{m} {p} {mode}")
    for m, p, negative in OPERATIONS
    for mode in (("positive", "negative") if negative else ("positive",))
]
# Cases per operation and mode: enough to reach every field, small enough for ~1 minute in all.
MAX_EXAMPLES = 30
SLOW_OPERATIONS = {"/v1/answers", "/v1/answers/stream", "/v1/chat/completions"}
SLOW_MAX_EXAMPLES = 20


def _checks(names: list[str]) -> list[CheckFunction]:
    return [getattr(schemathesis.checks, name) for name in names]


SPEC_CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
]


@pytest.fixture(scope="module")
def schema(live: LiveServer) -> Any:
    """The server's own /openapi.json (fetched without any proxy from the environment)."""
    with httpx.Client(trust_env=False, timeout=30) as http:
        spec = http.get(f"{live.url}/openapi.json").raise_for_status().json()
    return schemathesis.openapi.from_dict(spec)


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        s.trust_env = False  # loopback stays loopback, whatever proxy the environment names
        yield s


def _header(response: Response, name: str) -> str:
    values = response.headers.get(name.lower()) or [""]
    return values[0]


def assert_problem_if_error(case: Case[Any], response: Response) -> None:
    """No 5xx; a 4xx is a problem document that says what to do."""
    status = response.status_code
    text = response.content.decode("utf-8", "replace")
    where = f"{case.method} {case.formatted_path} -> {status}: {text[:400]}"
    assert status < 500, where
    assert "Traceback" not in text, where
    if status < 400:
        return
    assert _header(response, "content-type").startswith("application/problem+json"), where
    body = json.loads(response.content)
    assert body["status"] == status, where
    assert body["type"].startswith("urn:curbside:problem:"), where
    assert body["request_id"] == _header(response, "x-request-id"), where
    detail = body["detail"]
    assert isinstance(detail, str), where
    assert len(detail) >= 12, where  # a sentence, not a bare code
    assert detail.strip().lower() not in {"bad request", "not found", "unprocessable entity", "error"}, where


def assert_events_conform(path: str, text: str) -> None:
    """Each event of a stream parses into its documented event model, in the documented order."""
    got = list(frames(text.splitlines()))
    assert got, text[:400]
    if path == "/v1/chat/completions":
        assert got[-1].data == "[DONE]", text[-400:]
        for frame in got:
            ChatCompletionStreamEvent.model_validate({"data": frame.data})
    else:
        names = [f.event for f in got]
        assert names[0] == "retrieval", names
        assert names[-1] in ("answer", "error"), names
        assert set(names[1:-1]) <= {"section"}, names
        for frame in got:
            fields = {"event": frame.event, "data": frame.data}
            if frame.id is not None:
                fields["id"] = frame.id
            AnswerStreamEvent.model_validate(fields)


def _fuzz(schema: Any, session: requests.Session, live: LiveServer, case: tuple[str, str, str]) -> int:
    method, path, mode = case
    operation = schema[path][method]
    generation = GenerationMode.POSITIVE if mode == "positive" else GenerationMode.NEGATIVE
    checks = _checks(SPEC_CHECKS + (["negative_data_rejection"] if mode == "negative" else []))
    stream_checks = [c for c in checks if c is not schemathesis.checks.response_schema_conformance]
    n = SLOW_MAX_EXAMPLES if path in SLOW_OPERATIONS else MAX_EXAMPLES
    sent = 0

    @hsettings(
        max_examples=n,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=generation))
    def run(case: Case[Any]) -> None:
        nonlocal sent
        response = case.call(base_url=live.url, session=session, timeout=60)
        sent += 1
        FUZZ.record(f"{method} {path}", mode, response.status_code)
        assert_problem_if_error(case, response)
        if _header(response, "content-type").startswith("text/event-stream"):
            # Open API 3.1 has no way to say what each event of a stream is; the spec names the payload
            # schemas under components, and the events are checked against those (the same models).
            assert_events_conform(path, response.content.decode("utf-8"))
            case.validate_response(response, checks=stream_checks)
        else:
            case.validate_response(response, checks=checks)

    run()
    return sent


def test_operations_list_is_the_whole_spec_and_operation_ids_are_unique(
    schema: Any, session: requests.Session, live: LiveServer
) -> None:
    found = set()
    for result in schema.get_all_operations():
        op = result.ok()
        found.add((op.method.upper(), op.path))
    assert found == {(m, p) for m, p, _ in OPERATIONS}
    spec = session.get(f"{live.url}/openapi.json", timeout=30).json()
    ids = [op["operationId"] for ops in spec["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids)), ids


@pytest.mark.parametrize("case", CASES)
def test_fuzzed_requests_get_no_5xx_problem_documents_and_schema_conformant_responses(
    schema: Any, session: requests.Session, live: LiveServer, case: tuple[str, str, str]
) -> None:
    assert _fuzz(schema, session, live, case) >= 1


def test_server_log_stays_one_json_object_per_line_with_no_errors_after_fuzzing(live: LiveServer) -> None:
    """Fuzzed paths carry U+2028, U+0085 and friends: the log must still split into whole records."""
    records = []
    for raw in live.logs().splitlines():  # str.splitlines breaks at U+2028/U+0085 too, as log readers do
        if raw.startswith("{"):
            records.append(json.loads(raw))
    assert len(records) >= FUZZ.total()
    assert [r for r in records if r.get("level") in ("error", "critical")] == []


# Examples per operation for the in-suite `--checks all` run (the coverage phase adds its own boundary cases).
ALL_CHECKS_MAX_EXAMPLES = 5


def test_schemathesis_run_with_every_check_finds_nothing(live: LiveServer, tmp_path: Path) -> None:
    """The command-line run, as a user would type it, over the real server: exit 0, no failure."""
    cli = Path(sys.executable).with_name("schemathesis")
    command = [
        str(cli),
        "--config-file",
        str(ROOT / "schemathesis.toml"),
        "run",
        f"{live.url}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(ALL_CHECKS_MAX_EXAMPLES),
        "--seed",
        "1",
        "--workers",
        "1",
        "--request-timeout",
        "60",
        "--generation-database",
        "none",
        "--no-color",
    ]
    # Loopback stays loopback, whatever proxy the environment names.
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    done = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False, env=env
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-6000:]
    generated = re.search(r"(\d+) generated, (\d+) passed", out)
    assert generated is not None, out[-2000:]
    assert int(generated.group(1)) == int(generated.group(2)) > 0, out[-2000:]
    assert "No issues found" in out, out[-2000:]
