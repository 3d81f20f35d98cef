"""Retrieval quality: recall@k, nDCG@10 and MRR for BM25, dense and hybrid, per question set."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.corpus.chunker import record_id_of
from app.index.cache import file_sha256
from app.retrieval import Filters, Method, Retriever
from app.schema import SourceType
from eval.datasets import DATA, RETRIEVAL_SETS, read_jsonl, sample

METHODS: tuple[Method, ...] = ("lexical", "dense", "hybrid")
METHOD_NAMES = {"lexical": "BM25", "dense": "dense", "hybrid": "hybrid"}


def recall_at(ranked: Sequence[str], gold: set[str], k: int) -> float:
    return len(gold.intersection(ranked[:k])) / len(gold) if gold else 0.0


def ndcg_at(ranked: Sequence[str], gold: set[str], k: int) -> float:
    dcg = sum(1.0 / math.log2(i + 2) for i, r in enumerate(ranked[:k]) if r in gold)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(gold), k)))
    return dcg / ideal if ideal else 0.0


def mrr(ranked: Sequence[str], gold: set[str]) -> float:
    for i, r in enumerate(ranked):
        if r in gold:
            return 1.0 / (i + 1)
    return 0.0


def unique_records(passage_ids: Iterable[str]) -> list[str]:
    """Passage ranking → record ranking (a record's rank is that of its best passage)."""
    return list(dict.fromkeys(record_id_of(p) for p in passage_ids))


@dataclass
class SetResult:
    name: str
    questions: int
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)  # method → metric → value
    ms_per_query: dict[str, float] = field(default_factory=dict)


def evaluate_set(
    retriever: Retriever,
    name: str,
    *,
    limit: int | None = None,
    k: int = 10,
    methods: Sequence[Method] = METHODS,
) -> SetResult:
    rel, source_type = RETRIEVAL_SETS[name]
    rows = [r for r in sample(read_jsonl(DATA / rel), limit) if r.get("gold_ids")]
    st: SourceType = source_type  # type: ignore[assignment]
    result = SetResult(name, len(rows))
    for method in methods:
        sums = {"recall@10": 0.0, "ndcg@10": 0.0, "mrr": 0.0}
        start = time.perf_counter()
        for row in rows:
            got = retriever.retrieve(
                row["question"], k=3 * k, method=method, filters=Filters(source_types=(st,))
            )
            ranked = unique_records(h.passage.id for h in got.sections[st])[:k]
            gold = set(row["gold_ids"])
            sums["recall@10"] += recall_at(ranked, gold, k)
            sums["ndcg@10"] += ndcg_at(ranked, gold, k)
            sums["mrr"] += mrr(ranked, gold)
        elapsed = time.perf_counter() - start
        n = max(1, len(rows))
        result.metrics[method] = {m: round(v / n, 4) for m, v in sums.items()}
        result.ms_per_query[method] = round(1000 * elapsed / n, 2)
    return result


def evaluate(
    retriever: Retriever, *, limit: int | None = None, sets: Sequence[str] | None = None
) -> dict[str, Any]:
    results = [evaluate_set(retriever, name, limit=limit) for name in (sets or list(RETRIEVAL_SETS))]
    report: dict[str, Any] = {
        "index": {
            "profile": retriever.index.manifest.profile,
            "passages": retriever.index.manifest.passages,
            "model": retriever.index.manifest.model,
            "corpus_sha256": retriever.index.manifest.corpus_sha256,
        },
        "settings": retriever.settings.model_dump(),
        "fusion": retriever.settings.fusion,
        "limit": limit,
        "datasets": {r.name: file_sha256(DATA / RETRIEVAL_SETS[r.name][0]) for r in results},
        "sets": {
            r.name: {"questions": r.questions, "metrics": r.metrics, "ms_per_query": r.ms_per_query}
            for r in results
        },
    }
    means = {}
    for method in METHODS:
        means[method] = {
            m: round(sum(r.metrics[method][m] for r in results) / len(results), 4)
            for m in ("recall@10", "ndcg@10", "mrr")
        }
    report["mean"] = means
    return report


def markdown_table(report: dict[str, Any]) -> str:
    lines = [
        "| set | questions | method | recall@10 | nDCG@10 | MRR | ms/query |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for name, r in report["sets"].items():
        for method in METHODS:
            m = r["metrics"][method]
            lines.append(
                f"| {name} | {r['questions']} | {METHOD_NAMES[method]} | {m['recall@10']:.3f} "
                f"| {m['ndcg@10']:.3f} "
                f"| {m['mrr']:.3f} | {r['ms_per_query'][method]:.1f} |"
            )
    for method in METHODS:
        m = report["mean"][method]
        lines.append(
            f"| **mean** | | {METHOD_NAMES[method]} | {m['recall@10']:.3f} | {m['ndcg@10']:.3f} "
            f"| {m['mrr']:.3f} | |"
        )
    return "\n".join(lines)
