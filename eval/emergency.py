"""Emergency detection scored on eval/data/emergency.jsonl (written for this project, see SOURCES.md).

    python -m app.cli eval emergency [--split all|train|validation]

Prints the confusion matrix, recall and precision of ``detect_emergency`` (targets: recall 1.0, precision
≥ 0.95), the category accuracy on true emergencies, and two trivial baselines: "every question is an
emergency" and "a question naming an alarming word (chest pain, overdose, stroke, suicide, bleeding,
seizure, anaphylaxis) is one". Each question records when it was written (``written``): before the
patterns, after the first patterns (then used to tune them), after that tuning. The honest held-out figures
are those measured on each batch before it was used for tuning (see eval/README.md / the PR report); the
train/validation split (30% by question hash) is printed too, but one person wrote both questions and
patterns, so it is not independent.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.answer.emergency import detect_emergency
from eval.datasets import DATA, read_jsonl, split_of_question

EMERGENCY_SET = DATA / "emergency.jsonl"
RECALL_TARGET = 1.0
PRECISION_TARGET = 0.95
_ALARM = re.compile(
    r"chest pain|overdos|stroke|suicid|bleed|seizure|anaphyla|poison|not breathing|swallowed", re.I
)


@dataclass
class Confusion:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0


def rows(split: str = "all") -> list[dict[str, Any]]:
    items = read_jsonl(EMERGENCY_SET)
    return [r for r in items if split == "all" or split_of_question(r["qid"], r) == split]


def confusion(items: list[dict[str, Any]], predict: Callable[[str], bool]) -> Confusion:
    c = Confusion()
    for r in items:
        p, gold = predict(r["question"]), bool(r["emergency"])
        c.tp += p and gold
        c.fp += p and not gold
        c.fn += (not p) and gold
        c.tn += (not p) and not gold
    return c


def evaluate(split: str = "all") -> tuple[str, bool]:
    """The report, and whether the targets are met."""
    items = rows(split)
    c = confusion(items, lambda q: detect_emergency(q) is not None)
    emergencies = [r for r in items if r["emergency"]]
    right_cat = sum(
        1
        for r in emergencies
        if (n := detect_emergency(r["question"])) is not None and n.category == r["category"]
    )
    every = confusion(items, lambda q: True)
    alarm = confusion(items, lambda q: bool(_ALARM.search(q)))
    lines = [
        f"Emergency detection, {split} split: {len(emergencies)} emergencies, "
        f"{len(items) - len(emergencies)} look-alikes",
        "",
        "|  | predicted emergency | predicted not |",
        "|---|---|---|",
        f"| emergency | {c.tp} | {c.fn} |",
        f"| look-alike | {c.fp} | {c.tn} |",
        "",
        "| detector | recall | precision |",
        "|---|---|---|",
        f"| detect_emergency | {c.recall:.3f} | {c.precision:.3f} |",
        f"| baseline: every question | {every.recall:.3f} | {every.precision:.3f} |",
        f"| baseline: alarming word | {alarm.recall:.3f} | {alarm.precision:.3f} |",
        "",
        f"category right on {right_cat}/{len(emergencies)} emergencies; "
        f"targets: recall {RECALL_TARGET}, precision ≥ {PRECISION_TARGET}",
    ]
    stages = sorted({str(r.get("written", "before_patterns")) for r in items})
    if len(stages) > 1:
        lines += [
            "",
            "| questions written | emergencies | look-alikes | recall | precision |",
            "|---|---|---|---|---|",
        ]
        for stage in stages:
            part = [r for r in items if r.get("written", "before_patterns") == stage]
            pc = confusion(part, lambda q: detect_emergency(q) is not None)
            n_em = sum(1 for r in part if r["emergency"])
            lines.append(f"| {stage} | {n_em} | {len(part) - n_em} | {pc.recall:.3f} | {pc.precision:.3f} |")
    misses = [
        r["qid"] for r in items if (detect_emergency(r["question"]) is not None) != bool(r["emergency"])
    ]
    if misses:
        lines.append("misclassified: " + ", ".join(misses))
    ok = c.recall >= RECALL_TARGET and c.precision >= PRECISION_TARGET
    return "\n".join(lines), ok
