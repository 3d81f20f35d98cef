"""Suggested follow-ups: next questions the index can answer, checked by retrieval before offering."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from app.answer.question import INTENTS, QuestionInfo
from app.retrieval import Retriever

# intent → template; the label section names in INTENTS say which passages must exist for it.
TEMPLATES: dict[str, str] = {
    "dose": "What is the recommended dose of {drug}?",
    "adverse": "What are the common side effects of {drug}?",
    "contraindication": "Who should not take {drug} (contraindications)?",
    "pregnancy": "Is {drug} safe during pregnancy?",
    "interaction": "Which drugs interact with {drug}?",
    "warning": "What are the warnings for {drug}?",
    "indication": "What is {drug} used for?",
}
TOPIC_TEMPLATES = (
    ("guideline", "What do guidelines recommend for {topic}?"),
    ("research", "What does the research say about {topic}?"),
)


def suggest(
    q: QuestionInfo,
    retriever: Retriever,
    *,
    limit: int = 3,
    topic: str | None = None,
    answered_by: Collection[str] = (),
) -> list[str]:
    """Up to ``limit`` follow-ups for the drug or topic of ``q``, each with supporting passages indexed.

    Drug follow-ups need label passages of the section they ask about (dose → Dosage and Administration…);
    topic follow-ups need evidence above the floor in that source type for this very question
    (``answered_by``: source types with selected evidence), so no second retrieval is run.
    """
    if limit <= 0:
        return []
    out: list[str] = []
    index = retriever.index
    if q.drugs:
        drug = q.drugs[0]
        rows = index.lexicon.rows([drug])
        sections = _label_sections(retriever, sorted(rows))
        for intent, template in TEMPLATES.items():
            if intent in q.intents:
                continue
            wanted = INTENTS[intent][1]
            if any(s in sections for s in wanted):
                out.append(template.format(drug=drug))
            if len(out) >= limit:
                return out
    if topic and len(out) < limit:
        for st, template in TOPIC_TEMPLATES:
            if st in answered_by:
                out.append(template.format(topic=topic))
            if len(out) >= limit:
                break
    return out[:limit]


_SECTIONS_MEMO: dict[tuple[int, tuple[int, ...]], set[str]] = {}


def _label_sections(retriever: Retriever, rows: Sequence[int]) -> set[str]:
    """Label section names among ``rows`` (memoised: the index is immutable once loaded)."""
    if not rows:
        return set()
    key = (id(retriever.index), tuple(rows))
    if key not in _SECTIONS_MEMO:
        if len(_SECTIONS_MEMO) > 2048:
            _SECTIONS_MEMO.clear()
        passages = retriever.index.passages.get_rows(list(rows))
        _SECTIONS_MEMO[key] = {(p.section or "").lower() for p in passages}
    return _SECTIONS_MEMO[key]
