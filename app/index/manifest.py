"""The index manifest: what built the index, from what, and checksums that prove it on load."""

from __future__ import annotations

import hashlib
import json
import os
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from app.index.cache import file_sha256

MANIFEST_VERSION = 1
MANIFEST_NAME = "manifest.json"


class IndexMismatch(RuntimeError):
    """The index on disk does not match its manifest, the corpus or the settings. Says how to fix it."""


class Manifest(BaseModel):
    version: int = MANIFEST_VERSION
    built_at: str
    build_seconds: float
    corpus_sha256: str
    corpus_files: int
    profile: str
    chunker: dict[str, Any]
    model: str
    dim: int
    max_seq_length: int
    dense: dict[str, Any]
    lexical: dict[str, Any]
    counts: dict[str, int] = Field(description="passages per source type")
    records: int
    passages: int
    passages_sha256: str
    files: dict[str, str] = Field(
        description="artefact file → sha256 (directories: sha256 of names and sizes)"
    )
    libraries: dict[str, str]


def library_versions() -> dict[str, str]:
    out = {}
    for name in ("faiss-cpu", "tantivy", "sentence-transformers", "torch", "numpy", "transformers"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def dir_digest(path: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(path.rglob("*")):
        if p.is_file() and not p.name.endswith(".lock"):
            h.update(f"{p.relative_to(path)}\0{p.stat().st_size}\n".encode())
    return h.hexdigest()


def artefact_digest(path: Path) -> str:
    return dir_digest(path) if path.is_dir() else file_sha256(path)


def write_manifest(directory: Path, manifest: Manifest) -> None:
    tmp = directory / (MANIFEST_NAME + ".tmp")
    tmp.write_text(json.dumps(manifest.model_dump(), indent=2, sort_keys=True) + "\n")
    os.replace(tmp, directory / MANIFEST_NAME)


def read_manifest(directory: Path) -> Manifest:
    path = directory / MANIFEST_NAME
    if not path.exists():
        raise IndexMismatch(f"no index at {directory} ({MANIFEST_NAME} missing); run 'curbside index build'")
    try:
        return Manifest.model_validate_json(path.read_text())
    except ValueError as exc:
        raise IndexMismatch(f"{path} is unreadable ({exc}); run 'curbside index build --force'") from exc


def verify_files(directory: Path, manifest: Manifest) -> None:
    for name, digest in manifest.files.items():
        path = directory / name
        if not path.exists():
            raise IndexMismatch(
                f"{path} is listed in the manifest but missing; run 'curbside index build --force'"
            )
        got = artefact_digest(path)
        if got != digest:
            raise IndexMismatch(
                f"{path} has checksum {got[:12]}… but the manifest says {digest[:12]}… (damaged or changed "
                "after the build); run 'curbside index build --force'"
            )
