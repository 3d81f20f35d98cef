"""Relevance metrics on hand-built answers: does a section answer, cite the human-chosen record, say what the
human answer says; abstention on unanswerable sections; the abstention curve; the trivial baselines fail
the relevance thresholds."""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from app.answer.question import analyse_question, asks_of_product
from app.retrieval import Retrieval
from app.schema import (
    SECTION_KEYS,
    SECTION_TITLES,
    Answer,
    Backend,
    Hit,
    Passage,
    Quote,
    Reference,
    Section,
    SectionKey,
    SourceType,
    Span,
    Statement,
)
from eval.datasets import DATA
from eval.relevance import (
    GUIDELINE_PROBE_FILE,
    RelevanceRun,
    SectionOutcome,
    abstention_curve,
    abstention_metrics,
    always_abstain,
    answerable_metrics,
    balanced_accuracy,
    content_recall,
    curve_table,
    lookup,
    markdown_table,
    outcome,
    pick_operating_point,
    plot_curve,
    section_score,
    section_statements,
    summarize,
    top1_first_sentence,
)
from eval.suites import Suite
from eval.thresholds import check_thresholds

# statement text, cited record ids, context?
Said = tuple[str, Sequence[str], bool]


def passage(record_id: str, text: str, source_type: SourceType = "research", chunk: int = 0) -> Passage:
    first = text.find(". ")
    end = first + 1 if first >= 0 else len(text)
    return Passage(
        id=f"{record_id}#{chunk}",
        record_id=record_id,
        chunk=chunk,
        source_type=source_type,
        text=text,
        sentences=[Span(start=0, end=end)]
        + ([Span(start=end + 1, end=len(text))] if end < len(text) else []),
    )


def make_answer(said: Mapping[SectionKey, Sequence[Said]], *, abstained: Sequence[SectionKey] = ()) -> Answer:
    refs: dict[str, Reference] = {}
    sections = []
    for key in SECTION_KEYS:
        statements = []
        for text, records, context in said.get(key, ()):
            numbers = []
            for rid in records:
                if rid not in refs:
                    p = passage(rid, text)
                    refs[rid] = Reference.from_passage(
                        len(refs) + 1, p, Quote(text=text, start=0, end=len(text))
                    )
                numbers.append(refs[rid].number)
            statements.append(Statement(text=text, citations=numbers, context=context))
        sections.append(
            Section(key=key, title=SECTION_TITLES[key], statements=statements, abstained=key in abstained)
        )
    return Answer(
        question="?",
        standalone_question="?",
        sections=sections,
        references=list(refs.values()),
        disclaimer="",
        backend=Backend(composer="extractive"),
    )


def research(*said: Said, abstained: bool = False) -> Answer:
    return make_answer({"research": said}, abstained=("research",) if abstained else ())


GOLD = frozenset({"pmid:1"})
HUMAN = "Aspirin reduced the risk of stroke in older adults."


def scored(answer: Answer, *, gold: frozenset[str] = GOLD, human: str | None = HUMAN) -> SectionOutcome:
    return outcome(answer, "research", qid="q", set_name="pubmedqa", gold=gold, human=human)


# -- one section ------------------------------------------------------------------------------------------


def test_section_with_cited_statement_answers() -> None:
    got = section_statements(research(("Aspirin reduces stroke.", ["pmid:1"], False)), "research")
    assert got.answered
    assert got.statements == (("Aspirin reduces stroke.", frozenset({"pmid:1"})),)


def test_context_statements_do_not_count_as_answering() -> None:
    answer = research(("Stroke is common in older adults.", ["pmid:1"], True))
    o = scored(answer)
    assert not o.answered
    assert o.statements == 0
    assert not o.cites_gold  # background citing the gold record is not an answer citing it
    assert o.content_recall == 0.0


def test_abstained_section_does_not_answer_even_with_statements() -> None:
    answer = research(("Aspirin reduces stroke.", ["pmid:1"], False), abstained=True)
    assert not section_statements(answer, "research").answered


