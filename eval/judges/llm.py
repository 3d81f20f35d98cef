"""The LLM judge: ``prompts/judge_support.md`` through any ``LLMClient`` (local llama.cpp, any
OpenAI-compatible server). The model answers ``YES`` / ``NO`` / ``CONTRADICT`` and a short reason.

An answer that starts with none of the three words is *neutral* and counted as unparsed; a backend failure
is *neutral* too and counted as an error — both counts are in ``describe()`` and so in every report, so a
judge that mostly failed cannot pass for a strict one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.llm.base import LLMClient, LLMError, Message
from app.prompts import load_prompt
from eval.judges.base import Label, Verdict

PROMPT = "judge_support"
_FIRST = re.compile(
    r"^\W*(yes|no|contradicts?|contradicted|contradiction|supported|unsupported|not supported)\b",
    re.IGNORECASE,
)
_WORDS: dict[str, Label] = {
    "yes": "support",
    "supported": "support",
    "no": "neutral",
    "unsupported": "neutral",
    "not supported": "neutral",
    "contradict": "contradict",
    "contradicts": "contradict",
    "contradicted": "contradict",
    "contradiction": "contradict",
}


def parse_verdict(text: str) -> tuple[Label, str] | None:
    """(label, reason) from the model's first non-empty line, or None when it gives no verdict word."""
    for raw in text.strip().splitlines():
        line = raw.strip()
        if not line:
            continue
        m = _FIRST.match(line)
        if not m:
            return None
        reason = line[m.end() :].strip(" -:—–.")
        return _WORDS[m.group(1).lower()], reason or "(no reason given)"
    return None


class LLMJudge:
    name = "llm"

    def __init__(
        self,
        llm: LLMClient,
        prompts_dir: Path,
        *,
        max_tokens: int = 64,
        max_passage_chars: int = 6000,
    ) -> None:
        self.llm = llm
        self.prompt = load_prompt(prompts_dir, PROMPT)
        self.max_tokens = max_tokens
        self.max_passage_chars = max_passage_chars
        self.errors = 0
        self.unparsed = 0
        self.calls = 0

    def render(self, statement: str, passages: Sequence[str]) -> str:
        budget = max(200, self.max_passage_chars // max(1, len(passages)))
        blocks = []
        for i, p in enumerate(passages, 1):
            text = " ".join(p.split())
            blocks.append(f"[{i}] <<<{text[:budget]}>>>")
        return self.prompt.render(statement=statement.strip(), passages="\n".join(blocks) or "(none)")

    def support(self, statement: str, passages: Sequence[str]) -> Verdict:
        self.calls += 1
        try:
            completion = self.llm.complete(
                [Message("user", self.render(statement, passages))],
                max_tokens=self.max_tokens,
                temperature=0.0,
            )
        except LLMError as exc:
            self.errors += 1
            return Verdict("neutral", 0.0, f"judge failed: {exc.reason}")
        parsed = parse_verdict(completion.text)
        if parsed is None:
            self.unparsed += 1
            first = " ".join(completion.text.split())[:120]
            return Verdict("neutral", 0.0, f"no verdict word in the judge's answer: “{first}”")
        label, reason = parsed
        return Verdict(label, 1.0 if label == "support" else 0.0, reason)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "llm": self.llm.name,
            "model": getattr(self.llm, "model", None),
            "prompt": f"{PROMPT} v{self.prompt.version}",
            "max_tokens": self.max_tokens,
            "calls": self.calls,
            "errors": self.errors,
            "unparsed": self.unparsed,
        }
