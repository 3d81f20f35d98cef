"""Bench part "api": requests/s and p50/p95 of POST /v1/answers (extractive) on a real local server.

A ``curbside serve`` subprocess on 127.0.0.1 (a free port, a throwaway conversation database, no LLM) is
driven by a bounded asyncio + httpx load loop at concurrency 1, 4 and 16, each for a fixed duration
(15 s, or 5 s with --quick). Counts errors (anything but 200), and reads the server's RSS from
/proc/<pid>/status before and after. Loopback only; every phase is bounded in time.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from app.settings import Settings
from eval.bench import bench_questions, percentiles, register
from eval.live_server import LiveServer, error_lines, proc_status_mib, server_env

LEVELS = (1, 4, 16)
FLAGSHIP = "What are the benefits of low-dose naltrexone?"
START_TIMEOUT_S = 300.0
REQUEST_TIMEOUT_S = 60.0


async def _load(url: str, questions: list[str], concurrency: int, duration_s: float) -> dict[str, Any]:
    """``concurrency`` workers POST questions back to back until ``duration_s`` has passed."""
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    failures: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT_S, limits=limits) as client:
        started = loop.time()
        deadline = started + duration_s

        async def worker(i: int) -> None:
            n = i
            while loop.time() < deadline:
                question = questions[n % len(questions)]
                n += concurrency
                t = time.perf_counter()
                try:
                    r = await client.post("/v1/answers", json={"question": question})
                except httpx.HTTPError as exc:
                    failures[type(exc).__name__] += 1
                    continue
                if r.status_code == 200:
                    latencies.append(1000 * (time.perf_counter() - t))
                else:
                    failures[f"http {r.status_code}"] += 1

        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        elapsed = loop.time() - started
    out: dict[str, Any] = {
        "requests": len(latencies),
        "errors": sum(failures.values()),
        "rps": round(len(latencies) / elapsed, 1),
        "seconds": round(elapsed, 1),
    }
    if latencies:
        p = percentiles(latencies)
        out.update({"p50_ms": p["p50_ms"], "p95_ms": p["p95_ms"]})
    if failures:
        out["failures"] = dict(failures)
    return out


def _questions(n: int) -> list[str]:
    try:
        questions = bench_questions(n)
    except (OSError, ValueError):
        questions = []
    return [FLAGSHIP, *questions] if questions else [FLAGSHIP]


def part_api(settings: Settings, quick: bool) -> dict[str, Any]:
    duration = 5.0 if quick else 15.0
    questions = _questions(100 if quick else 300)
    with tempfile.TemporaryDirectory(prefix="curbside-bench-api-") as tmp:
        started = time.perf_counter()  # ready_s: from launch to a loaded index
        server = LiveServer(server_env(settings, Path(tmp) / "var"), Path(tmp) / "server.log")
        server.start(START_TIMEOUT_S)
        try:
            server.wait_ready(START_TIMEOUT_S, fail_fast=True)
            ready_s = time.perf_counter() - started
            for q in questions[:10]:  # warm-up: first calls load lazy pieces
                httpx.post(f"{server.url}/v1/answers", json={"question": q}, timeout=REQUEST_TIMEOUT_S)
            rss_before = proc_status_mib(server.pid)
            out: dict[str, Any] = {
                "ready_s": round(ready_s, 1),
                "duration_per_level_s": duration,
                "questions": len(questions),
                "rss_before_mib": rss_before.get("VmRSS"),
            }
            for level in LEVELS:
                out[f"c{level}"] = asyncio.run(_load(server.url, questions, level, duration))
            after = proc_status_mib(server.pid)
            out["rss_after_mib"] = after.get("VmRSS")
            out["rss_peak_mib"] = after.get("VmHWM")
            out["errors_total"] = sum(out[f"c{level}"]["errors"] for level in LEVELS)
        finally:
            server.stop()
        if out.get("errors_total"):
            out["server_errors"] = error_lines(Path(tmp) / "server.log")
    return out


register("api", part_api)
