"""Shared fixtures: settings pointing at temporary folders, one real embedder, one small real index."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from app.index.embedder import Embedder, load_embedder
from app.settings import EmbeddingSettings, PathSettings, Settings

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_CORPUS = FIXTURES / "corpus"


def make_settings(root: Path, corpus_dir: Path = FIXTURE_CORPUS, **overrides: object) -> Settings:
    paths = PathSettings(
        corpus_dir=corpus_dir,
        index_dir=root / "index",
        embedding_cache_dir=root / "embeddings",
        data_dir=root / "var",
    )
    return Settings(paths=paths, **overrides)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real packaged MiniLM model, loaded once per test session."""
    return load_embedder(EmbeddingSettings())


@pytest.fixture(scope="session")
def fixture_cache(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    """An embedding cache of the fixture corpus, built once, copied by tests that build indexes.

    The fixture records are real records of the shipped corpus, so their vectors are taken from the
    committed cache when it is there; anything missing is embedded by the real model.
    """
    from app.corpus.jsonl import load_corpus
    from app.corpus.passages import embedding_text, passages_from_records
    from app.index.builder import build_index, chunk_params
    from app.index.cache import EmbeddingCache, text_key

    root = tmp_path_factory.mktemp("fixture-cache")
    settings = make_settings(root)
    shipped = Settings().paths.embedding_cache_dir
    if (shipped / "MANIFEST.json").exists():
        passages = passages_from_records(
            load_corpus(FIXTURE_CORPUS), chunk_params(settings), settings.index.profile
        )
        max_len = settings.embedding.max_seq_length
        keys = list(dict.fromkeys(text_key(embedder.name, max_len, embedding_text(p)) for p in passages))
        source = EmbeddingCache(shipped, embedder.name, embedder.dim)
        vectors, missing = source.get(keys)
        have = [i for i in range(len(keys)) if i not in set(missing)]
        EmbeddingCache(settings.paths.embedding_cache_dir, embedder.name, embedder.dim).add(
            [keys[i] for i in have], vectors[have]
        )
    build_index(settings, embedder=embedder, progress=False, log=lambda _m: None)
    return settings.paths.embedding_cache_dir


@pytest.fixture(scope="session")
def fixture_index(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder, fixture_cache: Path
) -> Settings:
    """Settings of a built index over tests/fixtures/corpus (real model, real FAISS and tantivy)."""
    from app.index.builder import build_index

    root = tmp_path_factory.mktemp("fixture-index")
    shutil.copytree(fixture_cache, root / "embeddings")
    settings = make_settings(root)
    build_index(settings, embedder=embedder, progress=False, log=lambda _m: None)
    return settings


@pytest.fixture
def fresh_settings(tmp_path: Path, fixture_cache: Path) -> Settings:
    """Settings in an empty temp folder whose embedding cache already holds the fixture corpus."""
    shutil.copytree(fixture_cache, tmp_path / "embeddings")
    return make_settings(tmp_path)
