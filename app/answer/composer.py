"""Stage 4, compose: the ``Composer`` protocol every composer implements, and the fallback policy.

A composer turns one section's selected evidence into a draft (statements citing passage ids); the guard
checks the draft before anyone sees it. ``SectionWriter`` is the one place that decides what is shown when
a composer fails: an LLM backend error switches the rest of the answer to the extractive composer; an LLM
draft none of whose statements survive the guard is replaced, for that section, by the extractive one. Both
are recorded in ``Backend`` (fallback, reason) so the answer says so.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from app.answer.draft import DraftSection, EmptyDraft
from app.answer.guard import Guard
from app.answer.question import QuestionInfo
from app.llm.base import LLMError
from app.schema import Audience, Backend, Hit, Section, SectionKey

log = logging.getLogger("curbside.answer")


class Composer(Protocol):
    name: str

    def compose_section(
        self,
        key: SectionKey,
        q: QuestionInfo,
        hits: Sequence[Hit],
        *,
        audience: Audience = "clinician",
        no_label_for: Sequence[str] = (),
    ) -> DraftSection:
        """A draft for one section from its selected ``hits``; may raise ``LLMError``."""
        ...

    def versions(self, audience: Audience) -> dict[str, int]:
        """The prompt templates (name → version) this composer used for ``audience``."""
        ...


@dataclass
class Written:
    """One section through compose and guard."""

    section: Section  # what is shown
    draft: DraftSection  # what the shown section was guarded from
    primary: DraftSection | None  # the first composer's own draft (None when its backend failed)
    composer: str  # the composer that wrote ``draft``


class SectionWriter:
    """Compose → guard, section by section, with the fallback policy; collects backend and prompt versions."""

    def __init__(
        self,
        primary: Composer,
        extractive: Composer,
        guard: Guard,
        backend: Backend,
        messages: Mapping[str, str],
    ) -> None:
        self.messages = messages
        self.composer = primary
        self.extractive = extractive
        self.guard = guard
        self.backend = backend
        self.versions: dict[str, int] = {}

    def write(
        self,
        key: SectionKey,
        q: QuestionInfo,
        hits: Sequence[Hit],
        *,
        audience: Audience,
        no_label_for: Sequence[str],
        missing: Sequence[str] = (),
        why_not: str | None = None,
    ) -> tuple[Written, float, float]:
        """The guarded section, and the milliseconds spent composing and guarding it. ``missing``: what
        the question is about that no passage mentions — the section says so and shows nothing else.
        ``why_not``: why a section with no evidence cannot answer, said instead of the plain message."""
        t = time.perf_counter()
        if missing or (why_not and not hits):
            message = why_not or self.messages["unknown_term"].format(term=", ".join(missing))
            draft = DraftSection(key=key, abstained=True, message=message)
            return Written(self.guard.section(draft), draft, None, "none"), 0.0, 0.0
        primary: DraftSection | None = None
        failed: DraftSection | None = None  # what a backend that answered unusably gave (for the record)
        if self.composer is not self.extractive:
            try:
                primary = self.composer.compose_section(
                    key, q, hits, audience=audience, no_label_for=no_label_for
                )
                self.versions.update(self.composer.versions(audience))
            except LLMError as exc:
                log.warning("llm backend failed, falling back to extractive", extra={"reason": exc.reason})
                self._fell_back(exc.reason)
                self.composer = self.extractive
                failed = exc.draft if isinstance(exc, EmptyDraft) else None
        draft = primary or self.extractive.compose_section(
            key, q, hits, audience=audience, no_label_for=no_label_for
        )
        compose_ms = 1000 * (time.perf_counter() - t)
        t = time.perf_counter()
        section = self.guard.section(draft)
        composer = self.composer.name if primary is not None else self.extractive.name
        if primary is not None and primary.statements and not section.statements and hits:
            # The model wrote statements but none survived the guard (no valid citation, unsupported):
            # show the extractive answer for this section instead, and say so.
            self._fell_back(self.backend.reason or "no supported, cited statements")
            draft = self.extractive.compose_section(
                key, q, hits, audience=audience, no_label_for=no_label_for
            )
            section = self.guard.section(draft)
            composer = self.extractive.name
        guard_ms = 1000 * (time.perf_counter() - t)
        return Written(section, draft, primary or failed, composer), compose_ms, guard_ms

    def _fell_back(self, reason: str | None) -> None:
        self.backend = self.backend.model_copy(update={"fallback": True, "reason": reason})
