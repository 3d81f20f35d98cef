"""Relevance: does an answer section answer the question? Measured against human-chosen evidence.

Every statement Curbside shows is a verbatim, cited quote, so faithfulness judges score it 1.0 whatever it
says; this module asks instead whether what is quoted is what a human chose to answer the question with.
Per answer section, on one split of the retrieval sets (``eval/datasets.py::split_of_question``; the
validation split by default, the train split is for tuning):

- **answer rate** (answerable questions): share of the expected sections that answer — the section did
  not abstain and has at least one statement not flagged ``context`` (background an abstaining section
  shows does not answer);
- **cites-gold rate**: share of the expected sections whose answering statements cite a gold record (a
  statement cites a record through its references' ``record_id``; a passage id is ``<record_id>#<n>``);
- **statement precision**: answering statements that cite a gold record / all answering statements,
  micro-averaged over the set's sections (None when no section answered);
- **content recall**: the share of the human answer's content terms found in the section's answering
  statements, averaged over the expected sections (0 for a section that abstains). Terms are the index's
  own analyser (``app.index.lexical.analyze``: lower-cased, English and question stop words dropped,
  Porter-stemmed), as sets. The human answer: MedicationQA ``answer`` (the DailyMed excerpt), BioASQ
  ``ideal_answer``, PubMedQA ``long_answer`` (the abstract's conclusion), Evidence Inference ``evidence``
  (the annotators' spans, which are often from the trial's full text, so recall there has a low ceiling).
  Recall rewards saying more: read it beside statement precision;
- **abstention rate** (unanswerable): share of the sections of ``eval/data/abstention.jsonl`` questions
  (every section of each) that do not answer. No *complement* sections of the answerable sets are counted
  as unanswerable: a MedicationQA question's guideline or research section, or a BioASQ/PubMedQA
  question's label section, may well be answerable from the corpus (a research question about a drug has
  a label), so none is unanswerable by construction;
- **abstention outside the label on product questions**: the MedicationQA questions of the set that ask
  only what a product looks like, contains or how it is stored (``asks_of_product``) — their guideline and
  research sections should not answer (an abstract that names the drug is about something else); the share
  of those sections that abstain, reported apart from the unanswerable set;
- **decision balanced accuracy**: (answer rate on the set + abstention rate on the unanswerable
  sections) / 2 — how well the section decides to answer or abstain; "always abstain" and "always
  answer" both score 0.5;
- **ceiling**: the engine's retriever (hybrid, the section's source type, 30 passages → records) on the
  same questions: recall@10 of the gold records, and hit@10 (a gold record in the top 10 — the ceiling
  of the cites-gold rate);
- **baselines** beside every rate, from the same retrieval: ``always_abstain`` and
  ``top1_first_sentence`` (every section quotes the first sentence of its top-ranked passage, cited to it).

Questions whose gold records are not in the loaded index (e.g. Evidence Inference trials when the RCT
corpus is not indexed) are left out of that set and counted as ``gold_missing``.

The abstention precision–recall helper (``abstention_curve``, ``pick_operating_point``, ``plot_curve``,
``curve_table``) takes per-section ``(score, answerable)`` pairs — a section answers when its score is at
least the threshold — for a calibrated section abstention; the report draws it for a plain retrieval
confidence (the best cosine of the section's retrieved passages), as the curve to beat.

    curbside eval relevance [--set medicationqa|bioasq|pubmedqa|evidence_inference|all]
                            [--split validation|train] [--limit N] [--json out.json]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.answer.engine import AnswerEngine, QuestionError
from app.answer.question import analyse_question, asks_of_product
from app.corpus.chunker import record_id_of
from app.index.cache import file_sha256
from app.index.lexical import analyze
from app.index.passages import PassageStore
from app.retrieval import Retrieval, Retriever
from app.schema import (
    SECTION_KEYS,
    SECTION_SOURCE,
    SECTION_TITLES,
    Answer,
    Backend,
    Quote,
    Reference,
    Section,
    SectionKey,
    Statement,
)
from eval.datasets import DATA, read_jsonl, sample, split_of_question

# -- the sets ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RelevanceSet:
    file: str  # under eval/data
    section: SectionKey  # the section a human answer comes from
    answer_field: str  # the human answer (a string or a list of strings)


RELEVANCE_SETS: dict[str, RelevanceSet] = {
    "medicationqa": RelevanceSet("retrieval/medicationqa.jsonl", "fda_label", "answer"),
    "bioasq": RelevanceSet("retrieval/bioasq.jsonl", "research", "ideal_answer"),
    "pubmedqa": RelevanceSet("retrieval/pubmedqa.jsonl", "research", "long_answer"),
    "evidence_inference": RelevanceSet("retrieval/evidence_inference.jsonl", "research", "evidence"),
}
UNANSWERABLE_FILE = "abstention.jsonl"
# Questions written from the titles of guidelines in the shipped corpus, each with its source guideline's
# record-id prefix: no human-chosen guideline evidence exists (the three sets above are drug and research
# questions), so whether the guideline section answers from the guideline asked about is probed apart.
GUIDELINE_PROBE_FILE = "guideline_probe.jsonl"
SPLITS = ("validation", "train")
SYSTEMS = ("curbside", "always_abstain", "top1_first_sentence")
BASELINES = ("always_abstain", "top1_first_sentence")
METRICS = (
    "answer_rate",
    "cites_gold_rate",
    "statement_precision",
    "content_recall",
    "decision_balanced_accuracy",
)
CEILING_K = 10
MIN_ABSTENTION = 0.95  # the operating point's floor on unanswerable sections


@dataclass(frozen=True)
class Item:
    """One answerable question of a set: its expected section, gold records and human answer."""

    qid: str
    question: str
    set: str
    section: SectionKey
    gold: frozenset[str]
    human_answer: str


def human_answer(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return " ".join(human_answer(v) for v in value)
    return str(value)


def load_items(
    name: str,
    *,
    split: str = "validation",
    limit: int | None = None,
    seed: int = 13,
    known: Callable[[str], bool] | None = None,
) -> tuple[list[Item], int]:
    """The set's questions of ``split`` (a seeded sample of ``limit``), and how many were left out because
    ``known`` (is a record in the index?) says none of their gold records is there."""
    spec = RELEVANCE_SETS[name]
    rows = [
        r
        for r in read_jsonl(DATA / spec.file)
        if r.get("gold_ids") and split_of_question(str(r["qid"]), r) == split
    ]
    items: list[Item] = []
    missing = 0
    for r in sample(rows, limit, seed=seed):
        gold = frozenset(str(g) for g in r["gold_ids"])
        if known is not None:
            gold = frozenset(g for g in gold if known(g))
            if not gold:
                missing += 1
                continue
        items.append(
            Item(
                str(r["qid"]),
                str(r["question"]),
                name,
                spec.section,
                gold,
                human_answer(r.get(spec.answer_field)),
            )
        )
    return items, missing


# -- one section ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SectionStatements:
    """What one section of an answer says: whether it answers, and its answering statements with the
    records they cite."""

    answered: bool
    statements: tuple[tuple[str, frozenset[str]], ...]  # (text, cited record ids), context ones left out


def section_statements(answer: Answer, key: SectionKey) -> SectionStatements:
    records = {r.number: r.record_id for r in answer.references}
    sec = next((s for s in answer.sections if s.key == key), None)
    if sec is None or sec.abstained:
        return SectionStatements(False, ())
    answering = tuple(
        (st.text, frozenset(records[n] for n in st.citations if n in records))
        for st in sec.statements
        if not st.context
    )
    return SectionStatements(bool(answering), answering)


def terms(text: str) -> set[str]:
    return set(analyze(text))


def content_recall(human: str, statements: Iterable[str]) -> float | None:
    """Share of the human answer's content terms that the statements contain (None: no content terms)."""
    wanted = terms(human)
    if not wanted:
        return None
    got = terms(" ".join(statements))
    return len(wanted & got) / len(wanted)


