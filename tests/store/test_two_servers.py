"""Two app servers, each with its own working directory as if on two machines, share one corpus on
one PostgreSQL and one Chroma server: an upload through one is answered through the other; the
other refuses uploads while the first writes, saying where to add them; a writer killed with
SIGKILL mid-upload loses nothing and the other then takes uploads; PostgreSQL stopping gives 503
and a clear message on /healthz and /api/ask, and both recover when it is back."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from bench.engines import Cluster, chroma_server, cluster, free_port, skip_without_engines

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "corpus" / "echemi-car-t-lupus-2022.txt"
FROGS = (
    "Wood frogs survive winter frozen solid. Glucose floods their cells and keeps ice crystals outside them. "
    "In spring the frogs thaw and their hearts start beating again within hours.\n"
)
MOSS = (
    "Moss is a poor compass. It grows wherever shade and moisture allow, on any side of a tree, "
    "so hikers lost in a forest should not trust it to find north.\n"
)


def long_text(paragraphs: int = 500) -> str:
    """A long document of distinct sentences: its embedding takes long enough to be interrupted."""
    words = "river stone copper lantern orchard harbour meadow signal ledger quarry violet timber".split()
    pick = random.Random(7)
    return "\n\n".join(
        " ".join(
            f"Record {n}.{s} says the {pick.choice(words)} near the {pick.choice(words)} was {n * s}." for s in range(6)
        )
        for n in range(paragraphs)
    )


@contextlib.contextmanager
def app_server(
    machine: Path, database_url: str, chroma_url: str, wait: bool = True
) -> Iterator[tuple[str, subprocess.Popen]]:
    """`python app.py` in its own working directory (its own corpus and data folders), on a free
    port, on the shared store: (URL, process) once /healthz answers 200 (at once, without `wait`);
    stopped by its pid after."""
    corpus = machine / "corpus"
    corpus.mkdir(parents=True)
    shutil.copy(SEED, corpus)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDYCHAT_")}
    env.update(
        STUDYCHAT_CORPUS=str(corpus),
        STUDYCHAT_DB=str(machine / "data"),
        STUDYCHAT_PORT=str(port),
        STUDYCHAT_DATABASE_URL=database_url,
        STUDYCHAT_CHROMA_URL=chroma_url,
        STUDYCHAT_DATABASE_TIMEOUT="2",
        PYTHONUNBUFFERED="1",
        TOKENIZERS_PARALLELISM="false",
    )
    url = f"http://127.0.0.1:{port}"
    with open(machine / "app.log", "w") as log:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py")], cwd=machine, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        if wait:
            wait_healthy(url, process, 300)
        yield url, process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_healthy(url: str, process: subprocess.Popen | None = None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process is None or process.poll() is None, "the app server stopped while starting"
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                return
        time.sleep(0.3)
    raise TimeoutError(f"{url}/healthz did not answer 200 within {timeout} s")


def upload(url: str, name: str, text: str, timeout: float = 300, replace: bool = False) -> httpx.Response:
    return httpx.post(
        f"{url}/api/documents",
        params={"replace": "true"} if replace else None,
        files={"files": (name, text.encode(), "text/plain")},
        timeout=timeout,
    )


def ask(url: str, question: str) -> httpx.Response:
    return httpx.post(f"{url}/api/ask", json={"question": question}, timeout=120)


def cited(response: httpx.Response) -> set[str]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body["refused"], body["answer"]
    return {c["document_id"] for c in body["citations"]}


@pytest.mark.slow
def test_two_servers_share_one_corpus(tmp_path: Path) -> None:
    skip_without_engines()
    with cluster() as engine, chroma_server(tmp_path / "chroma") as chroma_url:
        database = engine.create_database("shared")
        with app_server(tmp_path / "machine-a", database, chroma_url) as (first, first_process):
            with app_server(tmp_path / "machine-b", database, chroma_url) as (second, _):
                _two_servers(engine, database, chroma_url, first, first_process, second)


def test_two_servers_started_together_on_an_empty_store_both_serve(tmp_path: Path) -> None:
    """One of them indexes the corpus as the writer; the other does not fail for want of the
    writer's role, and answers from what the writer indexed."""
    skip_without_engines()
    with cluster() as engine, chroma_server(tmp_path / "chroma") as chroma_url:
        database = engine.create_database("together")
        with (
            app_server(tmp_path / "machine-a", database, chroma_url, wait=False) as (first, first_process),
            app_server(tmp_path / "machine-b", database, chroma_url, wait=False) as (second, second_process),
        ):
            wait_healthy(first, first_process, 300)
            wait_healthy(second, second_process, 300)
            deadline = time.monotonic() + 300
            while not httpx.get(f"{second}/api/documents", timeout=30).json()["documents"]:
                assert time.monotonic() < deadline, "the writer never indexed the corpus"
                assert first_process.poll() is None and second_process.poll() is None
                time.sleep(0.5)
            for url in (first, second):
                assert SEED.name in cited(ask(url, "What side effects did the patients have?"))
            assert len(httpx.get(f"{first}/api/documents", timeout=30).json()["documents"]) == 1  # indexed once


