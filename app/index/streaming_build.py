"""Streaming, resumable builds of one dense store from vector shards on disk.

Vectors are never all in memory: shards (``.npy`` memory-mapped, or the embedding cache's ``.npz``) are
read one at a time and added in batches; quantizers (IVF, PQ, OPQ, SQ) are trained on a sample of
``train_sample`` rows gathered shard by shard. Only the index being built is in memory — for compressed
kinds that is the codes (≈ 56 bytes per vector for ivfpq with m=48), for flat/HNSW the float32 rows.

The build is checkpointed: after training and then every ``checkpoint_rows`` added rows (at shard
boundaries) the partial index and a ``state.json`` are written atomically to ``<out>.partial/``. Run the
same call again after an interruption and it resumes from the last checkpoint (the state records a
fingerprint of the shards and settings; if either changed it starts over). The finished index is renamed
into place with a manifest beside it (``<out>.json``) and the partial folder is removed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from pydantic import BaseModel
from tqdm import tqdm

from app.index import ann
from app.index.cache import MANIFEST as CACHE_MANIFEST
from app.index.cache import file_sha256
from app.settings import IndexSettings

STATE_VERSION = 1


class StreamState(BaseModel):
    version: int = STATE_VERSION
    fingerprint: str
    kind: str
    factory: str
    rows_total: int
    trained: bool = False
    shards_done: int = 0
    rows_done: int = 0


@dataclass
class StreamResult:
    path: Path
    kind: ann.DenseKind
    rows: int
    seconds: float
    resumed_from_rows: int
    manifest: dict[str, Any]


def cache_shards(directory: Path) -> list[Path]:
    """The shard files of an embedding cache folder (``index/embeddings``), in order."""
    manifest = json.loads((directory / CACHE_MANIFEST).read_text())
    return [directory / entry["file"] for entry in manifest["shards"]]


def read_shard(path: Path) -> np.ndarray:
    """A shard's vectors: ``.npy`` memory-mapped, ``.npz`` (embedding cache) its ``vectors`` array."""
    if path.suffix == ".npz":
        with np.load(path) as data:
            return np.asarray(data["vectors"])
    mapped: np.ndarray = np.load(path, mmap_mode="r")
    return mapped


def shard_shape(path: Path) -> tuple[int, int]:
    """(rows, dim) of a shard from its header, without reading the vectors."""
    if path.suffix == ".npz":
        with zipfile.ZipFile(path) as zf, zf.open("vectors.npy") as fh:
            if np.lib.format.read_magic(fh) == (1, 0):
                shape, _, _ = np.lib.format.read_array_header_1_0(fh)
            else:
                shape, _, _ = np.lib.format.read_array_header_2_0(fh)
    else:
        shape = np.load(path, mmap_mode="r").shape
    return int(shape[0]), int(shape[1])


