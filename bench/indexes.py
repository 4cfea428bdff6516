"""Indexes of 1,000, 10,000 and 100,000 chunks, built once with the real pipeline and cached.

Documents of the docstring corpus are taken in order until the index holds the chunks asked
for. Embedding is the slow part on two cores, so at most `unique` distinct chunks are embedded:
past that budget the documents already taken are ingested again as copies (`copy-2/...`), whose
chunks have their own ids and rows but the texts, and so the vectors, of the originals. Vectors
are kept by text hash in `~/.cache/studychat-bench/vectors.sqlite3` and shared by all indexes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.corpus import CACHE, build_corpus, corpus_files
from ingest.chunk import chunk_document
from ingest.errors import LoadError
from ingest.pipeline import Progress, document_id, ingest_paths, read_document
from studychat.embedder import Embedder
from studychat.settings import Settings
from studychat.store import build_signature, open_store


class CachingEmbedder(Embedder):
    """The bundled model, with each text's vector kept on disk by the hash of the text."""

    def __init__(self, path: Path = CACHE / "vectors.sqlite3", **kwargs):
        super().__init__(**kwargs)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.cache = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.cache.execute("CREATE TABLE IF NOT EXISTS vectors (hash TEXT PRIMARY KEY, vector BLOB NOT NULL)")
        self.computed = 0

    def encode(self, texts: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        keys = [hashlib.sha256(t.encode()).hexdigest()[:32] for t in texts]
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 500):
            part = keys[start : start + 500]
            rows = self.cache.execute(
                f"SELECT hash, vector FROM vectors WHERE hash IN ({','.join('?' * len(part))})", part
            )
            found.update((k, np.frombuffer(v, dtype=np.float32)) for k, v in rows)
        missing = list(dict.fromkeys(i for i, k in enumerate(keys) if k not in found))
        if missing:
            vectors = super().encode([texts[i] for i in missing])
            self.computed += len(missing)
            self.cache.execute("BEGIN")
            for i, vector in zip(missing, vectors, strict=True):
                found[keys[i]] = vector
                self.cache.execute("INSERT OR REPLACE INTO vectors VALUES (?, ?)", (keys[i], vector.tobytes()))
            self.cache.execute("COMMIT")
        else:
            self.embedded += len(texts)
        if progress:
            progress(len(texts))
        return np.vstack([found[k] for k in keys]).astype(np.float32)


def index_settings(folder: Path, source: Path) -> Settings:
    return Settings(db=folder, corpus=source, _env_file=None)


def index_path(chunks: int) -> Path:
    return CACHE / f"index-{chunks}"


def source_documents(chunks: int, unique: int, settings: Settings) -> list[tuple[Path, str]]:
    """(original file, name inside the index's source folder) until `chunks` chunks are reached."""
    corpus = build_corpus(None)
    originals: list[tuple[Path, int]] = []
    total = 0
    for path in corpus_files(corpus):
        if total >= min(chunks, unique):
            break
        try:
            document = read_document(path, settings, path.read_bytes(), document_id(path, corpus))
        except LoadError:  # ingest skips it too (a docstring file that holds NUL bytes, say)
            continue
        count = len(chunk_document(document, settings.chunk_size, settings.chunk_overlap))
        originals.append((path, count))
        total += count
    chosen = [(p, p.name) for p, _ in originals]
    copy = 1
    while total < chunks:
        copy += 1
        for path, count in originals:
            if total >= chunks:
                break
            chosen.append((path, f"copy-{copy}/{path.name}"))
            total += count
    return chosen


def build_index(chunks: int, unique: int, say: Callable[[str], None] = print) -> tuple[Path, Path]:
    """(index folder, source folder) of an index with about `chunks` chunks, built on first use."""
    folder = index_path(chunks)
    source = CACHE / f"index-{chunks}-source"
    done = CACHE / f"index-{chunks}.complete"
    settings = index_settings(folder, source)
    signature = json.dumps(build_signature(settings), sort_keys=True)
    if done.exists() and done.read_text().splitlines()[1:] == [signature]:
        return folder, source  # built before, by this version of the store
    shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(source, ignore_errors=True)
    for path, name in source_documents(chunks, unique, settings):
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, target)
        except OSError:
            shutil.copy(path, target)
    # ONNX gives the torch vectors (cosine 1.000 to 4 places, see the encoder section), a little faster.
    embedder = CachingEmbedder(batch_size=settings.embedding_batch_size, backend="onnx")
    store = open_store(settings, embedder, writer="bench")
    started = time.perf_counter()
    last = 0.0

    def progress(state: Progress) -> None:
        nonlocal last
        if time.perf_counter() - last > 30:
            last = time.perf_counter()
            say(f"  index-{chunks}: {state.describe()}, {embedder.computed} embedded")

    try:
        ingest_paths(store, settings, [source], progress)
        documents, stored = store.counts()
    finally:
        store.close()
    done.write_text(
        f"{documents} documents, {stored} chunks, built in {time.perf_counter() - started:.0f}s\n{signature}\n"
    )
    say(f"  index-{chunks}: {documents} documents, {stored} chunks")
    return folder, source


def index_description(chunks: int) -> str:
    done = CACHE / f"index-{chunks}.complete"
    return done.read_text().splitlines()[0] if done.exists() else ""
