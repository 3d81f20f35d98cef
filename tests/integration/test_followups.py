"""Follow-ups read as questions: a template per intent with the entity in its slot, about drugs and topics the
index knows (never an unknown term, never "and"), each answerable by passages in the index."""

from __future__ import annotations

import re

import pytest

from app.answer.focus import find_focus
from app.answer.followups import PAIR_TEMPLATE, TEMPLATES, TOPIC_TEMPLATES, suggest
from app.answer.question import analyse_question
from app.index.embedder import Embedder
from app.index.search_index import SearchIndex
from app.retrieval import Retriever
from app.settings import Settings

ALL_SOURCES = {"guideline", "fda_label", "research"}


@pytest.fixture(scope="module")
def retriever(fixture_index: Settings, embedder: Embedder) -> Retriever:
    return Retriever(SearchIndex.load(fixture_index, embedder=embedder), fixture_index.retrieval)


def _follow_ups(retriever: Retriever, question: str) -> list[str]:
    index = retriever.index
    focus = find_focus(question, index.lexicon, index.lexical.doc_freq)
    q = analyse_question(question, drugs=focus.drugs)
    return suggest(q, retriever, limit=3, answered_by=ALL_SOURCES, focus=focus)


def _shape(template: str) -> re.Pattern[str]:
    slot = r"(?P<entity>[a-z0-9][a-z0-9 '-]*[a-z0-9])"
    return re.compile("^" + re.sub(r"\\\{\w+\\\}", slot, re.escape(template)) + "$")


SHAPES = [_shape(t) for t in [*TEMPLATES.values(), *(t for _, t in TOPIC_TEMPLATES)]]
PAIR = re.compile(r"^Do (?P<a>[a-z0-9 -]+) and (?P<b>[a-z0-9 -]+) interact\?$")
FUNCTION = {"and", "with", "or", "the", "of", "a", "for", "to", "in"}


def _entity(follow_up: str) -> str | None:
    for shape in SHAPES:
        m = shape.match(follow_up)
        if m:
            return m.group("entity")
    return None


@pytest.mark.parametrize(
    ("question", "entity"),
    [
        ("What is the recommended dose of warfarin?", "warfarin"),
        ("What are the side effects of sertraline?", "sertraline"),
        ("Is metformin safe during pregnancy?", "metformin"),
        ("what is the imprint on metopol tar 50 mg", None),  # no metoprolol label in the fixture corpus
    ],
)
def test_drug_follow_ups_are_whole_questions_about_that_drug(
    retriever: Retriever, question: str, entity: str | None
) -> None:
    ups = _follow_ups(retriever, question)
    if entity is None:
        return
    assert ups
    for f in ups:
        assert _entity(f) == entity, f
        assert f[0].isupper()
        assert f.endswith("?")


def test_asked_intent_is_not_offered_again(retriever: Retriever) -> None:
    ups = _follow_ups(retriever, "What is the recommended dose of warfarin?")
    assert not any("dose" in f for f in ups)


def test_two_drugs_get_whether_they_interact_and_never_and_as_a_drug(retriever: Retriever) -> None:
    ups = _follow_ups(retriever, "What are the side effects of sertraline and warfarin?")
    assert ups[0] == PAIR_TEMPLATE.format(a="sertraline", b="warfarin")
    assert PAIR.match(ups[0])
    for f in ups[1:]:
        assert _entity(f) in {"sertraline", "warfarin"}, f
    # Taking the two together already asks whether they interact: that is not suggested again.
    together = _follow_ups(retriever, "Can I take sertraline and warfarin at the same time of day?")
    assert together
    assert not any(PAIR.match(f) for f in together)
    # Each is about one of the drugs, or the pair as a guideline topic — never "and" as a drug.
    allowed = {"sertraline", "warfarin", "sertraline and warfarin"}
    assert all(_entity(f) in allowed for f in together), together


def test_unknown_drug_gets_no_follow_up(retriever: Retriever) -> None:
    assert _follow_ups(retriever, "What is the maximum daily dose of trelavoxin?") == []
    assert _follow_ups(retriever, "What do guidelines recommend for maximum daily trelavoxin?") == []


def test_topic_follow_ups_name_the_condition_phrase(retriever: Retriever) -> None:
    ups = _follow_ups(retriever, "What is the first-line treatment for type 2 diabetes in adults?")
    assert "What do guidelines recommend for type 2 diabetes?" in ups
    for f in ups:
        entity = _entity(f)
        assert entity is not None, f
        assert not set(entity.split()) & FUNCTION, f
