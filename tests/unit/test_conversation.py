from __future__ import annotations

import threading
from pathlib import Path

import pytest

from app.conversation import ConversationNotFound, ConversationStore, condense, condense_rules
from app.index.drugs import DrugLexicon
from app.schema import Answer, Backend, Section, Turn

LEX = DrugLexicon.build([(0, "NALTREXONE HYDROCHLORIDE", "REVIA"), (1, "Warfarin Sodium", "Coumadin")])


def _answer(question: str, standalone: str | None = None) -> Answer:
    return Answer(
        question=question,
        standalone_question=standalone or question,
        sections=[Section(key="guidelines", title="From the Guidelines", abstained=True, message="none")],
        disclaimer="d",
        backend=Backend(composer="extractive"),
    )


def _turn(question: str) -> Turn:
    return Turn(
        conversation_id="c",
        turn=1,
        question=question,
        standalone_question=question,
        audience="clinician",
        created_at="2026-01-01T00:00:00",
        answer=_answer(question),
    )


@pytest.mark.parametrize(
    ("follow_up", "expected"),
    [
        ("what about the dose?", "Regarding low-dose naltrexone: what about the dose?"),
        ("And in pregnancy?", "Regarding low-dose naltrexone: And in pregnancy?"),
        ("Is it safe with alcohol?", "Is low-dose naltrexone safe with alcohol?"),
    ],
)
def test_follow_up_inherits_drug_from_previous_turn(follow_up: str, expected: str) -> None:
    history = [_turn("What are the benefits of low-dose naltrexone?")]
    assert condense_rules(follow_up, history, LEX) == expected


def test_a_new_standalone_question_is_left_alone() -> None:
    history = [_turn("What are the benefits of low-dose naltrexone?")]
    assert condense("What is the dose of warfarin?", history, LEX) == (
        "What is the dose of warfarin?",
        "none",
    )
    assert condense("what about the dose?", [], LEX) == ("what about the dose?", "none")


def test_topic_without_a_drug_is_carried_as_words() -> None:
    history = [_turn("Should adults be screened for depression?")]
    out = condense_rules("how often?", history, LEX)
    assert out.startswith("Regarding ")
    assert "depression" in out


def test_store_survives_reopen_and_keeps_turn_order(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "c.sqlite3")
    cid = store.create()
    first = store.append(cid, _answer("q1"))
    second = store.append(cid, _answer("q2"))
    assert (first.turn, second.turn) == (1, 2)
    store.close()
    reopened = ConversationStore(tmp_path / "c.sqlite3")
    assert [t.question for t in reopened.turns(cid)] == ["q1", "q2"]
    assert reopened.turns(cid, last=1)[0].question == "q2"
    assert reopened.delete(cid)
    with pytest.raises(ConversationNotFound):
        reopened.turns(cid)


def test_concurrent_follow_ups_lose_nothing(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "c.sqlite3")
    cid = store.create()

    def worker(i: int) -> None:
        for j in range(10):
            store.append(cid, _answer(f"q{i}-{j}"))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    turns = store.turns(cid)
    assert [t.turn for t in turns] == list(range(1, 41))
    assert len({t.question for t in turns}) == 40


def test_append_to_unknown_conversation_fails(tmp_path: Path) -> None:
    with pytest.raises(ConversationNotFound):
        ConversationStore(tmp_path / "c.sqlite3").append("nope", _answer("q"))
