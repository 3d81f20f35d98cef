"""Condensation of follow-ups (app/answer/condense.py): rules carry the topic of earlier questions."""

from __future__ import annotations

import pytest

from app.answer.condense import Earlier, condense, condense_rules, condense_transcript
from app.index.drugs import DrugLexicon

LEX = DrugLexicon.build([(0, "NALTREXONE HYDROCHLORIDE", "REVIA"), (1, "Warfarin Sodium", "Coumadin")])


def _earlier(question: str) -> Earlier:
    return Earlier(question, question)


@pytest.mark.parametrize(
    ("follow_up", "expected"),
    [
        ("what about the dose?", "Regarding low-dose naltrexone: what about the dose?"),
        ("And in pregnancy?", "Regarding low-dose naltrexone: And in pregnancy?"),
        ("Is it safe with alcohol?", "Is low-dose naltrexone safe with alcohol?"),
    ],
)
def test_follow_up_inherits_drug_from_previous_earlier(follow_up: str, expected: str) -> None:
    history = [_earlier("What are the benefits of low-dose naltrexone?")]
    assert condense_rules(follow_up, history, LEX) == expected


def test_a_new_standalone_question_is_left_alone() -> None:
    history = [_earlier("What are the benefits of low-dose naltrexone?")]
    assert condense("What is the dose of warfarin?", history, LEX) == (
        "What is the dose of warfarin?",
        "none",
    )
    assert condense("what about the dose?", [], LEX) == ("what about the dose?", "none")


def test_topic_without_a_drug_is_carried_as_words() -> None:
    history = [_earlier("Should adults be screened for depression?")]
    out = condense_rules("how often?", history, LEX)
    assert out.startswith("Regarding ")
    assert "depression" in out


def test_a_transcript_is_condensed_message_by_message() -> None:
    earlier = condense_transcript(["What are the benefits of low-dose naltrexone?", "and the dose?"], LEX, 4)
    assert [e.standalone for e in earlier] == [
        "What are the benefits of low-dose naltrexone?",
        "Regarding low-dose naltrexone: and the dose?",
    ]
    assert condense("in pregnancy?", earlier, LEX)[0] == "Regarding low-dose naltrexone: in pregnancy?"
