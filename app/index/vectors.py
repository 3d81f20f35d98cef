"""Passage vectors through the embedding cache: only texts the cache lacks are encoded, in checkpoints."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from app.index.cache import EmbeddingCache, text_key
from app.index.embedder import Embedder


@dataclass
class EmbedStats:
    texts: int
    unique: int
    encoded: int
    seconds: float

    @property
    def encoded_per_second(self) -> float:
        return self.encoded / self.seconds if self.seconds > 0 else 0.0


def embed_texts(
    texts: Sequence[str],
    embedder: Embedder,
    cache: EmbeddingCache,
    *,
    max_seq_length: int,
    batch_size: int = 64,
    checkpoint: int = 10000,
    progress: bool = True,
) -> tuple[np.ndarray, EmbedStats]:
    """float32 vectors for ``texts`` (rounded through float16, cached or freshly encoded).

    New vectors are written to the cache every ``checkpoint`` texts, so an interrupted build resumes
    where it stopped.
    """
    keys = [text_key(embedder.name, max_seq_length, t) for t in texts]
    _, missing = cache.get(keys)
    todo: dict[bytes, str] = {}
    for i in missing:
        todo.setdefault(keys[i], texts[i])
    start = time.perf_counter()
    if todo:
        items = list(todo.items())
        bar = tqdm(total=len(items), desc="embedding", unit="passage", disable=not progress)
        for off in range(0, len(items), checkpoint):
            part = items[off : off + checkpoint]
            vecs = embedder.encode([t for _, t in part], batch_size=batch_size)
            cache.add([k for k, _ in part], vecs)
            bar.update(len(part))
        bar.close()
    seconds = time.perf_counter() - start
    vectors, still_missing = cache.get(keys)
    if still_missing:
        raise RuntimeError(f"{len(still_missing)} vectors missing from the cache after encoding")
    return vectors, EmbedStats(len(texts), len(set(keys)), len(todo), seconds)
