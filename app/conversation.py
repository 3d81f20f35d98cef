"""Conversations and turns: SQLite (WAL, one transaction per turn). Storage only; condensation of follow-ups
is ``app/answer/condense.py``."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

from app.schema import Answer, Turn


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
