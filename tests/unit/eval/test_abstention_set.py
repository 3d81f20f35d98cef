"""The unanswerable set: what is shipped is what the builder writes, and it is big and varied enough."""

from __future__ import annotations

import json
from pathlib import Path

from eval.abstention import OUT, found_terms, rows


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
