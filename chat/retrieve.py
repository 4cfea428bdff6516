"""Question -> passages: dense search in Chroma and BM25 in SQLite, fused, deduplicated, diverse."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from studychat.embedder import Embedder
from studychat.schema import Passage
from studychat.store import Store
from studychat.text import content_words

RRF_K = 60  # the usual reciprocal-rank-fusion constant: ranks matter, raw scores do not
NEAR_DUPLICATE = 0.8  # word-set overlap above which two passages say the same thing
DOCUMENT_PENALTY = 0.05  # each further passage of an already-chosen document counts this much less
POOL = 4  # passages considered for diversity, in multiples of those shown


@dataclass
class Retrieval:
    """The passages for a question, best first, and the question's embedding for later stages."""

    passages: list[Passage]
    query_vector: np.ndarray


def retrieve(
    search: str,
    store: Store,
    embedder: Embedder,
    k: int,
    candidates: int,
    document_ids: list[str] | None = None,
    question: str | None = None,
) -> Retrieval:
    """The `k` passages that best match `search`, limited to `document_ids` when given.

    For a follow-up, `search` is the question condensed with the conversation and `question` the
    question as asked: both are searched, densely and lexically, and the four rankings fused, so
    that the conversation's subject and the new question's own words both count.
    """
    texts = [question, search] if question and question != search else [search]
    vectors = embedder.encode_recent(texts)
    rankings = []
    for text, vector in zip(texts, vectors, strict=True):
        rankings.append(store.search_dense(vector.tolist(), candidates, document_ids))
        rankings.append(store.search_lexical(text, candidates, document_ids))

    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, (chunk_id, _) in enumerate(ranking):
            fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (RRF_K + rank + 1)
    found = store.passages(list(fused))  # drops chunks replaced since the vector search
    stored = dict(zip(found, store.vectors_of(list(found)), strict=True)) if found else {}

    best = max(fused.values(), default=1.0)
    ranked = []
    for chunk_id, passage in found.items():
        passage.dense = float(max(np.dot(stored[chunk_id], v) for v in vectors))
        passage.score = fused[chunk_id] / best
        ranked.append(passage)
    ranked.sort(key=lambda p: (-p.score, -p.dense))
    # Diversity can lift a passage only a few places, so it chooses among the first few times k.
    pool = drop_near_duplicates(ranked, POOL * k)
    return Retrieval(passages=diversify(pool, k), query_vector=vectors[0])


def drop_near_duplicates(passages: list[Passage], limit: int) -> list[Passage]:
    """The first `limit` passages, best first, keeping the better of passages whose words mostly
    coincide (overlapping chunks, copies of a document)."""
    kept: list[tuple[Passage, set[str]]] = []
    for passage in passages:
        words = set(content_words(passage.text))
        if all(_overlap(words, other) < NEAR_DUPLICATE for _, other in kept):
            kept.append((passage, words))
            if len(kept) == limit:
                break
    return [p for p, _ in kept]


def diversify(passages: list[Passage], k: int) -> list[Passage]:
    """Choose `k` passages greedily, discounting documents already chosen, so that a second
    document that also answers gets a place next to the first."""
    chosen: list[Passage] = []
    pool = list(passages)
    per_document: dict[str, int] = {}
    while pool and len(chosen) < k:
        best = max(pool, key=lambda p: p.score * (1 - DOCUMENT_PENALTY) ** per_document.get(p.document_id, 0))
        pool.remove(best)
        chosen.append(best)
        per_document[best.document_id] = per_document.get(best.document_id, 0) + 1
    return chosen


def _overlap(a: set[str], b: set[str]) -> float:
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0
