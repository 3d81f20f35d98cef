"""Any OpenAI-compatible chat-completions server over ``httpx``: OpenAI, vLLM, Ollama, llama.cpp, LM Studio.

``POST {base_url}/chat/completions``, with retries and exponential backoff on connect errors, timeouts, 408,
429 and 5xx (honouring a small ``Retry-After``), streaming over server-sent events, strict checks of the
response shape, and a circuit breaker in front. Every failure is an ``LLMError`` with a short reason.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Self

import httpx

from app.llm.base import CircuitBreaker, Completion, LLMError, Message
from app.llm.settings import LLMSettings

#: statuses worth another try: request timeout, rate limited, server errors
RETRY_STATUSES = frozenset({408, 429})
#: client errors that prove the backend is alive (the request itself was refused)
CLIENT_FAULT_STATUSES = frozenset({400, 413, 422})


def transport_options(settings: LLMSettings) -> dict[str, Any]:
    """The timeouts, retries, sampling defaults and breaker every HTTP backend takes from its settings."""
    return {
        "timeout_s": settings.timeout_s,
        "connect_timeout_s": settings.connect_timeout_s,
        "max_retries": settings.max_retries,
        "backoff_s": settings.backoff_s,
        "max_tokens": settings.max_tokens,
        "temperature": settings.temperature,
        "breaker": CircuitBreaker(settings.breaker_failures, settings.breaker_cooldown_s),
    }


class OpenAIClient:
    """Client of one OpenAI-compatible server. Thread-safe; one pooled ``httpx.Client`` per instance."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        model: str = "",
        timeout_s: float = 60.0,
        connect_timeout_s: float = 5.0,
        max_retries: int = 2,
        backoff_s: float = 0.5,
        max_tokens: int = 512,
        temperature: float = 0.0,
        breaker: CircuitBreaker | None = None,
        max_retry_after_s: float = 10.0,
        extra_body: Mapping[str, Any] | None = None,
        name: str = "openai",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        url = base_url.strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise LLMError(
                "bad configuration", f"LLM base URL must start with http:// or https://, got {base_url!r}"
            )
        try:
            httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise LLMError("bad configuration", f"LLM base URL {base_url!r} is not a URL: {exc}") from exc
        self.name = name
        self.base_url = url
        self.model = model
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.max_retry_after_s = max_retry_after_s
        self.extra_body: dict[str, Any] = dict(extra_body or {})
        self.breaker = breaker if breaker is not None else CircuitBreaker()
        self._sleep = sleep
        headers = {"Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._http = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            trust_env=False,  # never route through a proxy from the environment: loopback stays loopback
            follow_redirects=False,
        )

    @classmethod
    def from_settings(cls, settings: LLMSettings) -> OpenAIClient:
        return cls(
            settings.base_url,
            api_key=settings.api_key.get_secret_value() if settings.api_key else None,
            model=settings.model,
            **transport_options(settings),
        )

    @property
    def chat_url(self) -> str:
        return f"{self.base_url}/chat/completions"

    # ------------------------------------------------------------------ the protocol

    def complete(
        self, messages: Sequence[Message], *, max_tokens: int | None = None, temperature: float | None = None
    ) -> Completion:
        body = self._body(messages, max_tokens, temperature, stream=False)
        self.breaker.before_call()
        started = time.perf_counter()
        try:
            response = self._post(body, read_body=True)
            completion = self._parse_completion(response, started)
        except LLMError as exc:
            self.breaker.record(exc)
            raise
        self.breaker.record_success()
        return completion

    def stream(
        self, messages: Sequence[Message], *, max_tokens: int | None = None, temperature: float | None = None
    ) -> Iterator[str]:
        """Yield pieces of the answer as they arrive. Errors are raised from the iteration."""
        body = self._body(messages, max_tokens, temperature, stream=True)
        self.breaker.before_call()
        try:
            response = self._post(body, read_body=False)
        except LLMError as exc:
            self.breaker.record(exc)
            raise
        produced = False
        try:
            for piece in self._iter_stream(response):
                produced = True
                yield piece
        except LLMError as exc:
            self.breaker.record(exc)
            raise
        except GeneratorExit:
            if produced:  # the consumer stopped early; the backend was answering
                self.breaker.record_success()
            raise
        finally:
            response.close()
        self.breaker.record_success()

    def health(self) -> bool:
        """True when the server answers ``GET {base_url}/models`` with 200 (no retries, no breaker)."""
        try:
            response = self._http.get(f"{self.base_url}/models", timeout=self.connect_timeout_s)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ request and retries

    def _body(
        self, messages: Sequence[Message], max_tokens: int | None, temperature: float | None, *, stream: bool
    ) -> dict[str, Any]:
        if not messages:
            raise ValueError("at least one message is needed")
        body: dict[str, Any] = {
            "messages": [m.to_dict() for m in messages],
            "max_tokens": self.max_tokens if max_tokens is None else max_tokens,
            "temperature": self.temperature if temperature is None else temperature,
            "stream": stream,
        }
        if self.model:
            body["model"] = self.model
        body.update(self.extra_body)
        return body

    def _post(self, body: dict[str, Any], *, read_body: bool) -> httpx.Response:
        """POST with retries; a 2xx response, read if ``read_body``, else left open for the caller."""
        attempt = 0
        while True:
            retry_after: float | None = None
            sent_at = time.monotonic()
            try:
                request = self._http.build_request("POST", self.chat_url, json=body)
                response = self._http.send(request, stream=True)
            except httpx.HTTPError as exc:
                error = self._transport_error(exc)
            else:
                if response.is_success:
                    if not read_body:
                        return response
                    try:
                        return self._read_by(response, sent_at + self.timeout_s)
                    except httpx.HTTPError as exc:
                        error = self._transport_error(exc)
                    finally:
                        response.close()
                else:
                    try:
                        response.read()
                    except httpx.HTTPError:
                        pass
                    finally:
                        response.close()
                    error = _status_error(response)
                    status = response.status_code
                    if status not in RETRY_STATUSES and status < 500:
                        raise error
                    retry_after = _retry_after(response)
            if attempt >= self.max_retries:
                raise error
            delay = self.backoff_s * (2**attempt)
            if retry_after is not None:
                if retry_after > self.max_retry_after_s:
                    raise LLMError(
                        error.reason, f"{error.detail}; server asks to retry after {retry_after:.0f}s"
                    ) from None
                delay = max(delay, retry_after)
            self._sleep(delay)
            attempt += 1

    def _read_by(self, response: httpx.Response, deadline: float) -> httpx.Response:
        """The response with its whole body, read by ``deadline`` (monotonic): httpx's read timeout bounds
        each read, so a backend trickling its answer a few bytes at a time would otherwise hold the
        question for as long as it likes. Too slow is a timeout (a backend fault), not asked again."""
        body = bytearray()
        for chunk in response.iter_raw():  # as sent (still compressed): the new response decodes it
            body += chunk
            if time.monotonic() > deadline:
                raise LLMError(
                    "timeout", f"{self.chat_url} was still sending its answer after {self.timeout_s:g}s"
                )
        return httpx.Response(
            response.status_code, headers=response.headers, content=bytes(body), request=response.request
        )

    def _transport_error(self, exc: httpx.HTTPError) -> LLMError:
        url = self.chat_url
        if isinstance(exc, httpx.ConnectTimeout):
            return LLMError("timeout", f"no connection to {url} within {self.connect_timeout_s:g}s")
        if isinstance(exc, httpx.TimeoutException):
            return LLMError("timeout", f"no response from {url} within {self.timeout_s:g}s")
        if isinstance(exc, httpx.ConnectError):
            refused = _caused_by(exc, ConnectionRefusedError) or "refused" in str(exc).lower()
            return LLMError("connection refused" if refused else "connection error", f"{url}: {exc}")
        return LLMError("connection error", f"{url}: {type(exc).__name__}: {exc}")

    # ------------------------------------------------------------------ responses

    def _parse_completion(self, response: httpx.Response, started: float) -> Completion:
        data = _json_object(response.content)
        choice = _first_choice(data)
        if choice is None:
            raise LLMError("malformed response", "no choices in the response")
        message = choice.get("message")
        if not isinstance(message, dict):
            raise LLMError("malformed response", "choices[0].message is missing or not an object")
        text = _content_text(message.get("content"), "choices[0].message.content")
        if not text.strip():
            raise LLMError("empty answer", f"{self.chat_url} answered with no text", backend_fault=False)
        finish = choice.get("finish_reason")
        model = data.get("model")
        usage = data.get("usage")
        usage = usage if isinstance(usage, dict) else {}
        return Completion(
            text=text,
            model=model if isinstance(model, str) and model else self.model,
            prompt_tokens=_int_or_none(usage.get("prompt_tokens")),
            completion_tokens=_int_or_none(usage.get("completion_tokens")),
            finish_reason=finish if isinstance(finish, str) else None,
            seconds=time.perf_counter() - started,
        )

    def _iter_stream(self, response: httpx.Response) -> Iterator[str]:
        produced = False
        try:
            if response.headers.get("content-type", "").startswith("application/json"):
                # a server that ignored "stream": true and sent the whole answer at once
                response.read()
                text = self._parse_completion(response, time.perf_counter()).text
                yield text
                return
            for line in response.iter_lines():
                data = _sse_data(line)
                if data is None:
                    continue
                if data.strip() == "[DONE]":
                    break
                piece = _chunk_text(data)
                if piece:
                    produced = True
                    yield piece
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from exc
        if not produced:
            raise LLMError("empty answer", f"{self.chat_url} streamed no text", backend_fault=False)