def _fingerprint(shards: Sequence[Path], shapes: Sequence[tuple[int, int]], factory: str, kind: str) -> str:
    h = hashlib.sha256(f"{STATE_VERSION}\0{kind}\0{factory}\n".encode())
    for path, shape in zip(shards, shapes, strict=True):
        st = path.stat()
        h.update(f"{path.resolve()}\0{shape}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _atomic_write_index(index: faiss.Index, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    faiss.write_index(index, str(tmp))
    os.replace(tmp, path)


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _training_sample(
    shards: Sequence[Path], shapes: Sequence[tuple[int, int]], size: int, seed: int
) -> np.ndarray:
    total = sum(r for r, _ in shapes)
    picks = ann.sample_rows(total, size, seed)
    out = np.empty((len(picks), shapes[0][1]), dtype=np.float32)
    start = filled = 0
    for path, (rows, _) in zip(shards, shapes, strict=True):
        lo, hi = np.searchsorted(picks, [start, start + rows])
        if hi > lo:
            local = picks[lo:hi] - start
            out[filled : filled + len(local)] = np.asarray(read_shard(path)[local], dtype=np.float32)
            filled += len(local)
        start += rows
    return out


def build_stream(
    shards: Sequence[Path],
    out: Path,
    settings: IndexSettings,
    *,
    kind: str | None = None,
    batch_rows: int = 50_000,
    checkpoint_rows: int = 250_000,
    progress: bool = True,
    seed: int = 0,
    log: Callable[[str], None] = print,
    on_checkpoint: Callable[[int], None] | None = None,
) -> StreamResult:
    """Build the dense store of ``kind`` (default ``settings.dense_kind``) over ``shards`` into ``out``.

    ``on_checkpoint(rows_done)`` is called after each checkpoint is on disk (tests interrupt there).
    """
    t0 = time.perf_counter()
    if not shards:
        raise ValueError("no vector shards to build from")
    shapes = [shard_shape(p) for p in shards]
    dims = {d for _, d in shapes}
    if len(dims) != 1:
        raise ValueError(f"shards disagree on the vector dimension: {sorted(dims)}")
    dim = dims.pop()
    total = sum(r for r, _ in shapes)
    chosen = ann.resolve_kind(kind or settings.dense_kind, total, settings)
    factory = ann.factory_string(chosen, dim, total, settings)
    fingerprint = _fingerprint(shards, shapes, factory, chosen)

    work = out.with_name(out.name + ".partial")
    state_path = work / "state.json"
    ckpt = work / "index.faiss"
    state: StreamState | None = None
    index: faiss.Index | None = None
    if state_path.exists() and ckpt.exists():
        try:
            old = StreamState.model_validate_json(state_path.read_text())
        except ValueError:
            old = None
        if old is not None and old.fingerprint == fingerprint:
            state = old
            index = faiss.read_index(str(ckpt))
            log(f"resuming {out.name}: {state.rows_done:,} of {total:,} rows already added")
        else:
            log(f"discarding the checkpoint in {work}: shards or settings changed")
    if state is None or index is None:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        state = StreamState(fingerprint=fingerprint, kind=chosen, factory=factory, rows_total=total)
        index = ann.new_index(chosen, dim, total, settings)
    resumed_from = state.rows_done

    def checkpoint() -> None:
        assert state is not None
        _atomic_write_index(index, ckpt)
        _atomic_write_text(state_path, state.model_dump_json(indent=1))
        if on_checkpoint is not None:
            on_checkpoint(state.rows_done)

    n_train = ann.training_rows(chosen, total, settings)
    if n_train and not state.trained:
        log(f"training {factory} on {n_train:,} sampled rows of {total:,}")
        t = time.perf_counter()
        index.train(_training_sample(shards, shapes, n_train, seed))
        log(f"trained in {time.perf_counter() - t:.1f}s")
        state.trained = True
        checkpoint()
    elif not n_train:
        state.trained = True

    bar = tqdm(
        total=total, initial=state.rows_done, desc=f"adding ({chosen})", unit="vec", disable=not progress
    )
    since_ckpt = 0
    for i in range(state.shards_done, len(shards)):
        vecs = read_shard(shards[i])
        for start in range(0, len(vecs), batch_rows):
            batch = np.ascontiguousarray(vecs[start : start + batch_rows], dtype=np.float32)
            index.add(batch)
            bar.update(len(batch))
        del vecs
        state.shards_done = i + 1
        state.rows_done += shapes[i][0]
        since_ckpt += shapes[i][0]
        if since_ckpt >= checkpoint_rows and state.shards_done < len(shards):
            checkpoint()
            since_ckpt = 0
    bar.close()
    if int(index.ntotal) != total:
        raise RuntimeError(
            f"built {index.ntotal} rows but the shards hold {total}; delete {work} and rebuild"
        )

    out.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write_index(index, out)
    seconds = time.perf_counter() - t0
    manifest = {
        **ann.describe(index, chosen, total, settings),
        "requested_kind": kind or settings.dense_kind,
        "build_seconds": round(seconds, 2),
        "resumed_from_rows": resumed_from,
        "shards": len(shards),
        "sha256": file_sha256(out),
        "bytes": out.stat().st_size,
    }
    _atomic_write_text(out.with_suffix(".json"), json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    shutil.rmtree(work, ignore_errors=True)
    log(f"{out.name}: {total:,} rows, {chosen} ({factory}) in {seconds:.1f}s")
    return StreamResult(out, chosen, total, seconds, resumed_from, manifest)


def write_shards(vectors: np.ndarray, directory: Path, rows_per_shard: int) -> list[Path]:
    """Split ``vectors`` into float16 ``.npy`` shards (tests and the scale benchmark use this)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for n, start in enumerate(range(0, len(vectors), rows_per_shard)):
        path = directory / f"shard-{n:05d}.npy"
        np.save(path, np.asarray(vectors[start : start + rows_per_shard], dtype=np.float16))
        paths.append(path)
    return paths
