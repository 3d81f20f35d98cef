"""GenerativeComposer: an LLM writes each section from numbered evidence; the guard checks what it wrote.

One request per section, with that section's evidence as numbered blocks ``[1]``, ``[2]``… wrapped as
data. The model's lines ``- statement [n]`` are parsed into statements citing passage ids; ``NO_ANSWER``
(or nothing parseable) makes the section abstain. Failures raise ``LLMError`` so the engine can fall back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from app.answer.draft import DraftSection, DraftStatement, EmptyDraft, parse_markers
from app.answer.question import QuestionInfo
from app.llm.base import LLMClient, Message
from app.prompts import load_prompt
from app.schema import SECTION_SOURCES_PLURAL, Audience, Hit, SectionKey
from app.settings import AnswerSettings

TOKENS_PER_STATEMENT = 64
_LINE = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s*(.+)$")
_SAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def unfenced(text: str) -> str:
    """``text`` with control characters blanked and the data fences ``<<<``/``>>>`` defused, so that the
    only fences in a prompt are the ones the composer put around each passage."""
    return _SAFE.sub(" ", text).replace("<<<", "‹‹‹").replace(">>>", "›››")


def evidence_block(hits: Sequence[Hit]) -> str:
    """Numbered evidence, each passage fenced as quoted data with its source line."""
    blocks = []
    for i, h in enumerate(hits, 1):
        label = unfenced(h.passage.citation_label())
        blocks.append(f"[{i}] {label}\n<<<\n{unfenced(h.passage.text)}\n>>>")
    return "\n\n".join(blocks)


def parse_section(output: str, hits: Sequence[Hit]) -> list[DraftStatement]:
    """``- text [1][2]`` lines → statements citing passage ids; numbers outside 1..len(hits) stay as
    unknown keys so the guard counts them as dangling."""
    statements = []
    for raw in output.splitlines():
        line = raw.strip()
        if not line or "NO_ANSWER" in line:
            continue
        m = _LINE.match(line)
        body = m.group(1) if m else line
        text, markers = parse_markers(body)
        keys = []
        for marker in markers:
            digits = re.sub(r"\D", "", marker)
            n = int(digits) if digits else 0
            keys.append(hits[n - 1].passage.id if 1 <= n <= len(hits) else f"?{marker}")
        if len(text.split()) >= 3:
            statements.append(DraftStatement(text=text, keys=keys))
    return statements


class GenerativeComposer:
    name = "generative"

    def __init__(
        self, llm: LLMClient, settings: AnswerSettings, prompts_dir: Path, messages: Mapping[str, str]
    ) -> None:
        self.llm = llm
        self.settings = settings
        self.prompts_dir = prompts_dir
        self.messages = messages

    def versions(self, audience: Audience) -> dict[str, int]:
        names = ["answer_section"] + (["audience_patient"] if audience == "patient" else [])
        return {n: load_prompt(self.prompts_dir, n).version for n in names}

    def compose_section(
        self,
        key: SectionKey,
        q: QuestionInfo,
        hits: Sequence[Hit],
        *,
        audience: Audience = "clinician",
        no_label_for: Sequence[str] = (),
    ) -> DraftSection:
        """One LLM request for one section; raises ``LLMError`` when the backend fails."""
        if not hits:
            message = self.messages.get(key)
            if key == "fda_label" and no_label_for:
                message = self.messages["fda_label_no_label"].format(drug=", ".join(no_label_for))
            return DraftSection(key=key, abstained=True, message=message)
        audience_rule = (
            load_prompt(self.prompts_dir, "audience_patient").body if audience == "patient" else ""
        )
        text = load_prompt(self.prompts_dir, "answer_section").render(
            source_name=SECTION_SOURCES_PLURAL[key],
            max_statements=self.settings.statements_per_section,
            audience_rule=audience_rule,
            question=unfenced(q.text),  # a question cannot open or close a data fence either
            evidence=evidence_block(hits),
        )
        # A few short statements need few tokens; a small model left at a large budget rambles for minutes.
        completion = self.llm.complete(
            [Message("user", text)], max_tokens=TOKENS_PER_STATEMENT * self.settings.statements_per_section
        )
        if not completion.text.strip():
            raise EmptyDraft(DraftSection(key=key, abstained=True))
        statements = parse_section(completion.text, hits)
        return DraftSection(key=key, statements=statements, abstained=not statements)