# ---------------------------------------------------------------------- helpers


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _status_error(response: httpx.Response) -> LLMError:
    status = response.status_code
    message = ""
    try:
        content = response.content
    except httpx.ResponseNotRead:  # the error body could not be read
        content = b""
    try:
        data = json.loads(content) if content else None
    except ValueError:
        data = None
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            message = error["message"]
        elif isinstance(error, str):
            message = error
    if not message:
        message = content[:200].decode("utf-8", "replace").strip() if content else response.reason_phrase
    return LLMError(
        f"http {status}",
        f"{response.request.url}: {message}",
        backend_fault=status not in CLIENT_FAULT_STATUSES,
    )


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _json_object(raw: bytes | str) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except ValueError as exc:
        snippet = raw[:80].decode("utf-8", "replace") if isinstance(raw, bytes) else raw[:80]
        raise LLMError("malformed response", f"not JSON: {snippet!r}") from exc
    if not isinstance(data, dict):
        raise LLMError("malformed response", f"expected a JSON object, got {type(data).__name__}")
    return data


def _first_choice(data: dict[str, Any]) -> dict[str, Any] | None:
    """``choices[0]``; None when the list is empty; LLMError on a wrong shape or an error from the server."""
    error = data.get("error")
    if error:
        message = error.get("message") if isinstance(error, dict) else error
        raise LLMError("server error", str(message)[:200])
    choices = data.get("choices")
    if not isinstance(choices, list):
        raise LLMError("malformed response", "'choices' is missing or not a list")
    if not choices:
        return None
    choice = choices[0]
    if not isinstance(choice, dict):
        raise LLMError("malformed response", "choices[0] is not an object")
    return choice


def _content_text(content: object, where: str) -> str:
    """Message content as text: a string, null, or a list of ``{"type": "text", "text": ...}`` parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts: list[str] = []
        for part in content:
            if not (isinstance(part, dict) and isinstance(part.get("text", ""), str)):
                raise LLMError("malformed response", f"{where} has a part that is not text")
            parts.append(part.get("text", ""))
        return "".join(parts)
    raise LLMError("malformed response", f"{where} is {type(content).__name__}, not text")


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _sse_data(line: str) -> str | None:
    """The payload of an SSE ``data:`` line; None for blank lines, comments and other fields."""
    if not line.startswith("data:"):
        return None
    data = line[5:]
    return data[1:] if data.startswith(" ") else data


def _chunk_text(data: str) -> str:
    chunk = _json_object(data)
    choice = _first_choice(chunk)
    if choice is None:  # e.g. a final usage-only chunk
        return ""
    delta = choice.get("delta")
    if delta is None:
        return ""
    if not isinstance(delta, dict):
        raise LLMError("malformed response", "choices[0].delta is not an object")
    return _content_text(delta.get("content"), "choices[0].delta.content")
