"""LLM backend faults the answer engine meets on a real HTTP server on 127.0.0.1 (what test_answers.py and
tests/unit/llm do not already cover): a backend that trickles its answer, one that is rate limited (429),
and the circuit breaker keeping a dead backend's request count flat until the cool-down, then retrying.

Each scenario is a path prefix on one threaded stdlib server that counts the requests it gets.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from app.answer.engine import AnswerEngine
from app.conversation import ConversationStore
from app.index.embedder import Embedder
from app.index.search_index import SearchIndex
from app.llm.base import CircuitBreaker
from app.llm.openai import OpenAIClient
from app.retrieval import Retriever
from app.settings import Settings

QUESTION = "What is the recommended dose of warfarin?"


class Backend:
    """What the fake backend does per scenario, and how many requests each scenario got."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.alive = False  # the "dead" scenario answers 500 until this is set
        self.release = threading.Event()
        self.port = 0

    def url(self, scenario: str) -> str:
        return f"http://127.0.0.1:{self.port}/{scenario}/v1"

    def count(self, scenario: str) -> int:
        with self.lock:
            return self.hits[scenario]


def _completion(text: str) -> bytes:
    return json.dumps(
        {
            "model": "fake",
            "choices": [{"message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        }
    ).encode()


def make_handler(state: Backend) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            scenario = self.path.strip("/").split("/")[0]
            with state.lock:
                state.hits[scenario] += 1
            if scenario == "trickle":
                # Headers at once, then the body a few bytes at a time: every read is quick, the whole is not.
                body = _completion("NO_ANSWER")
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                for i in range(0, len(body), 4):
                    if state.release.wait(0.15):
                        return
                    self.wfile.write(body[i : i + 4])
                    self.wfile.flush()
            elif scenario == "busy":
                raw = json.dumps({"error": {"message": "rate limited"}}).encode()
                self.send_response(429)
                self.send_header("Retry-After", "0")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
            elif scenario == "dead" and not state.alive:
                self.send_response(500)
                self.send_header("Content-Length", "4")
                self.end_headers()
                self.wfile.write(b"down")
            else:  # alive: answers, though with nothing to say
                raw = _completion("NO_ANSWER")
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

    return Handler


@pytest.fixture(scope="module")
def backend() -> Iterator[Backend]:
    state = Backend()
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


@pytest.fixture(scope="module")
def index(fixture_index: Settings, embedder: Embedder) -> SearchIndex:
    return SearchIndex.load(fixture_index, embedder=embedder)


@pytest.fixture
def engine(fixture_index: Settings, index: SearchIndex, tmp_path: Path) -> Iterator[AnswerEngine]:
    store = ConversationStore(tmp_path / "conv.sqlite3")
    yield AnswerEngine(fixture_index, Retriever(index, fixture_index.retrieval), None, store)
    store.close()


def state_of(breaker: CircuitBreaker) -> str:
    return breaker.state


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_backend_that_trickles_its_answer_is_cut_off_and_the_answer_falls_back(
    engine: AnswerEngine, backend: Backend
) -> None:
    # Each 4-byte piece comes within the 1 s read timeout, the whole answer would take ~10 s.
    engine.llm = OpenAIClient(backend.url("trickle"), timeout_s=1.0, max_retries=1, backoff_s=0.0)
    started = time.monotonic()
    answer = engine.ask(QUESTION)
    took = time.monotonic() - started
    assert answer.backend.fallback
    assert answer.backend.reason == "timeout"
    assert not answer.section("fda_label").abstained  # the extractive answer is there
    assert took < 5.0, f"waited {took:.1f}s for a trickling backend"
    assert backend.count("trickle") == 1  # a slow answer is not asked for again


def test_a_rate_limited_backend_is_retried_then_the_answer_falls_back_saying_429(
    engine: AnswerEngine, backend: Backend
) -> None:
    engine.llm = OpenAIClient(backend.url("busy"), timeout_s=2.0, max_retries=2, backoff_s=0.0)
    answer = engine.ask(QUESTION)
    assert answer.backend.fallback
    assert answer.backend.reason == "http 429"
    assert "backend failed (http 429)" in answer.to_markdown()
    assert backend.count("busy") == 3  # the first try and two retries, then the engine stops asking
    assert not answer.section("fda_label").abstained


def test_the_breaker_stops_the_engine_calling_a_dead_backend_and_retries_after_the_cooldown(
    engine: AnswerEngine, backend: Backend
) -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failures=2, cooldown_s=30.0, clock=clock)
    engine.llm = OpenAIClient(backend.url("dead"), timeout_s=2.0, max_retries=0, breaker=breaker)

    reasons = [engine.ask(QUESTION).backend.reason for _ in range(2)]
    assert reasons == ["http 500", "http 500"]
    assert backend.count("dead") == 2  # one request per answer: the engine stops using a failed LLM
    assert state_of(breaker) == "open"

    for _ in range(5):  # while open, answers come at once from the extractive composer
        answer = engine.ask(QUESTION)
        assert answer.backend.fallback
        assert answer.backend.reason == "circuit open"
        assert not answer.section("fda_label").abstained
    assert backend.count("dead") == 2  # not one more request reached the dead backend

    clock.now += 30.0  # cool-down over: one trial request, still failing → open again
    assert engine.ask(QUESTION).backend.reason == "http 500"
    assert engine.ask(QUESTION).backend.reason == "circuit open"
    assert backend.count("dead") == 3

    backend.alive = True  # the backend comes back; after the next cool-down the trial succeeds
    clock.now += 30.0
    answer = engine.ask(QUESTION)
    assert answer.backend.composer == "generative"
    assert not answer.backend.fallback
    assert state_of(breaker) == "closed"
    assert backend.count("dead") > 3  # requests reach it again (one per section with evidence)
