"""Recorded LLM responses, so the generative path is evaluated deterministically without a model in CI.

A cassette is one small JSON file: entries keyed by the sha256 of the request's messages (role and content,
in order), each holding what the backend answered — the text and its token counts — or the ``LLMError`` it
raised. ``RecordingClient`` wraps a real client and writes down every answer; ``ReplayClient`` answers from
the cassette alone and raises ``CassetteMiss`` (not an ``LLMError``, so the engine cannot quietly fall back
to the extractive answer) for a request that was never recorded. A miss means the prompts, the retrieval
or the index changed since recording: record again with ``curbside eval run --suite ci --record``.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.llm.base import Completion, LLMClient, LLMError, Message

FORMAT = 1


class CassetteMiss(RuntimeError):
    """Replay mode met a request that the cassette does not hold."""


def messages_key(messages: Sequence[Message]) -> str:
    payload = json.dumps([[m.role, m.content] for m in messages], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass
class Entry:
    text: str | None
    model: str
    prompt_tokens: int | None
    completion_tokens: int | None
    finish_reason: str | None
    seconds: float
    error: dict[str, Any] | None = None  # {"reason", "detail", "backend_fault"} when the backend failed
    note: str = ""  # a hint for people reading the file (the question)

    def completion(self) -> Completion:
        if self.error is not None:
            raise LLMError(
                self.error["reason"], self.error.get("detail", ""), backend_fault=self.error["backend_fault"]
            )
        return Completion(
            text=self.text or "",
            model=self.model,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            finish_reason=self.finish_reason,
            seconds=self.seconds,
        )


class Cassette:
    def __init__(
        self, path: Path, meta: dict[str, Any] | None = None, entries: dict[str, Entry] | None = None
    ) -> None:
        self.path = path
        self.meta: dict[str, Any] = meta or {}
        self.entries: dict[str, Entry] = entries or {}
        self.used: set[str] = set()
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: Path) -> Cassette:
        if not path.exists():
            raise CassetteMiss(
                f"no cassette at {path}; record one with `curbside eval run --suite <suite> --record` "
                "(needs a real LLM backend, e.g. CURBSIDE_LLM__BACKEND=local)"
            )
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise CassetteMiss(
                f"{path} has cassette format {data.get('format')!r}, expected {FORMAT}; record it again"
            )
        entries = {k: Entry(**v) for k, v in data["entries"].items()}
        return cls(path, data.get("meta", {}), entries)

    @classmethod
    def load_or_new(cls, path: Path) -> Cassette:
        return cls.load(path) if path.exists() else cls(path)

    @property
    def sha256(self) -> str | None:
        return hashlib.sha256(self.path.read_bytes()).hexdigest() if self.path.exists() else None

    def get(self, key: str) -> Entry | None:
        with self._lock:
            self.used.add(key)
            return self.entries.get(key)

    def put(self, key: str, entry: Entry) -> None:
        with self._lock:
            self.entries[key] = entry
            self.used.add(key)

    def save(self, *, prune: bool = False) -> None:
        """Write the cassette (sorted, so re-recording diffs cleanly); ``prune`` drops entries not used."""
        keys = sorted(self.used if prune else self.entries)
        self.meta["recorded_at"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        data = {
            "format": FORMAT,
            "meta": self.meta,
            "entries": {k: asdict(self.entries[k]) for k in keys if k in self.entries},
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _note(messages: Sequence[Message]) -> str:
    """The question line of an answer prompt (or the start of the last message), for people reading."""
    content = messages[-1].content if messages else ""
    for line in content.splitlines():
        if line.startswith(("QUESTION:", "STATEMENT:")):
            return line[:200]
    return " ".join(content.split())[:120]


class WrappingClient:
    """The base of the LLM client wrappers (recording, replaying, tapping; the tests' too): a subclass
    answers ``complete``. ``stream`` yields that whole completion as one piece; ``health`` and ``close`` go
    to the wrapped client, and a wrapper of none (a replay) is always healthy with nothing to close."""

    def __init__(self, inner: LLMClient | None, *, name: str | None = None, model: str | None = None) -> None:
        self.inner = inner
        self.name = name if name is not None else (inner.name if inner is not None else "replay")
        self.model = model if model is not None else str(getattr(inner, "model", ""))

    def complete(
        self, messages: Sequence[Message], *, max_tokens: int | None = None, temperature: float | None = None
    ) -> Completion:
        raise NotImplementedError

    def stream(
        self, messages: Sequence[Message], *, max_tokens: int | None = None, temperature: float | None = None
    ) -> Iterator[str]:
        yield self.complete(messages, max_tokens=max_tokens, temperature=temperature).text

    def health(self) -> bool:
        return self.inner.health() if self.inner is not None else True

    def close(self) -> None:
        if self.inner is not None:
            self.inner.close()


class RecordingClient(WrappingClient):
    """Passes requests to a real client and records every answer (or error) into ``cassette``.

    With ``resume``, a request the cassette already answered (without an error) is not sent again, so an
    interrupted recording can be continued; save with ``prune=True`` at the end to drop stale entries."""

    inner: LLMClient

    def __init__(self, inner: LLMClient, cassette: Cassette, *, resume: bool = False) -> None:
        super().__init__(inner)
        self.cassette = cassette
        self.resume = resume
        self.reused = 0
        cassette.meta.setdefault("backend", inner.name)
        cassette.meta.setdefault("model", self.model)

    def complete(
        self, messages: Sequence[Message], *, max_tokens: int | None = None, temperature: float | None = None
    ) -> Completion:
        key = messages_key(messages)
        if self.resume:
            known = self.cassette.get(key)
            if known is not None and known.error is None:
                self.reused += 1
                return known.completion()
        try:
            c = self.inner.complete(messages, max_tokens=max_tokens, temperature=temperature)
        except LLMError as exc:
            error = {"reason": exc.reason, "detail": exc.detail, "backend_fault": exc.backend_fault}
            self.cassette.put(key, Entry(None, self.model, None, None, None, 0.0, error, _note(messages)))
            raise
        self.cassette.put(
            key,
            Entry(
                c.text,
                c.model,
                c.prompt_tokens,
                c.completion_tokens,
                c.finish_reason,
                round(c.seconds, 3),
                None,
                _note(messages),
            ),
        )
        return c


class ReplayClient(WrappingClient):
    """Answers only from a cassette; ``CassetteMiss`` for anything it does not hold."""

    def __init__(self, cassette: Cassette) -> None:
        super().__init__(
            None, name=str(cassette.meta.get("backend", "replay")), model=str(cassette.meta.get("model", ""))
        )
        self.cassette = cassette

    def complete(
        self, messages: Sequence[Message], *, max_tokens: int | None = None, temperature: float | None = None
    ) -> Completion:
        key = messages_key(messages)
        entry = self.cassette.get(key)
        if entry is None:
            raise CassetteMiss(
                f"no recorded response for this request (sha256 {key[:16]}…, {_note(messages)!r}) in "
                f"{self.cassette.path}: the prompts, retrieval or index changed since it was recorded; "
                "record again with `curbside eval run --suite <suite> --record` and a real backend "
                "(CURBSIDE_LLM__BACKEND=local)"
            )
        return entry.completion()


@dataclass
class Call:
    messages: list[Message]
    text: str | None  # None when the backend raised
    seconds: float


class TapClient(WrappingClient):
    """Remembers the calls made through it (the runner reads them to rebuild the raw, unguarded draft)."""

    inner: LLMClient

    def __init__(self, inner: LLMClient) -> None:
        super().__init__(inner)
        self.calls: list[Call] = []

    def take(self) -> list[Call]:
        calls, self.calls = self.calls, []
        return calls

    def complete(
        self, messages: Sequence[Message], *, max_tokens: int | None = None, temperature: float | None = None
    ) -> Completion:
        try:
            c = self.inner.complete(messages, max_tokens=max_tokens, temperature=temperature)
        except LLMError:
            self.calls.append(Call(list(messages), None, 0.0))
            raise
        self.calls.append(Call(list(messages), c.text, c.seconds))
        return c