def test_cites_gold_goes_through_the_reference_record_id() -> None:
    gold = scored(research(("Aspirin reduces stroke.", ["pmid:2", "pmid:1"], False)))
    other = scored(research(("Aspirin reduces stroke.", ["pmid:2"], False)))
    assert gold.cites_gold
    assert gold.gold_statements == 1
    assert not other.cites_gold
    assert other.gold_statements == 0


def test_statement_precision_is_micro_averaged_over_sections() -> None:
    a = scored(research(("One.", ["pmid:1"], False)))  # 1 of 1
    b = scored(
        research(("Two.", ["pmid:1"], False), ("Three.", ["pmid:9"], False), ("Four.", ["pmid:8"], False))
    )  # 1 of 3
    m = answerable_metrics([a, b])
    assert m["statement_precision"] == 0.5  # 2/4, not the mean of 1.0 and 0.333
    assert m["cites_gold_rate"] == 1.0
    assert m["answer_rate"] == 1.0


def test_statement_precision_is_none_when_nothing_answered() -> None:
    m = answerable_metrics([scored(always_abstain("?"))])
    assert m["statement_precision"] is None
    assert m["answer_rate"] == 0.0
    assert m["content_recall"] == 0.0


def test_content_recall_counts_stemmed_content_terms_of_the_human_answer() -> None:
    # human terms: aspirin, reduc, risk, stroke, older, adult → the statement has aspirin, reduc, stroke
    assert content_recall(HUMAN, ["Aspirin reduces strokes."]) == pytest.approx(3 / 6)
    assert (
        content_recall(HUMAN, ["The aspirin group had fewer strokes and a reduced risk; older adults."])
        == 1.0
    )
    assert content_recall("the of and", ["anything"]) is None  # no content terms: not counted


def test_content_recall_of_an_abstaining_section_is_zero() -> None:
    assert scored(research(abstained=True)).content_recall == 0.0


def test_unanswerable_sections_count_abstention_per_key() -> None:
    answer = make_answer({"research": [("Something.", ["pmid:5"], False)]})
    outs = [outcome(answer, k, qid="u", set_name="abstention") for k in SECTION_KEYS]
    assert all(not o.answerable and o.content_recall is None for o in outs)
    m = abstention_metrics(outs)
    assert m["abstention_rate"] == pytest.approx(round(2 / 3, 4))
    assert m["by_section"] == {"guidelines": 1.0, "fda_label": 1.0, "research": 0.0}


def test_balanced_accuracy_of_both_trivial_policies_is_one_half() -> None:
    assert balanced_accuracy(0.0, 1.0) == 0.5  # always abstain
    assert balanced_accuracy(1.0, 0.0) == 0.5  # always answer
    assert balanced_accuracy(0.8, 0.9) == 0.85
    assert balanced_accuracy(None, 0.9) is None


# -- the baselines ----------------------------------------------------------------------------------------


def retrieval_of(*passages: Passage) -> Retrieval:
    sections: dict[SourceType, list[Hit]] = {"guideline": [], "fda_label": [], "research": []}
    for i, p in enumerate(passages):
        sections[p.source_type].append(Hit(passage=p, score=1.0 / (i + 1), dense_score=0.9 - 0.1 * i))
    return Retrieval("?", sections)


def test_top1_first_sentence_quotes_the_top_passage_and_cites_it() -> None:
    top = passage("pmid:1", "Aspirin reduced stroke. Bleeding was more common.")
    second = passage("pmid:2", "Statins lower cholesterol.")
    answer = top1_first_sentence("?", retrieval_of(top, second))
    sec = answer.section("research")
    assert [s.text for s in sec.statements] == ["Aspirin reduced stroke."]
    assert answer.references[0].record_id == "pmid:1"
    assert answer.section("guidelines").abstained  # nothing retrieved there
    assert scored(answer).cites_gold


def test_section_score_is_the_best_cosine_of_the_sections_passages() -> None:
    retrieval = retrieval_of(passage("pmid:1", "One."), passage("pmid:2", "Two."))  # cosines 0.9, 0.8
    assert section_score(retrieval, "research") == pytest.approx(0.9)
    assert section_score(retrieval, "guidelines") == -1.0  # nothing retrieved: abstains at any threshold


