from __future__ import annotations

import threading
from pathlib import Path

import pytest

from app.conversation import ConversationNotFound, ConversationStore
from app.schema import Answer, Backend, Section


def _answer(question: str, standalone: str | None = None) -> Answer:
    return Answer(
        question=question,
        standalone_question=standalone or question,
        sections=[Section(key="guidelines", title="From the Guidelines", abstained=True, message="none")],
        disclaimer="d",
        backend=Backend(composer="extractive"),
    )


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
