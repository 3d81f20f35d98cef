"""Suggested follow-ups: next questions the index can answer, checked by retrieval before offering."""

from __future__ import annotations

from collections.abc import Sequence

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
    q: QuestionInfo, retriever: Retriever, *, limit: int = 3, topic: str | None = None, floor: float = 0.45
) -> list[str]:
    """Up to ``limit`` follow-ups for the drug or topic of ``q``, each with supporting passages indexed."""
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
        qvec = retriever.encode(topic)
        for st, template in TOPIC_TEMPLATES:
            hits = retriever.search_section(topic, st, k=1, qvec=qvec)  # type: ignore[arg-type]
            if hits and hits[0].row is not None:
                cos = float((index.row_vectors(_rows([hits[0].row])) @ qvec)[0])
                if cos >= floor:
                    out.append(template.format(topic=topic))
            if len(out) >= limit:
                break
    return out[:limit]


def _rows(rows: Sequence[int]):  # type: ignore[no-untyped-def]
    import numpy as np

    return np.array(rows, dtype=np.int64)


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
