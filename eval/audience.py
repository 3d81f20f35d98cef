"""Audience that matters: how often patient and clinician answers differ; both stay cited and verbatim.

    curbside eval audience [--split validation] [--limit N]

On MedicationQA questions (validation split) whose FDA-label section answers for both audiences: the share
whose label statements differ between ``audience="patient"`` and ``"clinician"``, and a check that every
quote of both answers is a verbatim span of its passage.
"""

from __future__ import annotations

from typing import Any

from app.answer.engine import AnswerEngine
from app.schema import Answer
from eval.datasets import DATA, read_jsonl, sample, split_of_question


def _verbatim(engine: AnswerEngine, answer: Answer) -> bool:
    for ref in answer.references:
        p = engine.passage(ref.passage_id)
        if p is None or any(p.text[q.start : q.end] != q.text for q in ref.quotes):
            return False
    return True


def measure(engine: AnswerEngine, *, split: str = "validation", limit: int | None = None) -> dict[str, Any]:
    path = DATA / "retrieval/medicationqa.jsonl"
    rows = [r for r in read_jsonl(path) if split_of_question(r["qid"], r) == split]
    rows = sample(rows, limit)
    both = differ = 0
    verbatim = cited = True
    for r in rows:
        a = engine.ask(r["question"], audience="clinician", remember=False)
        b = engine.ask(r["question"], audience="patient", remember=False)
        sa, sb = a.section("fda_label"), b.section("fda_label")
        verbatim &= _verbatim(engine, a) and _verbatim(engine, b)
        cited &= all(s.citations for ans in (a, b) for sec in ans.sections for s in sec.statements)
        if sa.abstained or sb.abstained:
            continue
        both += 1
        differ += [s.text for s in sa.statements] != [s.text for s in sb.statements]
    return {
        "questions": len(rows),
        "answered_for_both": both,
        "differ": differ,
        "difference_rate": round(differ / both, 3) if both else None,
        "all_cited": cited,
        "all_verbatim": verbatim,
    }
