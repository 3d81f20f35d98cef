from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.corpus.chunker import ChunkParams, chunk_record, record_id_of, split_sentences
from app.schema import CorpusRecord


def _record(text: str, **kw: object) -> CorpusRecord:
    base = {
        "id": "label:abc:dosage",
        "source_type": "fda_label",
        "text": text,
        "drug": "NALTREXONE",
        "year": 2020,
    }
    base.update(kw)
    return CorpusRecord.model_validate(base)


def test_sentences_keep_doses_abbreviations_and_decimals() -> None:
    text = (
        "The recommended dose is 50 mg once daily. Doses of 2.5 mg/kg were studied (e.g. in U.S. trials). "
        "Smith et al. found no benefit. Hepatotoxicity occurred at 300 mg. Stop if ALT > 3x ULN."
    )
    got = [text[s.start : s.end] for s in split_sentences(text)]
    assert got == [
        "The recommended dose is 50 mg once daily.",
        "Doses of 2.5 mg/kg were studied (e.g. in U.S. trials).",
        "Smith et al. found no benefit.",
        "Hepatotoxicity occurred at 300 mg.",
        "Stop if ALT > 3x ULN.",
    ]


def test_bullets_and_blank_lines_end_sentences() -> None:
    text = "Adverse reactions:\n• nausea\n• headache\n\nSee below"
    got = [text[s.start : s.end] for s in split_sentences(text)]
    assert got == ["Adverse reactions:", "• nausea", "• headache", "See below"]


def test_a_numbered_list_items_number_starts_its_sentence() -> None:
    text = (
        "Metformin is contraindicated in patients with:\n\n1. Severe renal impairment.\n"
        "2. Known hypersensitivity to metformin. Take 10. Then stop."
    )
    got = [text[s.start : s.end] for s in split_sentences(text)]
    assert got == [
        "Metformin is contraindicated in patients with:",
        "1. Severe renal impairment.",
        "2. Known hypersensitivity to metformin.",
        "Take 10.",  # a number ending a sentence mid-line is no list item
        "Then stop.",
    ]


def test_long_record_splits_on_sentence_boundaries_with_stable_ids_and_metadata() -> None:
    sentence = (
        "Naltrexone blocks the effects of opioids for about twenty four hours after a dose of fifty mg. "
    )
    rec = _record(sentence * 40, title="NALTREXONE — Dosage", url="https://example.org/x", set_id="abc")
    params = ChunkParams(target_words=60, max_words=100, min_words=10)
    passages = chunk_record(rec, params)
    assert len(passages) > 3
    assert [p.id for p in passages] == [f"label:abc:dosage#{i}" for i in range(len(passages))]
    assert [p.id for p in chunk_record(rec, params)] == [p.id for p in passages]  # stable
    for p in passages:
        assert record_id_of(p.id) == rec.id
        assert (p.title, p.url, p.set_id, p.drug, p.year) == (
            rec.title,
            rec.url,
            rec.set_id,
            rec.drug,
            rec.year,
        )
        assert len(p.text.split()) <= params.max_words
        assert p.text in rec.text
        for s in p.sentences:
            assert p.text[s.start : s.end].startswith("Naltrexone")
            assert p.text[s.start : s.end].endswith("mg.")


def test_a_table_without_sentences_is_cut_at_max_words() -> None:
    rec = _record(" ".join(f"row{i} 5%" for i in range(400)))
    passages = chunk_record(rec, ChunkParams(target_words=100, max_words=150, min_words=20))
    assert all(len(p.text.split()) <= 150 for p in passages)
    assert " ".join(p.text for p in passages).split() == rec.text.split()


def test_short_tail_merges_into_previous_passage() -> None:
    rec = _record("A " * 99 + "end. " + "Tail here.")
    passages = chunk_record(rec, ChunkParams(target_words=100, max_words=150, min_words=20))
    assert len(passages) == 1
    assert passages[0].text.endswith("Tail here.")


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=2000).filter(lambda t: t.strip()))
def test_chunking_any_text_loses_no_words_and_offsets_are_valid(text: str) -> None:
    rec = _record(text)
    passages = chunk_record(rec, ChunkParams(target_words=30, max_words=50, min_words=5))
    words: list[str] = []
    for p in passages:
        assert p.text.strip()
        for s in p.sentences:
            assert 0 <= s.start < s.end <= len(p.text)
            words.extend(p.text[s.start : s.end].split())
    assert words == text.split()
