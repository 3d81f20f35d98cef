"""A content-addressed embedding cache: sha256(model, text) → float16 vector, stored in shards.

The vectors of the shipped corpus are committed as this cache (``index/embeddings/``), so a fresh clone
builds its index in seconds instead of embedding ~70k passages for half an hour; a user's ingested
sources only embed what is new. Each shard's sha256 is in ``MANIFEST.json`` and checked on load.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

MANIFEST = "MANIFEST.json"
KEY_BYTES = 16


class CacheCorrupt(RuntimeError):
    pass


def text_key(model: str, max_seq_length: int, text: str) -> bytes:
    h = hashlib.sha256(f"{model}\0{max_seq_length}\0".encode())
    h.update(text.encode("utf-8"))
    return h.digest()[:KEY_BYTES]


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class EmbeddingCache:
    def __init__(self, directory: Path, model: str, dim: int) -> None:
        self.dir = directory
        self.model = model
        self.dim = dim
        self._rows: dict[bytes, tuple[int, int]] = {}
        self._shards: list[np.ndarray] = []
        self._manifest: dict[str, object] = {"model": model, "dim": dim, "shards": []}
        self._load()

    def _load(self) -> None:
        path = self.dir / MANIFEST
        if not path.exists():
            return
        manifest = json.loads(path.read_text())
        if manifest.get("model") != self.model or manifest.get("dim") != self.dim:
            # A cache for another model is simply not used (never mixed).
            return
        for entry in manifest["shards"]:
            shard_path = self.dir / entry["file"]
            if not shard_path.exists():
                raise CacheCorrupt(
                    f"{shard_path} is listed in {path} but missing; run 'curbside index build --force'"
                )
            digest = file_sha256(shard_path)
            if digest != entry["sha256"]:
                raise CacheCorrupt(
                    f"{shard_path} has sha256 {digest[:12]}… but {path} says {entry['sha256'][:12]}…; "
                    "the file is damaged — restore it from git or run 'curbside index build --force'"
                )
            with np.load(shard_path) as data:
                keys = data["keys"]
                vecs = data["vectors"]
            if vecs.shape[1] != self.dim or len(keys) != len(vecs):
                raise CacheCorrupt(f"{shard_path} has shape {vecs.shape}, expected (n, {self.dim})")
            idx = len(self._shards)
            self._shards.append(vecs)
            for row, key in enumerate(keys):
                self._rows[bytes(key)] = (idx, row)
        self._manifest = manifest

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, keys: Sequence[bytes]) -> tuple[np.ndarray, list[int]]:
        """Vectors for ``keys`` (float32, zeros where missing) and the positions that were missing."""
        out = np.zeros((len(keys), self.dim), dtype=np.float32)
        missing = []
        for i, key in enumerate(keys):
            loc = self._rows.get(key)
            if loc is None:
                missing.append(i)
            else:
                out[i] = self._shards[loc[0]][loc[1]]
        return out, missing

    def add(self, keys: Iterable[bytes], vectors: np.ndarray, shard_size: int = 20000) -> None:
        """Append new vectors as new shards and rewrite the manifest atomically."""
        new_keys = []
        new_rows = []
        for i, key in enumerate(keys):
            if key not in self._rows:
                new_keys.append(key)
                new_rows.append(i)
        if not new_keys:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        shards = list(self._manifest["shards"])  # type: ignore[call-overload]
        vecs16 = vectors[new_rows].astype(np.float16)
        for start in range(0, len(new_keys), shard_size):
            k = np.frombuffer(b"".join(new_keys[start : start + shard_size]), dtype=np.uint8).reshape(
                -1, KEY_BYTES
            )
            v = vecs16[start : start + shard_size]
            name = f"shard-{len(shards):04d}.npz"
            tmp = self.dir / (name + ".tmp.npz")
            np.savez(tmp, keys=k, vectors=v)
            os.replace(tmp, self.dir / name)
            shards.append({"file": name, "count": len(k), "sha256": file_sha256(self.dir / name)})
            idx = len(self._shards)
            self._shards.append(v)
            for row, key in enumerate(new_keys[start : start + shard_size]):
                self._rows[key] = (idx, row)
        self._manifest = {"model": self.model, "dim": self.dim, "shards": shards}
        tmp_manifest = self.dir / (MANIFEST + ".tmp")
        tmp_manifest.write_text(json.dumps(self._manifest, indent=1) + "\n")
        os.replace(tmp_manifest, self.dir / MANIFEST)
