"""What every store is: the interface the rest of the code uses, the errors it raises, and the
parts both implementations share (the Chroma vectors and the order of a write).

A store holds the manifest of documents, their chunks with the sentence vectors of each, the
lexical (BM25) index and the chunk vectors. The manifest is the source of truth for which chunks
exist: a document is swapped in one transaction, and every read goes through that table, so a
reader sees the old version or the new one, never both and never none. Chroma ids written before
that switch are recorded as pending, so that a crash between the two stores is mended the next
time a writer writes.
"""

from __future__ import annotations

import abc
import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urlparse

import numpy as np

from studychat.embedder import Embedder
from studychat.schema import Chunk, Document, Passage
from studychat.settings import Settings
from studychat.text import content_words

SCHEMA_VERSION = 2  # 2: sentence vectors kept with the manifest, chunk vectors pooled from them
CHROMA_BATCH = 1000  # vectors per Chroma write (Chroma refuses more than about 5,000)
# What an index built before a key was recorded was built with.
SIGNATURE_DEFAULTS = {"embedding_precision": "float32"}


class StoreError(Exception):
    """A problem with the store that the user can act on; the message says what to do."""


class IndexMismatch(StoreError):
    """The index was built with other embedding or chunking settings."""


class StoreUnavailable(StoreError):
    """The store cannot be reached (for example, the Chroma server or PostgreSQL is down)."""


class StoreLocked(StoreError):
    """Another process is writing to this store."""


@dataclass
class DocumentRecord:
    """One row of the manifest, as `--list`, the Documents tab and the API show it."""

    id: str
    path: str
    title: str
    source: str
    date: str
    doi: str
    authors: list[str]
    content_hash: str
    chunks: int
    added_at: float
    updated_at: float

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def build_signature(settings: Settings) -> dict[str, str]:
    """What an index depends on; opening it with other values is refused. The torch and ONNX
    float32 encoders give the same vectors (cosine 1.0000), so the backend is not part of it; the
    int8 encoder's differ, so its precision is."""
    return {
        "schema_version": str(SCHEMA_VERSION),
        "embedding_model": settings.embedding_model,
        "embedding_precision": settings.embedding_precision,
        "chunk_size": str(settings.chunk_size),
        "chunk_overlap": str(settings.chunk_overlap),
    }


def signature_difference(settings: Settings, stored: dict[str, str]) -> str | None:
    """How the recorded build settings differ from the current ones, in words, or None."""
    wanted = build_signature(settings)
    stored = {**SIGNATURE_DEFAULTS, **stored}
    different = {k: (stored.get(k), v) for k, v in wanted.items() if stored.get(k) != v}
    if not different:
        return None
    return ", ".join(f"{k} is {old!r} in the index but {new!r} now" for k, (old, new) in different.items())


