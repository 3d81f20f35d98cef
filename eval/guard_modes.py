"""The guard's lexical mode against its nli mode on the same replayed generative drafts.

    python -m eval.guard_modes [--suite ci] [--out eval/reports/guard_modes.json]

Runs the suite's generative composer (replayed from its cassette) twice — ``guard_mode`` ``drop`` (the
lexical grounding check) and ``nli`` (the shipped entailment model; numbers, drugs and negations still
exact) — and lists, per mode, the statements the other mode did not keep, with every kept statement audited
against its cited passages: its numbers must all be there, and the model must say the passages entail it
(or it is a verbatim quote). Prints counts and writes the lists.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.answer.entailment import grounded_by_entailment
from app.answer.grounding import quantities
from app.index.search_index import SearchIndex
from app.settings import Settings
from eval.runner import run_suite
from eval.settings import EVAL_DIR
from eval.suites import Suite

Kept = dict[tuple[str, str], tuple[str, ...]]  # (qid, statement) → cited passage ids


def kept_statements(settings: Settings, suite: Suite, index: SearchIndex) -> Kept:
    result = run_suite(
        suite,
        settings,
        composers=["generative"],
        judge_name="lexical",
        index=index,
        out_dir=None,
        log=lambda _m: None,
    )
    return {
        (v.qid, st.text): st.cited
        for v in result.systems["generative_guarded"].views
        for st in v.statements()
        if not st.context
    }


def audit(kept: Kept, index: SearchIndex) -> list[str]:
    """Kept statements whose numbers are not all in their cited passages, or that are not entailed."""
    problems = []
    for (qid, text), cited in kept.items():
        found = [index.passages.get(p) for p in cited]
        texts = [x.text for x in found if x is not None]
        source = {(q.value, q.unit) for t in texts for q in quantities(t)}
        values = {q.value for q in quantities(" ".join(texts))}
        if any(
            q.value not in values or (q.unit and (q.value, q.unit) not in source) for q in quantities(text)
        ):
            problems.append(f"{qid}: numbers not in the cited passages: {text!r}")
        elif not grounded_by_entailment(text, texts).supported:
            problems.append(f"{qid}: not entailed by its cited passages: {text!r}")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.guard_modes")
    p.add_argument("--suite", default="ci")
    p.add_argument("--out", default=str(EVAL_DIR / "reports" / "guard_modes.json"))
    a = p.parse_args(argv)
    suite = Suite.load(a.suite)
    base = Settings()
    index = SearchIndex.load(base)
    modes: dict[str, Kept] = {}
    for mode in ("drop", "nli"):
        settings = base.model_copy(update={"answer": base.answer.model_copy(update={"guard_mode": mode})})
        modes[mode] = kept_statements(settings, suite, index)
    only_nli = sorted(set(modes["nli"]) - set(modes["drop"]))
    only_lexical = sorted(set(modes["drop"]) - set(modes["nli"]))
    out: dict[str, Any] = {
        "suite": suite.name,
        "kept": {m: len(k) for m, k in modes.items()},
        "kept_by_nli_not_lexical": [{"qid": q, "statement": t} for q, t in only_nli],
        "kept_by_lexical_not_nli": [{"qid": q, "statement": t} for q, t in only_lexical],
        "unsupported_left": {m: audit(k, index) for m, k in modes.items()},
    }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"kept: lexical (drop) {out['kept']['drop']}, nli {out['kept']['nli']}")
    print(f"kept by nli, dropped by lexical: {len(only_nli)}")
    print(f"kept by lexical, dropped by nli: {len(only_lexical)}")
    for mode, problems in out["unsupported_left"].items():
        print(f"unsupported left ({mode}): {len(problems)}")
        for line in problems[:10]:
            print("  " + line)
    print(f"written: {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
