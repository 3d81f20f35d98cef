"""The rate thresholds can fail: a composer that abstains on every question misses them."""

from __future__ import annotations

from eval.judges.lexical import LexicalJudge
from eval.metrics import AnswerView, SectionView
from eval.runner import score_system
from eval.suites import Suite, load_questions
from eval.thresholds import load_thresholds, lookup


def test_an_always_abstaining_composer_fails_the_ci_rate_thresholds() -> None:
    suite = Suite.load("ci")
    questions, _ = load_questions(suite)
    views = [
        AnswerView(
            qid=q.qid,
            question=q.question,
            system="always-abstain",
            sections=[SectionView(key=k, abstained=True) for k in ("guidelines", "fda_label", "research")],
            retrieved={},
        )
        for q in questions
    ]
    metrics = score_system("always-abstain", views, {q.qid: q for q in questions}, LexicalJudge()).metrics
    limits = load_thresholds(suite.thresholds_path, "ci")  # type: ignore[arg-type]
    for scope in ("extractive", "generative_guarded"):
        report = {"systems": {scope: {"metrics": metrics}}}
        missed = []
        for metric, bounds in limits[scope].items():
            ran, value = lookup(report, scope, metric)
            assert ran
            if "min" in bounds and (value is None or value < float(bounds["min"])):
                missed.append(metric)
        assert "answer_rate" in missed, scope  # it abstains everywhere, even where an answer was expected
        if scope == "extractive":
            assert "kqa_comprehensiveness" in missed
