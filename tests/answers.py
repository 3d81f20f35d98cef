"""Hand-built answers for tests that check how an answer is rendered or scored."""

from __future__ import annotations

from app.schema import (
    SECTION_KEYS,
    SECTION_TITLES,
    Answer,
    Backend,
    Reference,
    Section,
    SectionKey,
    Statement,
)


def answer_quoting(
    ref: Reference, key: SectionKey, *, question: str = "q", abstain_others: bool = False
) -> Answer:
    """An extractive answer whose ``key`` section states ``ref``'s quote, cited [1]; the other sections say
    nothing (and abstain, with ``abstain_others``)."""
    return Answer(
        question=question,
        standalone_question=question,
        sections=[
            Section(
                key=k,
                title=SECTION_TITLES[k],
                statements=[Statement(text=ref.quote.text, citations=[1])] if k == key else [],
                abstained=abstain_others and k != key,
            )
            for k in SECTION_KEYS
        ],
        references=[ref],
        disclaimer="d",
        backend=Backend(composer="extractive"),
    )
