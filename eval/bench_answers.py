"""Bench parts for the answer engine: extractive `ask` latency and stage shares; the local LLM's speed."""

from __future__ import annotations

import time
from typing import Any

from app.settings import Settings
from eval.bench import bench_questions, percentiles, register, rss_mib

STAGES = ("condense", "retrieve", "select", "compose", "guard", "follow_ups")


def part_ask(settings: Settings, quick: bool) -> dict[str, Any]:
    """End-to-end extractive answers on the shipped index (no conversation writes), after warm-up."""
    from app.answer.engine import AnswerEngine

    engine = AnswerEngine.from_settings(settings, with_llm=False)
    questions = bench_questions(40 if quick else 200)
    for q in questions[:10]:
        engine.ask(q, remember=False)
    totals: list[float] = []
    stages: dict[str, list[float]] = {s: [] for s in STAGES}
    for q in questions:
        t = time.perf_counter()
        answer = engine.ask(q, remember=False)
        totals.append(1000 * (time.perf_counter() - t))
        for s in STAGES:
            stages[s].append(answer.timings_ms.get(s, 0.0))
    total = sum(totals)
    out: dict[str, Any] = {"ask_extractive": percentiles(totals)}
    out["stage_share"] = {s: round(sum(v) / total, 3) for s, v in stages.items()}
    out["stage_p50_ms"] = {s: percentiles(v)["p50_ms"] for s, v in stages.items()}
    out["rss_mib"] = round(rss_mib(), 1)
    return out


def part_llm(settings: Settings, quick: bool) -> dict[str, Any]:
    """Local llama.cpp (SmolLM2-135M): tokens/s, and end-to-end generative answers with the guard."""
    from app.answer.engine import AnswerEngine
    from app.llm.bench import bench_local
    from app.llm.local import LocalLlamaClient

    llm_settings = settings.llm.model_copy(update={"backend": "local"})
    out: dict[str, Any] = {"tokens": bench_local(llm_settings, runs=2 if quick else 3)}
    client = LocalLlamaClient.from_settings(llm_settings)
    try:
        engine = AnswerEngine.from_settings(settings, with_llm=False)
        engine.llm = client
        questions = bench_questions(3 if quick else 8)
        ms: list[float] = []
        fallbacks = removed = statements = 0
        for q in questions:
            t = time.perf_counter()
            answer = engine.ask(q, remember=False)
            ms.append(1000 * (time.perf_counter() - t))
            fallbacks += answer.backend.fallback
            removed += answer.guard.unsupported_statements_removed + answer.guard.uncited_statements_removed
            statements += answer.guard.statements_in
        out["ask_generative"] = percentiles(ms)
        out["guard_removed_of_statements"] = f"{removed}/{statements}"
        out["answers_that_fell_back"] = f"{fallbacks}/{len(questions)}"
    finally:
        client.close()
    return out


register("ask", part_ask)
register("llm", part_llm)
