"""`make bench`: speed and memory, measured (medians and ratios), never asserted in tests.

Parts (run all, or pick with --only): index, retrieval, judge, ask, llm, api. Results print as tables and are
written to eval/reports/bench.json with the machine they were measured on.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from app.settings import Settings
from eval.datasets import DATA, RETRIEVAL_SETS, read_jsonl, sample

REPORTS = Path(__file__).resolve().parent / "reports"
Part = Callable[[Settings, bool], dict[str, Any]]


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_gib, 1),
        "python": platform.python_version(),
    }


def percentiles(samples_ms: Sequence[float]) -> dict[str, float]:
    s = sorted(samples_ms)
    p95 = s[min(len(s) - 1, round(0.95 * (len(s) - 1)))]
    return {"p50_ms": round(statistics.median(s), 2), "p95_ms": round(p95, 2), "n": len(s)}


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_questions(n: int) -> list[str]:
    rows: list[dict[str, Any]] = []
    for rel, _ in RETRIEVAL_SETS.values():
        rows.extend(read_jsonl(DATA / rel))
    return [r["question"] for r in sample(rows, n, seed=7)]


def part_index(settings: Settings, quick: bool) -> dict[str, Any]:
    """Build throughput on a sample of real passages vs raw ``encode`` on the same texts."""
    from app.corpus.jsonl import load_corpus, write_jsonl_gz
    from app.corpus.passages import embedding_text, passages_from_records
    from app.index.builder import build_index, chunk_params
    from app.index.embedder import load_embedder
    from app.settings import PathSettings

    n_records = 150 if quick else 600
    records = sample(load_corpus(settings.paths.corpus_dir), n_records, seed=3)
    embedder = load_embedder(settings.embedding)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_jsonl_gz(root / "corpus" / "sample.jsonl.gz", records)
        s = Settings(
            paths=PathSettings(
                corpus_dir=root / "corpus",
                index_dir=root / "index",
                embedding_cache_dir=root / "emb",
                data_dir=root / "var",
            ),
            embedding=settings.embedding,
            chunk=settings.chunk,
            index=settings.index,
        )
        passages = list(passages_from_records(records, chunk_params(s), s.index.profile))
        texts = [embedding_text(p) for p in passages]
        # Raw encoder throughput on exactly the texts the pipeline embeds.
        start = time.perf_counter()
        embedder.encode(texts, batch_size=s.embedding.batch_size)
        raw_s = time.perf_counter() - start
        start = time.perf_counter()
        build_index(s, embedder=embedder, progress=False, log=lambda _m: None)
        build_s = time.perf_counter() - start
        # A rebuild with every vector cached: what `make serve` does on a fresh clone.
        shutil.rmtree(root / "index")
        start = time.perf_counter()
        build_index(s, embedder=embedder, progress=False, log=lambda _m: None)
        cached_s = time.perf_counter() - start
    return {
        "passages": len(passages),
        "raw_encode_passages_per_s": round(len(passages) / raw_s, 1),
        "build_passages_per_s": round(len(passages) / build_s, 1),
        "build_over_raw_time_ratio": round(build_s / raw_s, 3),
        "cached_rebuild_passages_per_s": round(len(passages) / cached_s, 1),
    }


def part_retrieval(settings: Settings, quick: bool) -> dict[str, Any]:
    """Query latency per method over the shipped index, after warm-up; the serving process's memory."""
    from app.index.search_index import SearchIndex
    from app.retrieval import Retriever

    rss_before = rss_mib()
    start = time.perf_counter()
    index = SearchIndex.load(settings)
    load_s = time.perf_counter() - start
    retriever = Retriever(index, settings.retrieval)
    questions = bench_questions(60 if quick else 300)
    for q in questions[:20]:
        retriever.retrieve(q)
    out: dict[str, Any] = {"load_s": round(load_s, 2), "questions": len(questions)}
    encode_ms = []
    for q in questions:
        t = time.perf_counter()
        retriever.encode(q)
        encode_ms.append(1000 * (time.perf_counter() - t))
    out["encode_query"] = percentiles(encode_ms)
    for method in ("lexical", "dense", "hybrid"):
        ms = []
        for q in questions:
            t = time.perf_counter()
            retriever.retrieve(q, method=method)  # all three sections
            ms.append(1000 * (time.perf_counter() - t))
        out[method] = percentiles(ms)
    out["rss_before_load_mib"] = round(rss_before, 1)
    out["rss_after_mib"] = round(rss_mib(), 1)
    out["peak_rss_mib"] = round(peak_rss_mib(), 1)
    return out


