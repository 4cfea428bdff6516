"""One writer: a second `python -m ingest` on a store that another process is writing stops at
once with a message that says what to do, and the store stays intact."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from conftest import PYTHON, ROOT, corpus_texts, free_port, run_ingest, stop, study_env, wait_http, write_corpus


def _wait_for_lock(db: Path, process: subprocess.Popen, timeout: float = 120) -> str:
    """Wait until `process` holds the writer lock; returns the holder the lock file names."""
    lock = db / "writer.lock"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the first writer ended before the test could start the second"
        holder = lock.read_text() if lock.exists() else ""
        if holder:
            return holder
        time.sleep(0.1)
    raise TimeoutError("the first writer never took the lock")


@pytest.mark.slow
def test_second_ingest_stops_while_another_writes(tmp_path: Path) -> None:
    big, other = tmp_path / "big", tmp_path / "other"
    write_corpus(big, corpus_texts(120, 600))
    write_corpus(other, {"extra.txt": "An extra note that must not be written while another process writes.\n"})
    db = tmp_path / "db"
    env = study_env(db, big)
    log = open(tmp_path / "first.log", "w+")
    first = subprocess.Popen([PYTHON, "-m", "ingest"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        holder = _wait_for_lock(db, first)
        assert f"python -m ingest (pid {first.pid})" in holder

        started = time.monotonic()
        second = run_ingest(env, str(other), timeout=120)
        took = time.monotonic() - started
        assert first.poll() is None, "the first writer must still be running for this test to mean anything"
        assert second.returncode == 2, second.stderr
        assert "Traceback" not in second.stderr
        message = second.stderr.strip()
        assert message.startswith("error: the store at"), message
        assert f"pid {first.pid}" in message
        assert "stop it and run the command again" in message and "POST /api/documents" in message
        assert took < 60, f"the second writer took {took:.0f}s to give up"

        assert first.wait(900) == 0, log.seek(0) or log.read()
    finally:
        stop(first)
        log.close()

    # Afterwards: the first run's documents all there and consistent, nothing from the second.
    with contextlib.closing(sqlite3.connect(db / "studychat.sqlite3")) as conn:
        paths = [r[0] for r in conn.execute("SELECT path FROM documents")]
        assert len(paths) == 120 and all(p.startswith(str(big)) for p in paths)
        chunks = conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        assert conn.execute("SELECT COUNT(*) FROM pending").fetchone()[0] == 0
    listed = run_ingest(env, "--list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip().endswith(f"120 documents, {chunks} chunks")
    assert (db / "writer.lock").read_text() == ""


@pytest.mark.slow
def test_ingest_stops_while_the_app_runs(tmp_path: Path) -> None:
    corpus, db = tmp_path / "corpus", tmp_path / "db"
    write_corpus(corpus, corpus_texts(3, 600))
    port = free_port()
    env = study_env(db, corpus, STUDYCHAT_PORT=str(port))
    log = open(tmp_path / "app.log", "w+")
    app = subprocess.Popen([PYTHON, str(ROOT / "app.py")], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", timeout=300, ok=lambda status: status == 200)
        before = (db / "studychat.sqlite3").stat().st_mtime
        second = run_ingest(env, timeout=120)
        assert second.returncode == 2 and "Traceback" not in second.stderr, second.stderr
        assert f"app (pid {app.pid})" in second.stderr and "POST /api/documents" in second.stderr
        assert (db / "studychat.sqlite3").stat().st_mtime == before
        wait_http(f"http://127.0.0.1:{port}/healthz", timeout=10, ok=lambda status: status == 200)
    finally:
        stop(app)
        log.close()
    listed = run_ingest(env, "--list")
    assert listed.returncode == 0 and "\n3 documents, " in listed.stdout, listed.stdout
