"""The ci suite's relevance part on the shipped index: Curbside's extractive answers meet the relevance
thresholds, and both trivial baselines, measured on the same questions, miss them."""

from __future__ import annotations

import pytest

from app.answer.engine import AnswerEngine
from app.index.builder import current_dir
from app.index.search_index import SearchIndex
from app.retrieval import Retriever
from app.settings import Settings
from eval.relevance import BASELINES, evaluate
from eval.suites import Suite
from eval.thresholds import check_thresholds

pytestmark = pytest.mark.slow


def test_ci_relevance_part_meets_its_thresholds_and_trivial_baselines_do_not() -> None:
    settings = Settings()
    if not (current_dir(settings) / "manifest.json").exists():
        pytest.skip("the shipped index is not built: run `make index` (make test builds it first)")
    suite = Suite.load("ci")
    spec = suite.relevance
    assert spec is not None, "the ci suite has no relevance part"
    engine = AnswerEngine(settings, Retriever(SearchIndex.load(settings), settings.retrieval), llm=None)
    report = evaluate(engine, sets=spec.sets, split=spec.split, limit=spec.sample or None, seed=suite.seed)

    for name in spec.sets:
        assert report["sets"][name]["questions"] == spec.sample, (
            f"{name}: questions without gold in the index"
        )
        assert report["sets"][name]["ceiling"]["hit@10"] is not None
    assert report["abstention"]["systems"]["curbside"]["sections"] == 3 * report["abstention"]["questions"]
    assert report["abstention_curve"]["operating_point"]["abstention_rate"] >= 0.95

    def relevance_checks(system: str) -> list[str]:
        checks = check_thresholds(suite, {"relevance": report}, relevance_system=system)
        return [str(c) for c in checks if c.scope == "relevance" and not c.ok]

    assert not relevance_checks("curbside"), "\n".join(relevance_checks("curbside"))
    for baseline in BASELINES:
        assert relevance_checks(baseline), f"the trivial {baseline} passes every ci relevance threshold"
