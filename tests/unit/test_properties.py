"""Properties of follow-up condensation (``app.conversation.condense_rules``) over generated conversations.

Never crashes (any text, any history, with or without a drug lexicon); leaves a question that stands on
its own exactly as asked, and is idempotent on it; a follow-up to a conversation about a drug comes out
naming that drug, keeps every word the user wrote (bar the pronoun it replaces), and is then standalone
itself: condensing it again changes nothing.
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.answer.condense import _PRONOUN, Earlier, condense_rules, needs_context
from app.index.drugs import DrugLexicon

LEX = DrugLexicon.build(
    [(0, "NALTREXONE HYDROCHLORIDE", "REVIA"), (1, "Warfarin Sodium", "Coumadin"), (2, "SERTRALINE", None)]
)
PROPS = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

FOLLOW_UPS = [
    "what about the dose?", "And in pregnancy?", "Is it safe with alcohol?", "how often?", "What dose?",
    "and the side effects?", "Can they take it at night?", "also in children?", "What about this drug?",
    "so how long?", "dose?", "Is that safe?", "and for older adults",
]  # fmt: skip
STANDALONE = [
    "What is the dose of warfarin?", "Is sertraline safe in pregnancy?", "What are the benefits of low-dose "
    "naltrexone?", "Naltrexone contraindications in acute hepatitis", "Should adults be screened for "
    "depression?", "Coumadin and vitamin K interactions", "REVIA dosing for alcohol dependence",
]  # fmt: skip
DRUG_TOPICS = ["What are the benefits of low-dose naltrexone?", "What is the dose of warfarin?",
               "Side effects of sertraline", "Is Coumadin safe?"]  # fmt: skip


def _history(questions: list[str]) -> list[Earlier]:
    return [Earlier(q, q) for q in questions]


any_question = st.one_of(
    st.text(max_size=200),
    st.sampled_from(FOLLOW_UPS),
    st.sampled_from(STANDALONE),
    st.sampled_from(DRUG_TOPICS),
)
histories = st.lists(any_question, max_size=4).map(_history)


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


@PROPS
@given(any_question, histories, st.sampled_from([LEX, None]))
def test_condensation_never_crashes_and_returns_text(
    question: str, history: list[Earlier], lex: object
) -> None:
    out = condense_rules(question, history, lex)  # type: ignore[arg-type]
    assert isinstance(out, str)
    if not history:
        assert out == question


@PROPS
@given(st.one_of(st.sampled_from(STANDALONE), any_question), histories, st.sampled_from([LEX, None]))
def test_a_standalone_question_is_left_as_asked_and_condensing_is_idempotent_on_it(
    question: str, history: list[Earlier], lex: object
) -> None:
    if needs_context(question, lex):  # type: ignore[arg-type]
        return
    out = condense_rules(question, history, lex)  # type: ignore[arg-type]
    assert out == question
    assert condense_rules(out, history, lex) == out  # type: ignore[arg-type]


@PROPS
@given(st.sampled_from(FOLLOW_UPS), st.lists(any_question, max_size=3), st.sampled_from(DRUG_TOPICS))
def test_a_follow_up_about_a_drug_names_it_keeps_the_users_words_and_is_then_standalone(
    question: str, earlier: list[str], topic: str
) -> None:
    history = _history([*earlier, topic])  # the latest turn is about a drug
    out = condense_rules(question, history, LEX)
    drugs = LEX.detect(topic)
    assert set(drugs) <= set(LEX.detect(out)), (question, topic, out)
    replaced = _PRONOUN.search(question)
    kept = [w for w in _words(question) if not (replaced and w in _words(replaced.group(0)))]
    assert all(w in _words(out) for w in kept), (question, out)
    assert not needs_context(out, LEX)
    assert condense_rules(out, history, LEX) == out
