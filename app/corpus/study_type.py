"""The study type of a research record: what kind of evidence a research citation is.

Decided, in order, from what the source states about the article, then from its title and abstract:

1. PubMed publication types (``Meta-Analysis``, ``Systematic Review``, ``Randomized Controlled Trial``,
   ``Case Reports``, ``Review`` …), which the PubMed XML loader keeps in the record's provenance as
   ``[publication types: A; B]``;
2. the JATS ``article-type`` (``systematic-review``, ``case-report``, ``review-article``), which the PMC
   loader keeps as ``[article-type: x]``;
3. cues in the title, then in the abstract: "systematic review", "meta-analysis", "were randomised",
   "randomly assigned", "case-control", "cohort", "we report a case", "in this review", "mice",
   "in vitro" … Background sentences about other studies ("randomised trials are the gold standard")
   are not cues: a trial cue must say that *this* study randomised.

Without a cue the type is ``unknown`` — never a guess. The classification is derived at chunk time and
carried on ``Passage.study_type`` (the corpus schema itself is fixed at 16 keys); non-research passages
have ``None``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from app.schema import CorpusRecord

RANDOMISED_TRIAL = "randomised trial"
SYSTEMATIC_REVIEW = "systematic review / meta-analysis"
COHORT = "cohort"
CASE_CONTROL = "case-control"
CASE_REPORT = "case report"
NARRATIVE_REVIEW = "narrative review"
BASIC_SCIENCE = "basic science"
UNKNOWN = "unknown"
STUDY_TYPES = (
    RANDOMISED_TRIAL,
    SYSTEMATIC_REVIEW,
    COHORT,
    CASE_CONTROL,
    CASE_REPORT,
    NARRATIVE_REVIEW,
    BASIC_SCIENCE,
    UNKNOWN,
)

# PubMed publication types (NLM's list), most specific first.
_PUBLICATION_TYPES: tuple[tuple[str, str], ...] = (
    ("meta-analysis", SYSTEMATIC_REVIEW),
    ("systematic review", SYSTEMATIC_REVIEW),
    ("randomized controlled trial", RANDOMISED_TRIAL),
    ("pragmatic clinical trial", RANDOMISED_TRIAL),
    ("equivalence trial", RANDOMISED_TRIAL),
    ("case reports", CASE_REPORT),
    ("review", NARRATIVE_REVIEW),
)
_ARTICLE_TYPES = {
    "systematic-review": SYSTEMATIC_REVIEW,
    "meta-analysis": SYSTEMATIC_REVIEW,
    "case-report": CASE_REPORT,
    "review-article": NARRATIVE_REVIEW,
}

_I = re.IGNORECASE
_SR = re.compile(
    r"\bsystematic(ally)?\s+review|\bmeta-?\s?analy[sz]|\bpooled analysis of (randomi|trials)", _I
)
_RCT_TITLE = re.compile(r"\brandomi[sz]ed\b|\brandom allocation\b|\bplacebo-controlled\b", _I)
_RCT_TEXT = re.compile(
    r"\b(were|was|being|be)\s+(randomly\s+)?(randomi[sz]ed|allocated at random|assigned at random)"
    r"|\brandomly\s+(assigned|allocated|divided|distributed|selected to receive)"
    r"|\b(assigned|allocated|divided|distributed)\s+randomly\b"
    r"|\brandomi[sz]ed to (?!be\b)\w+"
    r"|\bplacebo-controlled\b"
    r"|\brandomi[sz]ed,? (controlled|double-blind|placebo|crossover|cross-over|parallel|clinical)"
    r"[\w\s,-]{0,30}\btrial\b(?!s)"
    r"|\brandomi[sz]ed\s+(in|into|to)\s+(one|two|three|four|receive|either|groups?|the)\b"
    r"|\b(this|a|our|the present)\s+(\w+[\s,-]+){0,4}randomi[sz]ed\b"
    r"|\bin a (\w+[\s,-]+){0,4}randomi[sz]ed",
    _I,
)
_CASE_CONTROL = re.compile(r"\bcase[\s-]+control\b", _I)
_COHORT = re.compile(
    r"\bcohort\b|\bprospective(ly)? (study|follow|observational)|\bretrospective(ly)? (study|analysis|review|"
    r"cohort|chart)|\blongitudinal study\b|\bregistry\b|\bpopulation-based study\b|\bfollow-up study\b",
    _I,
)
_CASE_REPORT_TITLE = re.compile(
    r"\bcase report\b|\ba case of\b|\breport of (a|an|two|three) (case|patient)", _I
)
_CASE_REPORT_TEXT = re.compile(
    r"\bwe (report|describe|present) (a|an|the case|two|three|four) ([\w-]+ ){0,3}"
    r"(case|patient|man|woman|boy|girl|infant|child|neonate|family)"
    r"|\bcase report\b|\ba \d+-year-old (man|woman|boy|girl|male|female|patient)",
    _I,
)
_REVIEW_TITLE = re.compile(r"\breview\b|\boverview\b|\bupdate on\b|\bstate of the art\b|\bperspective", _I)
_REVIEW_TEXT = re.compile(
    r"\b(this|the present|our) (brief |short |mini-?|narrative |comprehensive )?review\b"
    r"|\bwe (review|summari[sz]e)\b|\bis reviewed\b|\bare reviewed\b|\breview (of|on) the literature\b"
    r"|\bhere,? we review",
    _I,
)
_BASIC = re.compile(
    r"\b(mice|mouse|murine|rats?|zebrafish|drosophila|yeast|saccharomyces|c\. elegans|xenopus)\b"
    r"|\bin vitro\b|\bcell lines?\b|\bknock-?out\b|\btransfect|\bcultured cells\b|\bcrystal structure\b"
    r"|\bin silico\b",
    _I,
)
_STATED = re.compile(r"\[(publication types|article-type): ([^\]]*)\]")


def stated_types(provenance: str) -> tuple[list[str], str | None]:
    """(PubMed publication types, JATS article-type) that a loader kept in a record's provenance."""
    pub: list[str] = []
    article: str | None = None
    for m in _STATED.finditer(provenance):
        if m.group(1) == "publication types":
            pub.extend(x.strip() for x in m.group(2).split(";") if x.strip())
        else:
            article = m.group(2).strip() or None
    return pub, article