@dataclass(frozen=True)
class SectionOutcome:
    qid: str
    set: str  # a relevance set, or "abstention"
    key: SectionKey
    answerable: bool
    answered: bool
    statements: int
    gold_statements: int
    cites_gold: bool
    content_recall: float | None  # None for unanswerable sections or a human answer without content terms
    score: float  # the section's answer/abstain score (for the abstention curve)


def outcome(
    answer: Answer,
    key: SectionKey,
    *,
    qid: str,
    set_name: str,
    gold: frozenset[str] = frozenset(),
    human: str | None = None,
    score: float = 0.0,
) -> SectionOutcome:
    """Score one section; ``human`` None means the question is unanswerable."""
    sec = section_statements(answer, key)
    gold_statements = sum(1 for _, cited in sec.statements if cited & gold)
    recall: float | None = None
    if human is not None:
        recall = content_recall(human, (t for t, _ in sec.statements))
        if recall is not None and not sec.answered:
            recall = 0.0
    return SectionOutcome(
        qid=qid,
        set=set_name,
        key=key,
        answerable=human is not None,
        answered=sec.answered,
        statements=len(sec.statements),
        gold_statements=gold_statements,
        cites_gold=gold_statements > 0,
        content_recall=recall,
        score=score,
    )


# -- aggregates -------------------------------------------------------------------------------------------


