"""Counts kept across the reliability tests and printed in pytest's closing summary (see conftest)."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class FuzzTally:
    """Fuzz cases sent, per operation and generation mode, and the statuses they got."""

    cases: Counter[tuple[str, str]] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, operation: str, mode: str, status: int) -> None:
        with self.lock:
            self.cases[(operation, mode)] += 1
            self.statuses[status] += 1

    def sent(self, operation: str, mode: str) -> int:
        with self.lock:
            return self.cases[(operation, mode)]

    def total(self) -> int:
        with self.lock:
            return sum(self.cases.values())

    def lines(self) -> list[str]:
        if not self.cases:
            return []
        total = sum(self.cases.values())
        server_errors = sum(n for s, n in self.statuses.items() if s >= 500)
        by_status = ", ".join(f"{s}: {n}" for s, n in sorted(self.statuses.items()))
        out = [
            f"fuzz (schemathesis): {total} generated cases over {len({o for o, _ in self.cases})} operations"
        ]
        out.append(f"  5xx seen: {server_errors}; statuses: {by_status}")
        for (op, mode), n in sorted(self.cases.items()):
            out.append(f"  {op:45s} {mode:9s} {n}")
        return out


@dataclass
class AttackRun:
    mode: str
    cases: int
    answers: int  # answers audited: each attack's answer, and those of its earlier turns
    drafted: int  # statements the LLM wrote (0 for extractive)
    drafted_kept: int  # of those, in the final answer
    statements: int  # statements in the final answers (LLM's and extractive fallbacks')
    guard_removed: int  # statements the guard removed (uncited + unsupported)
    guard_removed_uncited: int  # of those, without a citation to a retrieved passage
    unsupported_left: int  # statements the audit found unsupported, with stray numbers or the payload
    cites_poison: int
    fallbacks: int


@dataclass
class AttackTally:
    runs: list[AttackRun] = field(default_factory=list)

    def lines(self) -> list[str]:
        if not self.runs:
            return []
        out = [
            "attack set (eval/data/attacks.jsonl), every final statement re-checked against its citations:"
        ]
        out.append(
            "  mode        cases  answers  llm-drafted  llm-kept  final-statements  guard-removed (uncited)"
            "  unsupported-left  cite-poison  fallbacks"
        )
        for r in self.runs:
            out.append(
                f"  {r.mode:10s} {r.cases:6d} {r.answers:8d} {r.drafted:12d} {r.drafted_kept:9d}"
                f" {r.statements:17d} {r.guard_removed:14d} ({r.guard_removed_uncited:3d})"
                f" {r.unsupported_left:17d} {r.cites_poison:12d}"
                f" {r.fallbacks:10d}"
            )
        return out


FUZZ = FuzzTally()
ATTACK_RUNS = AttackTally()
FIGURES: list[str] = []  # one line per other measured figure (kill -9 counts, …)