def classify(
    title: str | None,
    text: str,
    *,
    publication_types: Sequence[str] = (),
    article_type: str | None = None,
) -> str:
    """One of ``STUDY_TYPES`` for an article (see the module docstring for the order of evidence)."""
    types = {t.strip().lower() for t in publication_types}
    for name, study_type in _PUBLICATION_TYPES:
        if name in types:
            return study_type
    title = title or ""
    stated = _ARTICLE_TYPES.get((article_type or "").strip().lower())
    if stated == SYSTEMATIC_REVIEW or (stated is not None and _SR.search(title)):
        return SYSTEMATIC_REVIEW
    if stated is not None:
        return stated
    if _SR.search(title):
        return SYSTEMATIC_REVIEW
    if _CASE_REPORT_TITLE.search(title):
        return CASE_REPORT
    if _RCT_TITLE.search(title) or _RCT_TEXT.search(text):
        return RANDOMISED_TRIAL
    if _SR.search(text[:600]):
        return SYSTEMATIC_REVIEW
    if _CASE_CONTROL.search(title) or _CASE_CONTROL.search(text):
        return CASE_CONTROL
    if _COHORT.search(title) or _COHORT.search(text):
        return COHORT
    if _CASE_REPORT_TEXT.search(text):
        return CASE_REPORT
    if _REVIEW_TITLE.search(title) or _REVIEW_TEXT.search(text):
        return NARRATIVE_REVIEW
    if _BASIC.search(title) or _BASIC.search(text):
        return BASIC_SCIENCE
    return UNKNOWN


def study_type_of(record: CorpusRecord) -> str | None:
    """The study type of a research record (``None`` for guidelines and labels)."""
    if record.source_type != "research":
        return None
    pub, article = stated_types(record.provenance)
    return classify(record.title, record.text, publication_types=pub, article_type=article)
