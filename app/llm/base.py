"""The LLM client protocol, its value types, its one error type and a small circuit breaker.

Every backend (``openai.py``, ``local.py``) implements ``LLMClient``. Whatever goes wrong — a timeout, a
refused connection, an HTTP error, a response of the wrong shape, an empty answer — surfaces as ``LLMError``
with a short ``reason``, so the caller can fall back to the extractive answer and say why.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

Role = Literal["system", "user", "assistant"]
BreakerState = Literal["closed", "open", "half-open"]


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message."""

    role: Role
    content: str

    def to_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True, slots=True)
class Completion:
    """A finished (non-streamed) answer. Token counts are ``None`` when the server does not report usage."""

    text: str
    model: str
    prompt_tokens: int | None
    completion_tokens: int | None
    finish_reason: str | None
    seconds: float

    @property
    def total_tokens(self) -> int | None:
        if self.prompt_tokens is None or self.completion_tokens is None:
            return None
        return self.prompt_tokens + self.completion_tokens


class LLMError(Exception):
    """The backend could not give a usable answer.

    ``reason`` is short and stable ("timeout", "connection refused", "http 500", "http 429",
    "malformed response", "empty answer", "circuit open", …); ``detail`` says more. ``backend_fault`` is False
    when the backend itself is alive and answered (an empty answer, a rejected request): such errors do not
    count against the breaker.
    """

    def __init__(self, reason: str, detail: str = "", *, backend_fault: bool = True) -> None:
        self.reason = reason
        self.detail = detail
        self.backend_fault = backend_fault
        super().__init__(f"{reason}: {detail}" if detail else reason)


@runtime_checkable
class LLMClient(Protocol):
    """A chat-completions backend. ``max_tokens``/``temperature`` default to the backend's settings."""

    name: str

    def complete(
        self, messages: Sequence[Message], *, max_tokens: int | None = None, temperature: float | None = None
    ) -> Completion: ...

    def stream(
        self, messages: Sequence[Message], *, max_tokens: int | None = None, temperature: float | None = None
    ) -> Iterator[str]: ...

    def health(self) -> bool: ...

    def close(self) -> None: ...


class CircuitBreaker:
    """Stops hammering a dead backend.

    closed → (``failures`` consecutive failures) → open: calls fail at once with ``LLMError("circuit open")``
    → (``cooldown_s`` later) → half-open: one trial call goes through; success closes the breaker, failure
    opens it for another cool-down. A trial that never reports back frees its slot after one more cool-down.
    """

    def __init__(
        self, failures: int = 3, cooldown_s: float = 30.0, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if failures < 1:
            raise ValueError("failures must be at least 1")
        self.failures = failures
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self._consecutive = 0
        self._opened_at: float | None = None
        self._trial_started_at: float | None = None

    def _state(self, now: float) -> BreakerState:
        if self._opened_at is None:
            return "closed"
        if now - self._opened_at >= self.cooldown_s:
            return "half-open"
        return "open"

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._state(self._clock())

    @property
    def consecutive_failures(self) -> int:
        with self._lock:
            return self._consecutive

    def before_call(self) -> None:
        """Raise ``LLMError("circuit open")`` unless a call may go to the backend now."""
        now = self._clock()
        with self._lock:
            state = self._state(now)
            if state == "closed":
                return
            if state == "half-open":
                if self._trial_started_at is None or now - self._trial_started_at >= self.cooldown_s:
                    self._trial_started_at = now
                    return
                detail = "a trial request to the backend is in flight"
            else:
                assert self._opened_at is not None
                wait = self.cooldown_s - (now - self._opened_at)
                detail = f"backend failed {self._consecutive} times in a row; next try in {wait:.1f}s"
        raise LLMError("circuit open", detail, backend_fault=False)

    def record_success(self) -> None:
        with self._lock:
            self._consecutive = 0
            self._opened_at = None
            self._trial_started_at = None

    def record_failure(self) -> None:
        now = self._clock()
        with self._lock:
            self._consecutive += 1
            if self._opened_at is not None or self._consecutive >= self.failures:
                self._opened_at = now
                self._trial_started_at = None

    def record(self, error: LLMError) -> None:
        """Count an error: backend faults are failures; anything else proves the backend is alive."""
        if error.backend_fault:
            self.record_failure()
        else:
            self.record_success()
