from __future__ import annotations

import pytest

from app.retrieval import rrf


def test_rrf_rewards_agreement_between_rankings() -> None:
    fused = rrf([[1, 2, 3], [3, 1, 4]], k=60)
    order = sorted(fused, key=lambda r: -fused[r])
    assert order[0] == 1  # ranks 1 and 2
    assert order[1] == 3  # ranks 3 and 1
    assert fused[1] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[4] == pytest.approx(1 / 63)


def test_rrf_weights_and_k() -> None:
    fused = rrf([[1], [2]], k=1, weights=[2.0, 1.0])
    assert fused == {1: 1.0, 2: 0.5}


def test_rrf_of_nothing_is_empty() -> None:
    assert rrf([[], []]) == {}
