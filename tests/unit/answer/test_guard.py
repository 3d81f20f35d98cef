from __future__ import annotations

from app.answer.draft import Draft, DraftSection, DraftStatement, parse_markers
from app.answer.guard import GuardPolicy, guard, locate_quote
from app.corpus.chunker import chunk_record
from app.schema import Backend, CorpusRecord, Passage


def _passage(pid: str, text: str, source_type: str = "fda_label") -> Passage:
    rec = CorpusRecord.model_validate(
        {"id": pid, "source_type": source_type, "text": text, "title": f"T {pid}", "drug": "NALTREXONE"}
    )
    return chunk_record(rec)[0]


A = _passage(
    "label:a:dosage",
    "DOSAGE AND ADMINISTRATION. The recommended dose is 50 mg once daily. Take it with food.",
)
B = _passage("label:b:warnings", "Naltrexone may cause hepatocellular injury when given in excessive doses.")
C = _passage("pmid:1", "In a randomized trial, nausea was the most common adverse event.", "research")
EVIDENCE = {p.id: p for p in (A, B, C)}


def _draft(*statements: DraftStatement) -> Draft:
    return Draft([DraftSection("fda_label", list(statements))], Backend(composer="generative", llm="test"))


def test_guard_keeps_supported_statement_and_quotes_its_span() -> None:
    sections, refs, counts = guard(
        _draft(DraftStatement("The recommended dose is 50 mg once daily.", [A.id])), EVIDENCE
    )
    assert sections[0].statements[0].citations == [1]
    assert not sections[0].abstained
    assert refs[0].passage_id == A.id
    quote = refs[0].quote
    assert A.text[quote.start : quote.end] == quote.text == "The recommended dose is 50 mg once daily."
    assert counts.statements_out == 1


def test_guard_drops_statement_with_changed_dose() -> None:
    sections, refs, counts = guard(
        _draft(DraftStatement("The recommended dose is 100 mg once daily.", [A.id])), EVIDENCE
    )
    assert sections[0].statements == []
    assert sections[0].abstained
    assert sections[0].message
    assert refs == []
    assert counts.unsupported_statements_removed == 1
    assert counts.references_unused_dropped == 1


def test_guard_flags_instead_of_dropping_when_asked() -> None:
    sections, _, counts = guard(
        _draft(DraftStatement("The recommended dose is 100 mg once daily.", [A.id])),
        EVIDENCE,
        policy=GuardPolicy(mode="flag"),
    )
    assert sections[0].statements[0].supported is False
    assert counts.unsupported_statements_flagged == 1


def test_dangling_citation_is_removed_and_counted() -> None:
    sections, refs, counts = guard(
        _draft(DraftStatement("The recommended dose is 50 mg once daily.", [A.id, "pmid:999"])), EVIDENCE
    )
    assert counts.dangling_citations_removed == 1
    assert sections[0].statements[0].citations == [1]
    assert [r.passage_id for r in refs] == [A.id]


def test_statement_citing_only_unknown_passages_is_removed() -> None:
    sections, _, counts = guard(
        _draft(DraftStatement("The recommended dose is 50 mg once daily.", ["?7"])), EVIDENCE
    )
    assert sections[0].statements == []
    assert counts.uncited_statements_removed == 1


def test_irrelevant_extra_citation_is_dropped_alce_precision() -> None:
    sections, refs, counts = guard(
        _draft(DraftStatement("The recommended dose is 50 mg once daily.", [C.id, A.id])), EVIDENCE
    )
    assert counts.unsupported_citations_removed == 1
    assert [r.passage_id for r in refs] == [A.id]
    assert sections[0].statements[0].citations == [1]


def test_references_renumbered_in_order_of_first_use_across_sections() -> None:
    draft = Draft(
        [
            DraftSection("guidelines", []),
            DraftSection(
                "fda_label",
                [
                    DraftStatement(
                        "Naltrexone may cause hepatocellular injury when given in excessive doses.", [B.id]
                    ),
                    DraftStatement("The recommended dose is 50 mg once daily.", [A.id]),
                ],
            ),
            DraftSection("research", [DraftStatement("Nausea was the most common adverse event.", [C.id])]),
        ],
        Backend(composer="extractive"),
    )
    sections, refs, _ = guard(draft, EVIDENCE)
    assert [r.number for r in refs] == [1, 2, 3]
    assert [r.passage_id for r in refs] == [B.id, A.id, C.id]
    assert [s.citations for s in sections[1].statements] == [[1], [2]]
    assert sections[2].statements[0].citations == [3]
    assert sections[0].abstained


def test_parse_markers_handles_common_shapes() -> None:
    assert parse_markers("Take 50 mg daily [1][2].") == ("Take 50 mg daily.", ["1", "2"])
    assert parse_markers("Take 50 mg daily [S1, S3]") == ("Take 50 mg daily", ["S1", "S3"])
    assert parse_markers("No citation here.") == ("No citation here.", [])


def test_locate_quote_prefers_one_sentence() -> None:
    q = locate_quote("Take it with food.", A)
    assert q.text == "Take it with food."
