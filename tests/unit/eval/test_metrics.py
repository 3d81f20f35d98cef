"""The metrics on hand-built answers whose scores can be worked out by hand."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from app.schema import GuardCounts, SectionKey
from eval.judges.lexical import LexicalJudge
from eval.metrics import (
    Rate,
    StatementScore,
    abstention,
    answering,
    coverage,
    coverage_summary,
    faithfulness,
    guard_totals,
    latency,
    percentile,
    score_answer,
)
from tests.unit.eval.conftest import KeywordJudge, passage, view

P1 = passage("g1#0", "alpha beta")
P2 = passage("g2#0", "gamma")
P3 = passage("g3#0", "alpha beta gamma")
PASSAGES = [P1, P2, P3]


def _score(
    statements: Sequence[tuple[SectionKey, str, Sequence[str]]], judge: KeywordJudge
) -> list[StatementScore]:
    return score_answer(view(statements, PASSAGES), judge)


def test_statement_supported_only_by_its_citations_together_counts_for_recall_and_both_citations(
    judge: KeywordJudge,
) -> None:
    [s] = _score([("guidelines", "alpha gamma", ["g1#0", "g2#0"])], judge)
    assert s.recall == 1
    assert [c.irrelevant for c in s.citations] == [False, False]  # neither alone, both needed
    f = faithfulness([s])
    assert f["citation_precision"] == Rate(2, 2)


def test_redundant_citations_that_each_support_alone_are_both_precise(judge: KeywordJudge) -> None:
    [s] = _score([("guidelines", "alpha beta", ["g1#0", "g3#0"])], judge)
    assert s.recall == 1
    assert [c.irrelevant for c in s.citations] == [False, False]


def test_citation_that_adds_nothing_is_irrelevant(judge: KeywordJudge) -> None:
    [s] = _score([("guidelines", "alpha beta", ["g1#0", "g2#0"])], judge)
    assert s.recall == 1
    assert [c.key for c in s.citations if c.irrelevant] == ["g2#0"]
    f = faithfulness([s])
    assert f["citation_precision"] == Rate(1, 2)
    assert "irrelevant citation: g2#0" in s.problems


def test_statement_without_citation_fails_recall_and_is_not_in_precision(judge: KeywordJudge) -> None:
    scores = _score([("guidelines", "alpha beta", []), ("guidelines", "gamma", ["g2#0"])], judge)
    f = faithfulness(scores)
    assert f["citation_recall"] == Rate(1, 2)
    assert f["citation_precision"] == Rate(1, 1)
    assert f["uncited_statements"] == 1
    assert scores[0].problems == ["no citation"]


def test_unsupported_statement_counts_zero_recall_and_only_strict_precision_sees_its_citations(
    judge: KeywordJudge,
) -> None:
    scores = _score([("guidelines", "alpha delta", ["g1#0"]), ("guidelines", "gamma", ["g2#0"])], judge)
    f = faithfulness(scores)
    assert f["citation_recall"] == Rate(1, 2)
    assert f["citation_precision"] == Rate(1, 1)  # only where the statement is supported
    assert f["citation_precision_alce"] == Rate(1, 2)  # ALCE-strict: every citation


def test_dangling_citation_is_counted_and_never_precise(judge: KeywordJudge) -> None:
    [s] = _score([("guidelines", "alpha beta", ["g1#0", "label:nowhere#0"])], judge)
    assert s.recall == 1  # the retrieved citation supports it
    f = faithfulness([s])
    assert f["dangling_citations"] == 1
    assert f["citation_precision"] == Rate(1, 2)
    assert any(p.startswith("dangling") for p in s.problems)


def test_statement_citing_only_dangling_keys_is_not_supported(judge: KeywordJudge) -> None:
    [s] = _score([("guidelines", "alpha beta", ["?7"])], judge)
    assert s.joint is None
    assert s.recall == 0
    assert faithfulness([s])["dangling_citations"] == 1


def test_changed_dose_breaks_numeric_fidelity() -> None:
    label = passage(
        "label:x:dosage#0", "The usual adult dose is 50 mg once daily for 7 days.", "fda_label", "Drugex"
    )
    v = view(
        [
            ("fda_label", "The usual adult dose is 100 mg once daily for 7 days.", ["label:x:dosage#0"]),
            ("fda_label", "The usual adult dose is 50 mg once daily.", ["label:x:dosage#0"]),
        ],
        [label],
    )
    scores = score_answer(v, LexicalJudge())
    assert scores[0].numbers_missing == ["100 mg"]
    assert scores[1].numbers_missing == []
    f = faithfulness(scores)
    assert f["numeric_fidelity"] == Rate(2, 3)  # 100 mg missing; 7 days and 50 mg found
    assert scores[0].recall == 0
    assert scores[1].recall == 1


def test_number_in_a_name_is_not_a_quantity() -> None:
    p = passage("r1#0", "Patients with COVID-19 had raised IL-6.", "research")
    [s] = score_answer(
        view([("research", "COVID-19 patients had raised IL-6.", ["r1#0"])], [p]), LexicalJudge()
    )
    assert s.numbers == []
    assert s.recall == 1


def test_label_section_citing_another_drugs_label_is_section_incorrect(judge: KeywordJudge) -> None:
    mine = passage("label:a:dose#0", "alpha beta", "fda_label", "NALTREXONE HYDROCHLORIDE")
    other = passage("label:b:dose#0", "alpha beta", "fda_label", "Warfarin Sodium")
    guideline = passage("g9#0", "alpha beta", "guideline")
    v = view(
        [
            ("fda_label", "alpha beta", ["label:a:dose#0"]),
            ("fda_label", "alpha beta", ["label:b:dose#0"]),
            ("research", "alpha beta", ["g9#0"]),
            ("guidelines", "alpha beta", ["g9#0"]),
        ],
        [mine, other, guideline],
        drugs=["naltrexone"],
    )
    scores = score_answer(v, judge)
    by = {(s.section, s.citations[0].key): s.citations[0].section_ok for s in scores}
    assert by == {
        ("fda_label", "label:a:dose#0"): True,
        ("fda_label", "label:b:dose#0"): False,
        ("research", "g9#0"): False,
        ("guidelines", "g9#0"): True,
    }
    assert faithfulness(scores)["section_correctness"] == Rate(2, 4)


def test_label_section_of_a_question_naming_no_drug_only_needs_label_passages(judge: KeywordJudge) -> None:
    label = passage("label:b:dose#0", "alpha beta", "fda_label", "Warfarin Sodium")
    [s] = score_answer(view([("fda_label", "alpha beta", ["label:b:dose#0"])], [label]), judge)
    assert s.citations[0].section_ok is True


def test_context_statements_of_abstaining_sections_are_scored_like_any_other(judge: KeywordJudge) -> None:
    v = view([("guidelines", "alpha delta", ["g1#0"])], PASSAGES, abstained=["guidelines"], context=True)
    [s] = score_answer(v, judge)
    assert s.context
    assert s.recall == 0
    assert s.failed


def test_abstention_is_a_rate_over_every_section_never_dropped() -> None:
    silent = view([], PASSAGES, abstained=["guidelines", "fda_label", "research"], qid="u1")
    partly = view(
        [("research", "gamma", ["g2#0"])], PASSAGES, abstained=["guidelines", "fda_label"], qid="u2"
    )
    with_context = view(
        [("guidelines", "gamma", ["g2#0"])],
        PASSAGES,
        abstained=["guidelines", "fda_label", "research"],
        qid="u3",
        context=True,
    )
    a = abstention([silent, partly, with_context])
    assert a["abstention_rate"] == Rate(8, 9)
    assert a["full_abstention_rate"] == Rate(2, 3)
    assert abstention([])["abstention_rate"].value is None


def test_answering_counts_expected_sections_that_answer() -> None:
    answered = view(
        [("fda_label", "gamma", ["g2#0"])], PASSAGES, abstained=["guidelines", "research"], qid="a1"
    )
    refused = view([], PASSAGES, abstained=["guidelines", "fda_label", "research"], qid="a2")
    r = answering([answered, refused], {"a1": ["fda_label"], "a2": ["fda_label", "research"]})
    assert r["answer_rate"] == Rate(1, 3)
    assert r["any_section_answer_rate"] == Rate(1, 2)


def test_kqa_coverage_comprehensiveness_and_hallucination(judge: KeywordJudge) -> None:
    answer = view([("guidelines", "alpha beta", ["g1#0"]), ("research", "not gamma", ["g2#0"])], PASSAGES)
    c = coverage(answer, ["alpha beta", "delta epsilon"], ["gamma rays"], judge)
    assert c.must_have_supported == 1
    assert c.comprehensiveness == 0.5
    assert c.contradicted == ["gamma rays"]
    assert c.missed == ["delta epsilon"]
    summary = coverage_summary([c])
    assert summary["hallucination"] == 1.0
    assert summary["must_have_supported"] == Rate(1, 2)


def test_rate_and_percentiles() -> None:
    assert Rate(1, 3).value == pytest.approx(0.3333)
    assert Rate(0, 0).value is None
    assert percentile([], 0.5) is None
    assert percentile([10, 20, 30, 40, 1000], 0.95) == 1000
    assert percentile([10, 20, 30], 0.5) == 20


def test_latency_and_guard_totals() -> None:
    a = view([], PASSAGES, qid="a")
    b = view([], PASSAGES, qid="b")
    a.latency_ms, b.latency_ms = 10.0, 30.0
    a.guard = GuardCounts(statements_in=3, statements_out=2, uncited_statements_removed=1)
    assert latency([a, b])["p50_ms"] in (10.0, 30.0)
    totals = guard_totals([a, b])
    assert totals is not None
    assert totals["statements_in"] == 3
    assert totals["uncited_statements_removed"] == 1
