"""The embedded store, the default: SQLite for the manifest, the lexical index (FTS5 BM25) and the
vectors of each chunk's sentences (float16), in `settings.db` beside an embedded Chroma (or a
Chroma server at `settings.chroma_url`). One writer, held by a lock file in that folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from studychat.embedder import Embedder
from studychat.schema import Chunk, Document, Passage
from studychat.settings import Settings
from studychat.store.base import (
    DocumentRecord,
    IndexMismatch,
    Store,
    StoreError,
    StoreLocked,
    build_signature,
    signature_difference,
)
from studychat.text import TOKENIZER, content_words

FREQUENCIES_KEPT = 100_000  # terms whose chunk counts are remembered between writes
MANIFEST = "studychat.sqlite3"
LOCK = "writer.lock"


def fts_query(text: str | list[str], join: str = "OR") -> str:
    """A MATCH expression joining the content words of `text` (or these words) with OR (or AND),
    each quoted so none is read as syntax."""
    words = content_words(text) if isinstance(text, str) else text
    return f" {join} ".join(f'"{w}"' for w in dict.fromkeys(words))


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


class EmbeddedStore(Store):
    """The store in one folder: SQLite + Chroma. Use `open_store`; call `close` when done."""

    def __init__(self, settings: Settings, embedder: Embedder, *, writer: str | None = None):
        super().__init__(settings, embedder, writer)
        self.folder = Path(settings.db)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.lock = WriterLock(self.folder, writer) if writer else None
        if self.lock:
            self.lock.acquire()
        self._db_lock = threading.RLock()
        self.db = sqlite3.connect(self.folder / MANIFEST, check_same_thread=False, isolation_level=None)
        self.db.row_factory = sqlite3.Row
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

    @property
    def may_write(self) -> bool:
        return self.lock is not None

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
        stored = dict(self.db.execute("SELECT key, value FROM meta WHERE key != 'added'").fetchall())
        if not stored:
            with self._transaction() as db:
                db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", build_signature(self.settings).items())
            return
        what = signature_difference(self.settings, stored)
        if what:
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
        rows = self._query("SELECT * FROM documents ORDER BY added_at DESC, id")
        return [_record(row) for row in rows]

    def document(self, document_id: str) -> DocumentRecord | None:
        rows = self._query("SELECT * FROM documents WHERE id = ?", (document_id,))
        return _record(rows[0]) if rows else None

    def counts(self) -> tuple[int, int]:
        row = self._query("SELECT (SELECT COUNT(*) FROM documents), (SELECT COUNT(*) FROM chunks)")[0]
        return row[0], row[1]

    def passages(self, chunk_ids: list[str]) -> dict[str, Passage]:
        if not chunk_ids:
            return {}
        marks = ",".join("?" * len(chunk_ids))
        rows = self._query(
            f"""SELECT c.id, c.document_id, c.text, c.start, c.page, c.flagged, d.title, d.source, d.date
                FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id IN ({marks})""",
            chunk_ids,
        )
        return {r["id"]: _passage(r) for r in rows}

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
            fill_sentences(by_id[chunk_id], spans, vectors)

    def chunk_ids(self, document_id: str) -> list[str]:
        return [r[0] for r in self._query("SELECT id FROM chunks WHERE document_id = ? ORDER BY start", (document_id,))]

    def neighbours(self, passages: Iterable[Passage]) -> dict[str, tuple[Passage | None, Passage | None]]:
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

    def _bm25(self, words: list[str], k: int, document_ids: list[str] | None, every: bool) -> list[tuple[str, float]]:
        query = fts_query(words, "AND" if every else "OR")
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
        if len(term) < 2:
            return []
        prefix = term[:2]
        rows = self._query(
            "SELECT term FROM chunks_vocab WHERE term >= ? AND term < ? AND length(term) BETWEEN ? AND ?",
            (prefix, prefix[0] + chr(ord(prefix[1]) + 1), len(term) - 1, len(term) + 1),
        )
        return [r[0] for r in rows]

    def document_frequencies(self, terms: Iterable[str]) -> tuple[dict[str, int], int]:
        """How many chunks hold each term, and how many chunks there are. Remembered until the
        next write, like the count: one answer asks for the same terms several times."""
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

    # ---- Writing -----------------------------------------------------------------------------

    def _become_writer(self) -> None:
        if not self.lock:
            raise StoreError("this store was opened read-only")

    def _pending(self) -> list[str]:
        return [r[0] for r in self._query("SELECT id FROM pending")]

    def _mark_pending(self, ids: Iterable[str]) -> None:
        with self._transaction() as db:
            db.executemany("INSERT OR IGNORE INTO pending VALUES (?)", [(i,) for i in ids])

    def _clear_pending(self) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM pending")

    def _swap_rows(
        self, document: Document, chunks: list[Chunk], stale: list[str], sentences: dict[str, np.ndarray]
    ) -> None:
        now = time.time()
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
                document_row(document, len(chunks), added[0] if added else now, now),
            )

    def _delete_rows(self, document_id: str, ids: list[str]) -> bool:
        with self._transaction() as db:
            db.executemany("INSERT OR IGNORE INTO pending VALUES (?)", [(i,) for i in ids])
            gone = db.execute("DELETE FROM documents WHERE id = ?", (document_id,)).rowcount
            db.executemany("DELETE FROM sentences WHERE chunk_id = ?", [(i,) for i in ids])
            db.execute("DELETE FROM chunks WHERE document_id = ?", (document_id,))
        return bool(gone)

    def _reset_rows(self) -> None:
        with self._transaction() as db:
            for table in ("documents", "chunks", "sentences", "pending", "meta"):
                db.execute(f"DELETE FROM {table}")
            db.executemany("INSERT INTO meta VALUES (?, ?)", build_signature(self.settings).items())

    def close(self) -> None:
        with self._db_lock:
            self.db.close()
        if self.lock:
            self.lock.release()


def forget_signature(settings: Settings) -> None:
    """Drop the recorded build settings so an index built differently can be opened and emptied."""
    path = Path(settings.db) / MANIFEST
    if path.exists():
        with contextlib.closing(sqlite3.connect(path)) as db:
            with contextlib.suppress(sqlite3.OperationalError):
                db.execute("DELETE FROM meta")
                db.commit()


def document_row(document: Document, chunks: int, added_at: float, updated_at: float) -> tuple:
    """A document's manifest row, in the table's column order."""
    return (
        document.id,
        document.path,
        document.title,
        document.source,
        document.date,
        document.doi,
        json.dumps(document.authors),
        document.content_hash,
        chunks,
        added_at,
        updated_at,
    )


def fill_sentences(passage: Passage, spans: str, vectors: bytes) -> None:
    """Set a passage's sentence offsets and vectors from their stored form."""
    passage.sentences = [tuple(span) for span in json.loads(spans)]
    passage.vectors = np.frombuffer(vectors, dtype=np.float16).reshape(len(passage.sentences), -1)


def _passage(r) -> Passage:
    return Passage(
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


def _record(row) -> DocumentRecord:
    data = dict(row)
    data["authors"] = json.loads(data["authors"])
    return DocumentRecord(**data)
