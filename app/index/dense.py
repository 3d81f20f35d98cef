"""Dense stores: inner-product search over normalised vectors. FAISS kinds (see ``app.index.ann``), Milvus."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, cast

import faiss
import numpy as np

from app.index import ann
from app.settings import IndexSettings


class DenseStore(Protocol):
    kind: str

    def __len__(self) -> int: ...

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, local row ids) of the ``k`` nearest rows; ids are -1 where fewer exist."""
        ...

    def save(self, path: Path) -> None: ...


class FaissStore:
    """A FAISS index over one section's vectors; row ids are positions in the section.

    The kinds (flat, sqfp16, sq8, hnsw, hnsw_sq8, ivfpq, opq) and their build/load rules live in
    ``app.index.ann``; compressed kinds are wrapped in ``ann.RerankedStore`` by the loader.
    """

    def __init__(self, index: faiss.Index, kind: str, settings: IndexSettings) -> None:
        self.index = index
        self.kind = kind
        self.settings = settings
        self._apply_search_params()

    def _apply_search_params(self) -> None:
        if self.kind in ann.SPECS:
            ann.apply_search_params(self.index, self.kind, self.settings)

    @classmethod
    def build(cls, vectors: np.ndarray, settings: IndexSettings) -> FaissStore:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        n, dim = vectors.shape
        kind = ann.resolve_kind(settings.dense_kind, n, settings)
        index = ann.new_index(kind, dim, n, settings)
        train = ann.training_rows(kind, n, settings)
        if train:
            index.train(vectors[ann.sample_rows(n, train)] if train < n else vectors)
        if n:
            index.add(vectors)
        return cls(index, kind, settings)

    @classmethod
    def load(cls, path: Path, kind: str, settings: IndexSettings, *, mmap: bool = True) -> FaissStore:
        flags = ann.load_flags(kind, mmap and settings.mmap) if kind in ann.SPECS else 0
        return cls(faiss.read_index(str(path), flags), kind, settings)

    def describe(self, n_planned: int | None = None) -> dict[str, Any]:
        """This store's manifest entry (kind, FAISS factory string, rows, search parameters)."""
        n = len(self) if n_planned is None else n_planned
        return ann.describe(self.index, cast(ann.DenseKind, self.kind), n, self.settings)

    def save(self, path: Path) -> None:
        faiss.write_index(self.index, str(path))

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, len(self))
        if k <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        scores, ids = self.index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), k)
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep]


def set_threads(n: int) -> None:
    faiss.omp_set_num_threads(n)
