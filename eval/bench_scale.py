"""Bench part "scale": every dense index kind at 100k and 1M real-derived vectors, against exact search.

There is no million-passage corpus here, so one is generated from the real one, honestly:

* base: the real float16 vectors of the shipped passages, read from the embedding cache (index/embeddings);
* synthetic set of N: rows v drawn uniformly (with replacement) from the base, each perturbed
  v' = normalize(v + σ·g), g ~ N(0, I_d / d) (so ‖σ·g‖ ≈ σ), with σ = √(1/m − 1) where m is the median
  cosine between a real vector and its nearest real neighbour: two perturbed copies of one passage then
  sit about as close as real nearest neighbours do. The nearest-neighbour similarity distributions of the
  real and the synthetic sets (and the query → top-1 similarity) are measured and reported;
* queries: real eval questions (eval/data/retrieval/*.jsonl) embedded with the packaged model;
* ground truth: exact inner-product top-10 over the synthetic set.

Each kind is built by ``app.index.streaming_build.build_stream`` from float16 shards (checkpointed, as a
user's large build would be) in a child process (build time, peak RSS), then searched in a fresh child process
that memory-maps what FAISS can (1 thread; p50/p95 after warm-up; recall@10; RSS). Flat search is
compared with the memory-bandwidth floor, bytes scanned per query ÷ single-thread bandwidth measured in the
same run (best of numpy sum, max and bitwise-or over a 512 MiB array). The hybrid ask at scale runs the
real extractive ask flow on the shipped index with every section's dense search also paying for a real
search of the large index.

``python -m eval.bench_scale [--sizes 100000,1000000] [--kinds ...] [--workdir DIR]`` (the ``bench-scale``
Makefile target); importing this module registers the bench part ``scale``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from app.settings import IndexSettings, Settings
from eval.bench import REPORTS, bench_questions, machine, percentiles, register

K = 10
SHARD_ROWS = 50_000
KIND_ORDER = ("flat", "sqfp16", "sq8", "hnsw", "hnsw_sq8", "ivfpq", "opq")
# Search-time settings tried per kind without rebuilding (the first is the kind's default).
SWEEPS: dict[str, list[dict[str, int]]] = {
    "flat": [{}],
    "sqfp16": [{}],
    "sq8": [{"rerank_factor": 4}],
    "hnsw": [
        {"hnsw_ef_search": 64},
        {"hnsw_ef_search": 128},
        {"hnsw_ef_search": 256},
        {"hnsw_ef_search": 512},
    ],
    "hnsw_sq8": [
        {"hnsw_ef_search": 64, "rerank_factor": 4},
        {"hnsw_ef_search": 128, "rerank_factor": 4},
        {"hnsw_ef_search": 256, "rerank_factor": 4},
        {"hnsw_ef_search": 512, "rerank_factor": 4},
    ],
    "ivfpq": [
        {"ivf_nprobe": 32, "rerank_factor": 4},
        {"ivf_nprobe": 64, "rerank_factor": 10},
        {"ivf_nprobe": 128, "rerank_factor": 10},
        {"ivf_nprobe": 256, "rerank_factor": 20},
    ],
    "opq": [
        {"ivf_nprobe": 32, "rerank_factor": 4},
        {"ivf_nprobe": 64, "rerank_factor": 10},
        {"ivf_nprobe": 128, "rerank_factor": 10},
        {"ivf_nprobe": 256, "rerank_factor": 20},
    ],
}
BASE_SETTINGS: dict[str, Any] = {"ivf_nlist": 0, "train_sample": 100_000, "mmap": True}


# -- memory -------------------------------------------------------------------------------------------------
def _status() -> dict[str, float]:
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
            out[key] = int(rest.split()[0]) / 1024
    return out


def measure_bandwidth(mib: int = 512, repeats: int = 5) -> float:
    """Single-thread streaming read bandwidth (bytes/s) over a ``mib`` array: the best of ``repeats`` runs
    of three read-only numpy reductions. A plain float sum is compute-bound here (pairwise summation,
    ~8 GB/s); max and bitwise-or stream at the memory's pace, so the best kernel is the floor's divisor."""
    a = np.ones(mib * 2**20 // 4, dtype=np.float32)
    words = a.view(np.uint64)
    kernels: list[Callable[[], object]] = [a.sum, a.max, lambda: np.bitwise_or.reduce(words)]
    best = math.inf
    for kernel in kernels:
        kernel()
        for _ in range(repeats):
            t = time.perf_counter()
            kernel()
            best = min(best, time.perf_counter() - t)
    return a.nbytes / best


# -- data ---------------------------------------------------------------------------------------------------
def real_vectors(settings: Settings) -> np.ndarray:
    """The shipped passages' float16 vectors from the embedding cache, shard by shard."""
    from app.index.streaming_build import cache_shards, read_shard

    return np.concatenate([read_shard(p) for p in cache_shards(settings.paths.embedding_cache_dir)])


