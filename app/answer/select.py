"""Stage 3, select: the evidence each answer section may draw on, from that section's retrieved hits.

Both composers get the same selected evidence. Today: the hits whose cosine with the question reaches the
section's floor (``answer.floor_<section>``), best fused rank first, at most ``passages_per_section``.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.schema import Hit, SectionKey
from app.settings import AnswerSettings


def floor(settings: AnswerSettings, key: SectionKey) -> float:
    return float(getattr(settings, f"floor_{key}"))


def select_evidence(key: SectionKey, hits: Sequence[Hit], settings: AnswerSettings) -> list[Hit]:
    """Evidence for a section: hits above the section's relevance floor, best fused rank first."""
    low = floor(settings, key)
    kept = [h for h in hits if (h.cosine or 0.0) >= low]
    return kept[: settings.passages_per_section]
