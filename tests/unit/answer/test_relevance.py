"""Relevance features: the question's wording repeated as phrases."""

from __future__ import annotations

from app.answer.relevance import phrase_coverage
from app.index.lexical import analyze


def testphrase_coverage_counts_the_questions_wording_said_as_phrases() -> None:
    question = "What is the usual starting dose of metformin?"
    said = analyze("The usual starting dose of metformin hydrochloride tablets is 500 mg twice a day.")
    scattered = analyze("Start metformin at a low dose; the usual goal is glycemic control.")
    assert phrase_coverage(question, said) == 1.0
    assert phrase_coverage(question, scattered) == 0.0
