"""Build the index: corpus → passages → vectors (through the cache) → FAISS + BM25 + drug lexicon + manifest.

Every build goes into a fresh folder ``index/builds/<stamp>``; the ``index/current`` symlink is swapped
to it atomically only when the build has completed, so an interrupted rebuild leaves the previous index
in service. ``curbside index build`` rebuilds only when the manifest says the index is stale.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from app.corpus.chunker import CHUNKER_VERSION, ChunkParams
from app.corpus.jsonl import corpus_checksum, corpus_files, load_corpus
from app.corpus.passages import embedding_text, passages_from_records
from app.index.cache import EmbeddingCache
from app.index.dense import FaissStore
from app.index.drugs import DRUG_KEYS_VERSION, DrugLexicon, drug_keys, tokens
from app.index.embedder import Embedder, load_embedder
from app.index.lexical import ANALYZER, LexicalDoc, TantivyStore
from app.index.manifest import (
    IndexMismatch,
    Manifest,
    artefact_digest,
    library_versions,
    read_manifest,
    verify_files,
    write_manifest,
)
from app.index.passages import PassageStore
from app.index.vectors import EmbedStats, embed_texts
from app.schema import SOURCE_TYPES, Passage
from app.settings import Settings

CURRENT = "current"


def current_dir(settings: Settings) -> Path:
    return settings.paths.index_dir / CURRENT


def chunk_params(settings: Settings) -> ChunkParams:
    return ChunkParams(**settings.chunk.model_dump())


def expected(settings: Settings) -> dict[str, Any]:
    """The manifest fields that the current settings determine."""
    return {
        "profile": settings.index.profile,
        "chunker": {"version": CHUNKER_VERSION, **settings.chunk.model_dump()},
        "model": settings.embedding.model,
        "max_seq_length": settings.embedding.max_seq_length,
        "dense_kind": settings.index.dense_kind,
        "drug_keys": DRUG_KEYS_VERSION,
    }


def check_manifest(settings: Settings, manifest: Manifest, *, corpus_sha: str | None = None) -> None:
    """Raise ``IndexMismatch`` naming the first difference between the index and corpus/settings."""
    exp = expected(settings)
    got = {
        "profile": manifest.profile,
        "chunker": manifest.chunker,
        "model": manifest.model,
        "max_seq_length": manifest.max_seq_length,
        "dense_kind": manifest.dense.get("requested_kind", manifest.dense.get("kind")),
        "drug_keys": manifest.lexical.get("drug_keys"),
    }
    for key, want in exp.items():
        if got[key] != want:
            raise IndexMismatch(
                f"index was built with {key}={got[key]!r} but the settings ask for {want!r}; "
                "run 'curbside index build'"
            )
    sha = corpus_sha if corpus_sha is not None else corpus_checksum(settings.paths.corpus_dir)
    if sha != manifest.corpus_sha256:
        raise IndexMismatch(
            f"{settings.paths.index_dir / CURRENT / 'manifest.json'} was built from corpus sha256 "
            f"{manifest.corpus_sha256[:12]}… but {settings.paths.corpus_dir} is now {sha[:12]}…; "
            "run 'curbside index build'"
        )


def staleness(settings: Settings) -> str | None:
    """Why the index must be rebuilt, or None when it is current and intact."""
    directory = current_dir(settings)
    try:
        manifest = read_manifest(directory)
        check_manifest(settings, manifest)
        verify_files(directory, manifest)
    except IndexMismatch as exc:
        return str(exc)
    return None


def _passages_digest(passages: list[Passage]) -> str:
    h = hashlib.sha256()
    for p in passages:
        h.update(p.id.encode())
        h.update(b"\0")
        h.update(hashlib.sha256(p.text.encode()).digest())
    return h.hexdigest()


def build_index(
    settings: Settings,
    *,
    force: bool = False,
    progress: bool = True,
    embedder: Embedder | None = None,
    log: Callable[[str], None] = print,
) -> tuple[Manifest, EmbedStats | None]:
    """Build (or keep) the index for ``settings``. Returns the manifest and, if it embedded, the stats."""
    if not force:
        reason = staleness(settings)
        if reason is None:
            log(f"index at {current_dir(settings)} is current")
            return read_manifest(current_dir(settings)), None
        log(f"rebuilding: {reason}")
    t0 = time.perf_counter()
    corpus_dir = settings.paths.corpus_dir
    corpus_sha = corpus_checksum(corpus_dir)
    records = load_corpus(corpus_dir)
    passages = list(passages_from_records(records, chunk_params(settings), settings.index.profile))
    log(f"{len(records)} records → {len(passages)} passages (profile {settings.index.profile})")
    if not passages:
        raise IndexMismatch(f"no passages from {corpus_dir}; add corpus files or choose --profile full")
    texts = [embedding_text(p) for p in passages]

    embedder = embedder or load_embedder(settings.embedding)
    cache = EmbeddingCache(settings.paths.embedding_cache_dir, embedder.name, embedder.dim)
    vectors, stats = embed_texts(
        texts,
        embedder,
        cache,
        max_seq_length=settings.embedding.max_seq_length,
        batch_size=settings.embedding.batch_size,
        progress=progress,
    )
    log(
        f"vectors: {stats.unique} unique, {stats.encoded} encoded now, "
        f"{stats.unique - stats.encoded} from cache"
    )

    builds = settings.paths.index_dir / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    work = builds / f".tmp-{stamp}-{os.getpid()}"
    work.mkdir()
    try:
        PassageStore.build(work / "passages.sqlite", passages)
        np.save(work / "vectors.f16.npy", vectors.astype(np.float16))

        source = np.array([SOURCE_TYPES.index(p.source_type) for p in passages], dtype=np.int8)
        dense_kinds = {}
        dense_stores = {}
        for code, st in enumerate(SOURCE_TYPES):
            rows = np.flatnonzero(source == code).astype(np.int64)
            np.save(work / f"rows-{st}.npy", rows)
            store = FaissStore.build(vectors[rows], settings.index)
            store.save(work / f"dense-{st}.faiss")
            dense_kinds[st] = store.kind
            dense_stores[st] = store.describe()
        years = np.array([p.year if p.year is not None else -1 for p in passages], dtype=np.int32)
        np.save(work / "years.npy", years)

        common: Counter[str] = Counter()
        for p in passages:
            if p.source_type != "fda_label":
                common.update(set(tokens(p.text)))
        lexicon = DrugLexicon.build(
            ((i, p.drug, p.brand) for i, p in enumerate(passages) if p.source_type == "fda_label"), common
        )
        (work / "drugs.json").write_text(json.dumps(lexicon.to_json()))

        def row_drugs(i: int, p: Passage) -> list[str]:
            keys = drug_keys(p.drug) | drug_keys(p.brand)
            return sorted(k for k in keys if i in lexicon.records.get(k, ()))

        TantivyStore.build(
            work / "lexical",
            (
                LexicalDoc(
                    i, p.source_type, t, row_drugs(i, p) if p.source_type == "fda_label" else (), p.year
                )
                for i, (p, t) in enumerate(zip(passages, texts, strict=True))
            ),
        )
        files = {
            name: artefact_digest(work / name) for name in sorted(os.listdir(work)) if name != "manifest.json"
        }
        counts = Counter(p.source_type for p in passages)
        manifest = Manifest(
            built_at=datetime.now(UTC).isoformat(timespec="seconds"),
            build_seconds=round(time.perf_counter() - t0, 2),
            corpus_sha256=corpus_sha,
            corpus_files=len(corpus_files(corpus_dir)),
            profile=settings.index.profile,
            chunker={"version": CHUNKER_VERSION, **settings.chunk.model_dump()},
            model=embedder.name,
            dim=embedder.dim,
            max_seq_length=settings.embedding.max_seq_length,
            dense={
                "requested_kind": settings.index.dense_kind,
                "kinds": dense_kinds,
                "stores": dense_stores,
                **settings.index.model_dump(),
            },
            lexical={
                "engine": "tantivy",
                "analyzer": ANALYZER,
                "bm25": "tantivy default (k1=1.2, b=0.75)",
                "drug_keys": DRUG_KEYS_VERSION,
            },
            counts={st: counts.get(st, 0) for st in SOURCE_TYPES},
            records=len(records),
            passages=len(passages),
            passages_sha256=_passages_digest(passages),
            files=files,
            libraries=library_versions(),
        )
        write_manifest(work, manifest)
        final = builds / stamp
        work.rename(final)
        _swap_current(settings.paths.index_dir, final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    _prune_builds(builds, keep=final)
    log(f"index built in {manifest.build_seconds:.1f}s at {final}")
    return manifest, stats


def _swap_current(index_dir: Path, target: Path) -> None:
    link = index_dir / CURRENT
    tmp = index_dir / f".{CURRENT}.tmp-{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(target.relative_to(index_dir))
    os.replace(tmp, link)  # atomic: readers see the old build or the new one, never half of one


def _prune_builds(builds: Path, keep: Path) -> None:
    for d in builds.iterdir():
        if d != keep and not d.name.startswith(".tmp-"):
            shutil.rmtree(d, ignore_errors=True)
