"""Answer metrics: ALCE citation recall and precision, plus what medicine needs.

Everything here works on an ``AnswerView`` — the sections, statements and cited passage ids of one answer,
whatever produced it: the guarded ``Answer`` the user sees, or the composer's raw draft before the guard
(so the guard's effect can be measured with the same rulers). "Supported" is always a ``Judge``'s call.

- **Citation recall** (per statement): 1 when the statement cites at least one retrieved passage and its
  cited passages, read together, support it (ALCE).
- **Citation precision** (per citation, over the statements that are supported): a citation is irrelevant
  when it does not support the statement alone *and* the statement's other citations still support it
  without it (ALCE). A dangling citation of a supported statement is irrelevant too. The ALCE-strict variant
  (``citation_precision_alce``) also counts the citations of unsupported statements, as 0.
- **Dangling citations**: citations of anything not retrieved for the question. Must be 0.
- **Numeric fidelity**: share of the numbers in statements (with their unit when one follows: doses,
  percentages, durations) found, same value and unit, in the passages the statement cites.
- **Abstention**: on unanswerable questions, the share of sections that abstain; on answerable ones, the
  share of expected sections that answer. Both are rates over all sections asked — never dropped as NaN.
- **Section correctness**: share of citations whose passage belongs to the section citing it (label
  section → label passages *of a drug the question names*, when it names one; guidelines → guideline
  passages; research → research passages).
- **Coverage** (K-QA): comprehensiveness = share of the physicians' must-have statements the answer
  supports; hallucination = number of gold statements (must-have and nice-to-have) the answer contradicts.

Statements marked ``context`` (what an abstaining section's sources do say) are cited statements like any
other and are scored the same way.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.answer.grounding import quantities
from app.index.drugs import drug_keys
from app.schema import SECTION_SOURCE, Answer, GuardCounts, Passage, SectionKey
from eval.judges.base import Judge, Verdict
from eval.judges.lexical import join_identifiers

# -- what is scored ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CitedStatement:
    section: SectionKey
    text: str
    cited: tuple[str, ...]  # passage ids as cited; anything not retrieved is kept as given (dangling)
    context: bool = False


@dataclass
class SectionView:
    key: SectionKey
    abstained: bool
    statements: list[CitedStatement] = field(default_factory=list)


@dataclass
class AnswerView:
    """What the metrics need of one answer to one question."""

    qid: str
    question: str
    system: str
    sections: list[SectionView]
    retrieved: Mapping[str, Passage]  # every passage retrieved as evidence for the question, by id
    drugs: list[str] = field(default_factory=list)  # drug keys the question names
    latency_ms: float | None = None
    guard: GuardCounts | None = None
    fallback_sections: int = 0  # sections where the extractive answer replaced the LLM's

    def statements(self) -> list[CitedStatement]:
        return [st for sec in self.sections for st in sec.statements]

    def section(self, key: SectionKey) -> SectionView | None:
        return next((s for s in self.sections if s.key == key), None)


def view_of_answer(
    answer: Answer,
    *,
    qid: str,
    system: str,
    retrieved: Mapping[str, Passage],
    latency_ms: float | None = None,
    fallback_sections: int = 0,
) -> AnswerView:
    """The view of a guarded ``Answer``: reference numbers resolved to passage ids."""
    by_number = {r.number: r.passage_id for r in answer.references}
    sections = [
        SectionView(
            key=sec.key,
            abstained=sec.abstained,
            statements=[
                CitedStatement(
                    section=sec.key,
                    text=st.text,
                    cited=tuple(by_number.get(n, f"[{n}]") for n in st.citations),
                    context=st.context,
                )
                for st in sec.statements
            ],
        )
        for sec in answer.sections
    ]
    return AnswerView(
        qid=qid,
        question=answer.question,
        system=system,
        sections=sections,
        retrieved=retrieved,
        drugs=list(answer.drugs),
        latency_ms=latency_ms,
        guard=answer.guard,
        fallback_sections=fallback_sections,
    )


# -- per statement ----------------------------------------------------------------------------------------


@dataclass
class CitationScore:
    key: str
    dangling: bool
    section_ok: bool | None  # None when dangling (nothing to check)
    irrelevant: bool | None = None  # decided only when the statement is supported
    alone: Verdict | None = None


@dataclass
class StatementScore:
    qid: str
    system: str
    section: SectionKey
    text: str
    context: bool
    citations: list[CitationScore]
    joint: Verdict | None  # None when nothing retrieved is cited
    numbers: list[str]
    numbers_missing: list[str]

    @property
    def supported(self) -> bool:
        return self.joint is not None and self.joint.supported

    @property
    def recall(self) -> int:
        return int(self.supported)

    @property
    def problems(self) -> list[str]:
        out = []
        if not self.citations:
            out.append("no citation")
        elif self.joint is None:
            out.append("cites nothing retrieved")
        elif not self.supported:
            out.append(f"not supported ({self.joint.label})")
        dangling = [c.key for c in self.citations if c.dangling]
        if dangling:
            out.append("dangling: " + ", ".join(dangling))
        irrelevant = [c.key for c in self.citations if c.irrelevant and not c.dangling]
        if irrelevant:
            out.append("irrelevant citation: " + ", ".join(irrelevant))
        if self.numbers_missing:
            out.append("numbers not in the cited passages: " + ", ".join(self.numbers_missing))
        wrong = [c.key for c in self.citations if c.section_ok is False]
        if wrong:
            out.append("wrong section: " + ", ".join(wrong))
        return out

    @property
    def failed(self) -> bool:
        return bool(self.problems)


def section_ok(section: SectionKey, passage: Passage, drugs: Sequence[str]) -> bool:
    """Does ``passage`` belong in ``section``: right source type and, for labels, a drug asked about."""
    if passage.source_type != SECTION_SOURCE[section]:
        return False
    if section == "fda_label" and drugs:
        keys = drug_keys(passage.drug) | drug_keys(passage.brand)
        return bool(keys & set(drugs))
    return True


def numbers_in(statement: str, cited_texts: Sequence[str]) -> tuple[list[str], list[str]]:
    """(numbers of the statement, those not in the cited texts with the same value and unit)."""
    ev = [q for t in cited_texts for q in quantities(join_identifiers(t))]
    values = {q.value for q in ev}
    pairs = {(q.value, q.unit) for q in ev}
    found, missing = [], []
    for q in quantities(join_identifiers(statement)):
        found.append(str(q))
        if q.value not in values or (q.unit is not None and (q.value, q.unit) not in pairs):
            missing.append(str(q))
    return found, missing


def score_statement(st: CitedStatement, view: AnswerView, judge: Judge) -> StatementScore:
    keys = list(dict.fromkeys(st.cited))
    valid = [k for k in keys if k in view.retrieved]
    texts = {k: view.retrieved[k].text for k in valid}
    citations = [
        CitationScore(
            key=k,
            dangling=k not in view.retrieved,
            section_ok=section_ok(st.section, view.retrieved[k], view.drugs) if k in view.retrieved else None,
        )
        for k in keys
    ]
    joint = judge.support(st.text, [texts[k] for k in valid]) if valid else None
    if joint is not None and joint.supported:
        for c in citations:
            if c.dangling:
                c.irrelevant = True
                continue
            c.alone = joint if len(valid) == 1 else judge.support(st.text, [texts[c.key]])
            if c.alone.supported:
                c.irrelevant = False
                continue
            rest = [texts[k] for k in valid if k != c.key]
            c.irrelevant = bool(rest) and judge.support(st.text, rest).supported
    numbers, missing = numbers_in(st.text, list(texts.values()))
    return StatementScore(
        qid=view.qid,
        system=view.system,
        section=st.section,
        text=st.text,
        context=st.context,
        citations=citations,
        joint=joint,
        numbers=numbers,
        numbers_missing=missing,
    )


def score_answer(view: AnswerView, judge: Judge) -> list[StatementScore]:
    return [score_statement(st, view, judge) for st in view.statements()]


# -- K-QA coverage ----------------------------------------------------------------------------------------


@dataclass
class CoverageScore:
    qid: str
    must_have: int
    must_have_supported: int
    contradicted: list[str]  # gold statements (must-have or nice-to-have) the answer contradicts
    missed: list[str]  # must-have statements the answer does not support

    @property
    def comprehensiveness(self) -> float:
        return self.must_have_supported / self.must_have if self.must_have else 0.0


def coverage(
    view: AnswerView, must_have: Sequence[str], nice_to_have: Sequence[str], judge: Judge
) -> CoverageScore:
    """K-QA: the answer's statements (every section, context included) are the premise of each gold one."""
    premise = [st.text for st in view.statements()]
    supported, missed, contradicted = 0, [], []
    for gold in must_have:
        v = judge.support(gold, premise)
        if v.supported:
            supported += 1
        else:
            missed.append(gold)
        if v.label == "contradict":
            contradicted.append(gold)
    for gold in nice_to_have:
        if judge.support(gold, premise).label == "contradict":
            contradicted.append(gold)
    return CoverageScore(view.qid, len(must_have), supported, contradicted, missed)


