"""The answer engine: condense → retrieve → select → compose → guard → respond, one question at a time.

``AnswerEngine.events`` yields the answer as it is made (retrieval done, each guarded section, the final
``Answer``) so the API can stream it; ``ask`` returns the final answer. Whatever composed a section, the
guard checks it before anyone sees it. An LLM that fails (timeout, error, garbage, no citations) is
replaced by the extractive composer for the rest of the answer, and the answer says so.
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from app.answer.draft import DraftSection
from app.answer.extractive import ExtractiveComposer
from app.answer.followups import suggest
from app.answer.generative import GenerativeComposer
from app.answer.guard import Guard, GuardPolicy
from app.answer.question import QuestionInfo, analyse_question
from app.conversation import ConversationStore, condense, topic_of
from app.llm.base import LLMClient, LLMError
from app.prompts import load_prompt
from app.retrieval import Filters, Retriever
from app.schema import (
    SECTION_KEYS,
    SECTION_SOURCE,
    Answer,
    Audience,
    Backend,
    Hit,
    Reference,
    Section,
    SectionKey,
    Turn,
)
from app.settings import Settings

log = logging.getLogger("curbside.answer")

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class QuestionError(ValueError):
    """A question that cannot be answered as given; the message says what to change."""


class Composer(Protocol):
    name: str

    def compose_section(
        self,
        key: SectionKey,
        q: QuestionInfo,
        hits: Sequence[Hit],
        cosines: Mapping[str, float],
        *,
        audience: Audience,
        no_label_for: Sequence[str],
    ) -> DraftSection: ...


@dataclass
class RetrievalEvent:
    standalone_question: str
    drugs: list[str]
    passages: dict[str, list[str]]  # section → passage ids used as evidence


@dataclass
class SectionEvent:
    section: Section
    references: list[Reference]  # references numbered so far (the section's are among them)


@dataclass
class AnswerEvent:
    answer: Answer


Event = RetrievalEvent | SectionEvent | AnswerEvent


def clean_question(text: str, max_chars: int) -> str:
    """Normalise a question or raise ``QuestionError`` saying what is wrong with it."""
    if not isinstance(text, str):
        raise QuestionError("question must be a string")
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub(" ", text).replace("\u2028", " ").replace("\u2029", " ")
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        raise QuestionError("question is empty; type a medical question")
    if len(text) > max_chars:
        raise QuestionError(f"question is {len(text)} characters long; the limit is {max_chars}")
    if not any(ch.isalnum() for ch in text):
        raise QuestionError("question has no letters or digits")
    return text


@dataclass
class AnswerEngine:
    settings: Settings
    retriever: Retriever
    llm: LLMClient | None = None
    conversations: ConversationStore | None = None
    _extractive: ExtractiveComposer = field(init=False)
    _messages: dict[str, str] = field(init=False)
    _versions: dict[str, int] = field(init=False)
    _disclaimer: str = field(init=False)

    def __post_init__(self) -> None:
        prompts = self.settings.paths.prompts_dir
        abstain = load_prompt(prompts, "abstain")
        disclaimer = load_prompt(prompts, "disclaimer")
        self._messages = abstain.entries()
        self._disclaimer = disclaimer.body.strip()
        self._versions = {abstain.name: abstain.version, disclaimer.name: disclaimer.version}
        self._extractive = ExtractiveComposer(self.settings.answer, self._messages)

    @classmethod
    def from_settings(cls, settings: Settings, *, with_llm: bool = True) -> AnswerEngine:
        from app.index.search_index import SearchIndex
        from app.llm import make_client

        retriever = Retriever(SearchIndex.load(settings), settings.retrieval)
        llm = make_client(settings.llm) if with_llm else None
        store = ConversationStore(settings.paths.data_dir / settings.conversation.db_name)
        return cls(settings, retriever, llm, store)

    @property
    def lexicon(self):  # type: ignore[no-untyped-def]
        return self.retriever.index.lexicon

    def ask(self, question: str, **kw: Any) -> Answer:
        answer: Answer | None = None
        for event in self.events(question, **kw):
            if isinstance(event, AnswerEvent):
                answer = event.answer
        assert answer is not None
        return answer

    def events(
        self,
        question: str,
        *,
        conversation_id: str | None = None,
        audience: Audience = "clinician",
        sections: Sequence[SectionKey] | None = None,
        use_llm: bool = True,
        remember: bool = True,
    ) -> Iterator[Event]:
        t_start = time.perf_counter()
        timings: dict[str, float] = {}
        question = clean_question(question, self.settings.answer.max_question_chars)
        keys = [k for k in SECTION_KEYS if sections is None or k in sections] or list(SECTION_KEYS)
        llm = self.llm if use_llm else None

        # 1. condense
        t = time.perf_counter()
        history: list[Turn] = []
        if conversation_id is not None and self.conversations is not None:
            history = self.conversations.turns(conversation_id, last=self.settings.conversation.history_turns)
        standalone, how = condense(
            question, history, self.lexicon, llm=llm, prompts_dir=self.settings.paths.prompts_dir
        )
        timings["condense"] = _ms(t)

        # 2. retrieve
        t = time.perf_counter()
        retrieval = self.retriever.retrieve(
            standalone, filters=Filters(source_types=tuple(SECTION_SOURCE[k] for k in keys))
        )
        timings["retrieve"] = _ms(t)

        # 3. select
        t = time.perf_counter()
        q = analyse_question(standalone, drugs=retrieval.drugs)
        cosines = self._cosines(retrieval.sections.values(), retrieval.query_vector)
        evidence: dict[SectionKey, list[Hit]] = {
            k: self._extractive.select(k, retrieval.sections.get(SECTION_SOURCE[k], []), cosines)
            for k in keys
        }
        passages = {h.passage.id: h.passage for hits in evidence.values() for h in hits}
        timings["select"] = _ms(t)
        yield RetrievalEvent(
            standalone, retrieval.drugs, {k: [h.passage.id for h in v] for k, v in evidence.items()}
        )

        # 4-5. compose and guard, section by section
        guard = Guard(
            passages,
            find_drugs=self.lexicon.detect,
            policy=GuardPolicy(
                mode=self.settings.answer.guard_mode, min_overlap=self.settings.answer.min_overlap
            ),
            abstain_messages=self._messages,
        )
        composer: ExtractiveComposer | GenerativeComposer = self._extractive
        versions = dict(self._versions)
        backend = Backend(composer="extractive")
        if llm is not None:
            composer = GenerativeComposer(
                llm, self.settings.answer, self.settings.paths.prompts_dir, self._messages
            )
            backend = Backend(composer="generative", llm=llm.name)
        compose_ms = guard_ms = 0.0
        done: list[Section] = []
        for key in keys:
            t = time.perf_counter()
            no_label = retrieval.unknown_drugs if key == "fda_label" else []
            draft: DraftSection | None = None
            if isinstance(composer, GenerativeComposer):
                try:
                    draft = composer.compose_section(
                        key, q, evidence[key], cosines, audience=audience, no_label_for=no_label
                    )
                    versions.update(composer.versions(audience))
                except LLMError as exc:
                    log.warning(
                        "llm backend failed, falling back to extractive", extra={"reason": exc.reason}
                    )
                    backend = backend.model_copy(update={"fallback": True, "reason": exc.reason})
                    composer = self._extractive
            if draft is None:
                draft = self._extractive.compose_section(
                    key, q, evidence[key], cosines, audience=audience, no_label_for=no_label
                )
            compose_ms += _ms(t)
            t = time.perf_counter()
            section = guard.section(draft)
            if (
                isinstance(composer, GenerativeComposer)
                and draft.statements
                and not section.statements
                and evidence[key]
            ):
                # The model wrote statements but none survived the guard (no valid citation, unsupported):
                # show the extractive answer for this section instead, and say so.
                backend = backend.model_copy(
                    update={"fallback": True, "reason": backend.reason or "no supported, cited statements"}
                )
                extractive = self._extractive.compose_section(
                    key, q, evidence[key], cosines, audience=audience, no_label_for=no_label
                )
                section = guard.section(extractive)
            guard_ms += _ms(t)
            done.append(section)
            yield SectionEvent(section, guard.references())
        timings["compose"] = round(compose_ms, 2)
        timings["guard"] = round(guard_ms, 2)
        references = guard.references()

        # 6. respond
        t = time.perf_counter()
        follow_ups = suggest(
            q,
            self.retriever,
            limit=self.settings.answer.follow_ups,
            topic=topic_of(standalone, self.lexicon) or None,
            answered_by={SECTION_SOURCE[k] for k in keys if evidence[k]},
        )
        timings["follow_ups"] = _ms(t)
        timings["total"] = _ms(t_start)
        answer = Answer(
            question=question,
            standalone_question=standalone,
            audience=audience,
            conversation_id=conversation_id,
            sections=done,
            references=references,
            disclaimer=self._disclaimer,
            follow_ups=follow_ups,
            backend=backend,
            guard=guard.counts,
            timings_ms=timings,
            drugs=retrieval.drugs,
            prompt_versions=versions,
        )
        log.info(
            "answered",
            extra={
                "composer": backend.composer,
                "fallback": backend.fallback,
                "condensed": how,
                "guard": guard.counts.model_dump(),
                "timings_ms": timings,
            },
        )
        if remember and self.conversations is not None:
            cid = conversation_id or self.conversations.create()
            answer = self.conversations.append(cid, answer)
        yield AnswerEvent(answer)

    def _cosines(self, hit_lists: Any, qvec: np.ndarray | None) -> dict[str, float]:
        hits = [h for hl in hit_lists for h in hl if h.row is not None]
        if not hits or qvec is None:
            return {}
        rows = np.array([h.row for h in hits], dtype=np.int64)
        scores = self.retriever.index.row_vectors(rows) @ qvec
        return {h.passage.id: float(s) for h, s in zip(hits, scores, strict=True)}


def _ms(t: float) -> float:
    return round(1000 * (time.perf_counter() - t), 2)