def test_always_abstain_abstains_everywhere() -> None:
    assert all(s.abstained and not s.statements for s in always_abstain("?").sections)


# -- the abstention curve ---------------------------------------------------------------------------------


def test_abstention_curve_and_operating_point() -> None:
    pairs = [(0.9, True), (0.8, True), (0.5, True), (0.3, True)] + [(0.6, False)] + [(0.1, False)] * 19
    curve = abstention_curve(pairs)
    at = {p.threshold: p for p in curve}
    assert (at[0.1].answer_rate, at[0.1].abstention_rate) == (1.0, 0.0)  # everything answers
    assert (at[0.3].answer_rate, at[0.3].abstention_rate) == (1.0, 0.95)  # only the 0.6 one answers
    assert (at[0.8].answer_rate, at[0.8].abstention_rate) == (0.5, 1.0)
    assert (curve[-1].answer_rate, curve[-1].abstention_rate) == (0.0, 1.0)  # +∞: always abstain
    chosen = pick_operating_point(curve, 0.95)
    assert chosen.threshold == 0.3  # answers all 4 with exactly 0.95 abstention (lowest such threshold)
    assert pick_operating_point(curve, 1.0).threshold == 0.8  # above the unanswerable 0.6
    assert "**operating point**" in curve_table(curve, chosen)


def test_abstention_curve_needs_both_kinds() -> None:
    with pytest.raises(ValueError, match="both"):
        abstention_curve([(0.5, True)])


def test_plot_curve_writes_a_png(tmp_path: Path) -> None:
    curve = abstention_curve([(0.9, True), (0.2, False), (0.4, True), (0.5, False)])
    out = tmp_path / "curve.png"
    plot_curve(curve, pick_operating_point(curve), out, "test")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -- thresholds: trivial systems fail ---------------------------------------------------------------------

# Small real-looking questions per set: the top passage is the gold record and its first sentence repeats
# part of the human answer — a favourable case for the top-1 baseline.
FIXTURE = {
    "medicationqa": (
        "fda_label",
        "label:x:dosage",
        "Take 10 mg once daily with food.",
        "The dose is 10 mg daily.",
    ),
    "bioasq": ("research", "pmid:11", "ESCO2 mutations cause Roberts syndrome.", "Roberts syndrome: ESCO2."),
    "pubmedqa": (
        "research",
        "pmid:12",
        "Intubation took twice as long in flight.",
        "In-flight intubation is slower.",
    ),
}


def baseline_run(system: str) -> RelevanceRun:
    outcomes: list[SectionOutcome] = []
    for name, (key, rid, text, human) in FIXTURE.items():
        st: SourceType = "fda_label" if key == "fda_label" else "research"
        retrieval = retrieval_of(passage(rid, f"{text} More text follows here.", st))
        answer = always_abstain("?") if system == "always_abstain" else top1_first_sentence("?", retrieval)
        outcomes.append(
            outcome(answer, key, qid=f"{name}:1", set_name=name, gold=frozenset({rid}), human=human)  # type: ignore[arg-type]
        )
    unanswerable = retrieval_of(
        passage("guide:1", "Unrelated guidance text.", "guideline"),
        passage("label:y:warnings", "Unrelated label text.", "fda_label"),
        passage("pmid:99", "Unrelated abstract text.", "research"),
    )
    answer = always_abstain("?") if system == "always_abstain" else top1_first_sentence("?", unanswerable)
    outcomes += [outcome(answer, k, qid="abstain:1", set_name="abstention") for k in SECTION_KEYS]
    return RelevanceRun(
        {system: outcomes},
        {n: {"recall@10": 1.0, "hit@10": 1.0} for n in FIXTURE},
        {**dict.fromkeys(FIXTURE, 1), "abstention": 1},
        dict.fromkeys(FIXTURE, 0),
        "validation",
        None,
        13,
    )