def _ratio(num: float, den: int) -> float | None:
    return round(num / den, 4) if den else None


def answerable_metrics(outcomes: Sequence[SectionOutcome]) -> dict[str, Any]:
    """answer rate, cites-gold rate, statement precision (micro), content recall (mean) of answerable
    sections, with their counts."""
    n = len(outcomes)
    answered = sum(1 for o in outcomes if o.answered)
    gold = sum(1 for o in outcomes if o.cites_gold)
    statements = sum(o.statements for o in outcomes)
    gold_statements = sum(o.gold_statements for o in outcomes)
    recalls = [o.content_recall for o in outcomes if o.content_recall is not None]
    return {
        "sections": n,
        "answer_rate": _ratio(answered, n),
        "cites_gold_rate": _ratio(gold, n),
        "statement_precision": _ratio(gold_statements, statements),
        "content_recall": _ratio(sum(recalls), len(recalls)),
        "counts": {
            "answered": answered,
            "cites_gold": gold,
            "statements": statements,
            "gold_statements": gold_statements,
            "content_recall_sections": len(recalls),
        },
    }


def abstention_metrics(outcomes: Sequence[SectionOutcome]) -> dict[str, Any]:
    """Share of unanswerable sections that do not answer, overall and per section key."""
    by_key = {k: [o for o in outcomes if o.key == k] for k in SECTION_KEYS}
    return {
        "sections": len(outcomes),
        "abstention_rate": _ratio(sum(1 for o in outcomes if not o.answered), len(outcomes)),
        "by_section": {
            k: _ratio(sum(1 for o in os if not o.answered), len(os)) for k, os in by_key.items() if os
        },
    }


# -- the abstention precision–recall curve ----------------------------------------------------------------


@dataclass(frozen=True)
class OperatingPoint:
    threshold: float  # a section answers when its score ≥ threshold
    answer_rate: float  # answerable sections that answer
    abstention_rate: float  # unanswerable sections that abstain


def abstention_curve(pairs: Iterable[tuple[float, bool]]) -> list[OperatingPoint]:
    """Every distinct threshold (each score, and +∞ = always abstain), lowest first."""
    pairs = list(pairs)
    answerable = sorted(s for s, a in pairs if a)
    unanswerable = sorted(s for s, a in pairs if not a)
    if not answerable or not unanswerable:
        raise ValueError("the abstention curve needs both answerable and unanswerable sections")
    import bisect

    points = []
    for t in [*sorted({s for s, _ in pairs}), math.inf]:
        answer = len(answerable) - bisect.bisect_left(answerable, t)
        abstain = bisect.bisect_left(unanswerable, t)
        points.append(OperatingPoint(t, answer / len(answerable), abstain / len(unanswerable)))
    return points


