"""Stage 1, condense: a follow-up → a standalone question ("and the dose?" → "… dose of naltrexone").

Rules first (deterministic: carry the drug or topic of earlier questions into a follow-up that lacks it);
with an LLM, a rewrite that must keep what the rules carried and most of what the follow-up asked. The
history is the earlier questions of the conversation, as the user wrote them and as they were answered —
from stored turns or from a client-held transcript (the OpenAI-compatible route), the same way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.answer.question import INTENT_STEMS
from app.index.drugs import DrugLexicon
from app.index.lexical import analyze
from app.llm.base import LLMClient, LLMError, Message
from app.prompts import load_prompt
from app.schema import Turn


@dataclass(frozen=True)
class Earlier:
    """One earlier question of a conversation: as written, and as it was answered (standalone)."""

    question: str
    standalone: str

    @classmethod
    def of_turn(cls, turn: Turn) -> Earlier:
        return cls(turn.question, turn.standalone_question)


_PRONOUN = re.compile(
    r"\b(it|its|this drug|that drug|this medicine|this medication|the drug|them|they|this|that)\b", re.I
)
_FOLLOW_UP_OPENERS = re.compile(r"^\s*(and|what about|how about|also|but|or|so|then)\b", re.I)
_STOP_TOPIC = {
    "what",
    "are",
    "is",
    "the",
    "of",
    "a",
    "an",
    "for",
    "in",
    "on",
    "to",
    "does",
    "do",
    "can",
    "i",
    "how",
}


def topic_of(question: str, lexicon: DrugLexicon | None) -> str:
    """The drug(s) a question is about, or failing that its content words (as written)."""
    if lexicon is not None:
        drugs = lexicon.detect(question)
        if drugs:
            # Keep a qualifier written with the drug ("low-dose naltrexone").
            m = re.search(r"\b([a-z]+(?:-[a-z]+)+)\s+" + re.escape(drugs[0]), question, re.I)
            head = f"{m.group(1)} " if m and drugs[0] not in m.group(1).lower() else ""
            return head + " and ".join(drugs)
    words = re.findall(r"[A-Za-z][A-Za-z0-9'-]*", question)
    keep = [
        w for w in words if w.lower() not in _STOP_TOPIC and analyze(w) and analyze(w)[0] not in INTENT_STEMS
    ]
    return " ".join(keep[:6])


def needs_context(question: str, lexicon: DrugLexicon | None) -> bool:
    """A follow-up that names no drug and has little content of its own, or points back with a pronoun."""
    if lexicon is not None and lexicon.detect(question):
        return False
    content = [t for t in analyze(question) if t not in INTENT_STEMS]
    return bool(_PRONOUN.search(question)) or bool(_FOLLOW_UP_OPENERS.match(question)) or len(content) <= 2


def condense_rules(question: str, history: Sequence[Earlier], lexicon: DrugLexicon | None) -> str:
    """Deterministic condensation: carry the topic of earlier turns into a follow-up that lacks it."""
    if not history or not needs_context(question, lexicon):
        return question
    topic = ""
    for turn in reversed(history):
        topic = topic_of(turn.standalone, lexicon)
        if topic:
            break
    if not topic:
        return question
    q = question.strip()
    if _PRONOUN.search(q) and not re.search(r"\b(this|that)\b", q, re.I):
        return _PRONOUN.sub(topic, q, count=1)
    return f"Regarding {topic}: {q}"


def condense_llm(question: str, history: Sequence[Earlier], llm: LLMClient, prompts_dir: Path) -> str:
    prompt = load_prompt(prompts_dir, "condense")
    lines = []
    for t in history:
        lines.append(f"User: {t.question}")
    text = prompt.render(history="\n".join(lines), question=question)
    completion = llm.complete([Message("user", text)], max_tokens=80)
    out = completion.text.strip().splitlines()[0].strip() if completion.text.strip() else ""
    if not out or len(out) > 400:
        raise LLMError("malformed response", "condensation was empty or too long", backend_fault=False)
    return out


def condense(
    question: str,
    history: Sequence[Earlier],
    lexicon: DrugLexicon | None,
    *,
    llm: LLMClient | None = None,
    prompts_dir: Path | None = None,
) -> tuple[str, str]:
    """(standalone question, how: 'none' | 'rules' | 'llm')."""
    if not history:
        return question, "none"
    out = condense_rules(question, history, lexicon)
    if llm is not None and prompts_dir is not None and needs_context(question, lexicon):
        try:
            rewritten = condense_llm(question, history, llm, prompts_dir)
        except LLMError:
            rewritten = ""
        # The rewrite must keep the drugs the rules carried forward; a small model often drops them.
        carried = lexicon.detect(out) if lexicon is not None else []
        asked = {t for t in analyze(question) if t not in INTENT_STEMS} or set(analyze(question))
        kept = asked & set(analyze(rewritten)) if rewritten else set()
        # A small model can turn "double it to 30 mg" into an unrelated question that keeps the drug name:
        # the rewrite must keep the drugs carried forward and most of what the follow-up itself asked.
        if rewritten and all(d in rewritten.lower() for d in carried) and len(kept) >= 0.5 * len(asked):
            return rewritten, "llm"
    return out, ("rules" if out != question else "none")


def condense_transcript(questions: Sequence[str], lexicon: DrugLexicon | None, keep: int) -> list[Earlier]:
    """A client-held transcript's user messages, each condensed (by the rules) against those before it."""
    out: list[Earlier] = []
    for text in questions:
        standalone, _how = condense(text, out[-keep:], lexicon)
        out.append(Earlier(text, standalone))
    return out
