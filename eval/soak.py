"""Bench part "soak" (`make soak`): load and leak check of a real server on 127.0.0.1 over the shipped index.

1. load: 16 clients for 60 s (10 s with --quick), each asking a new question (from eval/data/retrieval)
   and then up to four follow-ups in the same conversation ("What dose?", "And in pregnancy?" …) before
   starting over. Every request must succeed; p50/p95 per kind, throughput, and the server's RSS at the
   start and the end are reported. Afterwards every conversation is read back: each acknowledged turn must
   be stored, numbered 1..n.
2. leak: 10,000 more requests (1,000 with --quick) at concurrency 16 — answers, follow-ups, searches,
   conversation reads, passage reads — sampling the server's RSS every 1,000; reported as growth over the
   whole run and over its second half (after caches have warmed), which must stay under 5 %.

The server is `curbside serve` (extractive answers, no LLM) with a throwaway conversation database. Loopback
only; every phase is bounded in requests and in time. ``python -m eval.soak`` runs it as
``curbside bench --only soak`` and exits non-zero when a request failed, a turn went missing or memory grew.
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from app.settings import Settings
from eval.bench import bench_questions, percentiles, register
from eval.bench_api import FLAGSHIP, REQUEST_TIMEOUT_S, START_TIMEOUT_S
from eval.live_server import LiveServer, error_lines, proc_status_mib, server_env

CONCURRENCY = 16
LOAD_S, LOAD_QUICK_S = 60.0, 10.0
LEAK_REQUESTS, LEAK_QUICK_REQUESTS = 10_000, 1_000
LEAK_MAX_S = 1800.0  # the leak phase stops here whatever it has done (and says so)
SAMPLE_EVERY = 1_000
MAX_SECOND_HALF_GROWTH = 0.05
FOLLOW_UPS = (
    "What dose?",
    "And in pregnancy?",
    "What are the side effects?",
    "Is it safe with alcohol?",
    "How long should it be taken?",
    "And for older adults?",
)
TURNS_PER_CONVERSATION = 5
LAST_RESULT: dict[str, Any] = {}


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    failures: Counter[str] = field(default_factory=Counter)
    turns: dict[str, int] = field(default_factory=dict)  # conversation id → turns acknowledged
    rss_samples: list[tuple[int, float]] = field(default_factory=list)  # (requests done, RSS MiB)

    def ok(self, kind: str, ms: float) -> None:
        self.latencies.setdefault(kind, []).append(ms)

    @property
    def done(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    @property
    def errors(self) -> int:
        return sum(self.failures.values())


class Client:
    """One simulated user: a conversation of a new question and follow-ups, then a new conversation."""

    def __init__(self, http: httpx.AsyncClient, questions: Sequence[str], tally: Tally, seed: int) -> None:
        self.http = http
        self.questions = questions
        self.tally = tally
        self.rng = random.Random(seed)
        self.conversation: str | None = None
        self.turns = 0
        self.passages: list[str] = []

    async def _call(self, kind: str, method: str, url: str, **kw: Any) -> httpx.Response | None:
        t = time.perf_counter()
        try:
            r = await self.http.request(method, url, **kw)
        except httpx.HTTPError as exc:
            self.tally.failures[f"{kind}: {type(exc).__name__}"] += 1
            return None
        if r.status_code != 200:
            self.tally.failures[f"{kind}: http {r.status_code}"] += 1
            return None
        self.tally.ok(kind, 1000 * (time.perf_counter() - t))
        return r

    async def ask(self) -> None:
        if self.conversation is None or self.turns >= TURNS_PER_CONVERSATION:
            kind, body = "new", {"question": self.rng.choice(self.questions)}
        else:
            kind, body = (
                "follow_up",
                {"question": self.rng.choice(FOLLOW_UPS), "conversation_id": self.conversation},
            )
        r = await self._call(kind, "POST", "/v1/answers", json=body)
        if r is None:
            return
        answer = r.json()
        self.conversation = answer["conversation_id"]
        self.turns = int(answer["turn"])
        self.tally.turns[self.conversation] = self.turns
        self.passages = [ref["passage_id"] for ref in answer.get("references", [])][:5] or self.passages

    async def browse(self) -> None:
        """A cheaper request, as a page does between questions."""
        pick = self.rng.random()
        if pick < 0.4:
            await self._call(
                "search", "GET", "/v1/search", params={"q": self.rng.choice(self.questions), "k": 5}
            )
        elif pick < 0.7 and self.conversation is not None:
            await self._call("conversation", "GET", f"/v1/conversations/{self.conversation}")
        elif pick < 0.9 and self.passages:
            pid = quote(self.rng.choice(self.passages), safe="")  # ids hold ':' and '#'
            await self._call("passage", "GET", f"/v1/passages/{pid}")
        else:
            await self._call("info", "GET", "/v1/info")


async def _phase(
    url: str,
    questions: Sequence[str],
    tally: Tally,
    *,
    seconds: float,
    requests: int | None,
    browse_share: float,
    pid: int,
    seed: int,
) -> float:
    """``CONCURRENCY`` clients until ``seconds`` have passed or ``requests`` were made; the elapsed time."""
    loop = asyncio.get_running_loop()
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT_S, limits=limits) as http:
        started = loop.time()
        deadline = started + seconds
        budget = [requests if requests is not None else sys.maxsize]
        next_sample = [tally.done + SAMPLE_EVERY]

        async def run(i: int) -> None:
            client = Client(http, questions, tally, seed + i)
            while loop.time() < deadline and budget[0] > 0:
                budget[0] -= 1
                if client.rng.random() < browse_share:
                    await client.browse()
                else:
                    await client.ask()
                if tally.done >= next_sample[0]:
                    next_sample[0] += SAMPLE_EVERY
                    tally.rss_samples.append((tally.done, proc_status_mib(pid).get("VmRSS", 0.0)))

        await asyncio.gather(*(run(i) for i in range(CONCURRENCY)))
        return loop.time() - started


async def _check_turns(url: str, tally: Tally) -> list[str]:
    """Every acknowledged turn is stored: each conversation has at least as many turns, numbered 1..n."""
    problems = []
    async with httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT_S) as http:
        for cid, acked in tally.turns.items():
            r = await http.get(f"/v1/conversations/{cid}")
            if r.status_code != 200:
                problems.append(f"{cid}: http {r.status_code}")
                continue
            numbers = [t["turn"] for t in r.json()["turns"]]
            if numbers != list(range(1, len(numbers) + 1)) or len(numbers) < acked:
                problems.append(f"{cid}: acknowledged {acked} turns, stored {numbers}")
    return problems


def _latency(tally: Tally, kinds: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    every = [ms for kind in kinds for ms in tally.latencies.get(kind, [])]
    if every:
        out["all"] = percentiles(every)
    for kind in kinds:
        if tally.latencies.get(kind):
            out[kind] = percentiles(tally.latencies[kind])
    return out


def part_soak(settings: Settings, quick: bool) -> dict[str, Any]:
    questions = [FLAGSHIP, *bench_questions(200 if quick else 1000)]
    load_s = LOAD_QUICK_S if quick else LOAD_S
    leak_n = LEAK_QUICK_REQUESTS if quick else LEAK_REQUESTS
    out: dict[str, Any] = {"concurrency": CONCURRENCY, "questions": len(questions)}
    with tempfile.TemporaryDirectory(prefix="curbside-soak-") as tmp:
        started = time.perf_counter()  # ready_s: from launch to a loaded index
        server = LiveServer(server_env(settings, Path(tmp) / "var"), Path(tmp) / "server.log")
        server.start(START_TIMEOUT_S)
        pid = server.pid
        try:
            server.wait_ready(START_TIMEOUT_S, fail_fast=True)
            out["ready_s"] = round(time.perf_counter() - started, 1)
            for q in questions[:8]:  # warm-up: the first calls load lazy pieces
                httpx.post(f"{server.url}/v1/answers", json={"question": q}, timeout=REQUEST_TIMEOUT_S)
            rss_start = proc_status_mib(pid).get("VmRSS", 0.0)

            load = Tally()
            elapsed = asyncio.run(
                _phase(
                    server.url,
                    questions,
                    load,
                    seconds=load_s,
                    requests=None,
                    browse_share=0.0,
                    pid=pid,
                    seed=1,
                )
            )
            rss_after_load = proc_status_mib(pid).get("VmRSS", 0.0)
            lost = asyncio.run(_check_turns(server.url, load))
            answered = load.done
            out["load"] = {
                "seconds": round(elapsed, 1),
                "requests": answered,
                "errors": load.errors,
                "throughput_rps": round(answered / elapsed, 2) if elapsed else 0.0,
                "latency_ms": _latency(load, ("new", "follow_up")),
                "conversations": len(load.turns),
                "turns_acknowledged": sum(load.turns.values()),
                "turns_missing": len(lost),
                "rss_start_mib": rss_start,
                "rss_end_mib": rss_after_load,
            }
            if load.failures:
                out["load"]["failures"] = dict(load.failures)
            if lost:
                out["load"]["missing"] = lost[:5]

            leak = Tally(rss_samples=[(0, rss_after_load)])
            elapsed = asyncio.run(
                _phase(
                    server.url,
                    questions,
                    leak,
                    seconds=LEAK_MAX_S,
                    requests=leak_n,
                    browse_share=0.6,
                    pid=pid,
                    seed=1000,
                )
            )
            rss_end = proc_status_mib(pid)
            leak.rss_samples.append((leak.done + leak.errors, rss_end.get("VmRSS", 0.0)))
            samples = leak.rss_samples
            half = samples[len(samples) // 2][1]
            end = samples[-1][1]
            out["leak"] = {
                "requests": leak.done + leak.errors,
                "requests_planned": leak_n,
                "stopped_by_time_limit": leak.done + leak.errors < leak_n,
                "seconds": round(elapsed, 1),
                "throughput_rps": round((leak.done + leak.errors) / elapsed, 2) if elapsed else 0.0,
                "errors": leak.errors,
                "mix": {kind: len(v) for kind, v in sorted(leak.latencies.items())},
                "latency_ms": _latency(
                    leak, ("new", "follow_up", "search", "conversation", "passage", "info")
                ),
                "rss_start_mib": samples[0][1],
                "rss_half_mib": half,
                "rss_end_mib": end,
                "rss_peak_mib": rss_end.get("VmHWM"),
                "rss_growth_pct": round(100 * (end - samples[0][1]) / samples[0][1], 2),
                "rss_growth_second_half_pct": round(100 * (end - half) / half, 2),
                "rss_samples_mib": [rss for _, rss in samples],
            }
            if leak.failures:
                out["leak"]["failures"] = dict(leak.failures)
        finally:
            server.stop()
        errors = out.get("load", {}).get("errors", 1) + out.get("leak", {}).get("errors", 1)
        if errors:
            out["server_errors"] = error_lines(Path(tmp) / "server.log")
    growth = out.get("leak", {}).get("rss_growth_second_half_pct", 100.0)
    out["ok"] = bool(
        errors == 0
        and out["load"]["turns_missing"] == 0
        and growth < 100 * MAX_SECOND_HALF_GROWTH
        and not out["leak"]["stopped_by_time_limit"]
    )
    LAST_RESULT.clear()
    LAST_RESULT.update(out)
    return out


register("soak", part_soak)


def main(argv: Sequence[str] | None = None) -> int:
    """``curbside bench --only soak [--quick]``, failing when the soak did not pass."""
    import importlib

    from eval.cli import bench_main

    this = importlib.import_module("eval.soak")  # the registered copy (not __main__ under `python -m`)
    code = bench_main(["--only", "soak", *(sys.argv[1:] if argv is None else argv)])
    if code == 0 and not this.LAST_RESULT.get("ok", False):
        print(
            "soak FAILED: errors, missing turns, or memory growth over the limit (see above)", file=sys.stderr
        )
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
