"""Answer latency, start time, memory and load, through the real app when `app.py` is there.

The floor is measured in the same run, in this process: embed the question and make one Chroma
top-k query on the same index.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
from chromadb.api.shared_system_client import SharedSystemClient

from bench.common import Results, free_port, ms, percentile, tree_memory_mb
from bench.corpus import corpus_files
from studychat.embedder import build_embedder
from studychat.settings import Settings
from studychat.store import open_store

ROOT = Path(__file__).resolve().parent.parent
UNANSWERABLE = [
    "What is the boiling point of tungsten in kelvin?",
    "Who won the football world cup in 1954?",
    "What is the recommended dose of ibuprofen for children?",
    "Which river flows through Budapest?",
]


def questions(source: Path, count: int) -> list[str]:
    """Questions a user of this corpus would ask: what a documented function or class does, and
    a few the documents cannot answer."""
    found: list[str] = []
    for path in corpus_files(source):
        text = path.read_text(encoding="utf-8")
        names = re.findall(r"^(?:Function|Class) ([\w.]+)\.$", text, re.M)
        if names:
            name = names[len(names) // 2].split(".")[-1].replace("_", " ")
            module = path.stem.split(".")[0]
            found.append(f"What does {name} do in {module}?")
        if len(found) >= count:
            break
    mixed = found[: count - len(UNANSWERABLE)] + UNANSWERABLE
    return mixed[:count]


def floor_latency(settings: Settings, asked: list[str]) -> list[float]:
    """Seconds per question for embedding it and one Chroma top-k query."""
    embedder = build_embedder(settings)
    embedder.encode(["warm up"])
    store = open_store(settings, embedder)
    try:
        store.search_dense(embedder.encode([asked[0]])[0].tolist(), settings.top_k)
        times = []
        for question in asked:
            started = time.perf_counter()
            store.search_dense(embedder.encode([question])[0].tolist(), settings.top_k)
            times.append(time.perf_counter() - started)
        return times
    finally:
        store.close()


def dense_recall(settings: Settings, asked: list[str], breadths: tuple[int, ...]) -> dict[int, tuple[float, float]]:
    """{HNSW search breadth (`ef_search`): (mean, least) share of each question's exact
    `settings.candidates` nearest chunks, by numpy over every stored vector, that Chroma's search
    returns}. A chunk as near as the exact k-th counts (copies of a text have one vector). The
    collection is left with `settings.dense_search_ef`, as the app sets it."""
    embedder = build_embedder(settings)
    queries = embedder.encode(asked)
    k = settings.candidates
    found = {}
    for breadth in (*breadths, settings.dense_search_ef):
        store = open_store(settings.model_copy(update={"dense_search_ef": breadth}), embedder, writer="bench")
        try:
            stored = store.vectors._collection.get(include=["embeddings"])
            vectors = np.asarray(stored["embeddings"], dtype=np.float32)
            shares = []
            for query in queries:
                kth = np.sort(vectors @ query)[-k]
                returned = store.search_dense(query.tolist(), k)
                shares.append(sum(similarity >= kth - 1e-5 for _, similarity in returned) / k)
            found[breadth] = (float(np.mean(shares)), min(shares))
        finally:
            store.close()
            SharedSystemClient.clear_system_cache()  # the next store loads the index with its own breadth
    return found


def chain_latency(settings: Settings, asked: list[str]) -> list[float]:
    """Seconds per question for `Chain.answer` in this process (used when there is no app.py)."""
    from chat.chain import Chain

    embedder = build_embedder(settings)
    embedder.encode(["warm up"])
    store = open_store(settings, embedder)
    try:
        chain = Chain(settings, store, embedder)
        chain.answer(asked[0])
        times = []
        for question in asked:
            started = time.perf_counter()
            chain.answer(question)
            times.append(time.perf_counter() - started)
        return times
    finally:
        store.close()


class App:
    """`python app.py` on a free loopback port, serving one index."""

    def __init__(self, settings: Settings, log: Path, **extra_env: str):
        self.port = free_port()
        env = {
            **os.environ,
            "STUDYCHAT_DB": str(settings.db),
            "STUDYCHAT_CORPUS": str(settings.corpus),
            "STUDYCHAT_PORT": str(self.port),
            "STUDYCHAT_HOST": "127.0.0.1",
            "STUDYCHAT_LLM": "",
            "GRADIO_ANALYTICS_ENABLED": "False",
            **extra_env,
        }
        env.pop("STUDYCHAT_LLM")
        self.url = f"http://127.0.0.1:{self.port}"
        self.failures: list[str] = []
        self.log = open(log, "wb")
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )

    def first_answer(self, question: str, timeout: float = 300) -> float:
        """Seconds from process start to the first answered /api/ask."""
        import httpx

        with httpx.Client(timeout=30) as client:
            while time.perf_counter() - self.started < timeout:
                if self.process.poll() is not None:
                    raise RuntimeError(f"app.py exited with {self.process.returncode}; see {self.log.name}")
                try:
                    reply = client.post(f"{self.url}/api/ask", json={"question": question})
                    if reply.status_code == 200:
                        return time.perf_counter() - self.started
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        raise TimeoutError(f"app.py gave no answer within {timeout}s")

    def ready(self, line: str, timeout: float = 300) -> None:
        """Wait until the app's output holds `line` (several processes: every one of them started)."""
        deadline = time.perf_counter() + timeout
        while line not in Path(self.log.name).read_text(errors="replace"):
            if self.process.poll() is not None or time.perf_counter() > deadline:
                raise RuntimeError(f"app.py never said {line!r}; see {self.log.name}")
            time.sleep(0.2)

    def latency(self, asked: list[str]) -> list[float]:
        import httpx

        times = []
        with httpx.Client(timeout=120) as client:
            for question in asked:
                started = time.perf_counter()
                reply = client.post(f"{self.url}/api/ask", json={"question": question})
                times.append(time.perf_counter() - started)
                reply.raise_for_status()
        return times

    def load(self, asked: list[str], clients: int, seconds: float) -> tuple[int, list[float], int]:
        """(answered, latencies, errors) of `clients` threads asking in turn for `seconds`; what
        went wrong is kept in `self.failures`."""
        import httpx

        latencies: list[float] = []
        errors = [0]
        answered = [0]
        lock = threading.Lock()
        deadline = time.perf_counter() + seconds

        def client_loop(n: int) -> None:
            with httpx.Client(timeout=60) as client:
                i = n
                while time.perf_counter() < deadline:
                    question = asked[i % len(asked)]
                    i += clients
                    started = time.perf_counter()
                    try:
                        reply = client.post(f"{self.url}/api/ask", json={"question": question})
                        ok = reply.status_code == 200
                        failure = "" if ok else f"HTTP {reply.status_code}: {reply.text[:200]}"
                    except Exception as error:
                        ok, failure = False, f"{type(error).__name__}: {error}"[:200]
                    took = time.perf_counter() - started
                    with lock:
                        if ok:
                            answered[0] += 1
                            latencies.append(took)
                        else:
                            errors[0] += 1
                            self.failures.append(f"{question!r} after {took:.1f}s: {failure}")

        threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return answered[0], latencies, errors[0]

    def memory(self) -> tuple[float, float]:
        return tree_memory_mb(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def have_app() -> bool:
    return (ROOT / "app.py").exists()


def bench_answers(
    results: Results,
    indexes: list[tuple[int, Path, Path]],
    asked: list[str],
    load_seconds: float,
    clients: int,
    log_dir: Path,
) -> None:
    """Latency at each index size; start, memory and load on the largest."""
    largest = indexes[-1][0]
    use_app = have_app()
    if not use_app:
        results.notes.append("app.py was not there: latencies are Chain.answer in process, not over HTTP.")
    for size, folder, source in indexes:
        settings = Settings(db=folder, corpus=source, _env_file=None)
        label = f"{size // 1000}k chunks"
        recall = dense_recall(settings, questions(source, 200), (100,))
        mean, least = recall[settings.dense_search_ef]
        results.add(
            "Dense search",
            f"recall@{settings.candidates} against exact search at {label} (mean / least)",
            f"{mean:.3f} / {least:.2f}",
            "{:.3f} / {:.2f}".format(*recall[100]),
            "",
            "mean >= 0.99",
            mean >= 0.99,
        )
        floor = floor_latency(settings, asked)
        target = {10_000: 0.150, 100_000: 0.300}.get(size)
        if use_app:
            app = App(settings, log_dir / f"app-{size}.log")
            try:
                start_s = app.first_answer(asked[0])
                ours = app.latency(asked)
                rss, peak = app.memory()
                if size == largest:  # many distinct questions, so that few answers come from recent vectors
                    pool = questions(source, 400)
                    answered, latencies, errors = app.load(pool, clients, load_seconds)
                    for failure in app.failures[:5]:
                        results.notes.append(f"Load error: {failure}")
            finally:
                app.stop()
        else:
            ours = chain_latency(settings, asked)
        p50, p95, f50 = percentile(ours, 50), percentile(ours, 95), percentile(floor, 50)
        results.add("Answer", f"p50 at {label}", ms(p50), ms(f50), f"{p50 / f50:.1f}x", "<= 3x floor", p50 <= 3 * f50)
        results.add(
            "Answer",
            f"p95 at {label}",
            ms(p95),
            ms(percentile(floor, 95)),
            f"{p95 / percentile(floor, 95):.1f}x",
            f"< {ms(target)}" if target else "",
            (p95 < target) if target else None,
        )
        if use_app and size == largest:
            results.add("Start", f"to first answer ({label})", f"{start_s:.1f} s", "", "", "< 10 s", start_s < 10)
            results.add(
                "Start",
                f"memory serving {label} (RSS / peak)",
                f"{rss:.0f} / {peak:.0f} MB",
                "",
                "",
                "< 1.5 GB",
                max(rss, peak) < 1536,
            )
            results.add(
                "Load",
                f"{clients} clients x {load_seconds:.0f} s ({label})",
                f"{answered / load_seconds:.1f} req/s",
                f"p50 {ms(percentile(latencies, 50))}, p95 {ms(percentile(latencies, 95))}",
                "",
                "0 errors",
                errors == 0,
            )
            results.add("Load", "errors", str(errors), "", "", "0", errors == 0)
            results.notes.append(
                f"Load: {clients} threads with one httpx client each, asking {len(pool)} distinct questions in "
                f"turn for {load_seconds:.0f} s; {answered} answered."
            )
