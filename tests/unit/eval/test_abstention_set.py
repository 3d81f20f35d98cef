"""The unanswerable set: what is shipped is what the builder writes, and it is big and varied enough."""

from __future__ import annotations

import json
from pathlib import Path

from app.index.drugs import DrugLexicon
from app.schema import Answer, Backend, Passage, Quote, Reference, Section, Statement
from eval.abstention import (
    OUT,
    SINGLE_DRUG_KINDS,
    found_terms,
    naming_sections,
    other_drug_sections,
    rows,
)
from eval.metrics import Rate
from eval.suites import Suite, load_questions


def test_shipped_file_is_what_the_builder_writes() -> None:
    shipped = [json.loads(line) for line in OUT.read_text().splitlines()]
    assert shipped == rows()


def test_at_least_forty_questions_of_both_kinds_with_unique_ids() -> None:
    items = rows()
    assert len(items) >= 40
    assert len({r["qid"] for r in items}) == len(items)
    kinds = [r["kind"] for r in items]
    assert kinds.count("out_of_scope_medical") >= 20
    assert kinds.count("non_medical") >= 10
    assert all(r["absent_terms"] for r in items)


def test_absence_check_finds_a_term_that_is_there(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.jsonl").write_text(
        json.dumps({"id": "x", "text": "Kratom is not here, but xanomeline is."}) + "\n"
    )
    counts = found_terms([{"absent_terms": ["xanomeline", "kava"]}], corpus)
    assert counts == {"xanomeline": 1, "kava": 0}


def test_unknown_drug_kinds_are_single_drug_questions_with_their_drug_as_absent_term() -> None:
    items = rows()
    for kind, least in (("made_up_drug", 10), ("new_drug", 8), ("gibberish", 3)):
        assert sum(1 for r in items if r["kind"] == kind) >= least, kind
    for r in items:
        if r["kind"] in SINGLE_DRUG_KINDS:
            assert str(r["absent_terms"][0]) in str(r["question"]).lower()  # type: ignore[index]


def _answer(sections: list[Section], references: list[Reference] | None = None) -> Answer:
    return Answer(
        question="q",
        standalone_question="q",
        sections=sections,
        references=references or [],
        disclaimer="d",
        backend=Backend(composer="extractive"),
    )


def _ref(number: int, drug: str, quote: str) -> Reference:
    passage = Passage(id=f"p{number}", record_id=f"r{number}", text=quote, source_type="fda_label", drug=drug)
    return Reference.from_passage(number, passage, Quote(text=quote, start=0, end=len(quote)))


LEXICON = DrugLexicon.build([(0, "WARFARIN SODIUM", "Coumadin"), (1, "SERTRALINE HYDROCHLORIDE", "Zoloft")])


def test_section_answering_a_made_up_drug_is_counted_and_an_abstaining_one_that_names_it_is_credited() -> (
    None
):
    item = {"kind": "made_up_drug", "absent_terms": ["trelavoxin"], "question": "dose of trelavoxin?"}
    quoted = "The maximum dose is 200 mg per day."
    answering = Section(
        key="fda_label",
        title="From the FDA Drug Label",
        statements=[Statement(text=quoted, citations=[1])],
    )
    named = Section(
        key="guidelines",
        title="From the Guidelines",
        abstained=True,
        message="No FDA label, guideline or abstract here mentions trelavoxin, so this section cannot "
        "answer.",
    )
    silent = Section(key="research", title="From the Research", abstained=True, message="Nothing here.")
    answer = _answer([answering, named, silent], [_ref(1, "SERTRALINE HYDROCHLORIDE", quoted)])
    assert other_drug_sections([(answer, item)], LEXICON) == Rate(1, 3)
    assert naming_sections([(answer, item)]) == Rate(1, 3)


def test_statement_from_another_drugs_label_is_counted_for_a_known_drug() -> None:
    item = {"kind": "answerable", "drug": "warfarin"}
    own = "Individualize the dose based on INR."
    other = "The maximum dose is 200 mg per day."
    refs = [_ref(1, "WARFARIN SODIUM", own), _ref(2, "SERTRALINE HYDROCHLORIDE", other)]
    good = Section(key="fda_label", title="t", statements=[Statement(text=own, citations=[1])])
    bad = Section(key="guidelines", title="t", statements=[Statement(text=other, citations=[2])])
    named = Section(
        key="research", title="t", statements=[Statement(text="Coumadin raises INR.", citations=[])]
    )
    assert other_drug_sections([(_answer([good, bad, named], refs), item)], LEXICON) == Rate(1, 3)


def test_ci_suite_takes_only_the_kinds_its_cassette_recorded() -> None:
    questions, info = load_questions(Suite.load("ci"))
    asked = {q.qid for q in questions if q.set == "abstention"}
    kinds = {str(r["qid"]): r["kind"] for r in rows()}
    assert asked
    assert {kinds[q] for q in asked} == {"out_of_scope_medical", "non_medical"}
    assert info["abstention"]["rows"] == len(asked)
