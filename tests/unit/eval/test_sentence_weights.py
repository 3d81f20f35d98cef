"""The sentence-weights measurement: its ranking metrics on hand-built candidates, and a learned scorer that
recovers a feature which decides gold, scored out of fold."""

from __future__ import annotations

import pytest

from app.answer.extractive import SENTENCE_WEIGHTS
from eval.sentence_weights import Row, content_share, evaluate, hand_scores, out_of_fold, rank_metrics


def _row(qid: str, order: int, gold: bool, terms: str = "", human: str = "", **features: float) -> Row:
    f = dict.fromkeys(SENTENCE_WEIGHTS, 0.0) | features
    return Row(qid, "s", order, f, gold, frozenset(terms.split()), frozenset(human.split()))


def test_ranking_metrics_count_the_top_sentences_of_each_question() -> None:
    rows = [
        _row("q1", 0, False, "a b", "a b c d"),
        _row("q1", 1, True, "c", "a b c d"),
        _row("q1", 2, True, "d", "a b c d"),
        _row("q1", 3, True, "x", "a b c d"),
        _row("q2", 0, False, "y", "z"),
        _row("q2", 1, False, "z", "z"),
    ]
    # q1: the gold "x" first, then "c", then "a b"; q2: "y" first (ties keep the composer's order).
    m = rank_metrics(rows, [0.0, 1.0, -1.0, 2.0, 0.0, 0.0])
    assert m["questions"] == 2
    assert m["top1_gold"] == pytest.approx(0.5)
    assert m["precision@3"] == pytest.approx((2 / 3 + 0) / 2)
    assert m["any_gold@3"] == pytest.approx(0.5)
    assert m["content_recall@3"] == pytest.approx((3 / 4 + 1) / 2)
    assert content_share(rows[0]) == pytest.approx(0.5)


def test_a_learned_scorer_finds_the_feature_that_decides_gold_without_seeing_the_question() -> None:
    rows = []
    for q in range(10):
        # the composer lists the gold sentence last; only "phrase" tells it apart
        rows += [_row(f"q{q}", i, False, position=float(i)) for i in range(3)]
        rows.append(_row(f"q{q}", 3, True, position=3.0, phrase=1.0))
    learned = rank_metrics(rows, out_of_fold(rows, 1.0))
    order = rank_metrics(rows, [-float(r.order) for r in rows])
    assert learned["top1_gold"] == pytest.approx(1.0)
    assert order["top1_gold"] == pytest.approx(0.0)
    expected = SENTENCE_WEIGHTS["phrase"] + 3 * SENTENCE_WEIGHTS["position"]
    assert hand_scores(rows[3:4]) == [pytest.approx(expected)]
    report = evaluate(rows)
    scorers = report["sets"]["s"]
    assert {"hand weights (shipped)", "passage order (trivial)", "random (trivial)"} <= set(scorers)
    assert scorers["hand weights (shipped)"]["top1_gold"] == pytest.approx(1.0)
    assert report["learned_weights"]["phrase"] > 0


def test_on_validation_the_learned_scorers_are_fitted_on_the_train_rows_only() -> None:
    train = []
    for q in range(6):
        train += [_row(f"t{q}", i, False) for i in range(2)]
        train.append(_row(f"t{q}", 2, True, phrase=1.0))
    # validation questions whose gold sentence says nothing the train rows taught to look for
    validation = [_row("v0", 0, True), _row("v0", 1, False, phrase=1.0)]
    report = evaluate(validation, train)
    assert report["learned_on"] == "the train split"
    assert report["sets"]["s"]["learned (cites gold), C=1.0"]["top1_gold"] == 0.0
    assert report["learned_weights"]["phrase"] > 0
