"""Grounding: does a passage support a statement? Deterministic, lexical, offline.

A statement is supported by the text it cites when
- every number in it (doses, frequencies, percentages, durations, counts) appears in the cited text, with
  the same unit when a unit follows it;
- its negation / contraindication cues agree with the best-matching part of the cited text;
- every drug it names is named in the cited text;
- enough of its content words (stemmed) occur in the cited text.
The same check is the citation guard's and the evaluation harness's lexical judge.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from app.corpus.chunker import split_sentences
from app.index.lexical import analyze
from app.schema import Passage

NUMBER = re.compile(
    r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?:\s*(?:-|–|to)\s*(\d+(?:\.\d+)?))?\s*"
    r"(%|percent|mg/kg|mg/m2|mcg/kg|mg/dl|mmol/l|mg|mcg|µg|μg|g|kg|ml|mL|l|iu|units?|meq|mmhg|hours?|hrs?|h|"
    r"days?|weeks?|wks?|months?|years?|yrs?|times|fold|x)?(?![\w])",
    re.IGNORECASE,
)
_UNIT_ALIASES = {
    "percent": "%", "µg": "mcg", "μg": "mcg", "ml": "ml", "hour": "h", "hours": "h", "hr": "h", "hrs": "h",
    "day": "d", "days": "d", "week": "wk", "weeks": "wk", "wks": "wk", "month": "mo", "months": "mo",
    "year": "y", "years": "y", "yrs": "y", "unit": "units", "fold": "x", "times": "x",
}  # fmt: skip
NEGATIONS = frozenset({"no", "not", "never", "without", "none", "neither", "nor", "cannot", "absence"})
PROHIBITIONS = frozenset({"contraindicated", "contraindication", "contraindications", "avoid", "avoided"})
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


@dataclass(frozen=True)
class Quantity:
    value: str
    unit: str | None

    def __str__(self) -> str:
        return f"{self.value}{' ' + self.unit if self.unit else ''}"


def _norm_number(s: str) -> str:
    s = s.replace(",", "")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


def quantities(text: str) -> list[Quantity]:
    """Numbers in ``text`` with the unit that follows them (normalised), ranges split into both ends."""
    out = []
    for m in NUMBER.finditer(text):
        unit = m.group(3)
        unit_n = _UNIT_ALIASES.get(unit.lower(), unit.lower()) if unit else None
        out.append(Quantity(_norm_number(m.group(1)), unit_n))
        if m.group(2):
            out.append(Quantity(_norm_number(m.group(2)), unit_n))
    return out


def polarity(text: str) -> tuple[bool, bool]:
    """(has a negation, has a prohibition such as 'contraindicated') — both must agree with the source."""
    words = {w.lower() for w in _WORD.findall(text)}
    negated = bool(words & NEGATIONS) or "n't" in text.lower()
    return negated, bool(words & PROHIBITIONS)


def content_terms(text: str) -> list[str]:
    """Stemmed content terms (stop words dropped), numbers excluded (they are checked separately)."""
    return [t for t in analyze(text) if not t[0].isdigit()]


# A label's lists flattened into one run-on "sentence" of hundreds of words (older labels: "Cardiac disorders:
# Cardiomyopathy, … pulmonary hypertension Ear and labyrinth disorders : Vertigo, …"; a subsection's list
# ending with a period and the next one starting in lower case, its heading gone: "… anaphylaxis, angioedema.
# bradycardia, …") breaks into its lists at a list label, at a period followed by lower case, and before
# "The most …" / "The following …". Only a sentence too long to be quoted whole is cut so.
LONG_SENTENCE = 80
_LIST_BREAK = re.compile(
    r"(?<=[a-z0-9)\]%])\s+(?=[A-Z][a-z]+(?:[ \-][a-z]+){0,5}\s?:\s)"
    r"|(?<=[a-z)\]]\.)\s+(?=[a-z])"
    r"|(?<=[a-z0-9)\]])\s+(?=The (?:most|following)\b)"
)


# An OTC Drug Facts list run into one line, with its bullets ("Directions •do not take more than directed
# •adults and children 12 years and over: take 1 tablet …") or without them, its items only told apart by how
# they start ("… 2 tablets may be used do not exceed 6 tablets in 24 hours, unless directed by a doctor
# children under 12 years: ask a doctor"). Each item is a unit of its own; a bullet stays with its item.
_INLINE_BULLET = re.compile(r"\s*(?=•)")
_OTC_RUN = re.compile(r"\b(?:do not|ask a doctor|adults and children|children under|stop use)\b")
ITEM_START = re.compile(
    r"(?:do not|adults\b|children\b|if\b|ask a doctor|stop use|the smallest|drink\b|swallow\b"
    r"|(?<!\bnot )(?<!\bto )(?<!\bmay )take\b)"
)
_LIST_START = re.compile(r"^(?:•\s*|[A-Z][a-z]+\s+)?(?:" + ITEM_START.pattern + ")")  # "Directions do not …"
_ITEM_BREAK = re.compile(r"(?<=[a-z0-9)])(?<!\band)(?<!\bor)\s+(?=" + ITEM_START.pattern + ")")
MIN_RUN_WORDS = 12


def _items(text: str) -> list[str]:
    """The items of a run-on OTC list without punctuation between them (see ``_OTC_RUN``): it starts as a list
    does (an item, a bullet, a one-word heading and an item); else the text."""
    if (
        len(text.split()) < MIN_RUN_WORDS
        or not _LIST_START.match(text)
        or re.search(r"[.!?;]\s|[.!?;]\s*$", text)
        or not _OTC_RUN.search(text)
    ):
        return [text]
    return [part.strip() for part in _ITEM_BREAK.split(text) if part.strip()]


def list_parts(sentence: str) -> list[str]:
    """A sentence, or the lists of a run-on one longer than ``LONG_SENTENCE`` words, or the items of an OTC
    list run into one line: verbatim parts of it. The composer quotes such parts, and the guard matches a
    statement against them, so that the polarity of one list ("… it is not always possible to … estimate their
    frequency") or item ("do not exceed …") is not another's."""
    out: list[str] = []
    for bulleted in _INLINE_BULLET.split(sentence):
        item = bulleted.strip()
        if not item:
            continue
        if len(item.split()) > LONG_SENTENCE:
            out += [part.strip() for part in _LIST_BREAK.split(item) if part.strip()]
        else:
            out += _items(item)
    return out


@dataclass
class Grounding:
    supported: bool
    overlap: float
    missing_numbers: list[str] = field(default_factory=list)
    missing_drugs: list[str] = field(default_factory=list)
    negation_mismatch: bool = False
    reason: str = ""


def closest_windows(statement_terms: set[str], sentences: Sequence[str]) -> list[list[str]]:
    """The sentences that cover most of the statement's terms (all ties), each as a one-sentence window; a
    pair of adjacent sentences only when it covers strictly more than any single one (a quoted lead-in and
    what follows it, or a drug named in the sentence before)."""
    term_sets = [set(content_terms(s)) for s in sentences]
    n = len(statement_terms) or 1
    singles = [(len(statement_terms & t) / n, [s]) for t, s in zip(term_sets, sentences, strict=True)]
    pairs = [
        (len(statement_terms & (term_sets[i] | term_sets[i + 1])) / n, [sentences[i], sentences[i + 1]])
        for i in range(len(sentences) - 1)
    ]
    best_single = max(c for c, _ in singles)
    best_pair = max((c for c, _ in pairs), default=-1.0)
    pool, top = (pairs, best_pair) if best_pair > best_single + 1e-9 else (singles, best_single)
    return [window for c, window in pool if c >= top - 1e-9]


def _agrees(mine: tuple[bool, bool], window: list[str]) -> bool:
    """The window's polarity, or that of one of its sentences, is the statement's."""
    return polarity(" ".join(window)) == mine or any(polarity(s) == mine for s in window)


def _sentences(item: str | Passage) -> list[str]:
    """A cited passage's sentences as stored at build time; a plain text (a judge's evidence) is split."""
    if isinstance(item, Passage):
        if item.sentences:
            return [part for sentence in item.sentence_texts() for part in list_parts(sentence)]
        item = item.text
    return [part for s in split_sentences(item) for part in list_parts(item[s.start : s.end])]


def check(
    statement: str,
    evidence: Iterable[str | Passage],
    *,
    drug_names: Iterable[str] = (),
    min_overlap: float = 0.6,
) -> Grounding:
    """Whether ``evidence`` (the cited passages or texts, together) supports ``statement``."""
    cited = [e for e in evidence if (e.text if isinstance(e, Passage) else e)]
    texts = [e.text if isinstance(e, Passage) else e for e in cited]
    joined = "\n".join(texts)
    terms = set(content_terms(statement))
    ev_terms = set(content_terms(joined))
    overlap = len(terms & ev_terms) / len(terms) if terms else 0.0

    ev_q = quantities(joined)
    ev_values = {q.value for q in ev_q}
    ev_pairs = {(q.value, q.unit) for q in ev_q}
    missing_numbers = []
    for q in quantities(statement):
        if q.value not in ev_values or (q.unit is not None and (q.value, q.unit) not in ev_pairs):
            missing_numbers.append(str(q))

    lowered = joined.lower()
    missing_drugs = [d for d in drug_names if d.lower() in statement.lower() and d.lower() not in lowered]

    # Negations must agree with the sentence (or two adjacent sentences: a quoted lead-in and what follows
    # it) of the evidence that matches the statement best, with any of them on an exact tie: a statement
    # copied from the evidence is supported by it. Each cited passage keeps its own sentences, so a passage
    # ending mid-sentence does not run into the next one.
    sentences = [sent for e in cited for sent in _sentences(e)] or [joined]
    mine = polarity(statement)
    negation_mismatch = not any(_agrees(mine, w) for w in closest_windows(terms, sentences))

    reasons = []
    if not terms:
        reasons.append("no content words")
    elif overlap < min_overlap:
        reasons.append(f"content overlap {overlap:.2f} < {min_overlap:.2f}")
    if missing_numbers:
        reasons.append("numbers not in the source: " + ", ".join(missing_numbers))
    if missing_drugs:
        reasons.append("drugs not in the source: " + ", ".join(missing_drugs))
    if negation_mismatch:
        reasons.append("negation differs from the source")
    return Grounding(
        supported=not reasons,
        overlap=overlap,
        missing_numbers=missing_numbers,
        missing_drugs=missing_drugs,
        negation_mismatch=negation_mismatch,
        reason="; ".join(reasons) or "supported",
    )
