"""Passage store: SQLite, one row per passage, fetched lazily by row number or id."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

from app.schema import Passage


class PassageStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        # Read-only: the store is immutable once built; check_same_thread off so API workers share it.
        self.conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)

    @staticmethod
    def build(path: Path, passages: Iterable[Passage]) -> int:
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute(
            "CREATE TABLE passages (row INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, "
            "record_id TEXT NOT NULL, "
            "source_type TEXT NOT NULL, json TEXT NOT NULL)"
        )
        n = 0
        with conn:
            for row, p in enumerate(passages):
                conn.execute(
                    "INSERT INTO passages VALUES (?, ?, ?, ?, ?)",
                    (row, p.id, p.record_id, p.source_type, p.model_dump_json(exclude_defaults=True)),
                )
                n += 1
        conn.execute("CREATE INDEX by_record ON passages(record_id)")
        conn.close()
        return n

    def __len__(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM passages").fetchone()[0])

    def get_rows(self, rows: Sequence[int]) -> list[Passage]:
        if not rows:
            return []
        marks = ",".join("?" * len(rows))
        found = {
            r: Passage.model_validate_json(j)
            for r, j in self.conn.execute(
                f"SELECT row, json FROM passages WHERE row IN ({marks})", list(rows)
            )
        }
        return [found[r] for r in rows]

    def get(self, passage_id: str) -> Passage | None:
        got = self.conn.execute("SELECT json FROM passages WHERE id = ?", (passage_id,)).fetchone()
        return Passage.model_validate_json(got[0]) if got else None

    def row_of(self, passage_id: str) -> int | None:
        got = self.conn.execute("SELECT row FROM passages WHERE id = ?", (passage_id,)).fetchone()
        return int(got[0]) if got else None

    def by_record(self, record_id: str) -> list[Passage]:
        return [
            Passage.model_validate_json(j)
            for (j,) in self.conn.execute(
                "SELECT json FROM passages WHERE record_id = ? ORDER BY row", (record_id,)
            )
        ]

    def by_record_prefix(self, prefix: str) -> list[Passage]:
        """Every passage of the records whose id starts with ``prefix`` ("label:<set id>:": a label's
        sections), in index order."""
        return [
            Passage.model_validate_json(j)
            for (j,) in self.conn.execute(
                "SELECT json FROM passages WHERE record_id >= ? AND record_id < ? ORDER BY row",
                (prefix, prefix + "\U0010ffff"),
            )
        ]

    def iter_all(self) -> Iterable[tuple[int, Passage]]:
        for r, j in self.conn.execute("SELECT row, json FROM passages ORDER BY row"):
            yield int(r), Passage.model_validate_json(j)

    def close(self) -> None:
        self.conn.close()
