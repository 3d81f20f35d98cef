"""Domain types shared by every layer: corpus records, passages, hits, answers, conversation turns."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SourceType = Literal["guideline", "fda_label", "research"]
SOURCE_TYPES: tuple[SourceType, ...] = ("guideline", "fda_label", "research")

SectionKey = Literal["guidelines", "fda_label", "research"]
SECTION_KEYS: tuple[SectionKey, ...] = ("guidelines", "fda_label", "research")
SECTION_SOURCE: dict[SectionKey, SourceType] = {
    "guidelines": "guideline",
    "fda_label": "fda_label",
    "research": "research",
}
SECTION_TITLES: dict[SectionKey, str] = {
    "guidelines": "From the Guidelines",
    "fda_label": "From the FDA Drug Label",
    "research": "From the Research",
}

# How a section's sources are named in sentences: "the label does not say…", "…from FDA drug labels".
SECTION_NOUNS: dict[SectionKey, str] = {
    "guidelines": "guideline",
    "fda_label": "label",
    "research": "research",
}
SECTION_SOURCES_PLURAL: dict[SectionKey, str] = {
    "guidelines": "clinical practice guidelines",
    "fda_label": "FDA drug labels",
    "research": "research abstracts",
}

Audience = Literal["clinician", "patient"]

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Citable(BaseModel):
    """What a citation needs to be rendered: the document metadata every passage keeps from its record."""

    source_type: SourceType
    title: str | None = None
    organization: str | None = None
    year: int | None = None
    date: str | None = None
    section: str | None = None
    url: str | None = None
    pmid: str | None = None
    doi: str | None = None
    set_id: str | None = None
    drug: str | None = None
    brand: str | None = None
    study_type: str | None = Field(
        None,
        description="research only: randomised trial, systematic review / meta-analysis, cohort, "
        "case-control, case report, narrative review, basic science or unknown (app.corpus.study_type)",
    )


CITABLE_FIELDS = frozenset(Citable.model_fields)


class CorpusRecord(BaseModel):
    """One corpus record, exactly the shipped schema (16 keys, ``None`` where unknown)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    source_type: SourceType
    title: str | None = None
    organization: str | None = None
    year: int | None = Field(None, ge=1800, le=2100)
    date: str | None = None
    section: str | None = None
    text: str = Field(min_length=1)
    url: str | None = None
    pmid: str | None = None
    doi: str | None = None
    set_id: str | None = None
    drug: str | None = None
    brand: str | None = None
    license: str = "unknown"
    provenance: str = "unknown"

    @field_validator("text")
    @classmethod
    def _text_not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("text is blank")
        return v

    @field_validator("date")
    @classmethod
    def _date_iso(cls, v: str | None) -> str | None:
        if v is not None and not _DATE.match(v):
            raise ValueError(f"date {v!r} is not YYYY-MM-DD")
        return v


class Span(BaseModel):
    """Character offsets ``[start, end)`` into a passage's text."""

    model_config = ConfigDict(frozen=True)

    start: int = Field(ge=0)
    end: int = Field(ge=0)


class Passage(Citable):
    """A retrievable unit: a chunk of one record, with the record's metadata and sentence offsets."""

    model_config = ConfigDict(frozen=True)

    id: str
    record_id: str
    chunk: int = 0
    text: str
    license: str = "unknown"
    sentences: list[Span] = Field(default_factory=list)

    def sentence_texts(self) -> list[str]:
        return [self.text[s.start : s.end] for s in self.sentences]

    def citation_label(self) -> str:
        """A short human label: title (organisation, year) — section."""
        bits = [self.title or (f"PMID {self.pmid}" if self.pmid else self.record_id)]
        meta = ", ".join(x for x in (self.organization, str(self.year) if self.year else None) if x)
        if meta:
            bits.append(f"({meta})")
        if self.section and self.section not in (self.title or ""):
            bits.append(f"— {self.section}")
        return " ".join(bits)


class Hit(BaseModel):
    """A passage retrieved for a question, with the scores that put it there."""

    passage: Passage
    row: int | None = Field(None, description="row of the passage in the index")
    score: float = Field(description="fused score (see retrieval.fusion)")
    dense_score: float | None = Field(None, description="cosine similarity, when the dense side found it")
    cosine: float | None = Field(
        None, description="cosine similarity of the question and the passage, for every hybrid/dense hit"
    )
    lexical_score: float | None = Field(None, description="BM25 score, when the lexical side found it")
    dense_rank: int | None = None
    lexical_rank: int | None = None
    drug_match: bool = False
    relevance: float | None = Field(
        None, description="P(the passage answers the question), from the learned relevance model"
    )


# -- answers -----------------------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    """Text as one Markdown line: its line breaks and runs of spaces read as single spaces."""
    return " ".join(text.split())


class Quote(BaseModel):
    """The span of a passage that supports the statements citing it."""

    text: str
    start: int = Field(ge=0, description="offset of the quote in the passage text")
    end: int = Field(ge=0)