def part_judge(settings: Settings, quick: bool) -> dict[str, Any]:
    """The shipped entailment model (guard nli mode, nli judge) on 2 torch threads: milliseconds per
    (statement, window) pair, batched, on HealthVer held-out pairs; and per (statement, passages) item on
    K-QA held-out pairs (several windows each)."""
    import torch

    from app.answer.entailment import EntailmentModel, windows
    from eval.judges.calibration import load_sets

    torch.set_num_threads(2)
    start = time.perf_counter()
    model = EntailmentModel()
    load_s = time.perf_counter() - start
    sets = load_sets(["healthver", "kqa_nli"])
    hv = [p for p in sets["healthver"][0] if p.split == "holdout"][: 128 if quick else 512]
    kqa = [p for p in sets["kqa_nli"][0] if p.split == "holdout"][: 32 if quick else 128]
    model.score([(p.passages[0], p.statement) for p in hv[:16]])  # warm-up
    t = time.perf_counter()
    model.score([(p.passages[0], p.statement) for p in hv])
    pair_ms = 1000 * (time.perf_counter() - t) / len(hv)
    t = time.perf_counter()
    model.judge_many([(p.statement, p.passages) for p in kqa])
    item_ms = 1000 * (time.perf_counter() - t) / len(kqa)
    n_windows = sum(len(windows(p.passages)) for p in kqa) / len(kqa)
    return {
        "load_s": round(load_s, 2),
        "threads": 2,
        "precision": model.precision,
        "pairs": len(hv),
        "ms_per_pair_batched": round(pair_ms, 2),
        "items": len(kqa),
        "ms_per_item_kqa": round(item_ms, 1),
        "mean_windows_per_kqa_item": round(n_windows, 1),
        "target_ms_per_pair": 10,
    }


PARTS: dict[str, Part] = {"index": part_index, "retrieval": part_retrieval, "judge": part_judge}


# Long parts run only when named (`--only soak`, `make soak`; `make bench-scale`).
OPT_IN = frozenset({"soak", "scale"})


def register(name: str, part: Part) -> None:
    PARTS[name] = part


def _print(name: str, result: dict[str, Any]) -> None:
    print(f"\n## {name}")
    for key, value in result.items():
        if isinstance(value, dict):
            print(f"  {key:32s} " + "  ".join(f"{k}={v}" for k, v in value.items()))
        else:
            print(f"  {key:32s} {value}")


def run_bench(settings: Settings, *, quick: bool = False, only: Sequence[str] | None = None) -> int:
    _load_optional_parts()
    names = list(only) if only else [p for p in PARTS if p not in OPT_IN]
    report: dict[str, Any] = {"machine": machine(), "quick": quick, "parts": {}}
    print(f"machine: {report['machine']}")
    for name in names:
        if name not in PARTS:
            print(f"unknown part {name!r}; choose from {', '.join(PARTS)}")
            return 2
        result = PARTS[name](settings, quick)
        report["parts"][name] = result
        _print(name, result)
    REPORTS.mkdir(parents=True, exist_ok=True)
    out = REPORTS / "bench.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten: {out}")
    return 0


def _load_optional_parts() -> None:
    """Parts defined by later layers register themselves when importable."""
    import importlib

    for module in ("eval.bench_answers", "eval.bench_api", "eval.soak", "eval.bench_scale"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