def _two_servers(
    engine: Cluster, database: str, chroma_url: str, first: str, first_process: subprocess.Popen, second: str
) -> None:
    # An upload through one server is answered through the other.
    assert upload(first, "frogs.txt", FROGS).status_code == 201
    assert "frogs.txt" in cited(ask(second, "How do wood frogs survive being frozen in winter?"))

    # The second refuses uploads while the first writes, and says where to add them.
    refused = upload(second, "moss.txt", MOSS)
    assert refused.status_code == 503, refused.text
    assert first in refused.text and "Add documents there" in refused.text, refused.text
    assert "Traceback" not in refused.text

    # The writer is killed mid-upload (its chunks being embedded): nothing of it reaches readers.
    before = httpx.get(f"{second}/api/documents", timeout=30).json()
    health = httpx.get(f"{second}/healthz", timeout=30).json()
    errors: list[BaseException] = []

    def send_long() -> None:
        try:
            upload(first, "long.txt", long_text())
        except httpx.HTTPError as error:  # the server dies under it
            errors.append(error)

    thread = threading.Thread(target=send_long)
    thread.start()
    with psycopg.connect(database, autocommit=True) as watch:
        deadline = time.monotonic() + 120
        while not watch.execute("SELECT COUNT(*) FROM pending").fetchone()[0]:
            assert time.monotonic() < deadline, "the upload never started writing"
            time.sleep(0.02)
    os.kill(first_process.pid, signal.SIGKILL)
    first_process.wait(30)
    thread.join(60)
    assert errors, "the upload finished before the writer was killed: the test means nothing"
    assert httpx.get(f"{second}/api/documents", timeout=30).json() == before
    assert httpx.get(f"{second}/healthz", timeout=30).json() == health

    # The other server now takes uploads (it becomes the writer and mends what the first left).
    assert upload(second, "moss.txt", MOSS).status_code == 201
    assert "moss.txt" in cited(ask(second, "Can moss on trees be used as a compass to find north?"))
    with psycopg.connect(database) as connection:
        chunk_ids = {r[0] for r in connection.execute("SELECT id FROM chunks")}
        assert not connection.execute("SELECT COUNT(*) FROM pending").fetchone()[0]
    import chromadb

    port = int(chroma_url.rsplit(":", 1)[1])
    collection = chromadb.HttpClient(host="127.0.0.1", port=port).get_collection("studychat")
    assert set(collection.get(include=[])["ids"]) == chunk_ids

    # PostgreSQL stops: 503 and a message that says so, never a stack trace; then it comes back.
    engine.stop()
    try:
        started = time.monotonic()
        down = httpx.get(f"{second}/healthz", timeout=60)
        assert down.status_code == 503 and time.monotonic() - started < 30
        assert "PostgreSQL database at 127.0.0.1" in down.json()["reason"], down.text
        answer = ask(second, "How do wood frogs survive being frozen?")
        assert answer.status_code == 503, answer.text
        assert "The document store is unreachable" in answer.json()["detail"]
        for response in (down, answer):
            assert "Traceback" not in response.text and 'File "' not in response.text
    finally:
        engine.start()
    wait_healthy(second, timeout=60)
    assert "frogs.txt" in cited(ask(second, "How do wood frogs survive being frozen in winter?"))
    changed = FROGS + "They also stop breathing while frozen.\n"
    assert upload(second, "frogs.txt", changed).status_code == 409  # a taken name is replaced only when asked
    assert upload(second, "frogs.txt", changed, replace=True).status_code == 201
