"""Tokens per second of the local backend: a ~200-token prompt, 64 generated tokens, median of 3 runs.

``bench_local(settings)`` returns the numbers (``make bench`` prints them); ``python -m app.llm.bench`` too.
The prompt cache is off and end-of-sequence is ignored, so every run evaluates the whole prompt and generates
exactly ``output_tokens`` tokens. Speeds come from llama.cpp's own timings; wall time is measured here.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

import httpx

from app.llm.local import LocalLlamaServer
from app.llm.settings import LLMSettings

BENCH_SYSTEM = "You are a careful clinical assistant. Answer briefly and only from the passage."
BENCH_PASSAGE = (
    "Naltrexone is an opioid antagonist. The labelled oral dose for alcohol dependence is 50 mg once daily; "
    "for opioid dependence, treatment starts only after a patient has been opioid-free for 7 to 10 days, to "
    "avoid precipitating withdrawal. Common adverse reactions include nausea, headache, dizziness, fatigue, "
    "insomnia, anxiety and somnolence. Hepatocellular injury has been reported at excessive doses, so liver "
    "function should be checked before and during treatment. Low-dose naltrexone, usually 1.5 to 4.5 mg "
    "at bedtime, is an off-label use studied in small trials for fibromyalgia, Crohn's disease and multiple "
    "sclerosis; the label does not cover it, and the evidence is limited."
)
BENCH_QUESTION = "What does the passage say about the dose of naltrexone and its main risks?"


def _request(max_tokens: int) -> dict[str, Any]:
    return {
        "messages": [
            {"role": "system", "content": BENCH_SYSTEM},
            {"role": "user", "content": f"Passage:\n{BENCH_PASSAGE}\n\nQuestion: {BENCH_QUESTION}"},
        ],
        "max_tokens": max_tokens,
        "temperature": 0,
        "stream": False,
        "cache_prompt": False,  # llama.cpp: evaluate the whole prompt on every run
        "ignore_eos": True,  # llama.cpp: always generate max_tokens tokens
    }


def bench_local(settings: LLMSettings, *, runs: int = 3, output_tokens: int = 64) -> dict[str, Any]:
    """Start the local server from ``settings``, time ``runs`` completions, stop it; medians of the runs."""
    server = LocalLlamaServer.from_settings(settings)
    prompt_speeds: list[float] = []
    generation_speeds: list[float] = []
    walls: list[float] = []
    prompt_tokens = completion_tokens = 0
    with server, httpx.Client(trust_env=False, timeout=settings.timeout_s * 4) as http:
        url = f"{server.base_url}/chat/completions"
        http.post(url, json=_request(1)).raise_for_status()  # warm-up
        for _ in range(runs):
            started = time.perf_counter()
            response = http.post(url, json=_request(output_tokens))
            walls.append(time.perf_counter() - started)
            response.raise_for_status()
            data = response.json()
            timings = data["timings"]
            prompt_tokens = int(timings["prompt_n"])
            completion_tokens = int(timings["predicted_n"])
            prompt_speeds.append(float(timings["prompt_per_second"]))
            generation_speeds.append(float(timings["predicted_per_second"]))
        load_seconds = server.load_seconds
    wall = statistics.median(walls)
    return {
        "backend": "local",
        "model": server.alias,
        "model_file": server.model_path.name,
        "threads": settings.local_threads,
        "runs": runs,
        "load_seconds": round(load_seconds or 0.0, 3),
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "prompt_tokens_per_s": round(statistics.median(prompt_speeds), 1),
        "generation_tokens_per_s": round(statistics.median(generation_speeds), 1),
        "seconds_per_answer": round(wall, 3),
        "end_to_end_tokens_per_s": round(completion_tokens / wall, 1),
    }


def main() -> None:
    print(json.dumps(bench_local(LLMSettings(backend="local")), indent=2))


if __name__ == "__main__":
    main()
