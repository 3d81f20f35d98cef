"""How far a judge can be trusted: its verdicts against human labels.

Three labelled sets, each mapped onto the judge's labels (support / neutral / contradict):
- **HealthVer** (claim ↔ evidence sentence): supports → support, refutes → contradict, neutral → neutral.
- **K-QA NLI** (gold statement ↔ an LLM's answer, physician majority label): entail → support,
  contradict → contradict, neutral → neutral.
- **ExpertQA medicine** (answer claim ↔ the evidence its system cited): complete → support; partial and
  incomplete → neutral (the evidence does not support the whole claim, which is what citation recall asks);
  missing → neutral. Claims without evidence text (the system cited URLs only) and those judged ``n/a``
  (needing no support) are left out and counted. ExpertQA has no contradiction label.

Every set is split in two by a hash of its topic (HealthVer) or question (K-QA, ExpertQA): **tune** and
**held-out**. Judge parameters are tuned on the tune split only; the held-out figures are the honest ones.

Figures: accuracy, balanced accuracy (mean recall over the gold classes present), macro-F1 (over the same
classes), Cohen's κ, the 3×3 confusion matrix (rows gold, columns judge), and the same for the binary
decision that citation recall rests on: support vs not.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from app.index.cache import file_sha256
from eval.datasets import DATA, read_jsonl
from eval.judges.base import LABELS, Judge, Label

Split = Literal["tune", "holdout"]
SPLITS: tuple[Split, ...] = ("tune", "holdout")
SPLIT_SALT = "curbside-calibration-v1"


@dataclass(frozen=True)
class Pair:
    """One human-labelled (statement, passages) pair."""

    id: str
    dataset: str
    statement: str
    passages: tuple[str, ...]
    gold: Label
    raw_label: str
    group: str  # what the split is drawn on (a topic or a question)

    @property
    def split(self) -> Split:
        return split_of(self.dataset, self.group)


def split_of(dataset: str, group: str) -> Split:
    digest = hashlib.sha256(f"{SPLIT_SALT}:{dataset}:{group}".encode()).digest()
    return "tune" if digest[0] % 2 == 0 else "holdout"


HEALTHVER = {"supports": "support", "refutes": "contradict", "neutral": "neutral"}
KQA = {"entail": "support", "contradict": "contradict", "neutral": "neutral"}
EXPERTQA = {"complete": "support", "partial": "neutral", "incomplete": "neutral", "missing": "neutral"}
_MARKER = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")


def load_healthver(path: Path) -> tuple[list[Pair], dict[str, int]]:
    pairs = [
        Pair(
            id=r["id"],
            dataset="healthver",
            statement=r["claim"].strip(),
            passages=(r["evidence"],),
            gold=HEALTHVER[r["label"]],  # type: ignore[arg-type]
            raw_label=r["label"],
            group=str(r["topic"]),
        )
        for r in read_jsonl(path)
    ]
    return pairs, {}


def load_kqa_nli(path: Path) -> tuple[list[Pair], dict[str, int]]:
    pairs = [
        Pair(
            id=r["id"],
            dataset="kqa_nli",
            statement=r["claim"].strip(),
            passages=(r["premise"],),
            gold=KQA[r["label"]],  # type: ignore[arg-type]
            raw_label=r["label"],
            group=r["qid"] or r["question"],
        )
        for r in read_jsonl(path)
    ]
    return pairs, {}


def load_expertqa(path: Path) -> tuple[list[Pair], dict[str, int]]:
    pairs: list[Pair] = []
    left_out = {"no evidence text": 0, "support n/a or missing label": 0}
    for r in read_jsonl(path):
        support = r.get("support")
        if support not in EXPERTQA:
            left_out["support n/a or missing label"] += 1
            continue
        texts = [e["text"] for e in r.get("evidence") or [] if e.get("text")]
        if not texts:
            left_out["no evidence text"] += 1
            continue
        pairs.append(
            Pair(
                id=r["id"],
                dataset="expertqa",
                statement=_MARKER.sub("", r["claim"]).strip(),
                passages=tuple(texts),
                gold=EXPERTQA[support],  # type: ignore[arg-type]
                raw_label=support,
                group=r["qid"],
            )
        )
    return pairs, left_out


def load_covidfact(path: Path) -> tuple[list[Pair], dict[str, int]]:
    """COVID-Fact: a real claim, or a word-substituted counter-claim, against the evidence retrieved for the
    original claim. Split on the evidence text, so a claim and its counter-claims fall on the same side."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    pairs = [
        Pair(
            id=r["id"],
            dataset="covidfact",
            statement=r["hypothesis"].strip(),
            passages=(r["premise"],),
            gold=r["label"],
            raw_label=r["label"],
            group=hashlib.sha256(r["premise"].encode()).hexdigest()[:16],
        )
        for r in rows
    ]
    return pairs, {}


