"""Question text stays out of the logs even when a request fails with an exception that quotes it.

test_logs.py shows that answered questions and search queries (native, search and OpenAI-compatible routes)
leave no text in the logs. Here the server's engine and retriever are made to raise exceptions whose
messages contain the question, on every route that takes one, streaming or not: the client gets a 500
problem document that names the request id and nothing else, and the server log records the exception's
type and frames under that request id, but not its message.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.settings import Settings
from eval.live_server import ROOT, free_port, server_env
from tests.integration.api.conftest import is_problem
from tests.integration.api.sse import frames

SECRET = "quokka-5519"

# `curbside serve` exactly, with an engine and a retriever that fail, quoting what they were asked.
SERVE_FAILING = """
import sys
from app.answer.engine import AnswerEngine, RetrievalEvent
from app.api.server import serve
from app.retrieval import Retriever
from app.settings import Settings

def events(self, question, **kw):
    yield RetrievalEvent(question, [], [], {"guidelines": []}, {"guidelines": []})
    raise RuntimeError(f"engine exploded while answering {question!r}")

def retrieve(self, question, **kw):
    raise ValueError(f"retrieval failed for {question!r}")

AnswerEngine.events = events
Retriever.retrieve = retrieve
sys.exit(serve(Settings()))
"""


@pytest.fixture(scope="module")
def failing(fixture_index: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("failing-server")
    port = free_port()
    env = server_env(fixture_index, root / "var", {"CURBSIDE_API__PORT": str(port)})
    log = root / "server.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", SERVE_FAILING], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail(f"the failing server did not become ready:\n{log.read_text()[-3000:]}")
        yield url, log
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            os.waitpid(proc.pid, 0)


def _records(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


def test_exceptions_quoting_the_question_reach_neither_the_client_nor_the_log(
    failing: tuple[str, Path],
) -> None:
    url, log = failing
    question = f"What is the {SECRET} dose of naltrexone?"
    chat = {"messages": [{"role": "user", "content": question}]}
    ids: list[str] = []
    with httpx.Client(base_url=url, timeout=60) as c:
        calls: list[tuple[str, str, dict[str, Any]]] = [
            ("POST", "/v1/answers", {"json": {"question": question}}),
            ("GET", "/v1/search", {"params": {"q": question}}),
            ("POST", "/v1/chat/completions", {"json": chat}),
        ]
        for i, (method, path, kw) in enumerate(calls):
            rid = f"fail-{i}"
            ids.append(rid)
            r = c.request(method, path, headers={"X-Request-ID": rid}, **kw)
            body = is_problem(r, 500)
            assert body["detail"] == "internal error; the server log has the details under this request_id"
            assert SECRET not in r.text

        # Failing after the stream has started: an `error` event, still without the message.
        rid = "fail-stream"
        ids.append(rid)
        with c.stream(
            "POST",
            "/v1/answers/stream",
            json={"question": question},
            headers={"Accept": "text/event-stream", "X-Request-ID": rid},
        ) as r:
            assert r.status_code == 200
            got = list(frames(r.iter_lines()))
        assert [f.event for f in got] == ["retrieval", "error"]
        problem = json.loads(got[-1].data)
        assert problem["status"] == 500
        assert SECRET not in problem["detail"]

    time.sleep(0.5)  # let the access log lines of the last request land
    text = log.read_text()
    assert SECRET not in text
    errors = [r for r in _records(log) if r.get("level") == "error"]
    by_id = {r.get("request_id"): r for r in errors}
    for rid in ids:
        assert rid in by_id, (rid, errors)
        assert by_id[rid]["exc_type"] in ("RuntimeError", "ValueError")
        assert by_id[rid]["traceback"], "the frames are logged, so the failure can be found"
        assert "exc_message" not in by_id[rid]
