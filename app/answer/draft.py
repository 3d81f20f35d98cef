"""What a composer hands to the guard: statements citing passages by id, per section, before any checking."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.llm.base import LLMError
from app.schema import Backend, SectionKey


@dataclass
class DraftStatement:
    text: str
    keys: list[str]  # passage ids cited (as the composer understood them; the guard checks them)
    context: bool = False


@dataclass
class DraftSection:
    key: SectionKey
    statements: list[DraftStatement] = field(default_factory=list)
    abstained: bool = False
    message: str | None = None


@dataclass
class Draft:
    sections: list[DraftSection]
    backend: Backend
    prompt_versions: dict[str, int] = field(default_factory=dict)


MARKER = re.compile(r"\[\s*([A-Za-z]*\d+(?:\s*[,;]\s*[A-Za-z]*\d+)*)\s*\]")


def parse_markers(text: str) -> tuple[str, list[str]]:
    """Split ``text`` into the statement without its ``[n]``/``[S2, S3]`` markers and the marker keys."""
    keys: list[str] = []
    clean = text
    # Until none is left: removing "[1]" from "[[1]2]" leaves "[2]", which must not pass as plain text.
    while MARKER.search(clean):
        for m in MARKER.finditer(clean):
            for raw in re.split(r"[,;]", m.group(1)):
                part = raw.strip()
                if part and part not in keys:
                    keys.append(part)
        clean = MARKER.sub("", clean)
    clean = re.sub(r"\s+([.,;:])", r"\1", re.sub(r"\s{2,}", " ", clean)).strip()
    return clean, keys


class EmptyDraft(LLMError):
    """The backend answered, with nothing usable in it: the (empty) draft is kept for the record."""

    def __init__(self, draft: DraftSection) -> None:
        super().__init__("empty answer", backend_fault=False)
        self.draft = draft
