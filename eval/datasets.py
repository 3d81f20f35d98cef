"""The evaluation sets shipped in eval/data (copied from the shared data folder with SOURCES.md)."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

DATA = Path(__file__).resolve().parent / "data"

RETRIEVAL_SETS = {
    "pubmedqa": ("retrieval/pubmedqa.jsonl", "research"),
    "bioasq": ("retrieval/bioasq.jsonl", "research"),
    "medicationqa": ("retrieval/medicationqa.jsonl", "fda_label"),
}


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sample(rows: list[T], limit: int | None, seed: int = 13) -> list[T]:
    """A seeded sample (stable across runs) or everything when ``limit`` is None."""
    if limit is None or limit >= len(rows):
        return rows
    return random.Random(seed).sample(rows, limit)
