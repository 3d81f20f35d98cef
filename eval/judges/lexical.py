"""The lexical judge: the guard's grounding check, plus contradiction detection. Deterministic, offline.

``support`` is exactly ``app.answer.grounding.check`` (numbers with their units, negations, drug names,
stemmed content overlap), so a statement the guard let through is one this judge supports at the same
``min_overlap``. On top of it, a statement that is *not* supported is called a **contradiction** when the
passage sentence that matches it best is clearly about the same thing (content overlap at least
``contradict_overlap``) and
- its negation or prohibition cues differ ("is contraindicated" vs "is not contraindicated"),
- its direction differs ("increases" vs "decreases", "higher" vs "lower"…), or
- it gives the same kind of quantity with a different value ("50 mg" vs "100 mg").
Anything else is **neutral**.

Before checking, a number glued to a name by a hyphen ("COVID-19", "IL-6", "SARS-CoV-2") is joined to it:
it names something, it is not a quantity to find in the source (``join_identifiers``).

``min_overlap`` and ``contradict_overlap`` were chosen by ``python -m eval.judges.tune_lexical`` on the
*tune* split of the calibration sets only (``calibration.py``, split by a hash of the topic/question),
maximising the mean three-way balanced accuracy over HealthVer, K-QA NLI and ExpertQA; the *held-out*
split is never looked at while tuning. ``min_overlap`` is the judge's, not the guard's (which stays at
``CURBSIDE_ANSWER__MIN_OVERLAP``): the judge is looser, so it credits paraphrase the guard would reject.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from app.answer.grounding import check, content_terms, polarity, quantities
from app.corpus.chunker import split_sentences
from eval.judges.base import Verdict

# Pairs of words that say opposite things about a direction or an effect (matched on whole lower-cased words).
OPPOSITES: tuple[tuple[frozenset[str], frozenset[str]], ...] = tuple(
    (frozenset(a.split()), frozenset(b.split()))
    for a, b in (
        ("increase increases increased increasing raise raises raised elevate elevated elevates",
         "decrease decreases decreased decreasing reduce reduces reduced reducing lower lowers lowered "
         "lowering"),
        ("higher greater more", "lower less fewer"),
        ("improve improves improved improving", "worsen worsens worsened worsening"),
        ("effective efficacious beneficial", "ineffective harmful"),
        ("safe", "unsafe dangerous"),
        ("benefit benefits", "harm harms"),
        ("recommended recommends recommend", "discouraged"),
        ("associated", "unassociated"),
        ("prevent prevents prevented", "cause causes caused"),
    )
)  # fmt: skip


_IDENTIFIER = re.compile(r"(?<=[A-Za-z])-(?=\d)")


@dataclass(frozen=True)
class LexicalParams:
    min_overlap: float = 0.4  # tuned (tune split); the guard's own default is 0.6
    contradict_overlap: float = 0.7  # tuned (tune split)
    detect_contradictions: bool = True
    join_identifiers: bool = True


def join_identifiers(text: str) -> str:
    """ "COVID-19" → "COVID19": a number that is part of a name is not a quantity."""
    return _IDENTIFIER.sub("", text)


def _words(text: str) -> set[str]:
    return {w.strip(".,;:()[]'\"").lower() for w in text.split()}


def _sentences(passages: Sequence[str]) -> list[str]:
    out: list[str] = []
    for text in passages:
        out.extend(text[s.start : s.end] for s in split_sentences(text))
    return out or [t for t in passages if t]


def best_match(statement: str, passages: Sequence[str]) -> tuple[str, float]:
    """The sentence of ``passages`` covering most of the statement's content terms, and that coverage."""
    terms = set(content_terms(statement))
    best, best_cov = "", 0.0
    for sentence in _sentences(passages):
        cov = len(terms & set(content_terms(sentence))) / (len(terms) or 1)
        if cov > best_cov + 1e-9:
            best, best_cov = sentence, cov
    return best, best_cov


def clash(statement: str, sentence: str) -> str | None:
    """Why ``sentence`` says the opposite of ``statement`` (negation, direction, quantity), or None."""
    s_neg, s_pro = polarity(statement)
    e_neg, e_pro = polarity(sentence)
    if s_neg != e_neg:
        return "negation differs from the best-matching source sentence"
    if s_pro != e_pro:
        return "contraindication/avoidance differs from the best-matching source sentence"
    sw, ew = _words(statement), _words(sentence)
    for up, down in OPPOSITES:
        if (sw & up and ew & down and not ew & up) or (sw & down and ew & up and not ew & down):
            mine, theirs = ", ".join(sorted(sw & (up | down))), ", ".join(sorted(ew & (up | down)))
            return f"direction differs ({mine} vs {theirs})"
    s_q = quantities(statement)
    e_q = quantities(sentence)
    for q in s_q:
        if q.unit is None:
            continue
        same_unit = {e.value for e in e_q if e.unit == q.unit}
        if same_unit and q.value not in same_unit:
            return f"{q} in the statement, {', '.join(sorted(same_unit))} {q.unit} in the source"
    return None


class LexicalJudge:
    name = "lexical"

    def __init__(
        self, params: LexicalParams | None = None, *, find_drugs: Callable[[str], list[str]] | None = None
    ) -> None:
        self.params = params or LexicalParams()
        self.find_drugs = find_drugs

    def support(self, statement: str, passages: Sequence[str]) -> Verdict:
        drugs = self.find_drugs(statement) if self.find_drugs is not None else []
        if self.params.join_identifiers:
            statement = join_identifiers(statement)
            passages = [join_identifiers(p) for p in passages]
        g = check(statement, passages, drug_names=drugs, min_overlap=self.params.min_overlap)
        if g.supported:
            return Verdict("support", round(g.overlap, 4), f"supported (content overlap {g.overlap:.2f})")
        if self.params.detect_contradictions and any(passages):
            sentence, cov = best_match(statement, passages)
            if cov >= self.params.contradict_overlap:
                why = clash(statement, sentence)
                if why:
                    return Verdict("contradict", 0.0, f"{why}: “{_short(sentence)}”")
        return Verdict("neutral", round(min(g.overlap, 0.99) * 0.5, 4), g.reason)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            **asdict(self.params),
            "drug_lexicon": self.find_drugs is not None,
            "check": "app.answer.grounding.check",
        }


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
