"""The answer engine: condense → retrieve → select → compose → guard → respond, one question at a time.

``AnswerEngine.events`` reads as those stages, each in its own module (``condense.py``,
``app/retrieval.py``, ``select.py``, ``composer.py`` with the composers, ``guard.py``, ``followups.py``),
and yields the answer as it is made: retrieval done (the selected hits with every score), each section
(its pre-guard draft and the guarded section), the final ``Answer``. ``ask`` returns the final answer.
Whatever composed a section, the guard checks it before anyone sees it; the fallback policy (an LLM that
fails is replaced by the extractive composer, and the answer says so) is ``composer.SectionWriter``.
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.answer.composer import Composer, SectionWriter
from app.answer.condense import Earlier, condense, condense_transcript, topic_of
from app.answer.draft import DraftSection
from app.answer.emergency import detect_emergency
from app.answer.extractive import ExtractiveComposer
from app.answer.focus import FocusEntities, about_drugs, find_focus, warm_up
from app.answer.followups import suggest
from app.answer.generative import GenerativeComposer
from app.answer.guard import Guard, GuardPolicy
from app.answer.question import FORM_NAMES, QuestionInfo, analyse_question
from app.answer.relevance import RelevanceModel
from app.answer.select import Selector, asks_whole, form_fits
from app.conversation import ConversationStore
from app.index.drugs import DrugLexicon
from app.index.search_index import SearchIndex
from app.llm.base import LLMClient
from app.prompts import load_prompt
from app.retrieval import Filters, Retrieval, Retriever
from app.schema import (
    SECTION_KEYS,
    SECTION_SOURCE,
    Answer,
    Audience,
    Backend,
    EmergencyNotice,
    Hit,
    Passage,
    Reference,
    Section,
    SectionKey,
)
from app.settings import Settings

log = logging.getLogger("curbside.answer")

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class QuestionError(ValueError):
    """A question that cannot be answered as given; the message says what to change."""


@dataclass
class RetrievalEvent:
    """Retrieval and selection done: per section, the hits retrieved and the evidence selected from them.
    It comes first, so an emergency banner reaches a streaming client before any section."""

    standalone_question: str
    drugs: list[str]
    unknown_drugs: list[str]
    evidence: dict[SectionKey, list[Hit]]  # selected: what the section's composer may cite
    retrieved: dict[SectionKey, list[Hit]]  # everything retrieved for the section, best first
    emergency: EmergencyNotice | None = None
    missing: list[str] = field(default_factory=list)  # what the question is about that no passage mentions

    @property
    def passages(self) -> dict[SectionKey, list[Passage]]:
        return {k: [h.passage for h in hits] for k, hits in self.evidence.items()}


@dataclass
class SectionEvent:
    """One section composed and guarded."""

    section: Section
    references: list[Reference]  # references numbered so far (the section's are among them)
    draft: DraftSection  # what the shown section was guarded from
    primary: DraftSection | None = None  # the first composer's own draft (None when its backend failed)
    composer: str = "extractive"


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
    _selector: Selector = field(init=False)
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
        warm_up(self.lexicon)
        learned = self.settings.answer.selection == "learned"
        self._selector = Selector(
            self.settings.answer,
            RelevanceModel.load() if learned else None,
            lexical=self.retriever.index.lexical,
            passages=self.retriever.index.passages.get,
            lexicon=self.lexicon,
            label=self.retriever.index.passages.by_record_prefix,
        )

    @classmethod
    def from_settings(cls, settings: Settings, *, with_llm: bool = True) -> AnswerEngine:
        from app.llm import make_client

        retriever = Retriever(SearchIndex.load(settings), settings.retrieval)
        llm = make_client(settings.llm) if with_llm else None
        store = ConversationStore(settings.paths.data_dir / settings.conversation.db_name)
        return cls(settings, retriever, llm, store)

    @property
    def index(self) -> SearchIndex:
        return self.retriever.index

    @property
    def lexicon(self) -> DrugLexicon:
        return self.retriever.index.lexicon

    def passage(self, passage_id: str) -> Passage | None:
        """A stored passage by id (``None`` when the index has no such passage)."""
        return self.retriever.index.passages.get(passage_id)

    def ask(self, question: str, **kw: Any) -> Answer:
        answer: Answer | None = None
        for event in self.events(question, **kw):
            if isinstance(event, AnswerEvent):
                answer = event.answer
        assert answer is not None
        return answer

    def history(self, conversation_id: str | None, transcript: Sequence[str] | None) -> list[Earlier]:
        """The earlier questions a follow-up is condensed against: a stored conversation's last turns, or
        a client-held transcript's user messages (each condensed in turn)."""
        keep = self.settings.conversation.history_turns
        if conversation_id is not None and self.conversations is not None:
            return [Earlier.of_turn(t) for t in self.conversations.turns(conversation_id, last=keep)]
        if transcript:
            return condense_transcript(transcript, self.lexicon, keep)[-keep:]
        return []

    def events(
        self,
        question: str,
        *,
        conversation_id: str | None = None,
        transcript: Sequence[str] | None = None,
        audience: Audience = "clinician",
        sections: Sequence[SectionKey] | None = None,
        use_llm: bool = True,
        remember: bool = True,
    ) -> Iterator[Event]:
        """The answer to ``question`` as it is made. ``conversation_id`` continues a stored conversation;
        ``transcript`` (earlier user messages, oldest first) is a client-held one. With ``remember`` the
        answer is stored as the next turn (of a new conversation unless ``conversation_id`` is given)."""
        t_start = time.perf_counter()
        timings: dict[str, float] = {}
        question = clean_question(question, self.settings.answer.max_question_chars)
        keys = [k for k in SECTION_KEYS if sections is None or k in sections] or list(SECTION_KEYS)
        llm = self.llm if use_llm else None

        # 1. condense
        t = time.perf_counter()
        history = self.history(conversation_id, transcript)
        standalone, how = condense(
            question, history, self.lexicon, llm=llm, prompts_dir=self.settings.paths.prompts_dir
        )
        timings["condense"] = _ms(t)

        emergency = detect_emergency(question)
        focus = find_focus(standalone, self.lexicon, self.index.lexical.doc_freq)

        # 2. retrieve (the drugs as the focus read them: "metopol tar" is metoprolol tartrate; a misspelt
        # drug name searched as the drug)
        t = time.perf_counter()
        retrieval = self.retriever.retrieve(
            focus.search_text(standalone, self.index.lexical.doc_freq),
            filters=Filters(
                source_types=tuple(SECTION_SOURCE[k] for k in keys), drugs=tuple(focus.drugs) or None
            ),
        )
        retrieved = {k: retrieval.sections.get(SECTION_SOURCE[k], []) for k in keys}
        timings["retrieve"] = _ms(t)

        # 3. select
        t = time.perf_counter()
        q = analyse_question(focus.read_as(standalone), self.lexicon, drugs=retrieval.drugs)
        missing = self._missing(focus, q)
        idf = self._selector.idf(q)
        evidence = {
            k: []
            if missing
            else self._selector.select(
                k, q, self._about_drugs(k, retrieved[k], retrieval.drugs), idf, audience
            )
            for k in keys
        }
        timings["select"] = _ms(t)
        yield RetrievalEvent(
            standalone, retrieval.drugs, retrieval.unknown_drugs, evidence, retrieved, emergency, missing
        )

        # 4-5. compose and guard, section by section
        guard = Guard(
            {h.passage.id: h.passage for hits in evidence.values() for h in hits},
            find_drugs=self.lexicon.detect,
            policy=GuardPolicy(
                mode=self.settings.answer.guard_mode,
                min_overlap=self.settings.answer.min_overlap,
                nli_precision=self.settings.answer.nli_precision,
            ),
            abstain_messages=self._messages,
        )
        writer = self._writer(llm, guard)
        compose_ms = guard_ms = 0.0
        done: list[Section] = []
        # A label section left without evidence because its passages are for another dosage form says so.
        why_not: dict[SectionKey, str | None] = {
            k: self._other_forms(q, retrieved[k])
            or self._other_sections(q, retrieved[k])
            or self._not_said(q, retrieved[k])
            for k in keys
            if k == "fda_label" and not evidence[k]
        }
        for key in keys:
            no_label = retrieval.unknown_drugs if key == "fda_label" else []
            written, c_ms, g_ms = writer.write(
                key,
                q,
                evidence[key],
                audience=audience,
                no_label_for=no_label,
                missing=missing,
                why_not=why_not.get(key),
            )
            compose_ms += c_ms
            guard_ms += g_ms
            done.append(written.section)
            yield SectionEvent(
                written.section, guard.references(), written.draft, written.primary, written.composer
            )
        timings["compose"] = round(compose_ms, 2)
        timings["guard"] = round(guard_ms, 2)

        # 6. respond
        t = time.perf_counter()
        # Under an emergency banner, nothing should invite reading on instead of calling for help.
        follow_ups = (
            []
            if emergency is not None
            else suggest(
                q,
                self.retriever,
                limit=self.settings.answer.follow_ups,
                topic=topic_of(standalone, self.lexicon) or None,
                answered_by={SECTION_SOURCE[k] for k in keys if evidence[k]},
                focus=focus,
            )
        )
        timings["follow_ups"] = _ms(t)
        timings["total"] = _ms(t_start)
        answer = Answer(
            question=question,
            standalone_question=standalone,
            audience=audience,
            conversation_id=conversation_id,
            sections=done,
            references=guard.references(),
            disclaimer=self._disclaimer,
            follow_ups=follow_ups,
            backend=writer.backend,
            guard=guard.counts,
            timings_ms=timings,
            drugs=retrieval.drugs,
            prompt_versions={**self._versions, **writer.versions},
            emergency=emergency,
        )
        log.info(
            "answered",
            extra={
                "composer": writer.backend.composer,
                "fallback": writer.backend.fallback,
                "condensed": how,
                "guard": guard.counts.model_dump(),
                "timings_ms": timings,
            },
        )
        if remember and self.conversations is not None:
            cid = conversation_id or self.conversations.create()
            answer = self.conversations.append(cid, answer)
        yield AnswerEvent(answer)

    def section_confidence(self, retrieval: Retrieval, key: SectionKey) -> float:
        """The score the select stage compares with the section's answer threshold: the best hit's
        P(answers) among the hits the section may use (0 when the question's subject is absent, or when no
        model is loaded). The eval harness draws the abstention precision–recall curve from it."""
        focus = find_focus(retrieval.question, self.lexicon, self.index.lexical.doc_freq)
        q = analyse_question(focus.read_as(retrieval.question), self.lexicon, drugs=retrieval.drugs)
        if self._selector.model is None or self._missing(focus, q):
            return 0.0
        hits = self._about_drugs(key, retrieval.sections.get(SECTION_SOURCE[key], []), retrieval.drugs)
        top_k = hits[: self.settings.retrieval.top_k_per_section]
        return max((p for p, _h in self._selector.scored(key, q, top_k, self._selector.idf(q))), default=0.0)

    def _missing(self, focus: FocusEntities, q: QuestionInfo) -> list[str]:
        """A drug or topic no passage mentions: every section says so, and shows nothing about anything
        else (the focus reading's unknown subject, or focus terms absent from the index)."""
        return focus.unknown if focus.unknown_subject else self._selector.absent(q, focus.corrected)

    def _other_forms(self, q: QuestionInfo, hits: Sequence[Hit]) -> str | None:
        """Why the label section cannot answer a question about one dosage form ("prednisolone eye drops")
        when the label passages found are all about others (its oral solution); None otherwise."""
        if not q.forms or not q.drugs or not hits:
            return None
        if any(form_fits(hits, q.forms)):
            return None
        return self._messages["fda_label_other_form"].format(
            drug=" and ".join(q.drugs),
            asked=" or ".join(FORM_NAMES[f] for f in sorted(q.forms)),
        )

    def _not_said(self, q: QuestionInfo, hits: Sequence[Hit]) -> str | None:
        """Why the label section cannot answer a question asked in words of its own (a missed dose, alcohol,
        crushing a tablet) when the drug's label passages were found and none says it; None otherwise."""
        asked = next((what for intent, what in NOT_SAID.items() if intent in q.intents), None)
        if asks_whole(q):
            asked = "whether it may be crushed, chewed, split or opened"
        if asked is None or not q.drugs or not any(h.drug_match for h in hits):
            return None
        return self._messages["fda_label_not_said"].format(drug=" and ".join(q.drugs), asked=asked)

    def _other_sections(self, q: QuestionInfo, hits: Sequence[Hit]) -> str | None:
        """Why the label section cannot answer a side-effect question when the drug's label passages in the
        index are all from other sections (tramadol's dosing, description and how it is supplied)."""
        found = self._selector.sections_instead(q, hits[: self.settings.retrieval.top_k_per_section])
        if not found:
            return None
        asked = " or ".join(dict.fromkeys(SECTION_NOUNS_ASKED.get(i, i) for i in q.intents))
        return self._messages["fda_label_other_sections"].format(
            drug=" and ".join(q.drugs), asked=asked, found=", ".join(found[:4])
        )

    def _about_drugs(self, key: SectionKey, hits: list[Hit], drugs: Sequence[str]) -> list[Hit]:
        """A guideline or research passage can answer a question about a drug only if it names that drug
        (any of its names); label passages are the drug's own already (retrieval restricts them)."""
        if not drugs or key == "fda_label":
            return hits

        def record_text(record_id: str) -> str:
            return " ".join(p.text for p in self.index.passages.by_record(record_id))

        return about_drugs(hits, drugs, self.lexicon, record_text if key == "research" else None)

    def _writer(self, llm: LLMClient | None, guard: Guard) -> SectionWriter:
        """The composer for this answer (generative when an LLM is configured), behind the fallback policy."""
        if llm is None:
            return SectionWriter(
                self._extractive, self._extractive, guard, Backend(composer="extractive"), self._messages
            )
        composer: Composer = GenerativeComposer(
            llm, self.settings.answer, self.settings.paths.prompts_dir, self._messages
        )
        return SectionWriter(
            composer, self._extractive, guard, Backend(composer="generative", llm=llm.name), self._messages
        )


# How the abstaining label section names what a question asks for that the drug's label passages lack.
SECTION_NOUNS_ASKED = {"adverse": "adverse reactions or warnings", "pharmacokinetics": "pharmacokinetics"}
# … and what a question asks in words of its own that none of them says.
NOT_SAID = {"missed_dose": "what to do after a missed dose", "alcohol": "anything about alcohol"}


def _ms(t: float) -> float:
    return round(1000 * (time.perf_counter() - t), 2)