@pytest.mark.parametrize("suite", ["ci", "full"])
@pytest.mark.parametrize("system", ["always_abstain", "top1_first_sentence"])
def test_trivial_systems_fail_the_relevance_thresholds(suite: str, system: str) -> None:
    report = summarize(baseline_run(system))
    checks = [
        c
        for c in check_thresholds(Suite.load(suite), {"relevance": report}, relevance_system=system)
        if c.scope == "relevance"
    ]
    assert checks, f"the {suite} suite has no relevance thresholds"
    assert [c for c in checks if not c.ok], f"{system} passes every {suite} relevance threshold"


def test_lookup_reads_sets_means_abstention_and_ceilings() -> None:
    report = summarize(baseline_run("always_abstain"))
    assert lookup(report, "pubmedqa.answer_rate", "always_abstain") == 0.0
    assert lookup(report, "mean.decision_balanced_accuracy", "always_abstain") == 0.5
    assert lookup(report, "abstention.abstention_rate", "always_abstain") == 1.0
    assert lookup(report, "bioasq.ceiling.hit@10") == 1.0
    assert lookup(report, "pubmedqa.answer_rate", "curbside") is None  # not run


def test_product_questions_outside_the_label_are_reported_apart_from_the_unanswerable_set() -> None:
    assert asks_of_product(analyse_question("what does memantine look like"))
    assert asks_of_product(analyse_question("how is bcg vaccine stored"))
    assert not asks_of_product(analyse_question("what is the dose of memantine"))
    run = baseline_run("top1_first_sentence")
    # two product questions: three of their four guideline/research sections answered
    run.product = {"top1_first_sentence": [False, False, True, False]}
    run.questions["product_questions"] = 2
    report = summarize(run)
    assert report["product_questions"] == {
        "questions": 2,
        "systems": {"top1_first_sentence": {"sections": 4, "abstention_rate": 0.25}},
    }
    assert report["abstention"] == summarize(baseline_run("top1_first_sentence"))["abstention"]
    assert (
        "| product questions (looks, contents, storage) | 2 (4 sections) | abstention outside the label"
        " | – | – | 0.250 | |" in markdown_table(report)
    )
    assert "product_questions" not in summarize(baseline_run("top1_first_sentence"))


def test_the_guideline_probe_reports_answering_and_citing_the_source_guideline() -> None:
    run = baseline_run("top1_first_sentence")
    # four probe questions: three answered, two of them from the guideline asked about
    run.probe = {"top1_first_sentence": [(True, True), (True, False), (False, False), (True, True)]}
    run.questions["guideline_probe"] = 4
    report = summarize(run)
    assert report["guideline_probe"] == {
        "questions": 4,
        "systems": {
            "top1_first_sentence": {
                "answer_rate": 0.75,
                "cites_source_rate": 0.5,
                # the baseline run's unanswerable guideline sections all answer
                "abstention_rate": 0.0,
                "decision_balanced_accuracy": 0.375,
            }
        },
    }
    assert lookup(report, "guideline_probe.decision_balanced_accuracy", "top1_first_sentence") == 0.375
    table = markdown_table(report)
    assert "| guideline probe (written from guideline titles) | 4 | answer rate | – | – | 0.750 | |" in table
    assert "| 4 | cites the source guideline | – | – | 0.500 | |" in table
    assert "guideline_probe" not in summarize(baseline_run("top1_first_sentence"))


def test_every_guideline_probe_question_names_a_guideline_of_the_shipped_corpus() -> None:
    rows = [json.loads(line) for line in (DATA / GUIDELINE_PROBE_FILE).read_text().splitlines() if line]
    corpus = Path(__file__).resolve().parents[3] / "corpus" / "guidelines"
    ids: set[str] = set()
    for path in corpus.glob("*.jsonl.gz"):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            ids |= {json.loads(line)["id"] for line in f if line.strip()}
    assert len(rows) >= 20
    for row in rows:
        assert any(i.startswith(tuple(row["gold_prefixes"])) for i in ids), row
