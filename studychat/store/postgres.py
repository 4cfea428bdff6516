"""The shared store: one corpus for several app servers, each on its own machine. PostgreSQL holds
the manifest, the chunks, their sentence vectors and the lexical index; the Chroma server at
`settings.chroma_url` holds the chunk vectors. An app server keeps nothing of the store on disk.

The lexical index is BM25 computed from term statistics kept in PostgreSQL (a row per term and
chunk with its count, each chunk's length in tokens), with terms made by SQLite's own FTS5
`porter unicode61` tokenizer and the same formula as FTS5's bm25() (k1 1.2, b 0.75): so a
question finds the same chunks in the same order as in the embedded store (README, "Shared
store").

One writer, enforced by PostgreSQL: the writer holds a session advisory lock on a connection of
its own and writes through that connection. When the process dies, PostgreSQL ends the session
and the lock goes with it, so another server becomes the writer at its next write (and first mends
what an unfinished write left in Chroma). The lock connection's `application_name` says who holds
it, so a refused change says where to make it.
"""

from __future__ import annotations

import contextlib
import json
import math
import socket
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator

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
    StoreUnavailable,
    build_signature,
    reason,
    signature_difference,
)
from studychat.store.embedded import document_row, fill_sentences
from studychat.text import TOKENIZER

WRITER_LOCK = 0x5354_4348_4154  # the advisory lock key of the one writer ("STCHAT")
SCHEMA_LOCK = WRITER_LOCK + 1  # held while the tables are created, so two servers starting together agree
K1, B = 1.2, 0.75  # FTS5's bm25() constants

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT COLLATE "C" PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id TEXT COLLATE "C" PRIMARY KEY, path TEXT NOT NULL, title TEXT NOT NULL, source TEXT NOT NULL,
    date TEXT NOT NULL, doi TEXT NOT NULL, authors TEXT NOT NULL, content_hash TEXT NOT NULL,
    chunks INTEGER NOT NULL, added_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    rowid BIGSERIAL PRIMARY KEY, id TEXT COLLATE "C" UNIQUE NOT NULL, document_id TEXT COLLATE "C" NOT NULL,
    text TEXT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, page INTEGER,
    flagged BOOLEAN NOT NULL DEFAULT FALSE, length INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_document ON chunks(document_id, start);
CREATE TABLE IF NOT EXISTS postings (
    term TEXT COLLATE "C" NOT NULL, chunk BIGINT NOT NULL REFERENCES chunks(rowid) ON DELETE CASCADE,
    count INTEGER NOT NULL, PRIMARY KEY (term, chunk));
CREATE INDEX IF NOT EXISTS postings_chunk ON postings(chunk);
CREATE TABLE IF NOT EXISTS totals (
    one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one), chunks BIGINT NOT NULL, tokens BIGINT NOT NULL);
INSERT INTO totals VALUES (TRUE, 0, 0) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS pending (id TEXT COLLATE "C" PRIMARY KEY);
CREATE TABLE IF NOT EXISTS sentences (
    chunk_id TEXT COLLATE "C" PRIMARY KEY, spans TEXT NOT NULL, vectors BYTEA NOT NULL);
"""


class Tokenizer:
    """Terms as the embedded store's FTS5 index makes them: SQLite's own `porter unicode61`
    tokenizer, run on an in-memory table (one per thread)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = sqlite3.connect(":memory:")
            db.executescript(
                f"CREATE VIRTUAL TABLE texts USING fts5(text, tokenize='{TOKENIZER}');"
                "CREATE VIRTUAL TABLE tokens USING fts5vocab(texts, 'instance');"
            )
        return db

    def tokens(self, texts: list[str]) -> list[list[str]]:
        """Each text's terms in order."""
        db = self._db()
        db.execute("DELETE FROM texts")
        db.executemany("INSERT INTO texts(rowid, text) VALUES (?, ?)", enumerate(texts, 1))
        found: list[list[str]] = [[] for _ in texts]
        for row, term in db.execute("SELECT doc, term FROM tokens ORDER BY doc, offset"):
            found[row - 1].append(term)
        db.execute("DELETE FROM texts")
        return found


