"""Reproducible tuning of the lexical judge: a small grid, scored on the calibration sets' *tune* split only.

    python -m eval.judges.tune_lexical

prints the best settings by mean three-way balanced accuracy (HealthVer, K-QA NLI, ExpertQA; tune split),
then — only for the chosen settings, for the record — the held-out figures. The defaults in
``LexicalParams`` are what this printed; change them only by re-running it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from eval.judges.calibration import load_sets, score_pairs, summarise
from eval.judges.lexical import LexicalJudge, LexicalParams

MIN_OVERLAP = (0.3, 0.4, 0.5, 0.6, 0.7)
CONTRADICT_OVERLAP = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
JOIN = (False, True)


def objective(params: LexicalParams, split: str) -> tuple[float, dict[str, float]]:
    judge = LexicalJudge(params)
    per_set = {}
    for name, (pairs, _) in load_sets().items():
        chosen = [p for p in pairs if p.split == split]
        per_set[name] = summarise(score_pairs(judge, chosen))["three_way"]["balanced_accuracy"] or 0.0
    return sum(per_set.values()) / len(per_set), per_set


def main(argv: Sequence[str] | None = None) -> int:
    results = []
    for mo, co, join in itertools.product(MIN_OVERLAP, CONTRADICT_OVERLAP, JOIN):
        params = LexicalParams(min_overlap=mo, contradict_overlap=co, join_identifiers=join)
        score, per_set = objective(params, "tune")
        results.append((score, params, per_set))
    results.sort(key=lambda r: -r[0])
    print("top settings on the tune split (mean three-way balanced accuracy):")
    for score, params, per_set in results[:8]:
        sets = ", ".join(f"{k} {v:.3f}" for k, v in per_set.items())
        print(f"  {score:.4f}  {params}  ({sets})")
    guard_check = LexicalParams(min_overlap=0.6, detect_contradictions=False, join_identifiers=False)
    print(
        "guard's check as is (min_overlap 0.6, no contradictions): "
        f"tune {objective(guard_check, 'tune')[0]:.4f}"
    )
    best = results[0][1]
    for name, params in (("chosen", best), ("guard's check as is", guard_check)):
        held = objective(params, "holdout")
        print(f"{name}: held-out {held[0]:.4f} " + str({k: round(v, 3) for k, v in held[1].items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
