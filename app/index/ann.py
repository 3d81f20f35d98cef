"""Dense index kinds: how each FAISS kind is made, trained, searched, loaded (memory-mapped) and described.

Every kind answers inner-product search over unit vectors. The kinds, smallest change first:

============  ===========================  ==============  =========================================
kind          FAISS                        bytes / vector  notes
============  ===========================  ==============  =========================================
flat          IndexFlatIP                  4·d             exact; the default for the shipped corpus
sqfp16        SQfp16                       2·d             exact scan of float16 codes (recall ≈ 1)
sq8           SQ8                          d               exact scan of int8 codes, re-scored
hnsw          IndexHNSWFlat(M)             4·d + 8·M       graph; whole index in RAM
hnsw_sq8      HNSW(M),SQ8                  d + 8·M         graph over int8 codes, re-scored
ivfpq         IVF(nlist),PQ(m)             m + 8           inverted lists memory-mapped, re-scored
opq           OPQ(m),IVF(nlist),PQ(m)      m + 8           the same after a learned rotation
============  ===========================  ==============  =========================================

"Re-scored" kinds are compressed: the store fetches ``k × rerank_factor`` candidates and re-scores them
with the exact float16 vectors that every index keeps anyway (``vectors.f16.npy``, memory-mapped), so
their recall is that of the candidate list, not of the codes.
"""

from __future__ import annotations

import contextlib
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import faiss
import numpy as np

from app.settings import IndexSettings

DenseKind = Literal["flat", "sqfp16", "sq8", "hnsw", "hnsw_sq8", "ivfpq", "opq"]
KINDS: tuple[DenseKind, ...] = get_args(DenseKind)
MIN_POINTS_PER_CELL = 40  # FAISS warns below 39 training points per IVF cell
OPQ_ROUNDS = 20
OPQ_TRAIN_POINTS = 32_768


@dataclass(frozen=True)
class KindSpec:
    name: DenseKind
    exact: bool  # scores are the exact cosine (up to float16 rounding) without re-scoring
    trains: bool  # needs a training sample before vectors are added
    ivf: bool
    graph: bool
    compressed: bool  # candidates are re-scored from the stored float16 vectors
    description: str


SPECS: dict[DenseKind, KindSpec] = {
    "flat": KindSpec("flat", True, False, False, False, False, "exact float32 scan"),
    "sqfp16": KindSpec("sqfp16", True, True, False, False, False, "exact scan of float16 codes"),
    "sq8": KindSpec("sq8", False, True, False, False, True, "scan of int8 codes, re-scored"),
    "hnsw": KindSpec("hnsw", False, False, False, True, False, "HNSW graph over float32"),
    "hnsw_sq8": KindSpec("hnsw_sq8", False, True, False, True, True, "HNSW graph over int8 codes"),
    "ivfpq": KindSpec("ivfpq", False, True, True, False, True, "IVF lists of PQ codes (mmap)"),
    "opq": KindSpec("opq", False, True, True, False, True, "OPQ rotation + IVF lists of PQ codes (mmap)"),
}


def auto_nlist(n: int) -> int:
    """About 4·√n cells, a power of two, at least 16 — and never more than the rows can train."""
    want = int(2 ** max(4, round(math.log2(max(1.0, 4 * math.sqrt(max(n, 1)))))))
    while want > 16 and want * MIN_POINTS_PER_CELL > n:
        want //= 2
    return want


def nlist_for(n: int, settings: IndexSettings) -> int:
    return settings.ivf_nlist or auto_nlist(n)


def resolve_kind(requested: str, n: int, settings: IndexSettings) -> DenseKind:
    """The kind actually built for ``n`` rows: 'auto' by size; IVF kinds fall back to flat when ``n``
    cannot train their cells (below that, exact search is both right and fast)."""
    kind = requested
    if kind == "auto":
        kind = "flat" if n <= settings.auto_flat_max_rows else settings.auto_large_kind
    if kind not in SPECS:
        raise ValueError(f"unknown dense kind {requested!r}; choose one of {', '.join(KINDS)} or 'auto'")
    if SPECS[kind].ivf and n < MIN_POINTS_PER_CELL * nlist_for(n, settings):
        return "flat"
    return kind


