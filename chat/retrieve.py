"""Question -> passages: dense search in Chroma and BM25 in SQLite, fused, deduplicated, diverse."""

from __future__ import annotations

import math
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from chat.fitted import LinearModel
from studychat.embedder import Embedder, pool
from studychat.schema import Passage
from studychat.store import Store
from studychat.text import content_word_set, terms, terms_among

RRF_K = 60  # the usual reciprocal-rank-fusion constant: ranks matter, raw scores do not
NEAR_DUPLICATE = 0.8  # word-set overlap above which two passages say the same thing
DOCUMENT_PENALTY = 0.02  # each further passage of an already-chosen document counts this much less
POOL = 4  # passages considered for diversity, in multiples of those shown
RANKED = 40  # candidates the passage model orders (measured: see `python -m eval.fit`)
# The answerer also reads as many passages again as it shows, each counting for less: the sentence
# that answers can sit in a chunk ranked just below the cut, its chunk vector diluted by the rest.
RESERVE_WEIGHT = 0.6
SCAN_HEAD, SCAN_TAIL = 100, 300  # chunks of a long document searched for a fact the passages lack


@dataclass
class Retrieval:
    """The passages for a question, best first; the next ones, which an answer may still quote,
    their scores discounted; and what was searched as vectors for later stages: the question,
    then for a follow-up the question with the conversation."""

    passages: list[Passage]
    query_vectors: np.ndarray
    reserve: list[Passage] = field(default_factory=list)
    pool: list[Passage] = field(default_factory=list)  # every candidate ranked, best first
    confidence: float = 0.0  # the passage model's probability that the best passage holds the answer


# What the passage model weighs of a chunk (`passage_features`), in its order.
CHUNK_FEATURES = (
    "fused",
    "dense",
    "best_sentence",
    "lexical",
    "coverage",
    "sentence_coverage",
    "title_coverage",
    "document",
    "document_best",
    "dense_rank",
    "lexical_rank",
    "bigrams",
    "second_sentence",
    "length",
    "absent",
)
# The same figures again for the passage's window (`widen`), where they differ from its chunk's.
WINDOW_FEATURES = ("best_sentence", "coverage", "sentence_coverage", "bigrams", "second_sentence", "length")
PASSAGE_FEATURES = CHUNK_FEATURES + tuple(f"window_{name}" for name in WINDOW_FEATURES)


