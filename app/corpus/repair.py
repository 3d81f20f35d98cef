"""Text repair at build time: research snippets to whole words and sentences (structured-abstract labels
kept), guideline tables to one sentence per row (``table_sentences``, at the end of this module).

Some research sources ship fragments, not abstracts. BioASQ's gold snippets are character ranges of an
abstract, and a range that starts or ends inside a word or a sentence comes out as ``"JECTIVE: To
describe …"``, ``"view presented here focuses on …"`` or ``"… (median age 66.7 years) had a"``; a record
holds its snippets one per line. ``repair_fragments`` trims every line of a research record to whole
words and sentences, without adding a character that is not in the source:

1. a line that starts with a cut structured-abstract label (an upper-case word that is a proper suffix of
   a known label, ``JECTIVE:``, ``ULTS:``) loses that fragment, and one that ends with the first letters
   of the next label glued to its full stop (``… pregnancy.ME``) loses those;
2. a line that starts mid-sentence (its first word is an all-lower-case word, such as ``view``, ``he``;
   words like ``mTOR``, ``p53``, ``cDNA`` are not) starts at its next sentence, when it has one;
3. a line whose last sentence stops mid-way (no terminal punctuation, and it ends on a function word such
   as ``a``, ``the``, ``of``, ``here``, or the line was cut at its start too) ends at its previous
   sentence; a line that is only such a cut
   sentence is dropped. A last sentence that only lacks its full stop (BioASQ ranges often leave it out)
   is kept;
4. a line that, after 1–3, is contained in another line of the record (BioASQ repeats overlapping
   snippets) is dropped.

Otherwise a line is kept byte for byte: a cut inside the first or last word cannot be told from a whole
word without the source abstract. The repair applies to every research record, whatever its source:
complete abstracts come through unchanged (on the shipped corpus: all 1,000 PubMedQA abstracts, and 4,337 of
the 4,340 trial abstracts — the others lose a repeated paragraph or a trailing "available at"). If nothing
would remain, the original text is kept.

Structured-abstract labels are kept in the text and left out of quotes by the chunker
(``chunker.label_end``).
"""

from __future__ import annotations

import re

from app.corpus.chunker import split_sentences

# Words of structured-abstract headings (NLM's structured abstract labels and their common variants).
LABEL_WORDS = frozenset(
    {
        "AIM",
        "AIMS",
        "BACKGROUND",
        "CASE",
        "CLINICAL",
        "CONCLUSION",
        "CONCLUSIONS",
        "CONTEXT",
        "DATA",
        "DEFINITION",
        "DESIGN",
        "DISCUSSION",
        "FINDINGS",
        "IMPORTANCE",
        "INTERPRETATION",
        "INTERVENTION",
        "INTERVENTIONS",
        "INTRODUCTION",
        "MATERIALS",
        "MEASUREMENTS",
        "METHOD",
        "METHODOLOGY",
        "METHODS",
        "OBJECT",
        "OBJECTIVE",
        "OBJECTIVES",
        "OUTCOMES",
        "PARTICIPANTS",
        "PATIENTS",
        "PROBLEM",
        "PURPOSE",
        "RATIONALE",
        "RELEVANCE",
        "REPORT",
        "RESULT",
        "RESULTS",
        "SETTING",
        "SETTINGS",
        "SIGNIFICANCE",
        "SOURCES",
        "STUDY",
        "SUMMARY",
        "SUBJECTS",
        "UNLABELLED",
    }
)

_LEADING_CAPS = re.compile(r"([A-Z]{2,}):\s+")
_GLUED_LABEL = re.compile(r"[.!?][A-Z]{1,12}$")
_LOWER_WORD = re.compile(r"[a-z]+[,;:]?(?=\s)")
# Words a sentence does not end with: a line ending on one of them was cut mid-sentence.
_FUNCTION_WORDS = frozenset(
    {
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "with",
        "by",
        "from",
        "and",
        "or",
        "but",
        "nor",
        "that",
        "which",
        "whose",
        "who",
        "whom",
        "was",
        "were",
        "is",
        "are",
        "be",
        "been",
        "has",
        "have",
        "had",
        "as",
        "than",
        "here",
        "we",
        "this",
        "these",
        "those",
        "its",
        "their",
        "our",
        "his",
        "her",
        "between",
        "into",
        "after",
        "before",
        "during",
        "not",
        "no",
        "via",
        "while",
        "whereas",
        "when",
        "where",
    }
)
_TERMINAL = re.compile(r"[.!?][\"'”’)\]]*$")


def _partial_label(word: str) -> bool:
    return word not in LABEL_WORDS and any(w.endswith(word) and w != word for w in LABEL_WORDS)


def repair_line(line: str) -> str:
    """One snippet trimmed to whole words and sentences (steps 1–3 of the module docstring)."""
    text = line.strip()
    m = _LEADING_CAPS.match(text)
    if m and _partial_label(m.group(1)):
        text = text[m.end() :]
    glued = _GLUED_LABEL.search(text)
    if glued:  # "… throughout pregnancy.ME": the next label's first letters, cut
        text = text[: glued.start() + 1]
    spans = split_sentences(text)
    cut_start = bool(_LOWER_WORD.match(text))
    if spans and _cut_at_end(text[spans[-1].start : spans[-1].end], cut_start):
        spans = spans[:-1]  # nothing left means the whole line was one cut sentence: dropped
    if len(spans) > 1 and cut_start:
        spans = spans[1:]
    out = text[spans[0].start : spans[-1].end] if spans else ""
    return line if out == line.strip() else out


