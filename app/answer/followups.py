"""Suggested follow-ups: next questions the index can answer, checked by retrieval before offering.

Each is a whole question from a template with the entity in its slot ("What is the recommended dose of
metformin?", "What do guidelines recommend for type 2 diabetes?"), about a drug or topic the index knows:
with ``focus`` (``app.answer.focus.find_focus``) never an unknown term, never a function word.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from app.answer.focus import FocusEntities
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
PAIR_TEMPLATE = "Do {a} and {b} interact?"


def suggest(
    q: QuestionInfo,
    retriever: Retriever,
    *,
    limit: int = 3,
    topic: str | None = None,
    answered_by: Collection[str] = (),
    focus: FocusEntities | None = None,
) -> list[str]:
    """Up to ``limit`` follow-ups for the drug or topic of ``q``, each with supporting passages indexed.

    Drug follow-ups need label passages of the section they ask about (dose → Dosage and Administration…);
    topic follow-ups need evidence above the floor in that source type for this very question
    (``answered_by``: source types with selected evidence), so no second retrieval is run. With ``focus``,
    its drugs and topic are used instead of ``q.drugs`` and ``topic``; a question about an unknown term gets
    none, and two drugs get the question whether they interact.
    """
    if limit <= 0:
        return []
    drugs = list(q.drugs)
    if focus is not None:
        if focus.unknown_subject:
            return []
        drugs, topic = list(focus.drugs), focus.topic or None
    out: list[str] = []
    index = retriever.index
    if len(drugs) >= 2 and "interaction" not in q.intents:
        checked = _label_sections(retriever, sorted(index.lexicon.rows(drugs[:2])))
        if any(s in checked for s in INTENTS["interaction"][1]):
            name = focus.written if focus is not None else {}
            out.append(PAIR_TEMPLATE.format(a=name.get(drugs[0], drugs[0]), b=name.get(drugs[1], drugs[1])))
    for drug in drugs[:2]:
        shown = focus.written.get(drug, drug) if focus is not None else drug
        rows = index.lexicon.rows([drug])
        sections = _label_sections(retriever, sorted(rows))
        for intent, template in TEMPLATES.items():
            if len(out) >= limit:
                return out
            if intent in q.intents:
                continue
            wanted = INTENTS[intent][1]
            if any(s in sections for s in wanted):
                out.append(template.format(drug=shown))
                if len(drugs) > 1:
                    break  # one question per drug when two are asked about
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