class Reference(Citable):
    """A numbered reference: one retrieved passage, renderable as a citation, with its quoted span."""

    number: int = Field(ge=1)
    passage_id: str
    record_id: str
    quote: Quote = Field(description="the span quoted first (the one the first citing statement rests on)")
    quotes: list[Quote] = Field(default_factory=list, description="every span quoted from this passage")
    label: str = Field(description="one-line rendering: title (organisation, year) — section")

    @classmethod
    def from_passage(cls, number: int, passage: Passage, quote: Quote) -> Reference:
        return cls(
            **passage.model_dump(include=set(CITABLE_FIELDS)),
            number=number,
            passage_id=passage.id,
            record_id=passage.record_id,
            quote=quote,
            quotes=[quote],
            label=passage.citation_label(),
        )


class Statement(BaseModel):
    text: str
    citations: list[int] = Field(default_factory=list, description="reference numbers that support it")
    supported: bool = Field(
        True, description="False only when the guard keeps unsupported statements, flagged"
    )
    context: bool = Field(
        False, description="background the sources do give when they do not answer the question itself"
    )


class Section(BaseModel):
    key: SectionKey
    title: str
    statements: list[Statement] = Field(default_factory=list)
    abstained: bool = False
    message: str | None = Field(
        None, description="plain sentence when the section abstains or only partly answers"
    )

    def to_markdown(self) -> str:
        """The section as Markdown: its title, its message, its statements with their ``[n]`` markers.
        ``Answer.to_markdown`` joins sections with a newline; a stream sends each followed by one."""
        out = [f"## {self.title}\n"]
        if self.message:
            out.append(f"{self.message}\n")
        if self.statements:
            if self.abstained:
                out.append("What the sources do say:\n")
            for st in self.statements:
                marks = "".join(f"[{n}]" for n in st.citations)
                flag = " *(not supported by its sources)*" if not st.supported else ""
                out.append(f"- {_one_line(st.text)} {marks}{flag}".rstrip())
            out.append("")
        return "\n".join(out)


class Backend(BaseModel):
    composer: Literal["extractive", "generative"]
    llm: str | None = Field(None, description="the LLM backend/model that composed, if any")
    fallback: bool = Field(False, description="True when an LLM was asked but the extractive answer is shown")
    reason: str | None = Field(None, description="why it fell back")


class GuardCounts(BaseModel):
    statements_in: int = 0
    statements_out: int = 0
    dangling_citations_removed: int = 0
    unsupported_citations_removed: int = 0
    unsupported_statements_removed: int = 0
    unsupported_statements_flagged: int = 0
    uncited_statements_removed: int = 0
    references_unused_dropped: int = 0


class EmergencyNotice(BaseModel):
    """A banner shown before the answer when the question describes an emergency happening now."""

    category: str = Field(
        description="cardiac, stroke, anaphylaxis, poisoning, suicide, bleeding, seizure, …"
    )
    message: str = Field(description="what to do now, e.g. call 911 (or the local emergency number)")


class Answer(BaseModel):
    question: str
    standalone_question: str
    audience: Audience = "clinician"
    conversation_id: str | None = None
    turn: int = 1
    sections: list[Section]
    references: list[Reference] = Field(default_factory=list)
    disclaimer: str
    follow_ups: list[str] = Field(default_factory=list)
    backend: Backend
    guard: GuardCounts = Field(default_factory=GuardCounts)
    timings_ms: dict[str, float] = Field(default_factory=dict)
    drugs: list[str] = Field(default_factory=list, description="drugs recognised in the question")
    prompt_versions: dict[str, int] = Field(default_factory=dict)
    emergency: EmergencyNotice | None = Field(
        None,
        description="set when the question describes an acute emergency (chest pain, stroke signs, "
        "anaphylaxis, overdose, suicidal intent…): its banner is shown first, above every section",
    )

    def section(self, key: SectionKey) -> Section:
        return next(s for s in self.sections if s.key == key)

    def to_markdown(self) -> str:
        out: list[str] = []
        if self.emergency is not None:
            out.append(f"> **{self.emergency.message}**\n")
        if self.standalone_question != self.question:
            out.append(f"*Answering:* {self.standalone_question}\n")
        out.extend(sec.to_markdown() for sec in self.sections)
        if self.references:
            out.append("## References\n")
            for ref in self.references:
                link = ref.url or (f"https://pubmed.ncbi.nlm.nih.gov/{ref.pmid}/" if ref.pmid else "")
                kind = f" [{ref.study_type}]" if ref.study_type else ""
                out.append(f"{ref.number}. {ref.label}{kind}" + (f" <{link}>" if link else ""))
                # A quote of a table or list keeps its line breaks in the JSON (verbatim offsets); shown as
                # one line here, or its blank line would end the blockquote and break the numbered list.
                out.append(f'   > "{_one_line(ref.quote.text)}"')
            out.append("")
        if self.follow_ups:
            out.append("**You could also ask:** " + " · ".join(self.follow_ups) + "\n")
        if self.backend.fallback:
            out.append(
                f"*Composed extractively: the {self.backend.llm or 'LLM'} backend failed "
                f"({self.backend.reason}).*\n"
            )
        out.append(f"---\n{self.disclaimer}")
        return "\n".join(out).strip() + "\n"


class Turn(BaseModel):
    conversation_id: str
    turn: int
    question: str
    standalone_question: str
    audience: Audience
    created_at: str
    answer: Answer
