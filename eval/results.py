"""What an evaluation run produces: one question's trip through an engine, each system's scores, the run.

Shared by ``eval.runner`` (which fills them) and ``eval.report`` (which writes them), so neither imports
the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.answer.draft import DraftSection
from app.schema import Answer, Hit, Passage, SectionKey
from eval.cassettes import Call
from eval.metrics import AnswerView, CoverageScore, StatementScore
from eval.suites import Question
from eval.thresholds import Check

SYSTEMS = ("extractive", "extractive_paired", "generative_guarded", "generative_unguarded")
SYSTEM_TITLES = {
    "extractive": "extractive",
    "extractive_paired": "extractive, generative's questions",
    "generative_guarded": "generative + guard",
    "generative_unguarded": "generative, no guard",
}


@dataclass
class Asked:
    """One question through one engine: what was retrieved and selected, the drafts, the answer, the raw
    LLM calls (their recorded time is added to a replayed answer's latency)."""

    question: Question
    retrieved: dict[str, Passage]  # the selected evidence of every section, by passage id
    evidence: dict[SectionKey, list[Hit]]
    drugs: list[str]
    answer: Answer
    wall_ms: float
    calls: list[Call] = field(default_factory=list)
    primary: dict[SectionKey, DraftSection | None] = field(default_factory=dict)


@dataclass
class SystemResult:
    name: str
    views: list[AnswerView]
    scores: list[StatementScore]
    coverage: list[CoverageScore]
    metrics: dict[str, Any]


@dataclass
class RunResult:
    report: dict[str, Any]
    systems: dict[str, SystemResult]
    checks: list[Check]
    out_dir: Path | None = None

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]