def factory_string(kind: DenseKind, dim: int, n: int, settings: IndexSettings) -> str:
    """The FAISS ``index_factory`` description of ``kind`` (recorded in the manifest)."""
    if kind in ("ivfpq", "opq") and dim % settings.pq_m:
        raise ValueError(f"pq_m={settings.pq_m} must divide the vector dimension {dim}")
    nlist = nlist_for(n, settings)
    return {
        "flat": "Flat",
        "sqfp16": "SQfp16",
        "sq8": "SQ8",
        "hnsw": f"HNSW{settings.hnsw_m},Flat",
        "hnsw_sq8": f"HNSW{settings.hnsw_m},SQ8",
        "ivfpq": f"IVF{nlist},PQ{settings.pq_m}",
        "opq": f"OPQ{settings.pq_m}_{dim},IVF{nlist},PQ{settings.pq_m}",
    }[kind]


def new_index(kind: DenseKind, dim: int, n: int, settings: IndexSettings) -> faiss.Index:
    """An empty (untrained) index of ``kind`` sized for about ``n`` rows."""
    index: faiss.Index
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
    elif kind == "ivfpq":
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFPQ(
            quantizer, dim, nlist_for(n, settings), settings.pq_m, 8, faiss.METRIC_INNER_PRODUCT
        )
    else:
        index = faiss.index_factory(dim, factory_string(kind, dim, n, settings), faiss.METRIC_INNER_PRODUCT)
    if SPECS[kind].graph:
        hnsw_index: Any = faiss.downcast_index(index)
        hnsw_index.hnsw.efConstruction = settings.hnsw_ef_construction
    if kind == "opq":
        # FAISS's defaults (50 rounds on up to 65,536 points) take many minutes at d=384 on one core;
        # 20 rounds on 32,768 points (docs/scale.md has the resulting recall).
        pre: Any = faiss.downcast_index(index)
        opq: Any = faiss.downcast_VectorTransform(pre.chain.at(0))
        opq.niter = OPQ_ROUNDS
        opq.max_train_points = min(settings.train_sample, OPQ_TRAIN_POINTS)
        # index_factory turns on polysemous training (minutes, and unused: we re-score exactly).
        ivf: Any = faiss.downcast_index(pre.index)
        ivf.do_polysemous_training = False
    return index


def training_rows(kind: DenseKind, n: int, settings: IndexSettings) -> int:
    """How many rows to sample for training (0 when the kind needs none)."""
    if not SPECS[kind].trains:
        return 0
    want = settings.train_sample
    if SPECS[kind].ivf:
        want = max(want, MIN_POINTS_PER_CELL * nlist_for(n, settings))
    return min(n, want)


def sample_rows(n: int, size: int, seed: int = 0) -> np.ndarray:
    """``size`` distinct row numbers out of ``n``, sorted (sequential reads from memory-mapped shards)."""
    if size >= n:
        return np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=size, replace=False)).astype(np.int64)


def apply_search_params(index: faiss.Index, kind: DenseKind, settings: IndexSettings) -> None:
    if SPECS[kind].graph:
        hnsw_index: Any = faiss.downcast_index(index)
        hnsw_index.hnsw.efSearch = settings.hnsw_ef_search
    elif SPECS[kind].ivf:
        faiss.extract_index_ivf(index).nprobe = settings.ivf_nprobe


