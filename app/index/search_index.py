"""A built index, loaded and verified: passages, per-section dense stores, BM25, drug lexicon."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.index import ann
from app.index.dense import DenseStore, FaissStore, set_threads
from app.index.drugs import DrugLexicon
from app.index.embedder import Embedder, load_embedder
from app.index.lexical import TantivyStore
from app.index.manifest import IndexMismatch, Manifest, read_manifest, verify_files
from app.index.passages import PassageStore
from app.schema import SOURCE_TYPES, SourceType
from app.settings import Settings


@dataclass
class SectionIndex:
    dense: DenseStore
    rows: np.ndarray  # local id → global row


@dataclass
class SearchIndex:
    directory: Path
    manifest: Manifest
    passages: PassageStore
    vectors: np.ndarray  # float16 (rows, dim), memory-mapped
    sections: dict[SourceType, SectionIndex]
    lexical: TantivyStore
    lexicon: DrugLexicon
    years: np.ndarray
    embedder: Embedder

    @classmethod
    def load(
        cls,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        verify: bool = True,
        directory: Path | None = None,
    ) -> SearchIndex:
        """Load the current index; ``IndexMismatch`` (with the fix) when it is missing, damaged or stale."""
        from app.index.builder import check_manifest, current_dir

        directory = directory or current_dir(settings)
        manifest = read_manifest(directory)
        if verify:
            check_manifest(settings, manifest)
            verify_files(directory, manifest)
        set_threads(settings.index.faiss_threads)
        vectors = np.load(directory / "vectors.f16.npy", mmap_mode="r")
        if vectors.shape != (manifest.passages, manifest.dim):
            raise IndexMismatch(
                f"{directory / 'vectors.f16.npy'} has shape {vectors.shape}, manifest says "
                f"({manifest.passages}, {manifest.dim}); run 'curbside index build --force'"
            )
        sections = {}
        for st in SOURCE_TYPES:
            kind = manifest.dense.get("kinds", {}).get(st, "flat")
            rows = np.load(directory / f"rows-{st}.npy")
            dense: DenseStore = FaissStore.load(directory / f"dense-{st}.faiss", kind, settings.index)
            if kind in ann.SPECS and ann.SPECS[kind].compressed and settings.index.rerank_factor > 1:
                reader = ann.RowReader(directory / "vectors.f16.npy")
                dense = ann.RerankedStore(dense, reader, rows, settings.index.rerank_factor)
            sections[st] = SectionIndex(dense=dense, rows=rows)
        if settings.index.dense_store == "milvus":
            from app.index.milvus import open_sections

            for st, store in open_sections(settings, manifest).items():
                sections[st].dense = store
        embedder = embedder or load_embedder(settings.embedding)
        if embedder.dim != manifest.dim:
            raise IndexMismatch(
                f"embedder {embedder.name!r} has dimension {embedder.dim}, the index {manifest.dim}; "
                "run 'curbside index build'"
            )
        return cls(
            directory=directory,
            manifest=manifest,
            passages=PassageStore(directory / "passages.sqlite"),
            vectors=vectors,
            sections=sections,
            lexical=TantivyStore.load(directory / "lexical"),
            lexicon=DrugLexicon.from_json(json.loads((directory / "drugs.json").read_text())),
            years=np.load(directory / "years.npy"),
            embedder=embedder,
        )

    def row_vectors(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self.vectors[rows], dtype=np.float32)