def pick_operating_point(
    curve: Sequence[OperatingPoint], min_abstention: float = MIN_ABSTENTION
) -> OperatingPoint:
    """The point that answers most answerable sections while abstaining on at least ``min_abstention`` of
    the unanswerable ones (the lowest such threshold on ties). +∞ always qualifies."""
    ok = [p for p in curve if p.abstention_rate >= min_abstention - 1e-12]
    return max(ok, key=lambda p: (p.answer_rate, p.abstention_rate, -p.threshold))


def curve_table(curve: Sequence[OperatingPoint], chosen: OperatingPoint, rows: int = 12) -> str:
    """Markdown: ``rows`` points spread along the curve, the chosen one marked."""
    step = max(1, len(curve) // rows)
    shown = list(dict.fromkeys([*curve[::step], curve[-1], chosen]))
    shown.sort(key=lambda p: p.threshold)
    lines = ["| threshold | answer rate (answerable) | abstention (unanswerable) | |", "|---:|---:|---:|---|"]
    for p in shown:
        t = "∞" if math.isinf(p.threshold) else f"{p.threshold:.3f}"
        mark = "**operating point**" if p == chosen else ""
        lines.append(f"| {t} | {p.answer_rate:.3f} | {p.abstention_rate:.3f} | {mark} |")
    return "\n".join(lines)


def plot_curve(curve: Sequence[OperatingPoint], chosen: OperatingPoint, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4.5), dpi=110)
    ax.plot([p.abstention_rate for p in curve], [p.answer_rate for p in curve], color="#4C72B0", lw=1.5)
    ax.scatter([chosen.abstention_rate], [chosen.answer_rate], color="#C44E52", zorder=3)
    t = "∞" if math.isinf(chosen.threshold) else f"{chosen.threshold:.3f}"
    ax.annotate(
        f"threshold {t}\nanswers {chosen.answer_rate:.2f}, abstains {chosen.abstention_rate:.2f}",
        (chosen.abstention_rate, chosen.answer_rate),
        textcoords="offset points",
        xytext=(-130, -30),
        fontsize=7,
    )
    ax.axvline(MIN_ABSTENTION, color="grey", ls=":", lw=1)
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("abstention rate on unanswerable sections")
    ax.set_ylabel("answer rate on answerable sections")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


# -- the systems ------------------------------------------------------------------------------------------

System = Callable[[str, Retrieval], Answer]


def _answer(question: str, sections: list[Section], references: list[Reference]) -> Answer:
    return Answer(
        question=question,
        standalone_question=question,
        sections=sections,
        references=references,
        disclaimer="",
        backend=Backend(composer="extractive"),
    )


def always_abstain(question: str, _retrieval: Retrieval | None = None) -> Answer:
    """The trivial system that never answers."""
    return _answer(
        question, [Section(key=k, title=SECTION_TITLES[k], abstained=True) for k in SECTION_KEYS], []
    )


def top1_first_sentence(question: str, retrieval: Retrieval) -> Answer:
    """The trivial system that answers every section with the first sentence of its top-ranked passage."""
    sections: list[Section] = []
    refs: list[Reference] = []
    for key in SECTION_KEYS:
        hits = retrieval.sections.get(SECTION_SOURCE[key], [])
        if not hits:
            sections.append(Section(key=key, title=SECTION_TITLES[key], abstained=True))
            continue
        p = hits[0].passage
        start, end = (p.sentences[0].start, p.sentences[0].end) if p.sentences else (0, len(p.text))
        text = p.text[start:end]
        refs.append(Reference.from_passage(len(refs) + 1, p, Quote(text=text, start=start, end=end)))
        sections.append(
            Section(
                key=key, title=SECTION_TITLES[key], statements=[Statement(text=text, citations=[len(refs)])]
            )
        )
    return _answer(question, sections, refs)


def engine_system(engine: AnswerEngine) -> System:
    """Curbside's answer (extractive when the engine has no LLM); a question the engine refuses abstains."""

    def answer(question: str, _retrieval: Retrieval) -> Answer:
        try:
            return engine.ask(question, remember=False)
        except QuestionError:
            return always_abstain(question)

    return answer


