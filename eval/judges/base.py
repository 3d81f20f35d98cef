"""The judge protocol: does a set of passages support a statement? One answer type, three backends."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

Label = Literal["support", "neutral", "contradict"]
LABELS: tuple[Label, ...] = ("support", "neutral", "contradict")


@dataclass(frozen=True)
class Verdict:
    """A judge's answer: the label, a score in [0, 1] (how strongly it thinks the passages support the
    statement) and a short reason a person can check."""

    label: Label
    score: float
    reason: str

    @property
    def supported(self) -> bool:
        return self.label == "support"


class JudgeError(RuntimeError):
    """A judge cannot be set up as configured; the message says what to change."""


@runtime_checkable
class Judge(Protocol):
    """``support(statement, passages)``: do the passages, read together, support the statement?"""

    name: str

    def support(self, statement: str, passages: Sequence[str]) -> Verdict: ...

    def describe(self) -> dict[str, Any]:
        """The judge's configuration, as recorded in reports."""
        ...


class CachedJudge:
    """Memoises another judge: metrics ask the same (statement, passages) question many times."""

    def __init__(self, inner: Judge) -> None:
        self.inner = inner
        self.name = inner.name
        self.calls = 0
        self._cache: dict[tuple[str, tuple[str, ...]], Verdict] = {}

    def support(self, statement: str, passages: Sequence[str]) -> Verdict:
        key = (statement, tuple(passages))
        found = self._cache.get(key)
        if found is None:
            self.calls += 1
            found = self.inner.support(statement, passages)
            self._cache[key] = found
        return found

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()
