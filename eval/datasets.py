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
    # Evidence Inference 2.0: "how does INTERVENTION compare with COMPARATOR for OUTCOME?" → the trial
    "evidence_inference": ("retrieval/evidence_inference.jsonl", "research"),
}


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def sample(rows: list[T], limit: int | None, seed: int = 13) -> list[T]:
    """A seeded sample (stable across runs) or everything when ``limit`` is None."""
    if limit is None or limit >= len(rows):
        return rows
    return random.Random(seed).sample(rows, limit)


# -- train / validation split by question -------------------------------------------------------------------
# Everything trained or tuned on the retrieval sets (relevance model, abstention operating point) uses the
# train split; every figure reported uses the validation split. The split is drawn on a hash of the question
# id, so it is stable, independent of file order, and shared by all users of a set. A record that carries its
# source's own split (Evidence Inference's article splits) keeps it.
SPLIT_SALT = "curbside-relevance-v1"
VALIDATION_FRACTION = 0.3


def split_of_question(qid: str, record: dict[str, Any] | None = None) -> str:
    """'train' or 'validation' for one question (``record['split']`` wins when the source sets it)."""
    if record is not None and record.get("split") in ("train", "validation"):
        return str(record["split"])
    digest = hashlib.sha256(f"{SPLIT_SALT}:{qid}".encode()).digest()
    return "validation" if int.from_bytes(digest[:4], "big") / 2**32 < VALIDATION_FRACTION else "train"