def embed_queries(settings: Settings, n: int) -> np.ndarray:
    from app.index.embedder import load_embedder

    embedder = load_embedder(settings.embedding)
    return np.asarray(embedder.encode(bench_questions(n), batch_size=32), dtype=np.float32)


def nn_similarity(base: np.ndarray, probes: np.ndarray, *, exclude_self: bool) -> np.ndarray:
    """Cosine of each probe's nearest neighbour in ``base`` (the second hit when the probe is in base)."""
    from app.index.ann import exact_topk

    top = exact_topk(base, probes, 2 if exclude_self else 1)
    nn = top[:, 1] if exclude_self else top[:, 0]
    vecs = np.asarray(base[np.sort(nn)], dtype=np.float32)[np.argsort(np.argsort(nn))]
    sims: np.ndarray = np.einsum("ij,ij->i", vecs, probes)
    return sims


def quantiles(x: np.ndarray) -> dict[str, float]:
    q = np.quantile(x, [0.1, 0.5, 0.9])
    return {"p10": round(float(q[0]), 3), "p50": round(float(q[1]), 3), "p90": round(float(q[2]), 3)}


def synthesize(real: np.ndarray, n: int, sigma: float, path: Path, seed: int = 0) -> np.ndarray:
    """Write ``n`` perturbed copies of real rows to ``path`` (float16 .npy), chunk by chunk; memory-mapped."""
    rng = np.random.default_rng(seed)
    dim = real.shape[1]
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=(n, dim))
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        v = real[rng.integers(0, len(real), size=m)].astype(np.float32)
        v += (sigma / math.sqrt(dim)) * rng.standard_normal((m, dim), dtype=np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        out[start : start + m] = v
    out.flush()
    del out
    mapped: np.ndarray = np.load(path, mmap_mode="r")
    return mapped


def write_shards(vectors: np.ndarray, directory: Path) -> list[Path]:
    from app.index.streaming_build import write_shards as _write

    return _write(vectors, directory, SHARD_ROWS)


# -- child processes ----------------------------------------------------------------------------------------
def _child(mode: str, spec: dict[str, Any], timeout: float = 3600) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(spec, fh)
        spec_path = fh.name
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "eval.bench_scale", "--child", mode, spec_path],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    finally:
        os.unlink(spec_path)
    if proc.returncode != 0:
        raise RuntimeError(f"bench child {mode} failed:\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def child_build(spec: dict[str, Any]) -> dict[str, Any]:
    import faiss

    from app.index.streaming_build import build_stream

    faiss.omp_set_num_threads(spec["threads"])
    settings = IndexSettings(**spec["settings"])
    result = build_stream(
        [Path(p) for p in spec["shards"]],
        Path(spec["out"]),
        settings,
        checkpoint_rows=spec["checkpoint_rows"],
        progress=False,
        log=lambda m: print(m, file=sys.stderr),
    )
    return {
        "kind": result.kind,
        "factory": result.manifest["factory"],
        "build_s": round(result.seconds, 1),
        "build_peak_rss_mib": round(_status()["VmHWM"], 1),
        "disk_mib": round(Path(spec["out"]).stat().st_size / 2**20, 1),
    }


def child_probe(spec: dict[str, Any]) -> dict[str, Any]:
    """Load one index as a server would (memory-mapped where FAISS can) and time single queries."""
    import faiss

    from app.index import ann
    from app.index.dense import FaissStore

    faiss.omp_set_num_threads(1)
    queries = np.load(spec["queries"])
    truth = np.load(spec["truth"])
    before = _status()
    t = time.perf_counter()
    settings = IndexSettings(**spec["settings"])
    store = FaissStore.load(Path(spec["index"]), spec["kind"], settings)
    load_s = time.perf_counter() - t
    reader = ann.RowReader(Path(spec["vectors"]))
    results = []
    for combo in spec["combos"]:
        s = settings.model_copy(update=combo)
        store.settings = s
        store._apply_search_params()
        searcher: Any = store
        if store.kind in ann.SPECS and ann.SPECS[store.kind].compressed and s.rerank_factor > 1:
            searcher = ann.RerankedStore(store, reader, None, s.rerank_factor)
        for q in queries[: spec["warmup"]]:
            searcher.search(q, K)
        ms, found = [], []
        for q in queries:
            t = time.perf_counter()
            _, ids = searcher.search(q, K)
            ms.append(1000 * (time.perf_counter() - t))
            found.append(np.pad(ids[:K], (0, K - len(ids[:K])), constant_values=-1))
        after = _status()
        results.append(
            {
                "params": combo,
                **percentiles(ms),
                "recall_at_10": round(ann.recall_at_k(np.array(found), truth, K), 4),
                "rss_mib": round(after["VmRSS"], 1),
                "rss_anon_mib": round(after["RssAnon"], 1),
                "rss_file_mib": round(after["RssFile"], 1),
            }
        )
    return {
        "load_s": round(load_s, 3),
        "rss_before_load_mib": round(before["VmRSS"], 1),
        "combos": results,
    }


class ScaledCostStore:
    """A section's real store that also pays for one real search of a large index per query."""

    def __init__(self, inner: Any, big: Any) -> None:
        self.inner = inner
        self.big = big
        self.kind = inner.kind

    def __len__(self) -> int:
        return len(self.inner)

    def save(self, path: Path) -> None:
        self.inner.save(path)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        self.big.search(query, k)
        result: tuple[np.ndarray, np.ndarray] = self.inner.search(query, k)
        return result


def child_ask_shipped(spec: dict[str, Any]) -> dict[str, Any]:
    """The "ask" bench part as it is: extractive ask on the shipped index, in a process of its own."""
    from eval.bench_answers import part_ask

    return part_ask(Settings(), spec["quick"])


def child_ask(spec: dict[str, Any]) -> dict[str, Any]:
    """The same extractive ask flow with every section's dense search also searching the large index (the
    cost of 1M-passage dense retrieval inside the real hybrid flow), and the serving process's memory."""
    import faiss

    from app.answer.engine import AnswerEngine
    from app.index import ann
    from app.index.dense import FaissStore

    settings = Settings()
    faiss.omp_set_num_threads(1)
    engine = AnswerEngine.from_settings(settings, with_llm=False)
    shipped = _status()
    s = IndexSettings(**{**spec["settings"], **spec["combo"]})
    big: Any = FaissStore.load(Path(spec["index"]), spec["kind"], s)
    if big.kind in ann.SPECS and ann.SPECS[big.kind].compressed and s.rerank_factor > 1:
        big = ann.RerankedStore(big, ann.RowReader(Path(spec["vectors"])), None, s.rerank_factor)
    for section in engine.retriever.index.sections.values():
        section.dense = ScaledCostStore(section.dense, big)
    questions = bench_questions(40 if spec["quick"] else 200)
    for q in questions[:10]:
        engine.ask(q, remember=False)
    ms = []
    for q in questions:
        t = time.perf_counter()
        engine.ask(q, remember=False)
        ms.append(1000 * (time.perf_counter() - t))
    after = _status()
    return {
        "scaled_ask": percentiles(ms),
        "shipped_engine_rss_mib": round(shipped["VmRSS"], 1),
        "serving_rss_mib": round(after["VmRSS"], 1),
        "serving_rss_anon_mib": round(after["RssAnon"], 1),
        "serving_rss_file_mib": round(after["RssFile"], 1),
        "serving_peak_rss_mib": round(after["VmHWM"], 1),
    }


def run_ask(report: dict[str, Any], root: Path, settings: Settings, n_queries: int) -> dict[str, Any]:
    """The hybrid ask at the largest size, with the large kind's chosen search setting."""
    n = max(int(x) for x in report["sizes"])
    large = settings.index.auto_large_kind
    entry = report["sizes"][str(n)]["kinds"][large]
    spec = {
        "index": str(root / f"n{n}" / f"{large}.faiss"),
        "kind": entry["kind"],
        "settings": {**BASE_SETTINGS, "dense_kind": large},
        "combo": entry["chosen"]["params"],
        "vectors": str(root / f"n{n}" / "vectors.f16.npy"),
        "quick": n_queries < 200,
    }
    return {
        "rows": n,
        "kind": large,
        "combo": entry["chosen"]["params"],
        "shipped_ask": _child("ask_shipped", spec)["ask_extractive"],
        **_child("ask", spec),
    }


# -- the part -----------------------------------------------------------------------------------------------
def _pick(combos: list[dict[str, Any]]) -> dict[str, Any]:
    """The fastest setting with recall@10 ≥ 0.95, else the most accurate."""
    good = [c for c in combos if c["recall_at_10"] >= 0.95]
    return min(good, key=lambda c: c["p50_ms"]) if good else max(combos, key=lambda c: c["recall_at_10"])


def run_scale(
    settings: Settings,
    *,
    sizes: list[int],
    n_queries: int,
    kinds: tuple[str, ...] = KIND_ORDER,
    workdir: Path | None = None,
    ask: bool = True,
    log: Any = print,
) -> dict[str, Any]:
    from app.index.ann import exact_topk

    own = workdir is None
    root = Path(tempfile.mkdtemp(prefix="curbside-scale-")) if workdir is None else workdir
    root.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"machine": machine(), "sizes": {}, "load_avg_start": os.getloadavg()}
    try:
        bw = measure_bandwidth()
        report["bandwidth_gb_s"] = round(bw / 1e9, 2)
        log(f"single-thread read bandwidth: {bw / 1e9:.2f} GB/s")
        real = real_vectors(settings)
        dim = real.shape[1]
        queries = embed_queries(settings, n_queries)
        np.save(root / "queries.npy", queries)
        rng = np.random.default_rng(1)
        probe_rows = np.sort(rng.choice(len(real), size=min(1000, len(real)), replace=False))
        real_nn = nn_similarity(real, real[probe_rows].astype(np.float32), exclude_self=True)
        median_nn = float(np.median(real_nn))
        sigma = math.sqrt(max(1e-6, 1 / median_nn - 1))
        report["real"] = {
            "rows": len(real),
            "dim": dim,
            "nn_cosine": quantiles(real_nn),
            "query_top1_cosine": quantiles(nn_similarity(real, queries, exclude_self=False)),
        }
        report["sigma"] = round(sigma, 4)
        report["perturbation"] = "v' = normalize(v + σ·g), g ~ N(0, I/d), v uniform over the real rows"
        log(f"real: {len(real)} vectors; median NN cosine {median_nn:.3f} → σ = {sigma:.3f}")
        for n in sizes:
            d = root / f"n{n}"
            d.mkdir(exist_ok=True)
            t = time.perf_counter()
            vectors = synthesize(real, n, sigma, d / "vectors.f16.npy", seed=n)
            shards = write_shards(vectors, d / "shards")
            gen_s = time.perf_counter() - t
            t = time.perf_counter()
            truth = exact_topk(vectors, queries, K)
            exact_s = time.perf_counter() - t
            np.save(d / "truth.npy", truth)
            srows = np.sort(np.random.default_rng(2).choice(n, size=1000, replace=False))
            size_report: dict[str, Any] = {
                "generate_s": round(gen_s, 1),
                "exact_truth_s": round(exact_s, 1),
                "nn_cosine": quantiles(
                    nn_similarity(vectors, np.asarray(vectors[srows], np.float32), exclude_self=True)
                ),
                "query_top1_cosine": quantiles(nn_similarity(vectors, queries, exclude_self=False)),
                "kinds": {},
            }
            log(f"n={n:,}: generated in {gen_s:.0f}s; NN cosine {size_report['nn_cosine']}")
            for kind in kinds:
                spec_settings = {**BASE_SETTINGS, "dense_kind": kind}
                out = d / f"{kind}.faiss"
                build = _child(
                    "build",
                    {
                        "shards": [str(p) for p in shards],
                        "out": str(out),
                        "settings": spec_settings,
                        "checkpoint_rows": 250_000,
                        "threads": 1,
                    },
                )
                probe = _child(
                    "probe",
                    {
                        "index": str(out),
                        "kind": build["kind"],
                        "settings": spec_settings,
                        "vectors": str(d / "vectors.f16.npy"),
                        "queries": str(root / "queries.npy"),
                        "truth": str(d / "truth.npy"),
                        "combos": SWEEPS[kind],
                        "warmup": 20,
                    },
                )
                entry = {**build, **probe, "chosen": _pick(probe["combos"])}
                if kind in ("flat", "sqfp16", "sq8"):
                    per_vec = {"flat": 4, "sqfp16": 2, "sq8": 1}[kind] * dim
                    floor_ms = 1000 * n * per_vec / bw
                    entry["bandwidth_floor_ms"] = round(floor_ms, 2)
                    entry["p50_over_floor"] = round(probe["combos"][0]["p50_ms"] / floor_ms, 2)
                size_report["kinds"][kind] = entry
                c = entry["chosen"]
                log(
                    f"  {kind:9s} build {build['build_s']:7.1f}s disk {build['disk_mib']:7.1f} MiB "
                    f"p50 {c['p50_ms']:7.2f} p95 {c['p95_ms']:7.2f} ms recall@10 {c['recall_at_10']:.3f} "
                    f"rss {c['rss_mib']:.0f} MiB {c['params']}"
                )
                if kind != settings.index.auto_large_kind or n != max(sizes):
                    out.unlink()  # keep disk use bounded; the large kind stays for the ask run
            report["sizes"][str(n)] = size_report
            shutil.rmtree(d / "shards")
        if ask and settings.index.auto_large_kind in kinds:
            report["ask"] = run_ask(report, root, settings, n_queries)
            log(f"ask: {report['ask']}")
        report["load_avg_end"] = os.getloadavg()
    finally:
        if own:
            shutil.rmtree(root, ignore_errors=True)
    return report


