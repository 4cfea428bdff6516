"""Crash-safe ingest: `python -m ingest` killed with SIGKILL at random moments loses nothing.

A clean run on the final corpus is the reference. Then the same corpus is ingested by runs that
are killed (model load, embedding, Chroma writes, the SQLite swap), with some files edited before
each run so that every run has writing to do, and a last run to completion. Afterwards the store
must equal the reference: every document once, the same chunks, Chroma holding exactly the
chunks SQLite lists, and questions answered.
"""

from __future__ import annotations

import contextlib
import random
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from conftest import PYTHON, ROOT, corpus_texts, run_ingest, stop, study_env, write_corpus

from chat.chain import Chain
from ingest import pipeline
from studychat.settings import Settings
from studychat.store import open_store

DOCUMENTS = 300
DOC_SIZE = 400  # characters of prose per document: one or two paragraphs, one or two chunks
TRIALS = 12
EDITED_PER_TRIAL = 12
SEED = 20240607


def _changed_since(db: Path, since: float) -> int:
    """Documents written after `since`, read from the manifest without disturbing the writer."""
    path = db / "studychat.sqlite3"
    if not path.exists():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)) as conn:
            return conn.execute("SELECT COUNT(*) FROM documents WHERE updated_at > ?", (since,)).fetchone()[0]
    except sqlite3.Error:
        return 0


