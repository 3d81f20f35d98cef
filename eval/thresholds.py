"""Thresholds (``eval/thresholds.toml``): one table per suite, one sub-table per scope.

    [ci.extractive]
    citation_recall = { min = 0.97 }
    dangling_citations = { max = 0 }
    [ci.retrieval]
    "hybrid.recall@10" = { min = 0.5 }

Scopes: a system (``extractive``, ``generative_guarded``, ``generative_unguarded``: its metrics),
``retrieval`` (``<method>.<metric>`` of the mean over the retrieval sets), ``calibration``
(``<set>.<figure>`` of the judge's held-out calibration) and ``relevance`` (``<set>.<metric>``,
``mean.<metric>`` or ``abstention.abstention_rate`` of Curbside's extractive answers, see
``eval/relevance.py::lookup``; ``relevance_system`` checks a baseline's figures instead). A threshold
whose metric was not measured fails; one whose scope was not run (e.g. ``--composer extractive``) is
reported as skipped.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.suites import Suite


@dataclass(frozen=True)
class Check:
    scope: str
    metric: str
    op: str  # "min" or "max"
    threshold: float
    value: float | None
    ok: bool
    skipped: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "metric": self.metric,
            "op": self.op,
            "threshold": self.threshold,
            "value": self.value,
            "ok": self.ok,
            "skipped": self.skipped,
        }

    def __str__(self) -> str:
        sign = "≥" if self.op == "min" else "≤"
        state = "skipped (not run)" if self.skipped else ("ok" if self.ok else "FAILED")
        return f"{self.scope}.{self.metric} = {self.value} (needs {sign} {self.threshold}): {state}"


def load_thresholds(path: Path, suite_name: str) -> dict[str, dict[str, dict[str, float]]]:
    if not path.exists():
        raise ValueError(f"thresholds file {path} (named by the suite) does not exist")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    table = data.get(suite_name)
    if table is None:
        raise ValueError(f"{path} has no [{suite_name}] thresholds; add a [{suite_name}.<scope>] table")
    return table  # type: ignore[no-any-return]


def lookup(
    report: dict[str, Any], scope: str, metric: str, relevance_system: str = "curbside"
) -> tuple[bool, float | None]:
    """(scope was run, value) for one threshold."""
    if scope == "relevance":
        from eval.relevance import lookup as relevance_lookup

        rel = report.get("relevance")
        if not rel:
            return False, None
        return True, relevance_lookup(rel, metric, relevance_system)
    if scope == "retrieval":
        r = report.get("retrieval")
        if not r:
            return False, None
        method, _, name = metric.partition(".")
        return True, r.get("mean", {}).get(method, {}).get(name)
    if scope == "calibration":
        c = report.get("calibration")
        if not c:
            return False, None
        dataset, _, name = metric.partition(".")
        return True, c.get("headline", {}).get(dataset, {}).get(name)
    system = report.get("systems", {}).get(scope)
    if system is None:
        return False, None
    value = system["metrics"].get(metric)
    return True, value if isinstance(value, int | float) else None


def check_thresholds(
    suite: Suite, report: dict[str, Any], *, relevance_system: str = "curbside"
) -> list[Check]:
    path = suite.thresholds_path
    if path is None:
        return []
    checks = []
    for scope, metrics in load_thresholds(path, suite.name).items():
        for metric, bounds in metrics.items():
            ran, value = lookup(report, scope, metric, relevance_system)
            for op in ("min", "max"):
                if op not in bounds:
                    continue
                limit = float(bounds[op])
                if not ran:
                    checks.append(Check(scope, metric, op, limit, None, True, skipped=True))
                    continue
                ok = value is not None and (value >= limit - 1e-9 if op == "min" else value <= limit + 1e-9)
                checks.append(Check(scope, metric, op, limit, value, ok))
    return checks
