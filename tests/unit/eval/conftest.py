"""Hand-built pieces for the metric tests: passages, answer views, a keyword judge with known verdicts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from app.schema import Passage, SectionKey, SourceType
from eval.judges.base import Verdict
from eval.metrics import AnswerView, CitedStatement, SectionView


def passage(pid: str, text: str, source_type: SourceType = "guideline", drug: str | None = None) -> Passage:
    return Passage(
        id=pid, record_id=pid.split("#", maxsplit=1)[0], source_type=source_type, text=text, drug=drug
    )


class KeywordJudge:
    """Supports a statement when every word of it is in the passages; 'contradict' when the passages hold
    the word "not" + a statement word. Verdicts anyone can work out by hand."""

    name = "keyword"

    def __init__(self) -> None:
        self.calls = 0

    def support(self, statement: str, passages: Sequence[str]) -> Verdict:
        self.calls += 1
        words = set(" ".join(passages).lower().split())
        wanted = set(statement.lower().split())
        if wanted <= words:
            return Verdict("support", 1.0, "all words present")
        if "not" in words and wanted & words:
            return Verdict("contradict", 0.0, "passages negate it")
        return Verdict("neutral", 0.0, f"missing {sorted(wanted - words)}")

    def describe(self) -> dict[str, Any]:
        return {"name": self.name}


def view(
    statements: Sequence[tuple[SectionKey, str, Sequence[str]]],
    passages: Sequence[Passage],
    *,
    abstained: Sequence[SectionKey] = (),
    drugs: Sequence[str] = (),
    qid: str = "q1",
    context: bool = False,
) -> AnswerView:
    sections = []
    for key in ("guidelines", "fda_label", "research"):
        mine = [
            CitedStatement(key, text, tuple(cited), context=context)
            for k, text, cited in statements
            if k == key
        ]
        sections.append(SectionView(key=key, abstained=key in abstained, statements=mine))
    return AnswerView(
        qid=qid,
        question="?",
        system="test",
        sections=sections,
        retrieved={p.id: p for p in passages},
        drugs=list(drugs),
    )


@pytest.fixture
def judge() -> KeywordJudge:
    return KeywordJudge()
