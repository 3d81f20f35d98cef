"""Conversations and turns (SQLite, WAL, one transaction per turn) and follow-up condensation."""

from __future__ import annotations

import re
import sqlite3
import threading
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from app.answer.question import INTENT_STEMS
from app.index.drugs import DrugLexicon
from app.index.lexical import analyze
from app.llm.base import LLMClient, LLMError, Message
from app.prompts import load_prompt
from app.schema import Answer, Audience, Turn


class ConversationNotFound(KeyError):
    def __init__(self, conversation_id: str) -> None:
        super().__init__(conversation_id)
        self.conversation_id = conversation_id

    def __str__(self) -> str:
        return f"no conversation {self.conversation_id!r} (it may have been deleted); start a new one"


class ConversationStore:
    """One transaction per turn (WAL, synchronous=FULL): an acknowledged turn survives a crash."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.executescript(
            """
            CREATE TABLE IF NOT EXISTS conversations (id TEXT PRIMARY KEY, created_at TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS turns (
                conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
                turn INTEGER NOT NULL,
                question TEXT NOT NULL,
                standalone TEXT NOT NULL,
                audience TEXT NOT NULL,
                created_at TEXT NOT NULL,
                answer TEXT NOT NULL,
                PRIMARY KEY (conversation_id, turn)
            );
            """
        )

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex

    def create(self, conversation_id: str | None = None) -> str:
        cid = conversation_id or self.new_id()
        with self._lock:
            self._conn.execute(
                "INSERT OR IGNORE INTO conversations VALUES (?, ?)", (cid, datetime.now(UTC).isoformat())
            )
        return cid

    def exists(self, conversation_id: str) -> bool:
        with self._lock:
            row = self._conn.execute(
                "SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
        return row is not None

    def turns(self, conversation_id: str, *, last: int | None = None) -> list[Turn]:
        with self._lock:
            if not self._conn.execute(
                "SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone():
                raise ConversationNotFound(conversation_id)
            rows = self._conn.execute(
                "SELECT turn, question, standalone, audience, created_at, answer FROM turns "
                "WHERE conversation_id = ? ORDER BY turn",
                (conversation_id,),
            ).fetchall()
        if last is not None:
            rows = rows[-last:] if last else []
        return [
            Turn(
                conversation_id=conversation_id,
                turn=t,
                question=q,
                standalone_question=s,
                audience=a,
                created_at=c,
                answer=Answer.model_validate_json(ans),
            )
            for t, q, s, a, c, ans in rows
        ]

    def append(self, conversation_id: str, answer: Answer) -> Answer:
        """Store ``answer`` as the next turn; returns it with its turn number set."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                if not self._conn.execute(
                    "SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)
                ).fetchone():
                    raise ConversationNotFound(conversation_id)
                (n,) = self._conn.execute(
                    "SELECT COALESCE(MAX(turn), 0) + 1 FROM turns WHERE conversation_id = ?",
                    (conversation_id,),
                ).fetchone()
                answer = answer.model_copy(update={"turn": int(n), "conversation_id": conversation_id})
                self._conn.execute(
                    "INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        conversation_id,
                        n,
                        answer.question,
                        answer.standalone_question,
                        answer.audience,
                        datetime.now(UTC).isoformat(),
                        answer.model_dump_json(),
                    ),
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return answer

    def delete(self, conversation_id: str) -> bool:
        with self._lock:
            cur = self._conn.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
        return cur.rowcount > 0

    def close(self) -> None:
        with self._lock:
            self._conn.close()


# -- condensation -------------------------------------------------------------------------------------------

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


def condense_rules(question: str, history: Sequence[Turn], lexicon: DrugLexicon | None) -> str:
    """Deterministic condensation: carry the topic of earlier turns into a follow-up that lacks it."""
    if not history or not needs_context(question, lexicon):
        return question
    topic = ""
    for turn in reversed(history):
        topic = topic_of(turn.standalone_question, lexicon)
        if topic:
            break
    if not topic:
        return question
    q = question.strip()
    if _PRONOUN.search(q) and not re.search(r"\b(this|that)\b", q, re.I):
        return _PRONOUN.sub(topic, q, count=1)
    return f"Regarding {topic}: {q}"


def condense_llm(question: str, history: Sequence[Turn], llm: LLMClient, prompts_dir: Path) -> str:
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
    history: Sequence[Turn],
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


def audience_of(value: str | None) -> Audience:
    return "patient" if value == "patient" else "clinician"
