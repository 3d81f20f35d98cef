"""Calibration thresholds that can fail: a constant judge misses them, and every figure has its baseline."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from eval.judges.base import Label, Verdict
from eval.judges.calibration import baseline_table, baselines, calibrate, majority
from eval.settings import EVAL_DIR
from eval.thresholds import load_thresholds, lookup


class ConstantJudge:
    """Says the same label whatever it is asked: the trivial judge every threshold must be above."""

    def __init__(self, label: Label) -> None:
        self.label = label
        self.name = f"always-{label}"

    def support(self, statement: str, passages: Sequence[str]) -> Verdict:
        return Verdict(self.label, 1.0 if self.label == "support" else 0.0, "constant")

    def describe(self) -> dict[str, Any]:
        return {"name": self.name}


@pytest.mark.parametrize("suite", ["ci", "full"])
@pytest.mark.parametrize("label", ["support", "neutral", "contradict"])
def test_a_constant_judge_fails_the_calibration_thresholds_of_every_set(suite: str, label: Label) -> None:
    """Each set's gate has a threshold a constant judge misses (balanced accuracy above 1/classes, κ above
    0); a support-recall threshold alone could be met by always-support, so it never stands alone."""
    limits = load_thresholds(EVAL_DIR / "thresholds.toml", suite)["calibration"]
    sets = sorted({metric.partition(".")[0] for metric in limits})
    report = {"calibration": calibrate(ConstantJudge(label), sets=sets, holdout_only=True)}
    for name in sets:
        missed = []
        for metric, bounds in limits.items():
            if metric.partition(".")[0] != name:
                continue
            ran, value = lookup(report, "calibration", metric)
            assert ran, metric
            assert value is not None, metric
            if value < float(bounds["min"]):
                missed.append(metric)
        assert missed, f"always-{label} passes every {suite}.calibration threshold of {name}"


def test_baselines_of_a_known_gold_list() -> None:
    gold = ["neutral"] * 6 + ["support"] * 3 + ["contradict"]
    assert majority(gold) == "neutral"
    b = baselines(gold)
    assert b["majority"]["accuracy"] == 0.6
    assert b["majority"]["balanced_accuracy"] == pytest.approx(1 / 3, abs=1e-4)
    assert b["majority"]["kappa"] == 0.0
    assert b["always_support"]["accuracy"] == 0.3
    assert b["always_support"]["support_recall"] == 1.0


def test_the_calibration_table_prints_baselines_and_per_class_recall() -> None:
    report = calibrate(ConstantJudge("support"), sets=["kqa_nli"], holdout_only=True)
    h = report["headline"]["kqa_nli"]
    assert h["support_recall"] == 1.0
    assert h["neutral_recall"] == 0.0
    assert h["kappa"] == 0.0
    assert report["sets"]["kqa_nli"]["tune"]["three_way"]["n"] == 0  # held-out only
    table = baseline_table(report)
    assert "majority class" in table
    assert "K-QA NLI" in table
    assert "1.00 / 0.00" in table