def retrieve(
    search: str,
    store: Store,
    embedder: Embedder,
    k: int,
    candidates: int,
    document_ids: list[str] | None = None,
    question: str | None = None,
    ranker: LinearModel | None = None,
) -> Retrieval:
    """The `k` passages that best match `search`, and the `k` after them as a reserve, limited to
    `document_ids` when given.

    For a follow-up, `search` is the question condensed with the conversation and `question` the
    question as asked: both are searched, densely and lexically, and the four rankings fused, so
    that the conversation's subject and the new question's own words both count.

    Chunks are searched; each passage returned is a chunk widened to its window (`widen`), and
    of two windows that mostly overlap only the better one is kept. With a `ranker` (the fitted
    passage model), the candidates are ordered again by its probability that each holds the
    answer, from the features of the chunk and of its window (`PASSAGE_FEATURES`). Figures in
    the README: passage recall@5 on the public benchmark went 0.77 -> 0.85 with windows.
    """
    texts = [question, search] if question and question != search else [search]
    # The lexical searches run in SQLite while this thread embeds the texts and searches Chroma:
    # both release the GIL, so on a large index the two overlap instead of adding up.
    lexical = [_searcher().submit(store.search_lexical, text, candidates, document_ids) for text in texts]
    vectors = embedder.encode_recent(texts)
    rankings = [store.search_dense(vector.tolist(), candidates, document_ids) for vector in vectors]
    lexical_rankings = [search.result() for search in lexical]
    rankings += lexical_rankings
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, (chunk_id, _) in enumerate(ranking):
            fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (RRF_K + rank + 1)
    found = store.passages(list(fused))  # drops chunks replaced since the searches

    best = max(fused.values(), default=1.0)
    for chunk_id, passage in found.items():
        passage.score = fused[chunk_id] / best
    ranked = sorted(found.values(), key=lambda p: (-p.score, p.chunk_id))
    # Diversity can lift a passage only a few places, so it chooses among the first few times k.
    distinct = drop_near_duplicates(ranked, max(RANKED, POOL * k) if ranker else POOL * k)
    store.load_sentences(distinct)
    _set_dense(distinct, vectors)
    confidence = 0.0
    if ranker is None:
        widen(distinct, store)
    else:
        asked = (question or search, distinct, vectors, rankings[0], lexical_rankings[0], store)
        chunk_features = passage_features(*asked)
        widen(distinct, store)
        features = np.hstack([chunk_features, text_features(question or search, distinct, vectors, store)])
        probabilities = ranker.probability(features)
        confidence = float(probabilities.max()) if len(distinct) else 0.0
        best = max(confidence, 1e-9)
        # A follow-up keeps the fused order, in which the conversation's own rankings count: the
        # model weighs the question alone, and "What side effects did they have?" alone is about
        # any document's side effects.
        standalone = question in (None, search)
        for passage, probability, row in zip(distinct, probabilities, features, strict=True):
            passage.features = row
            if standalone:
                passage.score = float(probability) / best
        if standalone:
            distinct.sort(key=lambda p: (-p.score, p.chunk_id))
    distinct = drop_overlapping(distinct)
    chosen = diversify(distinct, k)
    reserve = [p for p in distinct if all(p is not c for c in chosen)][:k]
    for passage in reserve:
        passage.score *= RESERVE_WEIGHT
    return Retrieval(chosen, vectors, reserve, pool=distinct, confidence=confidence)


def idf_weights(question: str, store: Store) -> dict[str, float]:
    """BM25's inverse document frequency of each question term over the whole index."""
    wanted = list(dict.fromkeys(terms(question)))
    frequencies, total = store.document_frequencies(wanted)
    total = max(total, 1)
    return {t: math.log(1 + (total - frequencies.get(t, 0) + 0.5) / (frequencies.get(t, 0) + 0.5)) for t in wanted}


def passage_features(
    question: str,
    passages: list[Passage],
    query_vectors: np.ndarray,
    dense: list[tuple[str, float]],
    lexical: list[tuple[str, float]],
    store: Store,
) -> np.ndarray:
    """One row of `CHUNK_FEATURES` per passage (sentence vectors loaded), each in [0, 1]: its text's
    figures (`text_features`) and

    - fused: the passage's reciprocal-rank-fusion score over the best one's;
    - dense: the cosine of the question and the passage's vector;
    - lexical: its BM25 score for the question over the best one's (0 when BM25 did not find it);
    - title_coverage: the share of the question's rarer words (by inverse document frequency) that
      its document's title holds;
    - document: the share of the candidates' fused score that is its document's (several passages
      of one paper agreeing); document_best: the best fused score among its document's passages;
    - dense_rank, lexical_rank: 1 / rank in the question's dense and BM25 rankings (0 when absent);
    - absent: the share of the question's words (by inverse document frequency) that no passage of
      the whole index holds, the same for every passage (for the refusal model: a question on
      something the documents never discuss).
    """
    idf = idf_weights(question, store)
    frequencies, _ = store.document_frequencies(list(idf))  # remembered from `idf_weights`
    weight = sum(idf.values()) or 1.0
    bm25 = dict(lexical)
    top_bm25 = max(bm25.values(), default=0.0) or 1.0
    dense_rank = {chunk_id: 1.0 / (rank + 1) for rank, (chunk_id, _) in enumerate(dense)}
    lexical_rank = {chunk_id: 1.0 / (rank + 1) for rank, (chunk_id, _) in enumerate(lexical)}
    per_document: dict[str, float] = {}
    document_best: dict[str, float] = {}
    for passage in passages:
        per_document[passage.document_id] = per_document.get(passage.document_id, 0.0) + passage.score
        document_best[passage.document_id] = max(document_best.get(passage.document_id, 0.0), passage.score)
    mass = sum(per_document.values()) or 1.0
    columns = dict(zip(WINDOW_FEATURES, text_features(question, passages, query_vectors, store).T, strict=True))
    columns |= {
        "fused": [p.score for p in passages],
        "dense": [p.dense for p in passages],
        "lexical": [max(bm25.get(p.chunk_id, 0.0), 0.0) / top_bm25 for p in passages],
        "title_coverage": [sum(idf[t] for t in terms_among(p.title, idf)) / weight for p in passages],
        "document": [per_document[p.document_id] / mass for p in passages],
        "document_best": [document_best[p.document_id] for p in passages],
        "dense_rank": [dense_rank.get(p.chunk_id, 0.0) for p in passages],
        "lexical_rank": [lexical_rank.get(p.chunk_id, 0.0) for p in passages],
        "absent": [sum(w for t, w in idf.items() if not frequencies.get(t)) / weight] * len(passages),
    }
    return np.asarray([columns[name] for name in CHUNK_FEATURES], dtype=np.float64).T.reshape(
        len(passages), len(CHUNK_FEATURES)
    )


