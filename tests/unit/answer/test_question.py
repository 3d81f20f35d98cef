"""What a question asks: qualifiers are words of degree, amount, duration or form, not any hyphenated word."""

from __future__ import annotations

import pytest

from app.answer.question import analyse_question


@pytest.mark.parametrize(
    ("question", "qualifier"),
    [
        ("What are the benefits of low-dose naltrexone?", "low-dose"),
        ("Is long-term use of omeprazole safe?", "long-term"),
        ("How do extended-release metformin tablets work?", "extended-release"),
    ],
)
def test_qualifiers_of_degree_duration_or_form(question: str, qualifier: str) -> None:
    q = analyse_question(question)
    assert q.qualifier_text == [qualifier]
    assert not set(q.qualifiers[0]) & set(q.focus)


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("Hearing loss: an unknown complication of pre-eclampsia?", "eclampsia"),
        ("Does multi-modal cervical physical therapy improve tinnitus?", "modal"),
        ("Is non-HDL-cholesterol a better predictor of outcome?", "cholesterol"),
    ],
)
def test_a_hyphenated_topic_stays_a_focus_term(question: str, topic: str) -> None:
    q = analyse_question(question)
    assert q.qualifiers == []
    assert topic in q.focus
