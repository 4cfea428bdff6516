"""An embedder that remembers every text it encoded, for the suites that build many small stores.

A small corpus of suite (c) or (f) is a document with its four nearest; the same document recurs in
many of them, each in its own fresh store. Ingest embeds a chunk's sentences through
`Embedder.encode`, so remembering its vectors by text means each sentence is embedded once per run,
whatever the number of stores it goes into. Same model, same vectors: only fewer model calls.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from studychat.embedder import Embedder


class RememberingEmbedder(Embedder):
    """`embedder`'s model (shared, not loaded again), with `encode` remembering each text's vector.
    `reused` counts the texts served from memory."""

    def __init__(self, embedder: Embedder):
        embedder.encode(["load the model"])  # its model is built now, and shared from here on
        self.__dict__.update(embedder.__dict__)
        self._vectors: dict[str, np.ndarray] = {}
        self.reused = 0
        self.embedded = 0

    def encode(self, texts: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            for text, vector in zip(missing, super().encode(missing), strict=True):
                self._vectors[text] = vector
        self.reused += len(texts) - len(missing)
        if progress and texts:
            progress(len(texts))
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.vstack([self._vectors[t] for t in texts])
