"""Errors raised while reading corpus sources: each names the file, the line and what is wrong."""

from __future__ import annotations

from pathlib import Path


class CorpusError(ValueError):
    """A malformed corpus file or record."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")
