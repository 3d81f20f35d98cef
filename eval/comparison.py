"""Comparison questions (Evidence Inference 2.0): does the research section cite the trial, and quote the
sentence that states its result?

Each record of ``eval/data/retrieval/evidence_inference.jsonl`` asks "With respect to OUTCOME, how does
INTERVENTION compare with COMPARATOR?" about one randomised trial (``gold_ids``), with the clinicians'
evidence spans (``evidence``). For an ``Answer`` this module measures:

* **cites the trial** — a statement of the research section cites a reference whose ``record_id`` is a gold
  id;
* **span overlap** — one of the quotes taken from the trial (``Reference.quotes`` of its references cited
  in the research section) overlaps one of the evidence spans. Overlap means, after lower-casing and
  collapsing whitespace, either containment (the quote contains the span, or the span contains the quote)
  or token overlap: at least half of the span's word tokens (``[a-z0-9]+``, counted as a set) occur in
  the quote. Scored only on records whose evidence can be in the abstract: ``evidence_in_abstract`` is
  true, or a span occurs verbatim (case and whitespace folded) in the trial's stored abstract. (The
  shipped file's flag is false on every row although 1,020 rows have a span in the abstract; see
  eval/data/SOURCES.md.)
* **retrieval ceiling** — recall@10 of the trial among the research records hybrid retrieval ranks for
  the same question (an answer cannot cite what retrieval did not find).

Trivial baselines printed beside them: citing the top-ranked research record (recall@1), and quoting the
trial abstract's last sentence (usually its conclusion) for the span overlap.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.retrieval import Filters, Retriever
from app.schema import Answer, Reference
from eval.datasets import DATA, RETRIEVAL_SETS, read_jsonl, sample, split_of_question
from eval.retrieval import unique_records

OVERLAP_MIN = 0.5
_TOKEN = re.compile(r"[a-z0-9]+")


def normalise(text: str) -> str:
    return " ".join(text.lower().split())


def tokens(text: str) -> set[str]:
    return set(_TOKEN.findall(text.lower()))


def span_overlaps(quote: str, evidence: str, minimum: float = OVERLAP_MIN) -> bool:
    """Whether a quoted sentence covers an evidence span (containment, or token overlap ≥ ``minimum``)."""
    q, e = normalise(quote), normalise(evidence)
    if not q or not e:
        return False
    if e in q or q in e:
        return True
    want = tokens(e)
    return bool(want) and len(want & tokens(q)) / len(want) >= minimum


def evidence_checkable(record: dict[str, Any], abstract: str | None) -> bool:
    """Whether the record's evidence can be quoted from the trial's abstract."""
    if record.get("evidence_in_abstract"):
        return True
    if not abstract:
        return False
    text = normalise(abstract)
    return any(normalise(e) and normalise(e) in text for e in record.get("evidence") or [])


@dataclass(frozen=True)
class ComparisonScore:
    cites_trial: bool
    checkable: bool
    span_overlap: bool | None  # None when the record is not checkable


def research_references(answer: Answer) -> list[Reference]:
    """The references that statements of the research section cite, in citation order."""
    by_number = {r.number: r for r in answer.references}
    numbers: list[int] = []
    for st in answer.section("research").statements:
        numbers.extend(n for n in st.citations if n not in numbers)
    return [by_number[n] for n in numbers if n in by_number]


def score_answer(answer: Answer, record: dict[str, Any], abstract: str | None) -> ComparisonScore:
    gold = set(record.get("gold_ids") or [])
    trial_refs = [r for r in research_references(answer) if r.record_id in gold]
    checkable = evidence_checkable(record, abstract)
    if not checkable:
        return ComparisonScore(bool(trial_refs), False, None)
    quotes = [q.text for r in trial_refs for q in (r.quotes or [r.quote])]
    spans = record.get("evidence") or []
    hit = any(span_overlaps(q, e) for q in quotes for e in spans)
    return ComparisonScore(bool(trial_refs), True, hit)


def last_sentence(text: str) -> str:
    from app.corpus.chunker import split_sentences

    spans = split_sentences(text)
    return text[spans[-1].start : spans[-1].end] if spans else ""


@dataclass
class ComparisonReport:
    split: str
    questions: int = 0
    cites_trial: int = 0
    checkable: int = 0
    span_overlap: int = 0
    retrieved_at_10: int = 0
    retrieved_at_1: int = 0
    last_sentence_overlap: int = 0
    seconds: float = 0.0
    rows: list[dict[str, Any]] = field(default_factory=list)

    def rate(self, n: int, of: int) -> float:
        return round(n / of, 4) if of else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "questions": self.questions,
            "cites_trial_rate": self.rate(self.cites_trial, self.questions),
            "span_overlap_rate": self.rate(self.span_overlap, self.checkable),
            "checkable": self.checkable,
            "retrieval_recall@10": self.rate(self.retrieved_at_10, self.questions),
            "baseline_top1_cites_trial": self.rate(self.retrieved_at_1, self.questions),
            "baseline_last_sentence_overlap": self.rate(self.last_sentence_overlap, self.checkable),
            "seconds": round(self.seconds, 1),
        }


def load_records(split: str | None, limit: int | None) -> list[dict[str, Any]]:
    rows = read_jsonl(DATA / RETRIEVAL_SETS["evidence_inference"][0])
    if split:
        rows = [r for r in rows if split_of_question(r["qid"], r) == split]
    return sample([r for r in rows if r.get("gold_ids")], limit)


def evaluate(
    ask: Callable[[str], Answer],
    retriever: Retriever,
    records: Sequence[dict[str, Any]],
    *,
    split: str,
    log: Callable[[str], None] = lambda _m: None,
    checkpoint: Callable[[ComparisonReport], None] | None = None,
) -> ComparisonReport:
    """Ask every question, score the answers, and measure the retrieval ceiling on the same questions."""
    report = ComparisonReport(split=split)
    store = retriever.index.passages
    start = time.perf_counter()
    for i, rec in enumerate(records, 1):
        gold = set(rec["gold_ids"])
        abstract = " ".join(p.text for g in sorted(gold) for p in store.by_record(g)) or None
        got = retriever.retrieve(rec["question"], k=30, filters=Filters(source_types=("research",)))
        ranked = unique_records(h.passage.id for h in got.sections["research"])[:10]
        answer = ask(rec["question"])
        score = score_answer(answer, rec, abstract)
        report.questions += 1
        report.cites_trial += score.cites_trial
        report.retrieved_at_10 += bool(gold & set(ranked))
        report.retrieved_at_1 += bool(ranked and ranked[0] in gold)
        if score.checkable:
            report.checkable += 1
            report.span_overlap += bool(score.span_overlap)
            last = last_sentence(abstract or "")
            report.last_sentence_overlap += any(span_overlaps(last, e) for e in rec.get("evidence") or [])
        report.rows.append(
            {
                "qid": rec["qid"],
                "cites_trial": score.cites_trial,
                "checkable": score.checkable,
                "span_overlap": score.span_overlap,
                "retrieved_at_10": bool(gold & set(ranked)),
            }
        )
        if i % 25 == 0:
            log(f"{i}/{len(records)} questions")
            if checkpoint is not None:
                report.seconds = time.perf_counter() - start
                checkpoint(report)  # a partial report survives an interrupted run
    report.seconds = time.perf_counter() - start
    return report


def markdown(summary: dict[str, Any]) -> str:
    n, c = summary["questions"], summary["checkable"]
    return "\n".join(
        [
            f"Evidence Inference comparison questions, {summary['split']} split: {n} questions "
            f"({c} with evidence in the abstract)",
            "",
            "| metric | answer engine | trivial baseline |",
            "|---|---:|---:|",
            f"| research section cites the trial | {summary['cites_trial_rate']:.3f} "
            f"| {summary['baseline_top1_cites_trial']:.3f} (cite the top-ranked record) |",
            f"| a quote from the trial overlaps the evidence span (of {c}) "
            f"| {summary['span_overlap_rate']:.3f} "
            f"| {summary['baseline_last_sentence_overlap']:.3f} (quote the abstract's last sentence) |",
            "| retrieval ceiling: trial in the top 10 research records "
            f"| {summary['retrieval_recall@10']:.3f} | |",
        ]
    )