# -- aggregates -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """A share with its counts; ``value`` is None only when nothing was there to count."""

    num: float
    den: int

    @property
    def value(self) -> float | None:
        return round(self.num / self.den, 4) if self.den else None

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "num": self.num, "den": self.den}


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in [0, 1]); None for no values."""
    if not values:
        return None
    s = sorted(values)
    return round(s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))], 2)


def faithfulness(scores: Sequence[StatementScore]) -> dict[str, Rate | int]:
    supported = [s for s in scores if s.supported]
    cites_supported = [c for s in supported for c in s.citations]
    all_cites = [c for s in scores for c in s.citations]
    valid_cites = [c for c in all_cites if not c.dangling]
    numbers = sum(len(s.numbers) for s in scores)
    missing = sum(len(s.numbers_missing) for s in scores)
    relevant = sum(1 for c in cites_supported if not c.irrelevant)
    return {
        "statements": len(scores),
        "citation_recall": Rate(sum(s.recall for s in scores), len(scores)),
        "citation_precision": Rate(relevant, len(cites_supported)),
        "citation_precision_alce": Rate(relevant, len(all_cites)),
        "citations": len(all_cites),
        "dangling_citations": sum(1 for c in all_cites if c.dangling),
        "uncited_statements": sum(1 for s in scores if not s.citations),
        "contradicted_statements": sum(
            1 for s in scores if s.joint is not None and s.joint.label == "contradict"
        ),
        "numeric_fidelity": Rate(numbers - missing, numbers),
        "section_correctness": Rate(sum(1 for c in valid_cites if c.section_ok), len(valid_cites)),
    }


def abstention(views: Iterable[AnswerView]) -> dict[str, Rate]:
    """Unanswerable questions: share of sections that abstain, and of questions where every section does."""
    views = list(views)
    sections = [s for v in views for s in v.sections]
    return {
        "abstention_rate": Rate(sum(1 for s in sections if s.abstained), len(sections)),
        "full_abstention_rate": Rate(
            sum(1 for v in views if all(s.abstained for s in v.sections)), len(views)
        ),
    }


def answering(views: Iterable[AnswerView], expected: Mapping[str, Sequence[SectionKey]]) -> dict[str, Rate]:
    """Answerable questions: share of the expected sections that answer (and of questions where any does)."""
    views = list(views)
    hits, total = 0, 0
    for v in views:
        for key in expected.get(v.qid, ()):
            sec = v.section(key)
            total += 1
            hits += int(sec is not None and not sec.abstained)
    return {
        "answer_rate": Rate(hits, total),
        "any_section_answer_rate": Rate(
            sum(1 for v in views if any(not s.abstained for s in v.sections)), len(views)
        ),
    }


def coverage_summary(scores: Sequence[CoverageScore]) -> dict[str, Rate | float | int | None]:
    n = len(scores)
    return {
        "questions": n,
        "comprehensiveness": Rate(round(sum(s.comprehensiveness for s in scores), 6), n),
        "must_have_supported": Rate(
            sum(s.must_have_supported for s in scores), sum(s.must_have for s in scores)
        ),
        "hallucination": round(sum(len(s.contradicted) for s in scores) / n, 4) if n else None,
        "hallucinated_statements": sum(len(s.contradicted) for s in scores),
    }


def latency(views: Iterable[AnswerView]) -> dict[str, float | int | None]:
    ms = [v.latency_ms for v in views if v.latency_ms is not None]
    return {
        "n": len(ms),
        "p50_ms": percentile(ms, 0.5),
        "p95_ms": percentile(ms, 0.95),
        "mean_ms": round(statistics.fmean(ms), 2) if ms else None,
    }


def guard_totals(views: Iterable[AnswerView]) -> dict[str, int] | None:
    counts = [v.guard for v in views if v.guard is not None]
    if not counts:
        return None
    total: dict[str, int] = {}
    for c in counts:
        for k, v in c.model_dump().items():
            total[k] = total.get(k, 0) + int(v)
    return total


def by_section(scores: Sequence[StatementScore]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for key in SECTION_SOURCE:
        mine = [s for s in scores if s.section == key]
        out[key] = {
            "statements": len(mine),
            "citation_recall": Rate(sum(s.recall for s in mine), len(mine)).to_json(),
        }
    return out
