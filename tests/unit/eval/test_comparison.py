"""The comparison-question metrics on hand-built answers (real trial text: pmid:11714421's evidence row)."""

from __future__ import annotations

from typing import Any

from app.schema import Answer, Quote, Reference, SectionKey
from eval.comparison import evidence_checkable, load_records, score_answer, span_overlaps
from tests.answers import answer_quoting

EVIDENCE = (
    "Interestingly, a statistically significant reduction in total mortality in patients treated with LMWH "
    "was observed"
)
RECORD: dict[str, Any] = {
    "qid": "evinf:11166",
    "question": "With respect to Total mortality, how does LMWH compare with Unfractionated heparin?",
    "gold_ids": ["pmid:11714421"],
    "evidence": [EVIDENCE],
    "evidence_in_abstract": False,
    "split": "train",
}
ABSTRACT = (
    "Results: Recurrent venous thromboembolism did not differ. " + EVIDENCE + " (odds ratio 0.76). "
    "Conclusions: LMWH is at least as effective as unfractionated heparin."
)


def _answer(record_id: str, quote: str, *, section: SectionKey = "research") -> Answer:
    ref = Reference(
        source_type="research",
        number=1,
        passage_id=f"{record_id}#0",
        record_id=record_id,
        quote=Quote(text=quote, start=0, end=len(quote)),
        quotes=[Quote(text=quote, start=0, end=len(quote))],
        label="x",
        study_type="randomised trial",
    )
    return answer_quoting(ref, section, question=RECORD["question"], abstain_others=True)


def test_span_overlap_by_containment_and_token_share() -> None:
    assert span_overlaps(EVIDENCE + " (odds ratio 0.76).", EVIDENCE)  # the quote contains the span
    assert span_overlaps("total mortality", "Total  mortality")  # case and whitespace folded
    # 8 of the span's 14 distinct tokens: at least half
    assert span_overlaps("A significant reduction in total mortality with LMWH was observed.", EVIDENCE)
    assert not span_overlaps("Recurrent venous thromboembolism did not differ.", EVIDENCE)
    assert not span_overlaps("", EVIDENCE)


def test_checkable_when_flagged_or_found_in_the_abstract() -> None:
    assert evidence_checkable(RECORD, ABSTRACT)
    assert not evidence_checkable(RECORD, "Conclusions: LMWH is at least as effective.")
    assert evidence_checkable({**RECORD, "evidence_in_abstract": True}, None)


def test_cites_the_trial_and_quotes_its_result() -> None:
    good = score_answer(_answer("pmid:11714421", EVIDENCE + " (odds ratio 0.76)."), RECORD, ABSTRACT)
    assert (good.cites_trial, good.checkable, good.span_overlap) == (True, True, True)
    wrong_sentence = score_answer(
        _answer("pmid:11714421", "Recurrent venous thromboembolism did not differ."), RECORD, ABSTRACT
    )
    assert (wrong_sentence.cites_trial, wrong_sentence.span_overlap) == (True, False)
    other_trial = score_answer(_answer("pmid:1", EVIDENCE), RECORD, ABSTRACT)
    assert (other_trial.cites_trial, other_trial.span_overlap) == (False, False)
    # a citation outside the research section does not count
    elsewhere = score_answer(_answer("pmid:11714421", EVIDENCE, section="guidelines"), RECORD, ABSTRACT)
    assert (elsewhere.cites_trial, elsewhere.span_overlap) == (False, False)
    unscored = score_answer(_answer("pmid:11714421", EVIDENCE), RECORD, "Nothing relevant.")
    assert (unscored.checkable, unscored.span_overlap) == (False, None)


def test_validation_split_is_the_records_own() -> None:
    rows = load_records("validation", None)
    assert len(rows) == 231
    assert {r["split"] for r in rows} == {"validation"}
    assert len(load_records("validation", 20)) == 20
