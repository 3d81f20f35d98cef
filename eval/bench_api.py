"""Bench part "api": requests/s and p50/p95 of POST /v1/answers (extractive) on a real local server.

A ``curbside serve`` subprocess on 127.0.0.1 (a free port, a throwaway conversation database, no LLM) is
driven by a bounded asyncio + httpx load loop at concurrency 1, 4 and 16, each for a fixed duration
(15 s, or 5 s with --quick). Counts errors (anything but 200), and reads the server's RSS from
/proc/<pid>/status before and after. Loopback only; every phase is bounded in time.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from app.settings import Settings
from eval.bench import bench_questions, percentiles, register

ROOT = Path(__file__).resolve().parent.parent
LEVELS = (1, 4, 16)
FLAGSHIP = "What are the benefits of low-dose naltrexone?"
START_TIMEOUT_S = 300.0
REQUEST_TIMEOUT_S = 60.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def proc_status_mib(pid: int) -> dict[str, float]:
    """VmRSS (now) and VmHWM (peak) of ``pid`` in MiB, from /proc/<pid>/status."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = round(int(value.split()[0]) / 1024, 1)
    return out


class _Server:
    """``curbside serve`` on loopback over ``settings``' corpus and index, with its own data dir."""

    def __init__(self, settings: Settings, data_dir: Path, log: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("CURBSIDE_")}
        env.update(
            {
                "CURBSIDE_PATHS__CORPUS_DIR": str(settings.paths.corpus_dir),
                "CURBSIDE_PATHS__INDEX_DIR": str(settings.paths.index_dir),
                "CURBSIDE_PATHS__EMBEDDING_CACHE_DIR": str(settings.paths.embedding_cache_dir),
                "CURBSIDE_PATHS__PROMPTS_DIR": str(settings.paths.prompts_dir),
                "CURBSIDE_PATHS__DATA_DIR": str(data_dir),
                "CURBSIDE_INDEX__PROFILE": settings.index.profile,
                "CURBSIDE_EMBEDDING__MODEL": settings.embedding.model,
                "CURBSIDE_LLM__BACKEND": "none",
                "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1",
                "TOKENIZERS_PARALLELISM": "false",
            }
        )
        self._log = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self) -> float:
        started = time.perf_counter()
        deadline = time.monotonic() + START_TIMEOUT_S
        detail = ""
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                r = httpx.get(f"{self.url}/readyz", timeout=5.0)
                if r.status_code == 200:
                    return time.perf_counter() - started
                detail = r.json().get("detail", r.text)
                if r.json().get("checks", {}).get("index") == "failed":
                    break
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the API server did not become ready: {detail}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()


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
        server = _Server(settings, Path(tmp) / "var", Path(tmp) / "server.log")
        try:
            ready_s = server.wait_ready()
            for q in questions[:10]:  # warm-up: first calls load lazy pieces
                httpx.post(f"{server.url}/v1/answers", json={"question": q}, timeout=REQUEST_TIMEOUT_S)
            rss_before = proc_status_mib(server.process.pid)
            out: dict[str, Any] = {
                "ready_s": round(ready_s, 1),
                "duration_per_level_s": duration,
                "questions": len(questions),
                "rss_before_mib": rss_before.get("VmRSS"),
            }
            for level in LEVELS:
                out[f"c{level}"] = asyncio.run(_load(server.url, questions, level, duration))
            after = proc_status_mib(server.process.pid)
            out["rss_after_mib"] = after.get("VmRSS")
            out["rss_peak_mib"] = after.get("VmHWM")
            out["errors_total"] = sum(out[f"c{level}"]["errors"] for level in LEVELS)
        finally:
            server.stop()
        if out.get("errors_total"):
            out["server_errors"] = _error_lines(Path(tmp) / "server.log")
    return out


def _error_lines(log: Path, limit: int = 3) -> list[dict[str, Any]]:
    """The first few error records of the server's JSON-lines log (exception type and frames, no text)."""
    found: list[dict[str, Any]] = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("level") == "error":
            found.append({k: record.get(k) for k in ("msg", "exc_type", "traceback")})
            if len(found) >= limit:
                break
    return found


register("api", part_api)
