"""Relevance features (the question's wording repeated as phrases) and the model: trees walked as scikit-learn
does, the shipped files checked against their manifest."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from app.answer.relevance import MODEL_DIR, RelevanceError, RelevanceModel, phrase_coverage
from app.index.lexical import analyze


def testphrase_coverage_counts_the_questions_wording_said_as_phrases() -> None:
    question = "What is the usual starting dose of metformin?"
    said = analyze("The usual starting dose of metformin hydrochloride tablets is 500 mg twice a day.")
    scattered = analyze("Start metformin at a low dose; the usual goal is glycemic control.")
    assert phrase_coverage(question, said) == 1.0
    assert phrase_coverage(question, scattered) == 0.0


def _stump_model() -> dict[str, object]:
    """Two hand-written trees over a two-feature model: tree 0 splits on feature 1 at 0.5, tree 1 on feature 0
    at 2.0 (left child deeper: another split on feature 1 at 0.8)."""
    return {
        "features": ["a", "b"],
        "kind": "trees",
        "baseline": -1.0,
        "depth": 2,
        "trees": [
            {
                "feature": [1, 0, 0],
                "threshold": [0.5, 0.0, 0.0],
                "left": [1, 0, 0],
                "right": [2, 0, 0],
                "value": [0.0, -0.5, 1.5],
                "leaf": [False, True, True],
            },
            {
                "feature": [0, 1, 0, 0, 0],
                "threshold": [2.0, 0.8, 0.0, 0.0, 0.0],
                "left": [1, 3, 0, 0, 0],
                "right": [2, 4, 0, 0, 0],
                "value": [0.0, 0.0, 2.0, 0.25, -0.25],
                "leaf": [False, False, True, True, True],
            },
        ],
    }


def test_trees_walk_every_row_to_its_leaves_and_add_their_log_odds() -> None:
    model = RelevanceModel.of(_stump_model())
    rows = [[1.0, 0.5], [1.0, 0.9], [3.0, 0.1], [2.0, 0.8]]
    # (tree 0 leaf) + (tree 1 leaf) + baseline, row by row; ties go left (x <= threshold).
    expected = [-0.5 + 0.25 - 1.0, 1.5 - 0.25 - 1.0, -0.5 + 2.0 - 1.0, 1.5 + 0.25 - 1.0]
    assert model.trees is not None
    assert np.allclose(model.trees.log_odds(np.asarray(rows)), expected)
    assert np.allclose(model.probabilities(rows), 1 / (1 + np.exp(-np.asarray(expected))))


def test_exported_trees_give_scikit_learns_probabilities() -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier

    from eval.train_relevance import export_trees

    rng = np.random.default_rng(3)
    x = rng.normal(size=(600, 4))
    y = (x[:, 0] + 0.5 * x[:, 1] * x[:, 2] + rng.normal(scale=0.3, size=600) > 0).astype(int)
    fitted = HistGradientBoostingClassifier(max_iter=20, max_leaf_nodes=7, early_stopping=False).fit(x, y)
    data = json.loads(json.dumps({"features": list("abcd"), "kind": "trees", **export_trees(fitted)}))
    ours = RelevanceModel.of(data).probabilities(x.tolist())
    assert np.allclose(ours, fitted.predict_proba(x)[:, 1], atol=1e-6)


def test_the_shipped_model_loads_and_a_changed_file_refuses_to(tmp_path: Path) -> None:
    model = RelevanceModel.load()
    assert 0.0 <= model.probabilities([[1.0] * len(model.names)])[0] <= 1.0
    for name in ("model.json", "manifest.json"):
        shutil.copy(MODEL_DIR / name, tmp_path / name)
    (tmp_path / "model.json").write_bytes((tmp_path / "model.json").read_bytes().replace(b"1", b"2", 1))
    with pytest.raises(RelevanceError, match="manifest"):
        RelevanceModel.load(tmp_path)