def markdown(report: dict[str, Any]) -> str:
    """The scale table (docs/scale.md embeds the final one)."""
    lines = [
        f"Machine: {report['machine']['cpu']}, {report['machine']['cores']} cores; single-thread read "
        f"bandwidth {report['bandwidth_gb_s']} GB/s; load average at start "
        f"{report['load_avg_start'][0]:.1f}, at end {report.get('load_avg_end', [0.0])[0]:.1f}.",
        "",
        "| rows | kind | FAISS | build s | disk MiB | build peak RSS MiB | serving RSS MiB (anon + file) "
        "| p50 ms | p95 ms | recall@10 | search params |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for n, size in report["sizes"].items():
        for kind, e in size["kinds"].items():
            c = e["chosen"]
            params = ", ".join(f"{k}={v}" for k, v in c["params"].items()) or "—"
            lines.append(
                f"| {int(n):,} | {kind} | `{e['factory']}` | {e['build_s']} | {e['disk_mib']} | "
                f"{e['build_peak_rss_mib']:.0f} | {c['rss_mib']:.0f} ({c['rss_anon_mib']:.0f} + "
                f"{c['rss_file_mib']:.0f}) | {c['p50_ms']} | {c['p95_ms']} | {c['recall_at_10']:.3f} "
                f"| {params} |"
            )
    lines += [
        "",
        "| rows | kind | bytes scanned / query | floor ms | p50 ms | p50 ÷ floor |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for n, size in report["sizes"].items():
        for kind, e in size["kinds"].items():
            if "bandwidth_floor_ms" in e:
                per = {"flat": 4, "sqfp16": 2, "sq8": 1}[kind] * report["real"]["dim"] * int(n)
                lines.append(
                    f"| {int(n):,} | {kind} | {per / 2**20:.0f} MiB | {e['bandwidth_floor_ms']} | "
                    f"{e['combos'][0]['p50_ms']} | {e['p50_over_floor']} |"
                )
    lines += ["", "Sweeps (every search setting tried):", ""]
    lines += ["| rows | kind | params | p50 ms | p95 ms | recall@10 |", "|---:|---|---|---:|---:|---:|"]
    for n, size in report["sizes"].items():
        for kind, e in size["kinds"].items():
            for c in e["combos"]:
                params = ", ".join(f"{k}={v}" for k, v in c["params"].items()) or "—"
                lines.append(
                    f"| {int(n):,} | {kind} | {params} | {c['p50_ms']} | {c['p95_ms']} "
                    f"| {c['recall_at_10']:.3f} |"
                )
    real = report["real"]
    lines += [
        "",
        f"Synthetic sets: {report['perturbation']}, σ = {report['sigma']}.",
        "",
        "| set | rows | NN cosine p10 / p50 / p90 | query → top-1 cosine p10 / p50 / p90 |",
        "|---|---:|---|---|",
        f"| real (shipped) | {real['rows']:,} | {_q(real['nn_cosine'])} | {_q(real['query_top1_cosine'])} |",
    ]
    for n, size in report["sizes"].items():
        lines.append(
            f"| synthetic | {int(n):,} | {_q(size['nn_cosine'])} | {_q(size['query_top1_cosine'])} |"
        )
    if "ask" in report:
        a = report["ask"]
        lines += [
            "",
            f"Hybrid extractive ask ({a['scaled_ask']['n']} real questions): shipped index p50 "
            f"{a['shipped_ask']['p50_ms']} ms / "
            f"p95 {a['shipped_ask']['p95_ms']} ms; with each section's dense search also searching the "
            f"{a['rows']:,}-row {a['kind']} index ({a['combo']}): p50 {a['scaled_ask']['p50_ms']} ms / "
            f"p95 {a['scaled_ask']['p95_ms']} ms; serving process RSS {a['serving_rss_mib']:.0f} MiB "
            f"({a.get('serving_rss_anon_mib', 0):.0f} anonymous + {a.get('serving_rss_file_mib', 0):.0f} "
            f"mapped file pages; peak {a['serving_peak_rss_mib']:.0f} MiB; the shipped engine alone "
            f"{a.get('shipped_engine_rss_mib', 0):.0f} MiB).",
        ]
    return "\n".join(lines) + "\n"


def _q(q: dict[str, float]) -> str:
    return f"{q['p10']} / {q['p50']} / {q['p90']}"


def part_scale(settings: Settings, quick: bool) -> dict[str, Any]:
    sizes = [100_000] if quick else [100_000, 1_000_000]
    return run_scale(settings, sizes=sizes, n_queries=100 if quick else 200)


register("scale", part_scale)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        mode, spec_path = argv[1], argv[2]
        spec = json.loads(Path(spec_path).read_text())
        modes = {
            "build": child_build,
            "probe": child_probe,
            "ask": child_ask,
            "ask_shipped": child_ask_shipped,
        }
        result = modes[mode](spec)
        print(json.dumps(result))
        return 0
    p = argparse.ArgumentParser(prog="python -m eval.bench_scale", description=__doc__)
    p.add_argument("--sizes", default="100000,1000000", help="comma-separated row counts")
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--kinds", default=",".join(KIND_ORDER))
    p.add_argument("--workdir", type=Path, help="keep generated sets and indexes here (default: a temp dir)")
    p.add_argument("--no-ask", action="store_true")
    p.add_argument(
        "--ask-only",
        action="store_true",
        help="only the hybrid ask, reusing --workdir and eval/reports/bench-scale.json of an earlier run",
    )
    args = p.parse_args(argv)
    settings = Settings()
    if args.ask_only:
        report = json.loads((REPORTS / "bench-scale.json").read_text())
        report["ask"] = run_ask(report, args.workdir, settings, args.queries)
        (REPORTS / "bench-scale.json").write_text(json.dumps(report, indent=2) + "\n")
        (REPORTS / "scale.md").write_text(markdown(report))
        print(markdown(report))
        return 0
    report = run_scale(
        settings,
        sizes=[int(x) for x in args.sizes.split(",")],
        n_queries=args.queries,
        kinds=tuple(args.kinds.split(",")),
        workdir=args.workdir,
        ask=not args.no_ask,
    )
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / "bench-scale.json").write_text(json.dumps(report, indent=2) + "\n")
    (REPORTS / "scale.md").write_text(markdown(report))
    print(markdown(report))
    print(f"written: {REPORTS / 'bench-scale.json'}, {REPORTS / 'scale.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
