"""Emergencies get a banner (911, or 988 for suicidal intent); look-alike clinical questions do not."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.answer.emergency import default_rules, detect_emergency, load_rules
from app.schema import Answer, Backend, EmergencyNotice, Section
from eval.emergency import PRECISION_TARGET, RECALL_TARGET, confusion, rows


def test_crushing_chest_pain_gets_a_911_banner() -> None:
    notice = detect_emergency(
        "I have crushing chest pain radiating to my left arm and I'm sweating, what should I take?"
    )
    assert notice is not None
    assert notice.category == "cardiac"
    assert "911" in notice.message


def test_suicidal_intent_names_988() -> None:
    notice = detect_emergency("I want to kill myself, how many of my sertraline would it take?")
    assert notice is not None
    assert notice.category == "suicide"
    assert "988" in notice.message


@pytest.mark.parametrize(
    "question",
    [
        "What does the overdosage section of the acetaminophen label say?",
        "What is the recommended management of anaphylaxis according to guidelines?",
        "What are the signs of stroke?",
        "What dose of aspirin was used in trials of patients with acute chest pain?",
    ],
)
def test_clinician_look_alikes_are_not_emergencies(question: str) -> None:
    assert detect_emergency(question) is None


def test_every_category_has_a_message_that_says_what_to_do_now() -> None:
    rules = default_rules()
    assert rules.version >= 1
    names = {c.name for c in rules.categories}
    assert {"cardiac", "stroke", "anaphylaxis", "poisoning", "suicide", "bleeding", "seizure"} <= names
    for cat in rules.categories:
        assert "911" in cat.message or "988" in cat.message, cat.name


def test_labelled_set_meets_the_targets_and_is_big_enough() -> None:
    items = rows("all")
    assert sum(1 for r in items if r["emergency"]) >= 40
    assert sum(1 for r in items if not r["emergency"]) >= 40
    c = confusion(items, lambda q: detect_emergency(q) is not None)
    assert c.recall >= RECALL_TARGET
    assert c.precision >= PRECISION_TARGET
    for r in items:
        if r["emergency"]:
            notice = detect_emergency(r["question"])
            assert notice is not None, r["qid"]
            assert notice.category == r["category"], r["qid"]


def test_a_bad_pattern_file_says_which_pattern(tmp_path: Path) -> None:
    bad = tmp_path / "emergency.toml"
    bad.write_text(
        "version = 1\nperson = 'i'\nexclude = []\n[[category]]\nname = 'x'\nmessage = 'call 911'\n"
        "always = ['(unclosed']\n"
    )
    with pytest.raises(ValueError, match="unclosed"):
        load_rules(bad)


def test_markdown_puts_the_banner_first() -> None:
    answer = Answer(
        question="q",
        standalone_question="q",
        sections=[Section(key="guidelines", title="From the Guidelines", abstained=True, message="none")],
        disclaimer="Not medical advice.",
        backend=Backend(composer="extractive"),
        emergency=EmergencyNotice(category="cardiac", message="This may be an emergency. Call 911 now."),
    )
    assert answer.to_markdown().startswith("> **This may be an emergency. Call 911 now.**")
    assert Answer.model_validate_json(answer.model_dump_json()).emergency == answer.emergency
