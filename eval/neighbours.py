"""Small corpora: a document with its nearest documents, "nearest" by the bundled model's meaning.

A document's vector is the mean of its chunks' vectors, the chunks cut as ingest cuts them and
embedded as ingest embeds them (mean of sentence vectors), made unit length; the nearest are those
of highest cosine. With a `RememberingEmbedder` the sentences embedded here are not embedded again
when the small corpora are ingested.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ingest.chunk import chunk_document
from ingest.pipeline import read_document
from studychat.embedder import Embedder
from studychat.settings import Settings


def document_vector(path: Path, settings: Settings, embedder: Embedder) -> np.ndarray:
    """The unit mean of the chunk vectors of the file at `path`, read and chunked as ingest does."""
    document = read_document(path, settings, path.read_bytes(), path.stem)
    chunks = chunk_document(document, settings.chunk_size, settings.chunk_overlap)
    vectors, _ = embedder.encode_chunks(chunks)
    mean = vectors.mean(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


def nearest(vectors: np.ndarray, k: int) -> list[list[int]]:
    """For each row of `vectors` (unit rows), the indexes of its `k` nearest other rows, nearest first."""
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    k = min(k, len(vectors) - 1)
    return [list(np.argsort(-row, kind="stable")[:k]) for row in similarity]


def small_corpora(paths: list[Path], targets: list[int], settings: Settings, embedder: Embedder, k: int = 4) -> list:
    """For each index in `targets`, that file of `paths` followed by its `k` nearest among `paths`."""
    vectors = np.vstack([document_vector(p, settings, embedder) for p in paths])
    near = nearest(vectors, k)
    return [[paths[i], *(paths[j] for j in near[i])] for i in targets]