def section_score(retrieval: Retrieval, key: SectionKey) -> float:
    """Retrieval confidence of a section: the best cosine among its retrieved passages (-1 when none)."""
    cosines = [
        h.dense_score for h in retrieval.sections.get(SECTION_SOURCE[key], []) if h.dense_score is not None
    ]
    return round(max(cosines), 6) if cosines else -1.0


# -- a run ------------------------------------------------------------------------------------------------


@dataclass
class RelevanceRun:
    """Every scored section of every system, the ceilings, and what was asked."""

    outcomes: dict[str, list[SectionOutcome]]  # system → sections
    ceilings: dict[str, dict[str, float | None]]  # set → recall@10, hit@10
    questions: dict[str, int]  # set → questions scored ("abstention", "product_questions" too)
    gold_missing: dict[str, int]
    split: str
    limit: int | None
    seed: int
    # system → one flag per guideline/research section of the product questions: did it abstain?
    product: dict[str, list[bool]] = field(default_factory=dict)
    # system → per guideline probe question: (the guideline section answered, it cites the source guideline)
    probe: dict[str, list[tuple[bool, bool]]] = field(default_factory=dict)


def in_index(store: PassageStore) -> Callable[[str], bool]:
    """Is a record (its first chunk, or any passage of it) in the index's passage store?"""

    def known(record_id: str) -> bool:
        return store.get(f"{record_id}#0") is not None or bool(store.by_record(record_id))

    return known


def ceiling(retrieval: Retrieval, item: Item, k: int = CEILING_K) -> tuple[float, bool]:
    hits = retrieval.sections.get(SECTION_SOURCE[item.section], [])
    ranked = list(dict.fromkeys(record_id_of(h.passage.id) for h in hits))[:k]
    found = item.gold.intersection(ranked)
    return len(found) / len(item.gold), bool(found)


def run(
    retriever: Retriever,
    systems: Mapping[str, System],
    *,
    sets: Sequence[str],
    split: str = "validation",
    limit: int | None = None,
    seed: int = 13,
    unanswerable: bool = True,
    score_of: Callable[[Retrieval, SectionKey], float] | None = None,
    log: Callable[[str], None] | None = None,
) -> RelevanceRun:
    """Ask every system each question of ``sets`` (and of the unanswerable set), from one retrieval each.
    ``score_of`` gives each section the score of the abstention curve (default: ``section_score``)."""
    score_of = score_of or section_score
    known = in_index(retriever.index.passages)
    outcomes: dict[str, list[SectionOutcome]] = {s: [] for s in systems}
    product: dict[str, list[bool]] = {s: [] for s in systems}
    ceilings: dict[str, dict[str, float | None]] = {}
    questions: dict[str, int] = {}
    missing: dict[str, int] = {}
    for name in sets:
        items, missing[name] = load_items(name, split=split, limit=limit, seed=seed, known=known)
        questions[name] = len(items)
        recall = hit = 0.0
        for item in items:
            retrieval = retriever.retrieve(item.question, k=3 * CEILING_K)
            r, h = ceiling(retrieval, item)
            recall += r
            hit += h
            score = score_of(retrieval, item.section)
            of_product = item.section == "fda_label" and asks_of_product(analyse_question(item.question))
            questions["product_questions"] = questions.get("product_questions", 0) + of_product
            for sys_name, system in systems.items():
                answer = system(item.question, retrieval)
                if of_product:
                    product[sys_name] += [
                        not section_statements(answer, k).answered for k in SECTION_KEYS if k != "fda_label"
                    ]
                outcomes[sys_name].append(
                    outcome(
                        answer,
                        item.section,
                        qid=item.qid,
                        set_name=name,
                        gold=item.gold,
                        human=item.human_answer,
                        score=score,
                    )
                )
        ceilings[name] = {
            f"recall@{CEILING_K}": _ratio(recall, len(items)),
            f"hit@{CEILING_K}": _ratio(hit, len(items)),
        }
        if log:
            log(
                f"relevance: {name} ({split}): {len(items)} questions, "
                f"{missing[name]} without gold in the index"
            )
    if unanswerable:
        rows = read_jsonl(DATA / UNANSWERABLE_FILE)
        questions["abstention"] = len(rows)
        for row in rows:
            retrieval = retriever.retrieve(str(row["question"]), k=3 * CEILING_K)
            for sys_name, system in systems.items():
                answer = system(str(row["question"]), retrieval)
                for key in SECTION_KEYS:
                    outcomes[sys_name].append(
                        outcome(
                            answer,
                            key,
                            qid=str(row["qid"]),
                            set_name="abstention",
                            score=score_of(retrieval, key),
                        )
                    )
    probe: dict[str, list[tuple[bool, bool]]] = {s: [] for s in systems}
    if unanswerable and (DATA / GUIDELINE_PROBE_FILE).exists():
        rows = read_jsonl(DATA / GUIDELINE_PROBE_FILE)
        questions["guideline_probe"] = len(rows)
        for row in rows:
            retrieval = retriever.retrieve(str(row["question"]), k=3 * CEILING_K)
            prefixes = tuple(str(g) for g in row["gold_prefixes"])
            for sys_name, system in systems.items():
                sec = section_statements(system(str(row["question"]), retrieval), "guidelines")
                cited = {r for _t, rs in sec.statements for r in rs}
                probe[sys_name].append((sec.answered, any(r.startswith(prefixes) for r in cited)))
    return RelevanceRun(outcomes, ceilings, questions, missing, split, limit, seed, product, probe)