def _cut_at_end(sentence: str, cut_start: bool) -> bool:
    """A last sentence that stops mid-way: no terminal punctuation, and it ends on a function word (or its
    line was already cut at the start, so the range is a cut one at both ends)."""
    if _TERMINAL.search(sentence):
        return False
    words = sentence.split()
    return bool(words) and (cut_start or words[-1].lower().strip(",;:") in _FUNCTION_WORDS)


def repair_fragments(text: str) -> str:
    """A research record's text with its snippets trimmed to whole words and sentences (see module doc)."""
    lines = text.split("\n")
    repaired = [repair_line(x) if x.strip() else "" for x in lines]
    blank = [not x.strip() for x in lines]
    kept: list[str] = []
    for i, line in enumerate(repaired):
        if not line:
            if blank[i]:
                kept.append(line)
            continue
        if any(j != i and len(other) > len(line) and line in other for j, other in enumerate(repaired)):
            continue
        if line in repaired[:i]:  # an exact repeat keeps its first occurrence
            continue
        kept.append(line)
    out = "\n".join(kept).strip("\n")
    out = re.sub(r"\n{3,}", "\n\n", out)
    return out if out.strip() else text


# -- Markdown tables (guidelines, and labels extracted from PDFs) --------------------------------------------

_TABLE_LINE = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?(?:\s*:?-{3,}:?\s*\|)+\s*:?(?:-{3,}:?)?\s*$")
_CELL_MARKUP = re.compile(r"\*\*|__|`")
_CELL_ESCAPE = re.compile(r"\\([^\w\s])")  # Markdown's escaped punctuation: "D\&C", "\[95% CI]"
# A first row that is itself data, not column names: a cell that says a whole direction ("take 2 tablets
# every 4-6 hours while symptoms last, not more than 12 tablets in 24 hours"), or numbers with words in every
# cell ("250 mg Capsule | NDC 81964-225-01 | Bottles of 100"; a score's bare "3" is a column name).
HEADER_CELL_WORDS = 8
_CELL_BREAK = re.compile(r"\s*<br\s*/?>\s*", re.IGNORECASE)
_EMPTY_CELLS = frozenset({"-", "–", "—", "•"})


def _cells(line: str) -> list[str]:
    inner = line.strip().removeprefix("|").removesuffix("|")
    cells = [_CELL_BREAK.sub(", ", _CELL_MARKUP.sub("", c)).strip() for c in inner.split("|")]
    return [" ".join(_CELL_ESCAPE.sub(r"\1", c).split()) for c in cells]


def _is_data(header: list[str]) -> bool:
    cells = [c for c in header if c and c not in _EMPTY_CELLS]
    return bool(cells) and (
        any(len(c.split()) > HEADER_CELL_WORDS for c in cells)
        or all(re.search(r"\d", c) and re.search(r"[^\W\d_]", c) for c in cells)
    )


def _row_sentence(header: list[str], row: list[str]) -> str:
    """One table row as one sentence: "Grade II — West Haven Criteria: Overt; Clinical Features: Lethargy,
    asterixis." The first cell is the row's subject; the others are named by their column (a cell under an
    empty header stands alone); empty cells are left out."""
    subject = row[0].rstrip(":").strip() if row and row[0] not in _EMPTY_CELLS else ""
    parts = []
    for i, cell in enumerate(row[1:], start=1):
        if not cell or cell in _EMPTY_CELLS:
            continue
        name = header[i] if i < len(header) else ""
        parts.append(f"{name}: {cell}" if name else cell)
    body = "; ".join(parts)
    sentence = f"{subject} — {body}" if subject and body else subject or body
    if not sentence:
        return ""
    # Said as a sentence of its own: capitalised ("children 6 to 11 years" would not start one) and ended.
    sentence = sentence[0].upper() + sentence[1:]
    return sentence if _TERMINAL.search(sentence) else f"{sentence}."


def table_sentences(text: str) -> str:
    """``text`` with every Markdown table (a header row, a ``|---|`` rule, body rows) rewritten as one
    sentence per body row, each naming its columns ("Drug: Lactulose; Dose: 15–30 mL PO every 1–2 hours."):
    a row can then be quoted, verbatim from the stored text, as a readable statement, where a raw
    ``| … | … |`` line never could. The first column is the row's subject and is said first, unnamed; a
    first row that is data (``_is_data``) names no columns and is a row itself. Text outside tables is
    unchanged."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        is_table = i + 1 < len(lines) and _TABLE_LINE.match(lines[i]) and _TABLE_RULE.match(lines[i + 1])
        if not is_table:
            out.append(lines[i])
            i += 1
            continue
        header = _cells(lines[i])
        i += 2
        if _is_data(header):
            # No column names: the first row is said like the others.
            out.append(_row_sentence([], header))
            header = []
        while i < len(lines) and _TABLE_LINE.match(lines[i]):
            sentence = _row_sentence(header, _cells(lines[i]))
            if sentence:
                out.append(sentence)
            i += 1
    return "\n".join(out)