def text_features(question: str, passages: list[Passage], query_vectors: np.ndarray, store: Store) -> np.ndarray:
    """One row of `WINDOW_FEATURES` per passage (sentence vectors loaded): the figures of its text
    alone, so computed again when a chunk is widened to its window, each in [0, 1] but length:

    - best_sentence, second_sentence: the cosine of the question and the passage's nearest and
      second-nearest sentence (the passage's own cosine when it has no sentence vectors);
    - coverage, sentence_coverage: the share of the question's rarer words (by inverse document
      frequency) that the passage and its best sentence for them hold;
    - bigrams: the share of the question's pairs of adjacent content words that the passage holds
      as adjacent words;
    - length: its length in thousands of characters.
    """
    idf = idf_weights(question, store)
    weight = sum(idf.values()) or 1.0

    def covered(text: str) -> float:
        return sum(idf[t] for t in terms_among(text, idf)) / weight

    asked = terms(question)
    pairs = set(zip(asked, asked[1:], strict=False))
    rows = []
    for passage in passages:
        if passage.vectors is not None and len(passage.vectors):
            similarities = np.sort((passage.vectors.astype(np.float32) @ query_vectors.T).max(axis=1))[::-1]
            best_sentence = float(similarities[0])
            second_sentence = float(similarities[1]) if len(similarities) > 1 else 0.0
            sentence_coverage = max(covered(passage.text[s:e]) for s, e in passage.sentences)
        else:
            best_sentence, second_sentence, sentence_coverage = passage.dense, 0.0, covered(passage.text)
        said = terms(passage.text)
        adjacent = set(zip(said, said[1:], strict=False))
        row = {
            "best_sentence": best_sentence,
            "coverage": covered(passage.text),
            "sentence_coverage": sentence_coverage,
            "bigrams": len(pairs & adjacent) / len(pairs) if pairs else 0.0,
            "second_sentence": second_sentence,
            "length": len(passage.text) / 1000,
        }
        rows.append([row[name] for name in WINDOW_FEATURES])
    return np.asarray(rows, dtype=np.float64).reshape(len(passages), len(WINDOW_FEATURES))