def default_systems(engine: AnswerEngine) -> dict[str, System]:
    return {
        "curbside": engine_system(engine),
        "always_abstain": always_abstain,
        "top1_first_sentence": top1_first_sentence,
    }


def summarize(result: RelevanceRun, *, min_abstention: float = MIN_ABSTENTION) -> dict[str, Any]:
    """The JSON report: per set × system the rates, the ceiling, abstention, the mean over sets and the
    abstention curve of the retrieval confidence."""
    unanswerable = {s: [o for o in os if not o.answerable] for s, os in result.outcomes.items()}
    abstention = {s: abstention_metrics(os) for s, os in unanswerable.items() if os}
    sets: dict[str, Any] = {}
    for name in result.ceilings:
        systems = {
            s: answerable_metrics([o for o in os if o.set == name]) for s, os in result.outcomes.items()
        }
        for s, m in systems.items():
            m["decision_balanced_accuracy"] = balanced_accuracy(
                m["answer_rate"], abstention[s]["abstention_rate"] if s in abstention else None
            )
        sets[name] = {
            "section": RELEVANCE_SETS[name].section,
            "questions": result.questions[name],
            "gold_missing": result.gold_missing[name],
            "ceiling": result.ceilings[name],
            "systems": systems,
        }
    scored = [n for n in sets if sets[n]["questions"]]
    mean: dict[str, dict[str, float | None]] = {
        s: {m: _mean(sets[n]["systems"][s][m] for n in scored) for m in METRICS} for s in result.outcomes
    }
    mean["ceiling"] = {
        f"recall@{CEILING_K}": _mean(sets[n]["ceiling"][f"recall@{CEILING_K}"] for n in scored),
        f"hit@{CEILING_K}": _mean(sets[n]["ceiling"][f"hit@{CEILING_K}"] for n in scored),
    }
    report: dict[str, Any] = {
        "split": result.split,
        "limit": result.limit,
        "seed": result.seed,
        "datasets": {
            **{n: file_sha256(DATA / RELEVANCE_SETS[n].file) for n in sets},
            "abstention": file_sha256(DATA / UNANSWERABLE_FILE),
        },
        "sets": sets,
        "mean": mean,
    }
    if abstention:
        report["abstention"] = {"questions": result.questions.get("abstention", 0), "systems": abstention}
    if result.questions.get("product_questions"):
        report["product_questions"] = {
            "questions": result.questions["product_questions"],
            "systems": {
                s: {"sections": len(flags), "abstention_rate": _ratio(sum(flags), len(flags))}
                for s, flags in result.product.items()
                if flags
            },
        }
    if result.questions.get("guideline_probe"):
        systems_probe: dict[str, Any] = {}
        for s, flags in result.probe.items():
            if not flags:
                continue
            answer_rate = _ratio(sum(a for a, _c in flags), len(flags))
            # the guideline section's own decision: answering the probe, abstaining on unanswerable questions
            held = abstention_metrics([o for o in unanswerable.get(s, []) if o.key == "guidelines"])
            systems_probe[s] = {
                "answer_rate": answer_rate,
                "cites_source_rate": _ratio(sum(c for _a, c in flags), len(flags)),
                "abstention_rate": held["abstention_rate"],
                "decision_balanced_accuracy": balanced_accuracy(answer_rate, held["abstention_rate"]),
            }
        report["guideline_probe"] = {
            "questions": result.questions["guideline_probe"],
            "systems": systems_probe,
        }
    first = next(iter(result.outcomes.values()), [])
    pairs = [(o.score, o.answerable) for o in first]
    if any(a for _, a in pairs) and any(not a for _, a in pairs):
        curve = abstention_curve(pairs)
        chosen = pick_operating_point(curve, min_abstention)
        report["abstention_curve"] = {
            "score": "best P(answers) of the section's hits (the select stage's score; 0 = subject absent)",
            "min_abstention": min_abstention,
            "operating_point": _point(chosen),
            "points": [_point(p) for p in curve],
        }
    return report


