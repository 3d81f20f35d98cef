"""Dense stores: inner-product search over normalised vectors. FAISS Flat (exact), HNSW or IVF-PQ."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import faiss
import numpy as np

from app.settings import IndexSettings


class DenseStore(Protocol):
    kind: str

    def __len__(self) -> int: ...

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, local row ids) of the ``k`` nearest rows; ids are -1 where fewer exist."""
        ...

    def save(self, path: Path) -> None: ...


class FaissStore:
    """A FAISS index over one section's vectors; row ids are positions in the section."""

    def __init__(self, index: faiss.Index, kind: str, settings: IndexSettings) -> None:
        self.index = index
        self.kind = kind
        self.settings = settings
        self._apply_search_params()

    def _apply_search_params(self) -> None:
        if self.kind == "hnsw":
            hnsw_index: Any = faiss.downcast_index(self.index)
            hnsw_index.hnsw.efSearch = self.settings.hnsw_ef_search
        elif self.kind == "ivfpq":
            faiss.extract_index_ivf(self.index).nprobe = self.settings.ivf_nprobe

    @classmethod
    def build(cls, vectors: np.ndarray, settings: IndexSettings) -> FaissStore:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        n, dim = vectors.shape
        kind = settings.dense_kind
        index: faiss.Index
        if kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        elif kind == "ivfpq" and n >= 40 * settings.ivf_nlist:
            quantizer = faiss.IndexFlatIP(dim)
            index = faiss.IndexIVFPQ(
                quantizer, dim, settings.ivf_nlist, settings.pq_m, 8, faiss.METRIC_INNER_PRODUCT
            )
            index.train(vectors)
        else:
            # IVF needs enough points to train its cells; below that, exact search is both right and fast.
            kind = "flat"
            index = faiss.IndexFlatIP(dim)
        if n:
            index.add(vectors)
        return cls(index, kind, settings)

    @classmethod
    def load(cls, path: Path, kind: str, settings: IndexSettings, *, mmap: bool = True) -> FaissStore:
        flags = faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY if mmap and kind != "hnsw" else 0
        return cls(faiss.read_index(str(path), flags), kind, settings)

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