class PostgresStore(Store):
    """The store in PostgreSQL and a Chroma server. Use `open_store`; call `close` when done."""

    def __init__(self, settings: Settings, embedder: Embedder, *, writer: str | None = None, reset: bool = False):
        super().__init__(settings, embedder, writer)
        if not settings.chroma_url:
            raise StoreError(
                "STUDYCHAT_DATABASE_URL is set but STUDYCHAT_CHROMA_URL is not: the shared store keeps its "
                "vectors in a Chroma server; set its URL (e.g. http://chroma-host:8000)"
            )
        from psycopg_pool import ConnectionPool

        url = settings.database_url  # a SecretStr, or a plain string from `Settings.model_copy(update=...)`
        self.url = url.get_secret_value() if hasattr(url, "get_secret_value") else str(url)
        self.tokenizer = Tokenizer()
        self.lock = None  # the connection holding the writer's advisory lock, while this process writes
        self.pool = ConnectionPool(
            self.url,
            min_size=1,
            max_size=settings.database_pool_size,
            timeout=settings.database_timeout,
            kwargs={"autocommit": True, "connect_timeout": max(1, round(settings.database_timeout))},
            check=ConnectionPool.check_connection,
            open=False,
            name="studychat",
        )
        try:
            self.pool.open(wait=True, timeout=settings.database_timeout)
            self._create_tables(reset)
            if writer:
                with contextlib.suppress(StoreLocked):  # another server writes: this one may take over later
                    self._become_writer()
        except BaseException as error:
            self.close()
            if isinstance(error, StoreError):
                raise
            if isinstance(error, Exception) and _unreachable(error):
                raise StoreUnavailable(self._unreachable_message(error)) from None
            raise

    @property
    def may_write(self) -> bool:
        return self.lock is not None

    # ---- PostgreSQL --------------------------------------------------------------------------

    def _unreachable_message(self, error: Exception) -> str:
        from psycopg.conninfo import conninfo_to_dict

        try:
            where = conninfo_to_dict(self.url)
            place = f"{where.get('host', 'localhost')}:{where.get('port', 5432)}/{where.get('dbname', '')}"
        except Exception:
            place = "STUDYCHAT_DATABASE_URL"
        return f"the PostgreSQL database at {place} cannot be reached ({reason(error)})"

    @contextlib.contextmanager
    def _connection(self) -> Iterator:
        """A pooled connection (autocommit); a lost database becomes `StoreUnavailable`."""
        try:
            with self.pool.connection() as connection:
                yield connection
        except StoreError:
            raise
        except Exception as error:
            if _unreachable(error):
                raise StoreUnavailable(self._unreachable_message(error)) from None
            raise

    def _query(self, sql: str, params: object = None) -> list[tuple]:
        with self._connection() as connection:
            return connection.execute(sql, params).fetchall()

    def _create_tables(self, reset: bool) -> None:
        with self._connection() as connection, connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            connection.execute(SCHEMA)
            if reset:
                connection.execute("DELETE FROM meta")
            stored = dict(connection.execute("SELECT key, value FROM meta").fetchall())
            if not stored:
                connection.cursor().executemany(
                    "INSERT INTO meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                    list(build_signature(self.settings).items()),
                )
                return
        what = signature_difference(self.settings, stored)
        if what:
            raise IndexMismatch(
                f"the index in PostgreSQL (STUDYCHAT_DATABASE_URL) was built differently: {what}. "
                "Rebuild it with `python -m ingest --reset`, or go back to the settings it was built with."
            )

    def ping(self) -> None:
        self._query("SELECT 1")
        super().ping()

    # ---- reading -----------------------------------------------------------------------------

    def documents(self) -> list[DocumentRecord]:
        return [_record(r) for r in self._query(f"SELECT {DOCUMENT_COLUMNS} FROM documents ORDER BY added_at DESC, id")]

    def document(self, document_id: str) -> DocumentRecord | None:
        rows = self._query(f"SELECT {DOCUMENT_COLUMNS} FROM documents WHERE id = %s", (document_id,))
        return _record(rows[0]) if rows else None

    def counts(self) -> tuple[int, int]:
        row = self._query("SELECT (SELECT COUNT(*) FROM documents), (SELECT chunks FROM totals)")[0]
        return int(row[0]), int(row[1])

    def passages(self, chunk_ids: list[str]) -> dict[str, Passage]:
        if not chunk_ids:
            return {}
        rows = self._query(
            """SELECT c.id, c.document_id, c.text, c.start, c.page, c.flagged, d.title, d.source, d.date
               FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id = ANY(%s)""",
            (list(chunk_ids),),
        )
        return {
            r[0]: Passage(
                chunk_id=r[0],
                document_id=r[1],
                text=r[2],
                start=r[3],
                page=r[4],
                flagged=bool(r[5]),
                title=r[6],
                source=r[7],
                date=r[8],
            )
            for r in rows
        }

    def load_sentences(self, passages: Iterable[Passage]) -> None:
        by_id = {p.chunk_id: p for p in passages}
        if not by_id:
            return
        rows = self._query("SELECT chunk_id, spans, vectors FROM sentences WHERE chunk_id = ANY(%s)", (list(by_id),))
        for chunk_id, spans, vectors in rows:
            fill_sentences(by_id[chunk_id], spans, bytes(vectors))

    def chunk_ids(self, document_id: str) -> list[str]:
        return [
            r[0] for r in self._query("SELECT id FROM chunks WHERE document_id = %s ORDER BY start", (document_id,))
        ]

    def neighbours(self, passages: Iterable[Passage]) -> dict[str, tuple[Passage | None, Passage | None]]:
        wanted = [p.chunk_id for p in passages]
        if not wanted:
            return {}
        rows = self._query(
            """SELECT c.id,
                 (SELECT b.id FROM chunks b WHERE b.document_id = c.document_id AND b.start < c.start
                  ORDER BY b.start DESC LIMIT 1),
                 (SELECT a.id FROM chunks a WHERE a.document_id = c.document_id AND a.start > c.start
                  ORDER BY a.start LIMIT 1)
               FROM chunks c WHERE c.id = ANY(%s)""",
            (wanted,),
        )
        found = self.passages([i for row in rows for i in row[1:] if i])
        return {row[0]: (found.get(row[1]), found.get(row[2])) for row in rows}

    def _phrases(self, words: list[str]) -> list[list[str]]:
        """Each word's terms, as FTS5 reads a quoted word of a MATCH expression."""
        return [t for t in self.tokenizer.tokens(list(dict.fromkeys(words))) if t]

    def _bm25(self, words: list[str], k: int, document_ids: list[str] | None, every: bool) -> list[tuple[str, float]]:
        # A word the tokenizer splits ("covid_19") counts by each of its terms here, where FTS5
        # matches it as a phrase: rare, and its terms are in the chunk either way.
        phrases = self._phrases(words)
        if not phrases:
            return []
        weight = Counter(term for phrase in phrases for term in phrase)
        terms = sorted(weight)
        with self._connection() as connection:
            total, tokens = connection.execute("SELECT chunks, tokens FROM totals").fetchone()
            if not total:
                return []
            found = dict(
                connection.execute(
                    "SELECT term, COUNT(*) FROM postings WHERE term = ANY(%s) GROUP BY term", (terms,)
                ).fetchall()
            )
            if every and len(found) < len(terms):
                return []
            # FTS5: idf = ln((N - n + 0.5) / (n + 0.5)), at least 1e-6; a repeated term counts each time.
            idf = [
                max(math.log((total - found.get(t, 0) + 0.5) / (found.get(t, 0) + 0.5)), 1e-6) * weight[t]
                for t in terms
            ]
            where = "WHERE c.document_id = ANY(%(documents)s)" if document_ids else ""
            having = "HAVING COUNT(*) = %(terms_count)s" if every else ""
            rows = connection.execute(
                f"""SELECT c.id, SUM(q.idf * p.count * {K1 + 1}
                                     / (p.count + {K1} * ({1 - B} + {B} * c.length / %(average)s))) AS score
                    FROM unnest(%(terms)s::text[], %(idf)s::float8[]) AS q(term, idf)
                    JOIN postings p ON p.term = q.term COLLATE "C"
                    JOIN chunks c ON c.rowid = p.chunk
                    {where}
                    GROUP BY c.rowid {having}
                    ORDER BY score DESC, c.rowid LIMIT %(k)s""",
                {
                    "terms": terms,
                    "idf": [float(x) for x in idf],
                    "average": tokens / total,
                    "documents": list(document_ids or []),
                    "terms_count": len(terms),
                    "k": k,
                },
            ).fetchall()
        return [(r[0], float(r[1])) for r in rows]

    def documents_with(self, words: str, document_ids: list[str]) -> set[str]:
        from studychat.text import content_words

        terms = sorted({t for phrase in self._phrases(content_words(words)) for t in phrase})
        if not terms or not document_ids:
            return set()
        rows = self._query(
            """SELECT DISTINCT document_id FROM (
                 SELECT c.document_id FROM chunks c JOIN postings p ON p.chunk = c.rowid
                 WHERE c.document_id = ANY(%s) AND p.term = ANY(%s)
                 GROUP BY c.rowid, c.document_id HAVING COUNT(*) = %s) held""",
            (list(document_ids), terms, len(terms)),
        )
        return {r[0] for r in rows}

    def terms_like(self, term: str) -> list[str]:
        if len(term) < 2:
            return []
        prefix = term[:2]
        rows = self._query(
            """SELECT DISTINCT term FROM postings WHERE term >= %s AND term < %s
               AND length(term) BETWEEN %s AND %s ORDER BY term""",
            (prefix, prefix[0] + chr(ord(prefix[1]) + 1), len(term) - 1, len(term) + 1),
        )
        return [r[0] for r in rows]

    def document_frequencies(self, terms: Iterable[str]) -> tuple[dict[str, int], int]:
        terms = list(dict.fromkeys(terms))
        with self._connection() as connection:
            total = connection.execute("SELECT chunks FROM totals").fetchone()[0]
            rows = connection.execute(
                "SELECT term, COUNT(*) FROM postings WHERE term = ANY(%s) GROUP BY term", (terms,)
            ).fetchall()
        found = {r[0]: int(r[1]) for r in rows}
        return {t: found[t] for t in terms if t in found}, int(total)

    # ---- the one writer ----------------------------------------------------------------------

    def _become_writer(self) -> None:
        """Hold the writer's advisory lock on a connection of this store's own (taking it when the
        writer before has gone), or raise `StoreLocked` naming the server that holds it."""
        import psycopg

        if self.lock is not None:
            try:
                self.lock.execute("SELECT 1")
                return
            except psycopg.Error:  # the database restarted: the lock went with the session
                with contextlib.suppress(Exception):
                    self.lock.close()
                self.lock = None
        owner = f"{self.writer} at http://{self.settings.host}:{self.settings.port} on {socket.gethostname()}"
        try:
            connection = psycopg.connect(
                self.url,
                autocommit=True,
                connect_timeout=max(1, round(self.settings.database_timeout)),
                application_name=f"studychat writer: {owner}"[:63],
            )
        except psycopg.Error as error:
            raise StoreUnavailable(self._unreachable_message(error)) from None
        taken = connection.execute("SELECT pg_try_advisory_lock(%s)", (WRITER_LOCK,)).fetchone()[0]
        if not taken:
            holder = connection.execute(
                """SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                   WHERE l.locktype = 'advisory' AND l.granted AND l.database = a.datid
                   AND (l.classid::bigint << 32) | l.objid::bigint = %s""",
                (WRITER_LOCK,),
            ).fetchone()
            connection.close()
            who = holder[0].removeprefix("studychat writer: ") if holder and holder[0] else "another process"
            raise StoreLocked(
                f"documents of this shared store are added by its writer, {who}. "
                "Add documents there (its Documents tab or POST /api/documents); this server takes over "
                "writing when that one stops."
            )
        self.lock = connection
        self.recover()  # the writer before may have died half-way through a write
        if self._vectors is not None:
            self._search_breadth()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator:
        """A transaction on the writer's own connection: a writer that lost its lock cannot commit."""
        import psycopg

        try:
            with self.lock.transaction():
                yield self.lock
        except psycopg.Error as error:
            if _unreachable(error):
                raise StoreUnavailable(self._unreachable_message(error)) from None
            raise

    def _pending(self) -> list[str]:
        return [r[0] for r in self._query("SELECT id FROM pending")]

    def _mark_pending(self, ids: Iterable[str]) -> None:
        with self._transaction() as db:
            db.cursor().executemany("INSERT INTO pending VALUES (%s) ON CONFLICT DO NOTHING", [(i,) for i in ids])

    def _clear_pending(self) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM pending")

    def _swap_rows(
        self, document: Document, chunks: list[Chunk], stale: list[str], sentences: dict[str, np.ndarray]
    ) -> None:
        now = time.time()
        tokens = self.tokenizer.tokens([c.text for c in chunks])
        with self._transaction() as db:
            cursor = db.cursor()
            added = db.execute("SELECT added_at FROM documents WHERE id = %s", (document.id,)).fetchone()
            gone = db.execute("DELETE FROM chunks WHERE document_id = %s RETURNING length", (document.id,)).fetchall()
            rowids = []
            for c, terms in zip(chunks, tokens, strict=True):
                rowids.append(
                    db.execute(
                        'INSERT INTO chunks (id, document_id, text, start, "end", page, flagged, length) '
                        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING rowid",
                        (c.id, c.document_id, c.text, c.start, c.end, c.page, c.flagged, len(terms)),
                    ).fetchone()[0]
                )
            cursor.executemany(
                "INSERT INTO postings VALUES (%s, %s, %s)",
                [(t, rowid, n) for rowid, terms in zip(rowids, tokens, strict=True) for t, n in Counter(terms).items()],
            )
            db.execute(
                "UPDATE totals SET chunks = chunks + %s, tokens = tokens + %s",
                (len(chunks) - len(gone), sum(map(len, tokens)) - sum(r[0] for r in gone)),
            )
            cursor.executemany(
                "INSERT INTO sentences VALUES (%s, %s, %s) ON CONFLICT (chunk_id) DO UPDATE "
                "SET spans = EXCLUDED.spans, vectors = EXCLUDED.vectors",
                [
                    (c.id, json.dumps(c.sentences), sentences[c.id].astype(np.float16).tobytes())
                    for c in chunks
                    if c.id in sentences
                ],
            )
            db.execute("DELETE FROM sentences WHERE chunk_id = ANY(%s)", (list(stale),))
            row = document_row(document, len(chunks), added[0] if added else now, now)
            db.execute(
                f"INSERT INTO documents ({DOCUMENT_COLUMNS}) VALUES ({', '.join(['%s'] * len(row))}) "
                "ON CONFLICT (id) DO UPDATE SET "
                + ", ".join(f"{c} = EXCLUDED.{c}" for c in DOCUMENT_COLUMNS.split(", ")[1:]),
                row,
            )

    def _delete_rows(self, document_id: str, ids: list[str]) -> bool:
        with self._transaction() as db:
            db.cursor().executemany("INSERT INTO pending VALUES (%s) ON CONFLICT DO NOTHING", [(i,) for i in ids])
            gone = db.execute("DELETE FROM documents WHERE id = %s", (document_id,)).rowcount
            db.execute("DELETE FROM sentences WHERE chunk_id = ANY(%s)", (list(ids),))
            lengths = db.execute(
                "DELETE FROM chunks WHERE document_id = %s RETURNING length", (document_id,)
            ).fetchall()
            db.execute(
                "UPDATE totals SET chunks = chunks - %s, tokens = tokens - %s",
                (len(lengths), sum(r[0] for r in lengths)),
            )
        return bool(gone)

    def _reset_rows(self) -> None:
        with self._transaction() as db:
            db.execute("TRUNCATE documents, chunks, postings, sentences, pending, meta")
            db.execute("UPDATE totals SET chunks = 0, tokens = 0")
            db.cursor().executemany("INSERT INTO meta VALUES (%s, %s)", list(build_signature(self.settings).items()))

    def close(self) -> None:
        if self.lock is not None:
            with contextlib.suppress(Exception):
                self.lock.close()  # ends the session, and with it the writer's lock
            self.lock = None
        with contextlib.suppress(Exception):
            self.pool.close(timeout=2)


DOCUMENT_COLUMNS = "id, path, title, source, date, doi, authors, content_hash, chunks, added_at, updated_at"


def _record(row: tuple) -> DocumentRecord:
    data = dict(zip(DOCUMENT_COLUMNS.split(", "), row, strict=True))
    data["authors"] = json.loads(data["authors"])
    return DocumentRecord(**data)


def _unreachable(error: BaseException) -> bool:
    """Whether an error means the database cannot be reached (down, restarting, too busy)."""
    import psycopg
    from psycopg_pool import PoolTimeout

    if isinstance(error, PoolTimeout | psycopg.OperationalError):
        return True
    return isinstance(error, psycopg.errors.AdminShutdown | psycopg.errors.CannotConnectNow)