def stated_elsewhere(
    pattern: re.Pattern,
    document_id: str,
    passages: list[Passage],
    query_vectors: np.ndarray,
    store: Store,
    limit: int = 3,
) -> list[Passage]:
    """More passages of the document that state what the question asks for (a journal, a DOI, a
    date), for when the best sentence found does not: such facts often stand in a reference list
    or a header that shares no words or meaning with the question. Of the chunks that match
    `pattern` and are not among `passages`, the `limit` whose matching sentence is nearest the
    question."""
    if not passages:
        return []
    chunks = store.document_chunks(document_id)
    if len(chunks) > SCAN_HEAD + SCAN_TAIL:  # a long document's own facts stand in its header or references
        chunks = chunks[:SCAN_HEAD] + chunks[-SCAN_TAIL:]
    shown = {p.chunk_id for p in passages}
    stating = [p for p in chunks if p.chunk_id not in shown and pattern.search(p.text)]
    store.load_sentences(stating)
    nearest: dict[str, float] = {}
    for passage in stating:
        if passage.vectors is None:
            continue
        similarities = passage.vectors @ query_vectors[0]
        spans = zip(passage.sentences, similarities, strict=True)
        matching = [float(sim) for (s, e), sim in spans if pattern.search(passage.text[s:e])]
        if matching:
            nearest[passage.chunk_id] = max(matching)
    found = sorted((p for p in stating if p.chunk_id in nearest), key=lambda p: -nearest[p.chunk_id])[:limit]
    _set_dense(found, query_vectors)
    for passage in found:
        passage.score = passages[-1].score  # each ranked below every passage found
    return found


def widen(passages: list[Passage], store: Store) -> None:
    """Make each passage (sentences loaded) its chunk with the chunks either side of it in its
    document, in place: text, offsets, sentences and their vectors. A chunk is the unit searched
    and ranked; the passage shown and quoted from is the wider window, since an answer often
    stands in the sentences just before or after those that match the question. A neighbour that
    reads like instructions is left out of a passage that does not."""
    around = store.neighbours(passages)
    store.load_sentences(n for pair in around.values() for n in pair if n is not None)
    for passage in passages:
        if passage.vectors is None:
            continue
        before, after = around.get(passage.chunk_id, (None, None))
        parts = [
            c
            for c in (before, passage, after)
            if c is passage or (c is not None and c.vectors is not None and (passage.flagged or not c.flagged))
        ]
        start = parts[0].start
        text, spans, vectors, seen = "", [], [], set()
        for part in parts:
            offset = part.start - start
            text = text[:offset].ljust(offset) + part.text  # chunks overlap by whole sentences, or abut
            for (s, e), vector in zip(part.sentences, part.vectors, strict=True):
                if (offset + s, offset + e) not in seen:
                    seen.add((offset + s, offset + e))
                    spans.append((offset + s, offset + e))
                    vectors.append(vector)
        order = sorted(range(len(spans)), key=spans.__getitem__)
        passage.text, passage.start, passage.page = text, start, parts[0].page
        passage.sentences = [spans[i] for i in order]
        passage.vectors = np.asarray([vectors[i] for i in order])


def _set_dense(passages: list[Passage], query_vectors: np.ndarray) -> None:
    """Each passage's similarity to the nearest query vector, from its chunk vector as stored in Chroma."""
    for passage in passages:
        if passage.vectors is not None:
            chunk_vector = pool(passage.vectors, [e - s for s, e in passage.sentences])
            passage.dense = float(np.max(query_vectors @ chunk_vector))


@cache
def _searcher() -> ThreadPoolExecutor:
    """The threads that run lexical searches beside the dense ones, started on first use."""
    return ThreadPoolExecutor(max_workers=8, thread_name_prefix="lexical")


def drop_near_duplicates(passages: list[Passage], limit: int) -> list[Passage]:
    """The first `limit` passages, best first, keeping the better of passages whose words mostly
    coincide (overlapping chunks, copies of a document)."""
    kept: list[tuple[Passage, frozenset[str]]] = []
    for passage in passages:
        words = content_word_set(passage.text)
        if all(_overlap(words, other) < NEAR_DUPLICATE for _, other in kept):
            kept.append((passage, words))
            if len(kept) == limit:
                break
    return [p for p, _ in kept]


def drop_overlapping(passages: list[Passage]) -> list[Passage]:
    """The passages, best first, without those that share more than half of the shorter one's
    text with a better passage of the same document (the windows of adjacent chunks)."""
    kept: list[Passage] = []
    for passage in passages:
        end = passage.start + len(passage.text)
        if all(
            other.document_id != passage.document_id
            or min(end, other.start + len(other.text)) - max(passage.start, other.start)
            <= min(len(passage.text), len(other.text)) / 2
            for other in kept
        ):
            kept.append(passage)
    return kept


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


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0
