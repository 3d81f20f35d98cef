from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.index.cache import CacheCorrupt, EmbeddingCache, text_key


def _vecs(n: int, dim: int = 8) -> np.ndarray:
    rng = np.random.default_rng(0)
    v = rng.normal(size=(n, dim)).astype(np.float32)
    out: np.ndarray = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def test_cache_roundtrip_through_float16(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path, "m", 8)
    keys = [text_key("m", 256, f"t{i}") for i in range(5)]
    vecs = _vecs(5)
    cache.add(keys, vecs, shard_size=2)
    reopened = EmbeddingCache(tmp_path, "m", 8)
    got, missing = reopened.get([*keys, text_key("m", 256, "new")])
    assert missing == [5]
    np.testing.assert_allclose(got[:5], vecs, atol=1e-3)
    assert len(list(tmp_path.glob("shard-*.npz"))) == 3


def test_key_depends_on_model_and_sequence_length() -> None:
    assert text_key("a", 256, "x") != text_key("b", 256, "x") != text_key("a", 128, "x")


def test_cache_of_another_model_is_not_used(tmp_path: Path) -> None:
    EmbeddingCache(tmp_path, "m", 8).add([b"k" * 16], _vecs(1))
    assert len(EmbeddingCache(tmp_path, "other", 8)) == 0


def test_damaged_shard_is_refused_with_the_fix(tmp_path: Path) -> None:
    EmbeddingCache(tmp_path, "m", 8).add([b"k" * 16], _vecs(1))
    shard = next(tmp_path.glob("shard-*.npz"))
    shard.write_bytes(shard.read_bytes()[:-7])
    with pytest.raises(CacheCorrupt, match="damaged"):
        EmbeddingCache(tmp_path, "m", 8)
