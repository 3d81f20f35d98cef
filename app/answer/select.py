"""Stage 3, select: the evidence each answer section may draw on, from that section's retrieved hits.

Both composers get the same selected evidence. With the learned relevance model (default,
``answer.selection = "learned"``): every hit gets P(it answers the question) from ``relevance.py``; the
section answers only when its best hit reaches the section's calibrated threshold
(``answer.answer_threshold_<section>``, the operating point chosen on the train split for ≥ 0.95 abstention
on unanswerable sections — see the model card); it keeps the hits within ``answer.keep_ratio`` of the best,
most probable first. A qualifier ("low-dose") is judged later, by the composer, so a section can still
show what its sources do cover as context. ``"floor"`` is the earlier rule: hits whose cosine reaches
``answer.floor_<section>``, in fused order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from app.answer.question import QuestionInfo
from app.answer.relevance import RelevanceModel
from app.schema import Hit, SectionKey
from app.settings import AnswerSettings


def floor(settings: AnswerSettings, key: SectionKey) -> float:
    return float(getattr(settings, f"floor_{key}"))


def threshold(settings: AnswerSettings, key: SectionKey) -> float:
    return float(getattr(settings, f"answer_threshold_{key}"))


@dataclass(frozen=True)
class Selector:
    """Chooses a section's evidence: the learned model's choice, or the cosine floor without a model."""

    settings: AnswerSettings
    model: RelevanceModel | None = None

    def select(self, key: SectionKey, q: QuestionInfo, hits: Sequence[Hit]) -> list[Hit]:
        if self.model is None or not hits:
            return select_by_floor(key, hits, self.settings)
        # The qualifier is the composer's to judge (it shows context when no passage says it).
        probs = self.model.score(key, replace(q, qualifiers=[], qualifier_text=[]), hits)
        ranked = sorted(zip(probs, range(len(hits)), hits, strict=True), key=lambda t: (-t[0], t[1]))
        top = ranked[0][0]
        if top < threshold(self.settings, key):
            # Nothing here answers; above the cosine floor, the hits may still serve as context when the
            # question's qualifier is what is missing.
            return select_by_floor(key, hits, self.settings) if q.qualifiers else []
        keep = max(threshold(self.settings, key), self.settings.keep_ratio * top)
        chosen = [h.model_copy(update={"relevance": p}) for p, _i, h in ranked if p >= keep]
        return chosen[: self.settings.passages_per_section]


def select_by_floor(key: SectionKey, hits: Sequence[Hit], settings: AnswerSettings) -> list[Hit]:
    """Evidence for a section: hits above the section's relevance floor, best fused rank first."""
    low = floor(settings, key)
    kept = [h for h in hits if (h.cosine or 0.0) >= low]
    return kept[: settings.passages_per_section]
