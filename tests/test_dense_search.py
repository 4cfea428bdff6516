"""Dense search finds the nearest chunks, not only some of them: Chroma's HNSW index is
approximate, and at its default breadth it missed up to 23 of a question's 30 nearest chunks
on the public benchmark's papers."""

from __future__ import annotations

import numpy as np

from studychat.store import open_store


def test_dense_search_returns_the_exact_nearest_chunks(settings, embedder):
    """3,000 vectors spread evenly over the sphere (the hard case for HNSW: every point about as
    far as every other), queried for their 30 nearest: nearly all of the exact 30 come back."""
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(3000, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store = open_store(settings, embedder, writer="tests")
    try:
        collection = store.vectors._collection
        for start in range(0, len(vectors), 1000):
            ids = [f"v{i}" for i in range(start, start + 1000)]
            collection.add(ids=ids, embeddings=vectors[start : start + 1000])
        queries = rng.normal(size=(40, 384)).astype(np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        shares = []
        for query in queries:
            kth = np.sort(vectors @ query)[-30]
            found = store.search_dense(query.tolist(), 30)
            shares.append(sum(similarity >= kth - 1e-5 for _, similarity in found) / 30)
    finally:
        store.close()
    assert np.mean(shares) >= 0.98, f"dense search found {np.mean(shares):.3f} of the 30 nearest chunks"
