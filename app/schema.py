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

Audience = Literal["clinician", "patient"]

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


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


class Passage(BaseModel):
    """A retrievable unit: a chunk of one record, with the record's metadata and sentence offsets."""

    model_config = ConfigDict(frozen=True)

    id: str
    record_id: str
    chunk: int = 0
    source_type: SourceType
    title: str | None = None
    organization: str | None = None
    year: int | None = None
    date: str | None = None
    section: str | None = None
    text: str
    url: str | None = None
    pmid: str | None = None
    doi: str | None = None
    set_id: str | None = None
    drug: str | None = None
    brand: str | None = None
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
    score: float = Field(description="fused score (RRF, plus any boost)")
    dense_score: float | None = Field(None, description="cosine similarity, when the dense side found it")
    lexical_score: float | None = Field(None, description="BM25 score, when the lexical side found it")
    dense_rank: int | None = None
    lexical_rank: int | None = None
    drug_match: bool = False
