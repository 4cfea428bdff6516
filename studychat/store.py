"""The store: Chroma for chunk vectors, SQLite for the manifest, the lexical (BM25) index and the
vectors of each chunk's sentences (float16), which the answerer compares with the question.

This is the only module that talks to Chroma. SQLite is the source of truth for which documents
and chunks exist: a document is swapped in one SQLite transaction, and every read goes through
that table, so a reader sees the old version or the new one, never both and never none. Chroma
ids written before that switch are recorded as pending, so that a crash between the two stores
is mended the next time a writer opens the store.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from studychat.embedder import Embedder
from studychat.schema import Chunk, Document, Passage
from studychat.settings import Settings
from studychat.text import TOKENIZER, content_words

FREQUENCIES_KEPT = 100_000  # terms whose chunk counts are remembered between writes
SCHEMA_VERSION = 2  # 2: sentence vectors kept in SQLite, chunk vectors pooled from them
MANIFEST = "studychat.sqlite3"
LOCK = "writer.lock"
CHROMA_BATCH = 1000  # vectors per Chroma write (Chroma refuses more than about 5,000)


class StoreError(Exception):
    """A problem with the store that the user can act on; the message says what to do."""


class IndexMismatch(StoreError):
    """The index was built with other embedding or chunking settings."""


class StoreUnavailable(StoreError):
    """The vector store cannot be reached (for example, the Chroma server is down)."""


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


# What an index built before a key was recorded was built with.
SIGNATURE_DEFAULTS = {"embedding_precision": "float32"}


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


def fts_query(text: str, join: str = "OR") -> str:
    """A MATCH expression joining the content words of `text` with OR (or AND), each quoted so none
    is read as syntax."""
    return f" {join} ".join(f'"{w}"' for w in dict.fromkeys(content_words(text)))


class WriterLock:
    """An exclusive lock on a store folder for the one process that may write to it."""

    def __init__(self, folder: Path, owner: str):
        self.path = folder / LOCK
        self.owner = owner
        self._file = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise StoreLocked(
                f"the store at {self.path.parent} is being written by {holder}. "
                "Add documents through the running app (upload in the Documents tab or "
                "POST /api/documents), or stop it and run the command again."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{self.owner} (pid {os.getpid()})")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file:
            self._file.seek(0)
            self._file.truncate()
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


class Store:
    """Documents, chunks and their vectors. Use `open_store`; call `close` when done."""

    def __init__(self, settings: Settings, embedder: Embedder, *, writer: str | None = None):
        self.settings = settings
        self.embedder = embedder
        self.folder = Path(settings.db)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.lock = WriterLock(self.folder, writer) if writer else None
        if self.lock:
            self.lock.acquire()
        self._db_lock = threading.RLock()
        self._write_lock = threading.Lock()  # one document change at a time, whatever the thread
        self.db = sqlite3.connect(self.folder / MANIFEST, check_same_thread=False, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self._vectors = None
        self._total: tuple[tuple[int, int], int] | None = None
        self._frequencies: tuple[tuple[int, int] | None, dict[str, int]] = (None, {})
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA mmap_size=268435456")  # reads of a large index come from the page cache
            self._create_tables()
            self._check_signature()
            if self.lock:
                self.recover()
        except BaseException:
            self.close()  # a refused store must not keep the writer lock or the database open
            raise

    # ---- SQLite: manifest and lexical index -------------------------------------------------

    def _create_tables(self) -> None:
        self.db.executescript(
            f"""
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS documents (
                id TEXT PRIMARY KEY, path TEXT NOT NULL, title TEXT NOT NULL, source TEXT NOT NULL,
                date TEXT NOT NULL, doi TEXT NOT NULL, authors TEXT NOT NULL,
                content_hash TEXT NOT NULL, chunks INTEGER NOT NULL,
                added_at REAL NOT NULL, updated_at REAL NOT NULL);
            CREATE TABLE IF NOT EXISTS chunks (
                rowid INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, document_id TEXT NOT NULL,
                text TEXT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
                page INTEGER, flagged INTEGER NOT NULL DEFAULT 0);
            CREATE INDEX IF NOT EXISTS chunks_document ON chunks(document_id);
            CREATE TABLE IF NOT EXISTS pending (id TEXT PRIMARY KEY);
            CREATE TABLE IF NOT EXISTS sentences (
                chunk_id TEXT PRIMARY KEY, spans TEXT NOT NULL, vectors BLOB NOT NULL);
            CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
                text, content='chunks', content_rowid='rowid', tokenize='{TOKENIZER}');
            CREATE VIRTUAL TABLE IF NOT EXISTS chunks_vocab USING fts5vocab(chunks_fts, 'row');
            CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN
                INSERT INTO chunks_fts(rowid, text) VALUES (new.rowid, new.text); END;
            CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN
                INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.rowid, old.text); END;
            """
        )

    def _check_signature(self) -> None:
        wanted = build_signature(self.settings)
        stored = dict(self.db.execute("SELECT key, value FROM meta WHERE key != 'added'").fetchall())
        if not stored:
            with self._transaction() as db:
                db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", wanted.items())
            return
        stored = {**SIGNATURE_DEFAULTS, **stored}
        different = {k: (stored.get(k), v) for k, v in wanted.items() if stored.get(k) != v}
        if different:
            what = ", ".join(f"{k} is {old!r} in the index but {new!r} now" for k, (old, new) in different.items())
            raise IndexMismatch(
                f"the index at {self.folder} was built differently: {what}. "
                "Rebuild it with `python -m ingest --reset`, or go back to the settings it was built with."
            )

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._db_lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def _query(self, sql: str, params: Iterable = ()) -> list[sqlite3.Row]:
        with self._db_lock:
            return self.db.execute(sql, tuple(params)).fetchall()

    def documents(self) -> list[DocumentRecord]:
        """Every document in the index, newest first."""
        rows = self._query("SELECT * FROM documents ORDER BY added_at DESC, id")
        return [_record(row) for row in rows]

    def document(self, document_id: str) -> DocumentRecord | None:
        rows = self._query("SELECT * FROM documents WHERE id = ?", (document_id,))
        return _record(rows[0]) if rows else None

    def counts(self) -> tuple[int, int]:
        """(documents, chunks) in the index."""
        row = self._query("SELECT (SELECT COUNT(*) FROM documents), (SELECT COUNT(*) FROM chunks)")[0]
        return row[0], row[1]

    def passages(self, chunk_ids: list[str]) -> dict[str, Passage]:
        """The current passages for these chunk ids; ids of replaced or removed chunks are left out."""
        if not chunk_ids:
            return {}
        marks = ",".join("?" * len(chunk_ids))
        rows = self._query(
            f"""SELECT c.id, c.document_id, c.text, c.start, c.page, c.flagged, d.title, d.source, d.date
                FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id IN ({marks})""",
            chunk_ids,
        )
        return {
            r["id"]: Passage(
                chunk_id=r["id"],
                document_id=r["document_id"],
                title=r["title"],
                source=r["source"],
                date=r["date"],
                page=r["page"],
                text=r["text"],
                start=r["start"],
                flagged=bool(r["flagged"]),
            )
            for r in rows
        }

    def load_sentences(self, passages: Iterable[Passage]) -> None:
        """Fill in the sentence offsets and vectors of these passages (only those an answer may
        quote need them: each is a few kilobytes)."""
        by_id = {p.chunk_id: p for p in passages}
        if not by_id:
            return
        rows = self._query(
            f"SELECT chunk_id, spans, vectors FROM sentences WHERE chunk_id IN ({','.join('?' * len(by_id))})", by_id
        )
        for chunk_id, spans, vectors in rows:
            passage = by_id[chunk_id]
            passage.sentences = [tuple(span) for span in json.loads(spans)]
            passage.vectors = np.frombuffer(vectors, dtype=np.float16).reshape(len(passage.sentences), -1)

    def document_chunks(self, document_id: str) -> list[Passage]:
        """All chunks of one document in reading order."""
        ids = [r[0] for r in self._query("SELECT id FROM chunks WHERE document_id = ? ORDER BY start", (document_id,))]
        found = self.passages(ids)
        return [found[i] for i in ids]

    def neighbours(self, passages: Iterable[Passage]) -> dict[str, tuple[Passage | None, Passage | None]]:
        """For each passage's chunk id, the chunks just before and just after it in its document
        (None at either end), sentences not loaded."""
        wanted = {p.chunk_id: p for p in passages}
        if not wanted:
            return {}
        rows = self._query(
            f"""SELECT c.id,
                  (SELECT b.id FROM chunks b WHERE b.document_id = c.document_id AND b.start < c.start
                   ORDER BY b.start DESC LIMIT 1),
                  (SELECT a.id FROM chunks a WHERE a.document_id = c.document_id AND a.start > c.start
                   ORDER BY a.start LIMIT 1)
                FROM chunks c WHERE c.id IN ({",".join("?" * len(wanted))})""",
            wanted,
        )
        found = self.passages([i for row in rows for i in row[1:] if i])
        return {row[0]: (found.get(row[1]), found.get(row[2])) for row in rows}

    def search_lexical(self, text: str, k: int, document_ids: list[str] | None = None) -> list[tuple[str, float]]:
        """BM25 over the chunk texts: (chunk id, score) best first, higher is better.

        FTS5 scores every chunk that holds any of the words, which on a large index is most of the
        cost of a question. So the chunks that hold all of them are ranked first, and when there are
        at least `k` of those they are the answer (chunks holding only some words mostly score
        below them); otherwise every chunk holding any word is ranked.
        """
        rows = []
        if len(set(content_words(text))) > 1:
            rows = self._bm25(fts_query(text, "AND"), k, document_ids)
        if len(rows) < k:
            rows = self._bm25(fts_query(text), k, document_ids)
        return rows

    def _bm25(self, query: str, k: int, document_ids: list[str] | None) -> list[tuple[str, float]]:
        if not query:
            return []
        if document_ids:
            sql = f"""SELECT c.id, -bm25(chunks_fts) FROM chunks_fts JOIN chunks c ON c.rowid = chunks_fts.rowid
                      WHERE chunks_fts MATCH ? AND c.document_id IN ({",".join("?" * len(document_ids))})
                      ORDER BY bm25(chunks_fts) LIMIT ?"""
            rows = self._query(sql, [query, *document_ids, k])
        else:  # rank first, then look up only the k ids: a fifth faster on a large index
            sql = """SELECT c.id, f.score FROM (SELECT rowid, -bm25(chunks_fts) AS score FROM chunks_fts
                     WHERE chunks_fts MATCH ? ORDER BY rank LIMIT ?) f JOIN chunks c ON c.rowid = f.rowid
                     ORDER BY f.score DESC"""
            rows = self._query(sql, [query, k])
        return [(r[0], r[1]) for r in rows]

    def _chunk_total(self) -> int:
        """How many chunks there are, counted again only after a write by this connection or any
        other (`data_version`), since a count reads the whole table and every question asks."""
        with self._db_lock:
            version = (self.db.execute("PRAGMA data_version").fetchone()[0], self.db.total_changes)
            if self._total is None or self._total[0] != version:
                self._total = (version, self.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])
            return self._total[1]

    def documents_with(self, words: str, document_ids: list[str]) -> set[str]:
        """Which of the documents hold all of `words` in one chunk (found through the lexical index,
        unranked: one query however many documents)."""
        query = fts_query(words, "AND")
        if not query or not document_ids:
            return set()
        rows = self._query(
            f"""SELECT DISTINCT document_id FROM chunks WHERE document_id IN ({",".join("?" * len(document_ids))})
                AND rowid IN (SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ?)""",
            [*document_ids, query],
        )
        return {r[0] for r in rows}

    def terms_like(self, term: str) -> list[str]:
        """Indexed terms that begin with the same two letters as `term` and are at most one letter
        longer or shorter: what a misspelling of `term` may have meant."""
        if len(term) < 2:
            return []
        prefix = term[:2]
        rows = self._query(
            "SELECT term FROM chunks_vocab WHERE term >= ? AND term < ? AND length(term) BETWEEN ? AND ?",
            (prefix, prefix[0] + chr(ord(prefix[1]) + 1), len(term) - 1, len(term) + 1),
        )
        return [r[0] for r in rows]

    def document_frequencies(self, terms: Iterable[str]) -> tuple[dict[str, int], int]:
        """How many chunks hold each (stemmed, lower-case) term, those that any do, and how many
        chunks there are. Remembered until the next write, like the count: one answer asks for the
        same terms several times."""
        terms = list(dict.fromkeys(terms))
        total = self._chunk_total()
        with self._db_lock:
            version = self._total[0] if self._total else None
            if self._frequencies[0] != version or len(self._frequencies[1]) > FREQUENCIES_KEPT:
                self._frequencies = (version, {})
            known = self._frequencies[1]
        missing = [t for t in terms if t not in known]
        if missing:
            rows = self._query(
                f"SELECT term, doc FROM chunks_vocab WHERE term IN ({','.join('?' * len(missing))})", missing
            )
            found = {r[0]: r[1] for r in rows}
            known.update({t: found.get(t, 0) for t in missing})
        return {t: known[t] for t in terms if known[t]}, total

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
                raise StoreUnavailable(f"the Chroma store cannot be reached: {_reason(error)}") from error
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
        if self.lock and found.get("ef_search") != self.settings.dense_search_ef:
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
        return chromadb.PersistentClient(path=str(self.folder), settings=chroma_settings)

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
            raise StoreUnavailable(f"the Chroma store cannot be reached: {_reason(error)}") from error

    def ping(self) -> None:
        """Raise `StoreUnavailable` unless Chroma answers."""
        with self._chroma() as vectors:
            vectors._collection.count()

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

    # ---- Writing -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        if not self.lock:
            raise StoreError("this store was opened read-only")
        with self._write_lock:
            yield

    def recover(self) -> None:
        """Remove from Chroma the vectors an interrupted write left behind."""
        pending = [r[0] for r in self._query("SELECT id FROM pending")]
        if not pending:
            return
        present = set(self.passages(pending))
        orphans = [i for i in pending if i not in present]
        if orphans:
            with self._chroma() as vectors:
                vectors.delete(ids=orphans)
        with self._transaction() as db:
            db.execute("DELETE FROM pending")

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
        fill whole batches, and written to Chroma together; then each document is switched in
        SQLite in its own transaction, as `put_document` does for one.
        """
        with self._writing():
            # An earlier write of this process that failed half-way left pending ids: mend them now,
            # since this write ends by clearing the pending table.
            self.recover()
            return self._put_documents(items, progress)

    def _put_documents(self, items: list[tuple[Document, list[Chunk]]], progress: Callable[[int], None] | None) -> int:
        old_ids: dict[str, set[str]] = {}
        fresh: list[tuple[Document, Chunk]] = []
        for document, chunks in items:
            old_ids[document.id] = {
                r[0] for r in self._query("SELECT id FROM chunks WHERE document_id = ?", (document.id,))
            }
            fresh += [(document, c) for c in chunks if c.id not in old_ids[document.id]]
        # Every id that may reach Chroma is recorded first, so a crash before the switch is mended.
        with self._transaction() as db:
            ids = {i for document, chunks in items for i in (*old_ids[document.id], *(c.id for c in chunks))}
            db.executemany("INSERT OR IGNORE INTO pending VALUES (?)", [(i,) for i in ids])
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
            self._switch(document, chunks, old_ids[document.id], new_sentences)
        with self._transaction() as db:
            db.execute("DELETE FROM pending")
        return len(fresh)

    def _switch(
        self, document: Document, chunks: list[Chunk], old_ids: set[str], sentences: dict[str, np.ndarray]
    ) -> None:
        """Make the new chunks of one document the current ones, in one SQLite transaction;
        `sentences` holds the sentence vectors of the chunks not stored before."""
        now = time.time()
        stale = sorted(old_ids - {c.id for c in chunks})
        with self._transaction() as db:
            added = db.execute("SELECT added_at FROM documents WHERE id = ?", (document.id,)).fetchone()
            db.execute("DELETE FROM chunks WHERE document_id = ?", (document.id,))
            db.executemany(
                'INSERT INTO chunks (id, document_id, text, start, "end", page, flagged) VALUES (?, ?, ?, ?, ?, ?, ?)',
                [(c.id, c.document_id, c.text, c.start, c.end, c.page, int(c.flagged)) for c in chunks],
            )
            db.executemany(
                "INSERT OR REPLACE INTO sentences VALUES (?, ?, ?)",
                [
                    (c.id, json.dumps(c.sentences), sentences[c.id].astype(np.float16).tobytes())
                    for c in chunks
                    if c.id in sentences
                ],
            )
            db.executemany("DELETE FROM sentences WHERE chunk_id = ?", [(i,) for i in stale])
            db.execute(
                "INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    document.id,
                    document.path,
                    document.title,
                    document.source,
                    document.date,
                    document.doi,
                    json.dumps(document.authors),
                    document.content_hash,
                    len(chunks),
                    added[0] if added else now,
                    now,
                ),
            )
        if stale:
            with self._chroma() as vectors:
                vectors.delete(ids=stale)

    def remove_document(self, document_id: str) -> bool:
        """Delete a document and its chunks; False when there is no such document."""
        with self._writing():
            ids = [r[0] for r in self._query("SELECT id FROM chunks WHERE document_id = ?", (document_id,))]
            with self._transaction() as db:
                db.executemany("INSERT OR IGNORE INTO pending VALUES (?)", [(i,) for i in ids])
                gone = db.execute("DELETE FROM documents WHERE id = ?", (document_id,)).rowcount
                db.executemany("DELETE FROM sentences WHERE chunk_id = ?", [(i,) for i in ids])
                db.execute("DELETE FROM chunks WHERE document_id = ?", (document_id,))
            self.recover()
        return bool(gone)

    def reset(self) -> None:
        """Empty the index and record the current settings as the ones it is built with."""
        with self._writing():
            with contextlib.suppress(Exception):
                self._connect().delete_collection(self.settings.collection)
            self._vectors = None
            with self._transaction() as db:
                for table in ("documents", "chunks", "sentences", "pending", "meta"):
                    db.execute(f"DELETE FROM {table}")
                db.executemany("INSERT INTO meta VALUES (?, ?)", build_signature(self.settings).items())

    def close(self) -> None:
        with self._db_lock:
            self.db.close()
        if self.lock:
            self.lock.release()


def open_store(settings: Settings, embedder: Embedder, *, writer: str | None = None, reset: bool = False) -> Store:
    """Open the store. `writer` names the process that will write (it takes the writer lock);
    `reset` empties an index built with other settings instead of refusing it."""
    if reset:
        _reset_manifest(settings)
    return Store(settings, embedder, writer=writer)


def _reset_manifest(settings: Settings) -> None:
    """Drop the recorded build settings so an index built differently can be opened and emptied."""
    path = Path(settings.db) / MANIFEST
    if path.exists():
        with contextlib.closing(sqlite3.connect(path)) as db:
            with contextlib.suppress(sqlite3.OperationalError):
                db.execute("DELETE FROM meta")
                db.commit()


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


def _record(row: sqlite3.Row) -> DocumentRecord:
    data = dict(row)
    data["authors"] = json.loads(data["authors"])
    return DocumentRecord(**data)


def _reason(error: Exception) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}"[:300] if text else type(error).__name__
