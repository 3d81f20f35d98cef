"""Section-aware chunking on sentence boundaries, with sentence offsets kept per passage.

A record (one label section, one guideline section, one abstract) becomes one or more passages of about
``target_words`` words, never splitting a sentence unless that sentence alone exceeds ``max_words``.
Passage ids are ``<record id>#<n>``: stable as long as the record's text is unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.schema import CITABLE_FIELDS, CorpusRecord, Passage, Span

# 3: research sentence spans start after a structured-abstract label; 4: guideline tables as row sentences;
# 5: label tables too, a data first row said as a row; 6: a numbered list's "1." at a line's start ends
# no sentence
CHUNKER_VERSION = 6

# Abbreviations after which a period does not end a sentence (lower-cased, without the period). Units
# ("mg", "mL") are deliberately absent: label sentences often end with a dose.
_ABBREV = {
    "e.g",
    "i.e",
    "etc",
    "vs",
    "al",
    "dr",
    "mr",
    "mrs",
    "ms",
    "prof",
    "fig",
    "figs",
    "no",
    "nos",
    "approx",
    "ca",
    "cf",
    "inc",
    "ltd",
    "co",
    "corp",
    "jr",
    "sr",
    "st",
    "vol",
    "u.s",
    "u.k",
    "ref",
    "refs",
    "dept",
    "univ",
    "b.i.d",
    "t.i.d",
    "q.i.d",
    "q.d",
    "p.o",
    "i.v",
    "i.m",
    "s.c",
    "resp",
    "incl",
    "eq",
    "sect",
    "ch",
}

# Candidate boundary: terminal punctuation (optionally closing quotes/brackets), whitespace, then a
# character that can start a sentence. A blank line or a bullet also ends a sentence.
_BOUNDARY = re.compile(r"([.!?])[\"'”’)\]]*(\s+)(?=[\"'“‘(\[]?[A-Z0-9•\-–])|\n\s*\n|\n(?=\s*[•\-–*]\s)")
_WORD = re.compile(r"\S+")
_LIST_NUMBER = re.compile(r"\(?\d{1,2}")


def _is_abbreviation(text: str, dot_pos: int) -> bool:
    """True when the period at ``dot_pos`` belongs to an abbreviation or an initial."""
    start = dot_pos
    while start > 0 and not text[start - 1].isspace() and text[start - 1] not in "([\"'":
        start -= 1
    token = text[start:dot_pos].lower()
    if not token:
        return False
    if token in _ABBREV:
        return True
    # Single letters ("J. Smith", "A. baumannii"), but not a digit ("in 2 doses. The").
    return len(token) == 1 and token.isalpha()


def _is_list_number(text: str, dot_pos: int) -> bool:
    """True when the period at ``dot_pos`` follows a numbered list's number at the start of a line ("…
    patients with:\n\n1. Severe renal impairment …"): the item's sentence starts there, not after it."""
    line_start = text.rfind("\n", 0, dot_pos) + 1
    return _LIST_NUMBER.fullmatch(text[line_start:dot_pos].strip()) is not None


def split_sentences(text: str) -> list[Span]:
    """Sentence spans of ``text`` (offsets into it), whitespace trimmed, none empty."""
    spans: list[Span] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        if m.group(1) == "." and (_is_abbreviation(text, m.start(1)) or _is_list_number(text, m.start(1))):
            continue
        end = m.start(2) if m.group(2) is not None else m.start()
        _append_trimmed(text, start, end, spans)
        start = m.end()
    _append_trimmed(text, start, len(text), spans)
    return spans


def _append_trimmed(text: str, start: int, end: int, out: list[Span]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        out.append(Span(start=start, end=end))


def _split_long(text: str, span: Span, max_words: int) -> list[Span]:
    """Cut a single over-long sentence (a table, a run-on list) on word boundaries."""
    words = list(_WORD.finditer(text, span.start, span.end))
    if len(words) <= max_words:
        return [span]
    pieces = []
    for i in range(0, len(words), max_words):
        group = words[i : i + max_words]
        pieces.append(Span(start=group[0].start(), end=group[-1].end()))
    return pieces


# A label at the start of a sentence: up to five words, the first capitalised, no digits or full stops,
# then a colon ("BACKGROUND:", "Method/design:", "MAIN OUTCOME MEASURES:"); or an upper-case heading alone
# on its line ("BACKGROUND & AIMS").
_LABEL = re.compile(r"(?:[A-Z][A-Za-z&/,()'\- ]{0,60}?:[ \t]+|[A-Z][A-Z &/,\-]{2,60}\n\s*)")


def label_end(sentence: str) -> int:
    """Length of the structured-abstract label that starts ``sentence`` (0 when there is none)."""
    m = _LABEL.match(sentence)
    if not m:
        return 0
    label = m.group(0).strip().rstrip(":")
    if any(c.isdigit() or c == "." for c in label) or len(label.split()) > 5:
        return 0
    return m.end() if m.end() < len(sentence) else 0


def _after_label(text: str, span: Span) -> Span:
    """``span`` without the structured-abstract label it starts with (quotes never include a label)."""
    cut = label_end(text[span.start : span.end])
    return Span(start=span.start + cut, end=span.end) if cut else span


def _n_words(text: str, span: Span) -> int:
    return len(text[span.start : span.end].split())


@dataclass(frozen=True)
class ChunkParams:
    target_words: int = 160
    max_words: int = 250
    min_words: int = 40


def chunk_spans(text: str, params: ChunkParams) -> list[list[Span]]:
    """Group sentence spans into passages: a list (per passage) of sentence spans in ``text``."""
    sentences: list[Span] = []
    for s in split_sentences(text):
        sentences.extend(_split_long(text, s, params.max_words))
    groups: list[list[Span]] = []
    current: list[Span] = []
    words = 0
    for s in sentences:
        n = _n_words(text, s)
        if current and (words + n > params.max_words or words >= params.target_words):
            groups.append(current)
            current, words = [], 0
        current.append(s)
        words += n
    if current:
        if (
            groups
            and words < params.min_words
            and sum(_n_words(text, x) for x in groups[-1]) + words <= (params.max_words)
        ):
            groups[-1].extend(current)
        else:
            groups.append(current)
    return groups


def chunk_record(record: CorpusRecord, params: ChunkParams | None = None) -> list[Passage]:
    """Split one record into passages that keep all its metadata and their sentence offsets.

    In research records a sentence that starts with a structured-abstract label ("RESULTS: …") is recorded
    from after the label: the passage text keeps the label, its quotable sentences do not.
    """
    params = params or ChunkParams()
    text = record.text
    research = record.source_type == "research"
    out: list[Passage] = []
    for i, group in enumerate(chunk_spans(text, params)):
        start, end = group[0].start, group[-1].end
        body = text[start:end]
        out.append(
            Passage(
                **record.model_dump(include=set(CITABLE_FIELDS)),
                id=f"{record.id}#{i}",
                record_id=record.id,
                chunk=i,
                text=body,
                license=record.license,
                sentences=[
                    Span(start=s.start - start, end=s.end - start)
                    for s in (_after_label(text, x) if research else x for x in group)
                ],
            )
        )
    return out


def record_id_of(passage_id: str) -> str:
    """The corpus record a passage id came from."""
    return passage_id.rsplit("#", 1)[0]