def load_flags(kind: DenseKind, mmap: bool) -> int:
    """FAISS read flags: IVF lists memory-mapped; flat/SQ codes mapped in place (IO_FLAG_MMAP_IFC);
    HNSW graphs are read into memory (FAISS cannot map them)."""
    if not mmap or SPECS[kind].graph:
        return 0
    if SPECS[kind].ivf:
        return int(faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
    return int(faiss.IO_FLAG_MMAP_IFC)


def describe(index: faiss.Index, kind: DenseKind, n_planned: int, settings: IndexSettings) -> dict[str, Any]:
    """The manifest entry of one dense store: what it is and how it will be searched."""
    spec = SPECS[kind]
    out: dict[str, Any] = {
        "kind": kind,
        "factory": factory_string(kind, index.d, n_planned, settings),
        "rows": int(index.ntotal),
        "dim": int(index.d),
        "exact": spec.exact,
        "mmap": bool(load_flags(kind, settings.mmap)),
        "rerank_factor": settings.rerank_factor if spec.compressed else 1,
    }
    if spec.graph:
        out.update(hnsw_m=settings.hnsw_m, ef_construction=settings.hnsw_ef_construction)
        out["ef_search"] = settings.hnsw_ef_search
    if spec.ivf:
        ivf = faiss.extract_index_ivf(index)
        out.update(nlist=int(ivf.nlist), nprobe=settings.ivf_nprobe, pq_m=settings.pq_m)
    return out


def exact_topk(vectors: np.ndarray, queries: np.ndarray, k: int, block: int = 200_000) -> np.ndarray:
    """Exact top-``k`` row ids per query by blocked matrix products (ground truth for recall)."""
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    best_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_i = np.full((len(queries), k), -1, dtype=np.int64)
    for start in range(0, len(vectors), block):
        part = np.asarray(vectors[start : start + block], dtype=np.float32)
        scores = queries @ part.T
        kk = min(k, scores.shape[1])
        top = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
        s = np.concatenate([best_s, np.take_along_axis(scores, top, axis=1)], axis=1)
        i = np.concatenate([best_i, top + start], axis=1)
        order = np.argsort(-s, axis=1, kind="stable")[:, :k]
        best_s = np.take_along_axis(s, order, axis=1)
        best_i = np.take_along_axis(i, order, axis=1)
    return best_i


def recall_at_k(found: np.ndarray, truth: np.ndarray, k: int) -> float:
    """Mean |found[:k] ∩ truth[:k]| / k over queries."""
    hits = sum(len(set(f[:k].tolist()) & set(t[:k].tolist())) for f, t in zip(found, truth, strict=True))
    return hits / (k * len(truth)) if len(truth) else 1.0


class RowReader:
    """Reads chosen rows of a 2-D ``.npy`` file with ``os.pread`` — no memory mapping.

    Re-scoring touches a few hundred random rows per query; through a memory map, the kernel's fault-around
    maps the neighbouring cached pages too, so over many queries a large vectors file ends up counted in
    the process's RSS (as clean, shared page cache). Positioned reads cost a few microseconds a row and
    keep the serving process's RSS to what it really holds.
    """

    def __init__(self, path: Path) -> None:
        with path.open("rb") as fh:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
            self.offset = fh.tell()
        if fortran or len(shape) != 2:
            raise ValueError(f"{path} is not a C-ordered 2-D array")
        self.path = path
        self.shape: tuple[int, int] = (int(shape[0]), int(shape[1]))
        self.dtype = np.dtype(dtype)
        self.row_bytes = self.shape[1] * self.dtype.itemsize
        self._fd = os.open(path, os.O_RDONLY)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        out = np.empty((len(rows), self.shape[1]), dtype=self.dtype)
        for i, r in enumerate(rows.tolist()):
            if not 0 <= r < self.shape[0]:
                raise IndexError(f"row {r} out of range for {self.path} ({self.shape[0]} rows)")
            out[i] = np.frombuffer(
                os.pread(self._fd, self.row_bytes, self.offset + r * self.row_bytes), dtype=self.dtype
            )
        return out

    def close(self) -> None:
        os.close(self._fd)

    def __del__(self) -> None:
        with contextlib.suppress(OSError, AttributeError):
            os.close(self._fd)


class RerankedStore:
    """A compressed store whose candidates are re-scored exactly with stored float16 vectors.

    ``vectors`` holds the rows of the whole index (a ``RowReader`` or an array), ``rows`` maps the store's
    local ids to those rows (None: identity). Only ``k × factor`` rows per query are read.
    """

    def __init__(
        self, inner: Any, vectors: np.ndarray | RowReader, rows: np.ndarray | None, factor: int
    ) -> None:
        self.inner = inner
        self.kind: str = inner.kind
        self.vectors = vectors
        self.rows = rows
        self.factor = factor

    def __len__(self) -> int:
        return len(self.inner)

    def save(self, path: Any) -> None:
        self.inner.save(path)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        _, local = self.inner.search(query, k * self.factor)
        if len(local) == 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        rows = local if self.rows is None else self.rows[local]
        order = np.argsort(rows, kind="stable")  # ascending rows: sequential-ish reads from the mapping
        vecs = np.asarray(self.vectors[rows[order]], dtype=np.float32)
        exact = np.empty(len(local), dtype=np.float32)
        exact[order] = vecs @ np.asarray(query, dtype=np.float32).reshape(-1)
        top = np.argsort(-exact, kind="stable")[:k]
        return exact[top], np.asarray(local, dtype=np.int64)[top]