def balanced_accuracy(answer_rate: float | None, abstention_rate: float | None) -> float | None:
    """Mean of the answer rate on answerable sections and the abstention rate on unanswerable ones: the
    answer-or-abstain decision's balanced accuracy. Both trivial policies (always answer, never answer)
    score 0.5 on it."""
    if answer_rate is None or abstention_rate is None:
        return None
    return round((answer_rate + abstention_rate) / 2, 4)


def _mean(values: Iterable[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return round(sum(vals) / len(vals), 4) if vals else None


def _point(p: OperatingPoint) -> dict[str, Any]:
    return {
        "threshold": None if math.isinf(p.threshold) else p.threshold,
        "answer_rate": round(p.answer_rate, 4),
        "abstention_rate": round(p.abstention_rate, 4),
    }


def curve_of(report: dict[str, Any]) -> tuple[list[OperatingPoint], OperatingPoint] | None:
    c = report.get("abstention_curve")
    if not c:
        return None

    def point(d: dict[str, Any]) -> OperatingPoint:
        t = math.inf if d["threshold"] is None else float(d["threshold"])
        return OperatingPoint(t, d["answer_rate"], d["abstention_rate"])

    return [point(d) for d in c["points"]], point(c["operating_point"])


def evaluate(
    engine: AnswerEngine,
    *,
    sets: Sequence[str] | None = None,
    split: str = "validation",
    limit: int | None = None,
    seed: int = 13,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Curbside and the trivial baselines on ``sets`` (all by default): the relevance report."""
    result = run(
        engine.retriever,
        default_systems(engine),
        sets=list(sets or RELEVANCE_SETS),
        split=split,
        limit=limit,
        seed=seed,
        score_of=engine.section_confidence,
        log=log,
    )
    return summarize(result)


# -- thresholds and markdown ------------------------------------------------------------------------------


def lookup(report: Mapping[str, Any], metric: str, system: str = "curbside") -> float | None:
    """A threshold's value: ``<set>.<metric>``, ``mean.<metric>``, ``abstention.abstention_rate`` or
    ``guideline_probe.<metric>`` of ``system``; ``<set>.ceiling.<name>`` for a retrieval ceiling."""
    scope, _, name = metric.partition(".")
    if scope in ("abstention", "guideline_probe"):
        value = report.get(scope, {}).get("systems", {}).get(system, {}).get(name)
    elif scope == "mean":
        value = report.get("mean", {}).get(system, {}).get(name)
    else:
        entry = report.get("sets", {}).get(scope, {})
        if name.startswith("ceiling."):
            value = entry.get("ceiling", {}).get(name.removeprefix("ceiling."))
        else:
            value = entry.get("systems", {}).get(system, {}).get(name)
    return value if isinstance(value, int | float) else None


def _f(v: Any) -> str:
    return "–" if v is None else f"{v:.3f}"


def markdown_table(report: Mapping[str, Any]) -> str:
    """Set × metric: Curbside, with the baselines and the retrieval ceiling beside it."""
    lines = [
        f"Split: {report['split']}"
        + (f", seeded sample of {report['limit']} per set" if report["limit"] else ""),
        "",
        "| set | questions | metric | Curbside | always abstain | top-1 first sentence | ceiling |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for name, entry in report["sets"].items():
        ceil = entry["ceiling"]
        ceilings = {
            "answer_rate": None,
            "cites_gold_rate": ceil.get(f"hit@{CEILING_K}"),
            "statement_precision": None,
            "content_recall": None,
            "decision_balanced_accuracy": None,
        }
        qs = f"{entry['questions']}" + (
            f" ({entry['gold_missing']} no gold)" if entry["gold_missing"] else ""
        )
        for m in METRICS:
            vals = [entry["systems"].get(s, {}).get(m) for s in SYSTEMS]
            lines.append(
                f"| {name} | {qs} | {m.replace('_', ' ')} | "
                + " | ".join(_f(v) for v in vals)
                + f" | {_f(ceilings[m])} |"
            )
        lines.append(
            f"| {name} | {qs} | recall@{CEILING_K} (retrieval) | | | "
            f"| {_f(ceil.get(f'recall@{CEILING_K}'))} |"
        )
    for m in METRICS:
        vals = [report["mean"].get(s, {}).get(m) for s in SYSTEMS]
        ceil_v = report["mean"]["ceiling"].get(f"hit@{CEILING_K}") if m == "cites_gold_rate" else None
        lines.append(
            f"| **mean** | | {m.replace('_', ' ')} | "
            + " | ".join(_f(v) for v in vals)
            + f" | {_f(ceil_v)} |"
        )
    for key, title, metric in (
        ("abstention", "abstention.jsonl", "abstention rate"),
        ("product_questions", "product questions (looks, contents, storage)", "abstention outside the label"),
    ):
        entry = report.get(key)
        if entry:
            vals = [entry["systems"].get(s, {}).get("abstention_rate") for s in SYSTEMS]
            n = entry["systems"][next(iter(entry["systems"]))]["sections"]
            lines.append(
                f"| {title} | {entry['questions']} ({n} sections) | {metric} | "
                + " | ".join(_f(v) for v in vals)
                + " | |"
            )
    probe = report.get("guideline_probe")
    if probe:
        for metric, label in (
            ("answer_rate", "answer rate"),
            ("cites_source_rate", "cites the source guideline"),
            ("abstention_rate", "guideline section abstention (abstention.jsonl)"),
            ("decision_balanced_accuracy", "decision balanced accuracy"),
        ):
            vals = [probe["systems"].get(s, {}).get(metric) for s in SYSTEMS]
            lines.append(
                f"| guideline probe (written from guideline titles) | {probe['questions']} | {label} | "
                + " | ".join(_f(v) for v in vals)
                + " | |"
            )
    lines += [
        "",
        f"Ceiling: the retriever's hit@{CEILING_K} (a gold record among the top {CEILING_K} records of the "
        f"section) beside the cites-gold rate, and its recall@{CEILING_K}.",
    ]
    got = curve_of(dict(report))
    if got:
        curve, chosen = got
        lines += [
            "",
            f"Abstention curve of {report['abstention_curve']['score']} (operating point: most answering "
            f"with ≥ {report['abstention_curve']['min_abstention']:.2f} abstention on unanswerable "
            "sections):",
            "",
            curve_table(curve, chosen),
        ]
    return "\n".join(lines)
