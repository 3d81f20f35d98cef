"""Properties of the sentence splitter and the chunker beyond test_chunker.py's "no word is lost".

Generated label-like text (doses, abbreviations, bullets, blank lines, over-long table rows) and arbitrary
Unicode: sentence spans are ordered, disjoint, trimmed and cover every visible character; passages never
exceed ``max_words``, sit at their offsets in the record, and chunking is a pure function of the text.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.corpus.chunker import ChunkParams, chunk_record, chunk_spans, split_sentences
from app.schema import CorpusRecord

PROPS = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

PIECES = [
    "The recommended dose is 50 mg once daily.", "Doses of 2.5 mg/kg were studied (e.g. in U.S. trials).",
    "Smith et al. found no benefit.", "Stop if ALT > 3x ULN.", "• nausea", "• headache", "\n\n",
    "Take 1 tablet b.i.d. with food.", "Dr. Jones reported 12% (n = 1,000).", "See Fig. 2.", "No.",
    "row1 5% row2 7% row3 9%", "Warnings:", "\n- dizziness", "J. Smith", "?!", "“Quoted.”", "(Table 3)",
]  # fmt: skip

label_text = st.one_of(
    st.lists(st.sampled_from(PIECES), min_size=1, max_size=40).map(" ".join),
    st.text(min_size=1, max_size=1500),
    st.lists(st.sampled_from(["a", "b1", "5%", "mg", "."]), min_size=1, max_size=600).map(" ".join),
).filter(lambda t: t.strip())
params = st.builds(
    lambda target, extra, low: ChunkParams(target_words=target, max_words=target + extra, min_words=low),
    st.integers(5, 60),
    st.integers(0, 60),
    st.integers(0, 20),
)


def _record(text: str) -> CorpusRecord:
    return CorpusRecord(id="label:abc:dosage", source_type="fda_label", text=text, drug="NALTREXONE")


@PROPS
@given(label_text)
def test_sentence_spans_are_ordered_disjoint_trimmed_and_cover_all_visible_text(text: str) -> None:
    spans = split_sentences(text)
    covered = [False] * len(text)
    previous_end = 0
    for span in spans:
        assert previous_end <= span.start < span.end <= len(text)
        piece = text[span.start : span.end]
        assert piece == piece.strip()
        for i in range(span.start, span.end):
            covered[i] = True
        previous_end = span.end
    assert all(covered[i] for i, ch in enumerate(text) if not ch.isspace())


@PROPS
@given(label_text, params)
def test_passages_respect_max_words_and_sit_at_their_offsets(text: str, p: ChunkParams) -> None:
    passages = chunk_record(_record(text), p)
    assert passages
    assert [x.id for x in passages] == [f"label:abc:dosage#{i}" for i in range(len(passages))]
    groups = chunk_spans(text, p)
    assert len(groups) == len(passages)
    for passage, group in zip(passages, groups, strict=True):
        assert len(passage.text.split()) <= p.max_words
        assert text[group[0].start : group[-1].end] == passage.text
        assert [(s.start + group[0].start, s.end + group[0].start) for s in passage.sentences] == [
            (s.start, s.end) for s in group
        ]


@PROPS
@given(label_text, params)
def test_chunking_is_a_pure_function_of_the_text(text: str, p: ChunkParams) -> None:
    first = chunk_record(_record(text), p)
    again = chunk_record(_record(text), p)
    assert [(x.id, x.text, x.sentences) for x in first] == [(x.id, x.text, x.sentences) for x in again]
