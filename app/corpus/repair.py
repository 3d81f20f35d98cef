"""Research text repair at build time: whole words and sentences, and structured-abstract labels.

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