def _run_killed(env: dict, db: Path, *, after_docs: int | None, after_seconds: float, extra: float) -> str:
    """Start an ingest and SIGKILL it once `after_docs` documents are written (or `after_seconds`
    passed, for kills during start-up), plus `extra` seconds. Returns what happened."""
    started = time.time()
    process = subprocess.Popen(
        [PYTHON, "-m", "ingest"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        while process.poll() is None:
            elapsed = time.time() - started
            written = _changed_since(db, started)
            if (after_docs is not None and written >= after_docs) or (after_docs is None and elapsed >= after_seconds):
                time.sleep(extra)
                if process.poll() is None:
                    process.send_signal(signal.SIGKILL)
                    process.wait(30)
                    return f"killed after {time.time() - started:.1f}s, {_changed_since(db, started)} documents written"
            if elapsed > 600:
                raise AssertionError("ingest ran for 10 minutes without being killed")
            time.sleep(0.05)
        out, err = process.communicate()
        assert process.returncode == 0, err
        return "completed before the kill"
    finally:
        stop(process, signal.SIGKILL)
        for pipe in (process.stdout, process.stderr):
            if pipe:
                pipe.close()


def _check_consistent(db: Path) -> tuple[int, int]:
    """What any reader sees right after a kill: every listed document with all its chunks, and no
    chunk of a document that is not listed. Returns (documents, chunks)."""
    if not (db / "studychat.sqlite3").exists():  # killed before the store was created
        return 0, 0
    with contextlib.closing(sqlite3.connect(db / "studychat.sqlite3")) as conn:
        orphans = conn.execute("SELECT COUNT(*) FROM chunks WHERE document_id NOT IN (SELECT id FROM documents)")
        assert orphans.fetchone()[0] == 0
        wrong = conn.execute(
            """SELECT d.id, d.chunks, COUNT(c.id) FROM documents d LEFT JOIN chunks c ON c.document_id = d.id
               GROUP BY d.id HAVING d.chunks != COUNT(c.id)"""
        ).fetchall()
        assert wrong == []
        conn.execute("INSERT INTO chunks_fts(chunks_fts, rank) VALUES ('integrity-check', 1)")
        return conn.execute("SELECT (SELECT COUNT(*) FROM documents), (SELECT COUNT(*) FROM chunks)").fetchone()


@pytest.mark.slow
def test_sigkill_during_ingest_loses_nothing(tmp_path: Path, embedder) -> None:
    rng = random.Random(SEED)
    original = corpus_texts(DOCUMENTS, DOC_SIZE)
    # Which files each trial edits, decided up front so the reference can be built on the final corpus.
    edits = [[]] + [rng.sample(sorted(original), EDITED_PER_TRIAL) for _ in range(TRIALS - 1)]
    final = dict(original)
    for trial, names in enumerate(edits, start=1):
        for name in names:
            final[name] = corpus_texts(DOCUMENTS, DOC_SIZE, shift=trial)[name]

    # The reference: one clean run on the final corpus, timed to place the kills.
    reference_corpus, reference_db = tmp_path / "reference" / "corpus", tmp_path / "reference" / "db"
    write_corpus(reference_corpus, final)
    started = time.monotonic()
    clean = run_ingest(study_env(reference_db, reference_corpus))
    clean_seconds = time.monotonic() - started
    assert clean.returncode == 0, clean.stderr
    reference = _check_consistent(reference_db)
    assert reference[0] == DOCUMENTS

    corpus, db = tmp_path / "crash" / "corpus", tmp_path / "crash" / "db"
    write_corpus(corpus, original)
    env = study_env(db, corpus)
    outcomes = []
    shifted_texts = {trial: corpus_texts(DOCUMENTS, DOC_SIZE, shift=trial) for trial in range(1, TRIALS + 1)}
    for trial in range(1, TRIALS + 1):
        if trial > 1:  # edits give this run writing to do: replaced chunks, stale vectors to delete
            for name in edits[trial - 1]:
                (corpus / name).write_text(shifted_texts[trial][name], encoding="utf-8")
        if trial % 4 == 1:  # start-up: imports, model load, opening and mending the store (2 s or more)
            outcome = _run_killed(env, db, after_docs=None, after_seconds=rng.uniform(0.3, 1.8), extra=0)
        else:  # embedding and writing: after some documents are in, at a random instant of the writes
            outcome = _run_killed(env, db, after_docs=rng.randint(1, 25), after_seconds=0, extra=rng.uniform(0, 0.03))
        outcomes.append(outcome)
        _check_consistent(db)
    assert {p.name: p.read_text(encoding="utf-8") for p in corpus.iterdir()} == final

    last = run_ingest(env)
    assert last.returncode == 0, last.stderr
    assert "Traceback" not in last.stderr
    print(f"clean run {clean_seconds:.0f}s; trials: " + "; ".join(outcomes))
    assert sum(o.startswith("killed") for o in outcomes) >= 10, outcomes

    documents, chunks = _check_consistent(db)
    assert (documents, chunks) == reference
    settings = Settings(db=db, corpus=corpus, _env_file=None)
    store = open_store(settings, embedder)
    try:
        records = store.documents()
        assert sorted(r.path for r in records) == sorted(str(corpus / name) for name in final)
        assert len({r.id for r in records}) == DOCUMENTS
        clean_store = open_store(Settings(db=reference_db, corpus=reference_corpus, _env_file=None), embedder)
        try:
            assert {r.id: r.chunks for r in records} == {r.id: r.chunks for r in clean_store.documents()}
        finally:
            clean_store.close()
        chunk_ids = {r[0] for r in store._query("SELECT id FROM chunks")}
        collection = store.vectors._collection
        assert collection.count() == chunks
        assert set(collection.get(include=[])["ids"]) == chunk_ids
        assert store._query("SELECT COUNT(*) FROM pending")[0][0] == 0

        answer = Chain(settings, store, embedder).answer("What is raised if base64 input is incorrectly padded?")
        assert not answer.refused, answer.text
        assert answer.citations and "binascii.Error" in answer.text
    finally:
        store.close()


@pytest.mark.slow
def test_failed_write_leaves_no_vectors_behind(tmp_path: Path, embedder) -> None:
    """A write that fails after its vectors reached Chroma (the server went away before the SQLite
    switch, a disk filled up) leaves pending ids; in a long-running process (the app) the next
    write must mend them, not forget them, or Chroma keeps vectors no document owns."""
    write_corpus(tmp_path / "corpus", corpus_texts(2, 1500))
    settings = Settings(db=tmp_path / "db", corpus=tmp_path / "corpus", _env_file=None)
    store = open_store(settings, embedder, writer="tests")
    try:
        first, second = sorted((tmp_path / "corpus").iterdir())
        document = pipeline.read_document(first, settings, first.read_bytes(), "first")
        chunks = pipeline.chunk_document(document, settings.chunk_size, settings.chunk_overlap)
        # What `put_documents` has done when the switch fails: ids pending, vectors in Chroma.
        with store._transaction() as db:
            db.executemany("INSERT INTO pending VALUES (?)", [(c.id,) for c in chunks])
        store.vectors.add_texts([c.text for c in chunks], ids=[c.id for c in chunks])
        assert store.counts() == (0, 0)

        report = pipeline.ingest_paths(store, settings, [second])
        assert report.count("added") == 1
        chunk_ids = {r[0] for r in store._query("SELECT id FROM chunks")}
        assert set(store.vectors._collection.get(include=[])["ids"]) == chunk_ids
    finally:
        store.close()