class Store(abc.ABC):
    """Documents, chunks and their vectors. Use `open_store`; call `close` when done.

    `writer` names the process that may write; `may_write` says whether this one does now."""

    def __init__(self, settings: Settings, embedder: Embedder, writer: str | None):
        self.settings = settings
        self.embedder = embedder
        self.writer = writer
        self._vectors = None
        self._write_lock = threading.Lock()  # one document change at a time, whatever the thread

    # ---- reading: the manifest and the lexical index (each implementation) -------------------

    @property
    @abc.abstractmethod
    def may_write(self) -> bool:
        """True while this process is the store's writer."""

    @abc.abstractmethod
    def documents(self) -> list[DocumentRecord]:
        """Every document in the index, newest first."""

    @abc.abstractmethod
    def document(self, document_id: str) -> DocumentRecord | None:
        """One document's record, or None."""

    @abc.abstractmethod
    def counts(self) -> tuple[int, int]:
        """(documents, chunks) in the index."""

    @abc.abstractmethod
    def passages(self, chunk_ids: list[str]) -> dict[str, Passage]:
        """The current passages for these chunk ids; ids of replaced or removed chunks are left out."""

    @abc.abstractmethod
    def load_sentences(self, passages: Iterable[Passage]) -> None:
        """Fill in the sentence offsets and vectors of these passages."""

    @abc.abstractmethod
    def chunk_ids(self, document_id: str) -> list[str]:
        """The ids of one document's chunks in reading order."""

    def document_chunks(self, document_id: str) -> list[Passage]:
        """All chunks of one document in reading order."""
        ids = self.chunk_ids(document_id)
        found = self.passages(ids)
        return [found[i] for i in ids if i in found]

    @abc.abstractmethod
    def neighbours(self, passages: Iterable[Passage]) -> dict[str, tuple[Passage | None, Passage | None]]:
        """For each passage's chunk id, the chunks just before and just after it in its document
        (None at either end), sentences not loaded."""

    def search_lexical(self, text: str, k: int, document_ids: list[str] | None = None) -> list[tuple[str, float]]:
        """BM25 over the chunk texts: (chunk id, score) best first, higher is better.

        Scoring every chunk that holds any of the words is most of the cost of a question on a
        large index. So the chunks that hold all of them are ranked first, and when there are at
        least `k` of those they are the answer (chunks holding only some words mostly score below
        them); otherwise every chunk holding any word is ranked.
        """
        words = list(dict.fromkeys(content_words(text)))
        rows = []
        if len(set(words)) > 1:
            rows = self._bm25(words, k, document_ids, every=True)
        if len(rows) < k:
            rows = self._bm25(words, k, document_ids, every=False)
        return rows

    @abc.abstractmethod
    def _bm25(self, words: list[str], k: int, document_ids: list[str] | None, every: bool) -> list[tuple[str, float]]:
        """The `k` best chunks by BM25 (k1 1.2, b 0.75, as SQLite FTS5's bm25()) for these words,
        holding all of them when `every`, else any."""

    @abc.abstractmethod
    def documents_with(self, words: str, document_ids: list[str]) -> set[str]:
        """Which of the documents hold all of `words` in one chunk."""

    @abc.abstractmethod
    def terms_like(self, term: str) -> list[str]:
        """Indexed terms that begin with the same two letters as `term` and are at most one letter
        longer or shorter: what a misspelling of `term` may have meant."""

    @abc.abstractmethod
    def document_frequencies(self, terms: Iterable[str]) -> tuple[dict[str, int], int]:
        """How many chunks hold each (stemmed, lower-case) term, those that any do, and how many
        chunks there are."""

    def ping(self) -> None:
        """Raise `StoreUnavailable` unless every part of the store answers."""
        with self._chroma() as vectors:
            vectors._collection.count()

    @abc.abstractmethod
    def close(self) -> None:
        """Let go of connections and of the writer's lock."""

    # ---- Chroma: vectors ---------------------------------------------------------------------

    @property
    def vectors(self):
        """The langchain-chroma vector store, connected on first use and again after a failure."""
        if self._vectors is None:
            from langchain_chroma import Chroma

            try:
                self._vectors = Chroma(
                    client=self._connect(),
                    collection_name=self.settings.collection,
                    embedding_function=self.embedder,
                    collection_metadata={"hnsw:space": "cosine", **build_signature(self.settings)},
                )
                found = self._vectors._collection.metadata or {}
            except StoreError:
                raise
            except Exception as error:  # chromadb raises many types for "cannot reach"
                self._vectors = None
                raise StoreUnavailable(f"the Chroma store cannot be reached: {reason(error)}") from error
            wanted = build_signature(self.settings)
            found = {**SIGNATURE_DEFAULTS, **found}
            different = [k for k, v in wanted.items() if str(found.get(k, v)) != v]
            if different:
                self._vectors = None
                raise IndexMismatch(
                    f"the Chroma collection {self.settings.collection!r} was built with other "
                    f"{', '.join(different)}; rebuild it with `python -m ingest --reset`."
                )
            self._search_breadth()
        return self._vectors

    def _search_breadth(self) -> None:
        """Set the collection's HNSW search breadth to `settings.dense_search_ef` when it differs (a
        setting of the collection, not of a query; changed by the writer, which readers then see)."""
        collection = self._vectors._collection
        found = (collection.configuration_json or {}).get("hnsw") or {}
        if self.may_write and found.get("ef_search") != self.settings.dense_search_ef:
            collection.modify(configuration={"hnsw": {"ef_search": self.settings.dense_search_ef}})

    def _connect(self):
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=True)
        if self.settings.chroma_url:
            url = urlparse(self.settings.chroma_url)
            return chromadb.HttpClient(
                host=url.hostname or "127.0.0.1",
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
        return chromadb.PersistentClient(path=str(self.settings.db), settings=chroma_settings)

    @contextlib.contextmanager
    def _chroma(self) -> Iterator:
        """Run a Chroma call; a connection failure becomes `StoreUnavailable` and reconnects next time."""
        try:
            yield self.vectors
        except StoreError:
            raise
        except Exception as error:
            if self.settings.chroma_url:
                self._vectors = None
            raise StoreUnavailable(f"the Chroma store cannot be reached: {reason(error)}") from error

    def search_dense(
        self, vector: list[float], k: int, document_ids: list[str] | None = None
    ) -> list[tuple[str, float]]:
        """Nearest chunks by cosine similarity: (chunk id, similarity) best first."""
        where = {"document_id": {"$in": document_ids}} if document_ids else None
        with self._chroma() as vectors:
            result = vectors._collection.query(
                query_embeddings=[vector], n_results=k, where=where, include=["distances"]
            )
        return [(i, 1.0 - d) for i, d in zip(result["ids"][0], result["distances"][0], strict=True)]

    # ---- Writing: the same order of steps in both --------------------------------------------

    @abc.abstractmethod
    def _become_writer(self) -> None:
        """Make sure this process is the writer, or raise `StoreLocked` saying where to write."""

    @abc.abstractmethod
    def _pending(self) -> list[str]:
        """Chroma ids an unfinished write may have left behind."""

    @abc.abstractmethod
    def _mark_pending(self, ids: Iterable[str]) -> None:
        """Record ids that may reach Chroma, in their own transaction, before they do."""

    @abc.abstractmethod
    def _clear_pending(self) -> None:
        """Forget the pending ids, once Chroma agrees with the manifest."""

    @abc.abstractmethod
    def _swap_rows(
        self, document: Document, chunks: list[Chunk], stale: list[str], sentences: dict[str, np.ndarray]
    ) -> None:
        """Make `chunks` the document's current ones in one transaction; `sentences` holds the
        sentence vectors of the chunks not stored before, `stale` the old chunk ids now gone."""

    @abc.abstractmethod
    def _delete_rows(self, document_id: str, ids: list[str]) -> bool:
        """Remove a document and these chunks in one transaction (ids marked pending in it)."""

    @abc.abstractmethod
    def _reset_rows(self) -> None:
        """Empty every table and record the current build settings."""

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        if not self.writer:
            raise StoreError("this store was opened read-only")
        with self._write_lock:
            self._become_writer()
            yield

    def recover(self) -> None:
        """Remove from Chroma the vectors an interrupted write left behind."""
        pending = self._pending()
        if not pending:
            return
        present = set(self.passages(pending))
        orphans = [i for i in pending if i not in present]
        if orphans:
            with self._chroma() as vectors:
                vectors.delete(ids=orphans)
        self._clear_pending()

    def put_document(
        self, document: Document, chunks: list[Chunk], progress: Callable[[int], None] | None = None
    ) -> int:
        """Add or replace a document and its chunks; returns how many chunks were embedded.

        Chunks already stored with the same id (same document and text) are not embedded again.
        """
        return self.put_documents([(document, chunks)], progress)

    def put_documents(
        self, items: list[tuple[Document, list[Chunk]]], progress: Callable[[int], None] | None = None
    ) -> int:
        """Add or replace several documents; returns how many chunks were embedded.

        The new chunks of all of them are embedded together, so that many small documents still
        fill whole batches, and written to Chroma together; then each document is switched in the
        manifest in its own transaction, as `put_document` does for one.
        """
        with self._writing():
            # An earlier write that failed half-way left pending ids: mend them now, since this
            # write ends by clearing the pending table.
            self.recover()
            return self._put_documents(items, progress)

    def _put_documents(self, items: list[tuple[Document, list[Chunk]]], progress: Callable[[int], None] | None) -> int:
        old_ids: dict[str, set[str]] = {}
        fresh: list[tuple[Document, Chunk]] = []
        for document, chunks in items:
            old_ids[document.id] = set(self.chunk_ids(document.id))
            fresh += [(document, c) for c in chunks if c.id not in old_ids[document.id]]
        # Every id that may reach Chroma is recorded first, so a crash before the switch is mended.
        self._mark_pending({i for document, chunks in items for i in (*old_ids[document.id], *(c.id for c in chunks))})
        vectors, sentence_vectors = self.embedder.encode_chunks([c for _, c in fresh], progress)
        with self._chroma() as store:
            for start in range(0, len(fresh), CHROMA_BATCH):
                batch = fresh[start : start + CHROMA_BATCH]
                store._collection.upsert(
                    ids=[c.id for _, c in batch],
                    embeddings=vectors[start : start + CHROMA_BATCH],
                    documents=[c.text for _, c in batch],
                    metadatas=[_chunk_metadata(d, c) for d, c in batch],
                )
        new_sentences = {c.id: v for (_, c), v in zip(fresh, sentence_vectors, strict=True)}
        for document, chunks in items:
            stale = sorted(old_ids[document.id] - {c.id for c in chunks})
            self._swap_rows(document, chunks, stale, new_sentences)
            if stale:
                with self._chroma() as vectors:
                    vectors.delete(ids=stale)
        self._clear_pending()
        return len(fresh)

    def remove_document(self, document_id: str) -> bool:
        """Delete a document and its chunks; False when there is no such document."""
        with self._writing():
            gone = self._delete_rows(document_id, self.chunk_ids(document_id))
            self.recover()
        return gone

    def reset(self) -> None:
        """Empty the index and record the current settings as the ones it is built with."""
        with self._writing():
            with contextlib.suppress(Exception):
                self._connect().delete_collection(self.settings.collection)
            self._vectors = None
            self._reset_rows()


def _chunk_metadata(document: Document, chunk: Chunk) -> dict:
    meta = {
        "document_id": document.id,
        "title": document.title,
        "source": document.source,
        "start": chunk.start,
        "end": chunk.end,
    }
    if chunk.page is not None:
        meta["page"] = chunk.page
    return meta


def reason(error: Exception) -> str:
    """The first line of an error with its type, short enough for a message to a user."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}"[:300] if text else type(error).__name__