CALIBRATION_SETS: dict[str, tuple[str, Callable[[Path], tuple[list[Pair], dict[str, int]]], str]] = {
    "healthver": ("faithfulness/healthver_dev.jsonl", load_healthver, "HealthVer dev"),
    "kqa_nli": ("faithfulness/kqa_nli_labels.jsonl", load_kqa_nli, "K-QA NLI"),
    "expertqa": ("faithfulness/expertqa_med.jsonl", load_expertqa, "ExpertQA medicine"),
    "covidfact": ("nli/covidfact.jsonl.gz", load_covidfact, "COVID-Fact"),
}


# -- agreement figures ------------------------------------------------------------------------------------


def confusion(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> list[list[int]]:
    index = {lab: i for i, lab in enumerate(labels)}
    m = [[0] * len(labels) for _ in labels]
    for g, p in zip(gold, pred, strict=True):
        m[index[g]][index[p]] += 1
    return m


def agreement(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy, balanced accuracy, macro-F1 (both over the gold classes present), Cohen's κ, confusion."""
    n = len(gold)
    m = confusion(gold, pred, labels)
    if n == 0:
        return {
            "n": 0,
            "accuracy": None,
            "balanced_accuracy": None,
            "macro_f1": None,
            "kappa": None,
            "recall": dict.fromkeys(labels),
            "confusion": m,
            "labels": list(labels),
        }
    present = [i for i in range(len(labels)) if sum(m[i]) > 0]
    recalls, f1s = [], []
    for i in present:
        tp = m[i][i]
        row = sum(m[i])
        col = sum(m[j][i] for j in range(len(labels)))
        recall = tp / row
        precision = tp / col if col else 0.0
        recalls.append(recall)
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    po = sum(m[i][i] for i in range(len(labels))) / n
    pe = sum((sum(m[i]) / n) * (sum(m[j][i] for j in range(len(labels))) / n) for i in range(len(labels)))
    kappa = (po - pe) / (1 - pe) if pe < 1 else (1.0 if po == 1 else 0.0)
    return {
        "n": n,
        "accuracy": round(po, 4),
        "balanced_accuracy": round(sum(recalls) / len(recalls), 4),
        "macro_f1": round(sum(f1s) / len(f1s), 4),
        "kappa": round(kappa, 4),
        "recall": {
            lab: (round(m[i][i] / sum(m[i]), 4) if sum(m[i]) else None) for i, lab in enumerate(labels)
        },
        "confusion": m,
        "labels": list(labels),
    }


def binary(labels: Iterable[str]) -> list[str]:
    return ["support" if lab == "support" else "not" for lab in labels]


@dataclass
class Scored:
    pair: Pair
    label: Label
    reason: str


def score_pairs(
    judge: Judge, pairs: Sequence[Pair], progress: Callable[[int], None] | None = None
) -> list[Scored]:
    many = getattr(judge, "support_many", None)
    if many is not None:  # a judge that batches (the NLI model) scores every pair in one call
        verdicts = many([(p.statement, p.passages) for p in pairs])
        return [Scored(p, v.label, v.reason) for p, v in zip(pairs, verdicts, strict=True)]
    out = []
    for i, pair in enumerate(pairs):
        verdict = judge.support(pair.statement, pair.passages)
        out.append(Scored(pair, verdict.label, verdict.reason))
        if progress is not None:
            progress(i + 1)
    return out


def majority(gold: Sequence[str]) -> str:
    """The most frequent gold label (ties: in LABELS order)."""
    return max(LABELS, key=lambda lab: (gold.count(lab), -LABELS.index(lab)))


def baselines(gold: Sequence[str]) -> dict[str, dict[str, Any]]:
    """What a constant judge scores on these pairs: the trivial floor every figure is read against."""
    out: dict[str, dict[str, Any]] = {}
    for name, label in (("majority", majority(gold) if gold else "neutral"), ("always_support", "support")):
        three = agreement(gold, [label] * len(gold), LABELS)
        two = agreement(binary(gold), binary([label] * len(gold)), ("support", "not"))
        out[name] = {
            "label": label,
            "accuracy": three["accuracy"],
            "balanced_accuracy": three["balanced_accuracy"],
            "kappa": three["kappa"],
            "binary_balanced_accuracy": two["balanced_accuracy"],
            "support_recall": three["recall"]["support"],
        }
    return out


def summarise(scored: Sequence[Scored]) -> dict[str, Any]:
    gold = [s.pair.gold for s in scored]
    pred = [s.label for s in scored]
    return {
        "three_way": agreement(gold, pred, LABELS),
        "binary": agreement(binary(gold), binary(pred), ("support", "not")),
        "baselines": baselines(gold),
        "gold_counts": {lab: gold.count(lab) for lab in LABELS},
        "judge_counts": {lab: pred.count(lab) for lab in LABELS},
    }


def load_sets(names: Sequence[str] | None = None) -> dict[str, tuple[list[Pair], dict[str, int]]]:
    return {
        name: CALIBRATION_SETS[name][1](DATA / CALIBRATION_SETS[name][0])
        for name in names or CALIBRATION_SETS
    }


def calibrate(
    judge: Judge,
    *,
    sets: Sequence[str] | None = None,
    limit: int | None = None,
    seed: int = 13,
    holdout_only: bool = False,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The judge against every labelled set, per split and overall. ``limit`` samples each set (seeded);
    ``holdout_only`` scores the held-out split only (the figures reported; the tune split is what a trained
    judge learnt from)."""
    out: dict[str, Any] = {
        "judge": judge.describe(),
        "limit": limit,
        "seed": seed,
        "holdout_only": holdout_only,
        "sets": {},
    }
    started = time.perf_counter()
    for name, (every, left_out) in load_sets(sets).items():
        rel, _, title = CALIBRATION_SETS[name]
        pairs = [p for p in every if p.split == "holdout"] if holdout_only else every
        chosen = pairs if limit is None or limit >= len(pairs) else random.Random(seed).sample(pairs, limit)
        t = time.perf_counter()
        scored = score_pairs(judge, chosen)
        entry: dict[str, Any] = {
            "title": title,
            "file": f"eval/data/{rel}",
            "sha256": file_sha256(DATA / rel),
            "pairs": len(chosen),
            "left_out": left_out,
            "seconds": round(time.perf_counter() - t, 2),
            "all": summarise(scored),
        }
        for split in SPLITS:
            entry[split] = summarise([s for s in scored if s.pair.split == split])
        entry["errors"] = examples(scored)
        out["sets"][name] = entry
        if log is not None:
            a = entry["holdout"]["three_way"]
            log(
                f"{name}: {len(chosen)} pairs, held-out balanced accuracy {a['balanced_accuracy']}, "
                f"κ {a['kappa']}"
            )
    out["judge"] = judge.describe()  # again: a judge that counts its calls and failures has them now
    out["seconds"] = round(time.perf_counter() - started, 2)
    out["headline"] = headline(out)
    return out


def examples(scored: Sequence[Scored], per_cell: int = 2) -> list[dict[str, str]]:
    """A few disagreements per (gold, judge) cell, for a person to read."""
    seen: dict[tuple[str, str], int] = {}
    out = []
    for s in scored:
        if s.label == s.pair.gold:
            continue
        cell = (s.pair.gold, s.label)
        if seen.get(cell, 0) >= per_cell:
            continue
        seen[cell] = seen.get(cell, 0) + 1
        out.append(
            {
                "id": s.pair.id,
                "gold": s.pair.gold,
                "judge": s.label,
                "statement": s.pair.statement,
                "reason": s.reason,
            }
        )
    return out


def headline(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The figures printed beside every faithfulness score: held-out split, per set."""
    out = {}
    for name, entry in report["sets"].items():
        h = entry["holdout"]
        recall = h["three_way"]["recall"]
        out[name] = {
            "n": h["three_way"]["n"],
            "balanced_accuracy": h["three_way"]["balanced_accuracy"],
            "macro_f1": h["three_way"]["macro_f1"],
            "kappa": h["three_way"]["kappa"],
            "support_recall": recall["support"],
            "neutral_recall": recall["neutral"],
            "contradict_recall": recall["contradict"],
            "binary_balanced_accuracy": h["binary"]["balanced_accuracy"],
            "binary_kappa": h["binary"]["kappa"],
            "majority_label": h["baselines"]["majority"]["label"],
            "majority_balanced_accuracy": h["baselines"]["majority"]["balanced_accuracy"],
            "majority_accuracy": h["baselines"]["majority"]["accuracy"],
            "always_support_balanced_accuracy": h["baselines"]["always_support"]["balanced_accuracy"],
        }
    return out


def _f(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


def markdown(report: dict[str, Any]) -> str:
    """Tables: per set and split, the figures; then each set's held-out confusion matrix."""
    lines = [
        f"Judge: `{report['judge']['name']}` — "
        + ", ".join(f"{k}={v}" for k, v in report["judge"].items() if k != "name"),
        "",
        "| set | split | pairs | accuracy | balanced acc. | macro-F1 | Cohen's κ "
        "| binary bal. acc. | binary κ |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    splits = ("holdout",) if report.get("holdout_only") else ("holdout", "tune", "all")
    for entry in report["sets"].values():
        for split in splits:
            t, b = entry[split]["three_way"], entry[split]["binary"]
            lines.append(
                f"| {entry['title']} | {split} | {t['n']} | {_f(t['accuracy'])} "
                f"| {_f(t['balanced_accuracy'])} | {_f(t['macro_f1'])} | {_f(t['kappa'])} "
                f"| {_f(b['balanced_accuracy'])} | {_f(b['kappa'])} |"
            )
    lines += ["", baseline_table(report)]
    for entry in report["sets"].values():
        m = entry["holdout"]["three_way"]["confusion"]
        lines += [
            "",
            f"{entry['title']}, held-out — rows gold, columns judge:",
            "",
            "| gold \\ judge | support | neutral | contradict |",
            "|---|---:|---:|---:|",
        ]
        for lab, row in zip(LABELS, m, strict=True):
            lines.append(f"| {lab} | " + " | ".join(str(x) for x in row) + " |")
        if entry["left_out"]:
            lines.append("")
            lines.append("Left out: " + ", ".join(f"{k}: {v}" for k, v in entry["left_out"].items()))
    return "\n".join(lines)


def _r(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"


def baseline_table(report: dict[str, Any]) -> str:
    """Held-out: the judge's balanced accuracy, κ and per-class recall beside two constant judges'."""
    lines = [
        "Held-out split, beside trivial judges (a constant judge has κ 0 and balanced accuracy 1/classes):",
        "",
        "| set | pairs | balanced acc. | κ | recall support / neutral / contradict "
        "| majority class (acc. / bal. acc.) | always support (bal. acc.) |",
        "|---|---:|---:|---:|---|---|---:|",
    ]
    for name, h in report["headline"].items():
        title = report["sets"][name]["title"]
        lines.append(
            f"| {title} | {h['n']} | {_f(h['balanced_accuracy'])} | {_f(h['kappa'])} "
            f"| {_r(h['support_recall'])} / {_r(h['neutral_recall'])} / {_r(h['contradict_recall'])} "
            f"| {h['majority_label']} ({_f(h['majority_accuracy'])} / {_f(h['majority_balanced_accuracy'])}) "
            f"| {_f(h['always_support_balanced_accuracy'])} |"
        )
    return "\n".join(lines)
