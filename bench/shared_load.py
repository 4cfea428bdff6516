"""The shared store under load: `python -m bench.shared_load` ingests the covidqa papers into the
embedded store and into the shared one (a private PostgreSQL cluster and Chroma server it starts
and stops), then measures answers per second and latency under 16 concurrent clients with the
embedded store in one app server, and with one and with two app servers on the shared engines
(each app server its own process and port, as on two machines; the clients take turns between
them). Prints a markdown table.

    python -m bench.shared_load [--papers N] [--seconds S] [--clients C]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.answers import App
from bench.common import ms, percentile
from bench.engines import chroma_server, cluster
from bench.papers import Clock, covidqa_questions, papers
from ingest.pipeline import ingest_paths
from studychat.embedder import Embedder
from studychat.settings import Settings
from studychat.store import open_store


def ingest(settings: Settings, embedder: Embedder, files: list[Path]) -> tuple[Clock, int]:
    """Time and chunks of `ingest_paths` of the papers into the (fresh) store the settings name."""
    store = open_store(settings, embedder, writer="bench")
    try:
        with Clock() as clock:
            report = ingest_paths(store, settings, files)
        assert not report.skipped, report.skipped[:3]
        return clock, store.counts()[1]
    finally:
        store.close()


def load(urls: list[str], asked: list[str], clients: int, seconds: float) -> tuple[int, list[float], list[str]]:
    """(answered, latencies, failures) of `clients` threads asking in turn for `seconds`, client n
    asking the server `urls[n % len(urls)]`."""
    import httpx

    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client_loop(n: int) -> None:
        url = urls[n % len(urls)]
        with httpx.Client(timeout=60) as client:
            i = n
            while time.perf_counter() < deadline:
                question = asked[i % len(asked)]
                i += clients
                started = time.perf_counter()
                try:
                    reply = client.post(f"{url}/api/ask", json={"question": question})
                    failure = "" if reply.status_code == 200 else f"HTTP {reply.status_code}: {reply.text[:200]}"
                except Exception as error:
                    failure = f"{type(error).__name__}: {error}"[:200]
                with lock:
                    if failure:
                        failures.append(failure)
                    else:
                        latencies.append(time.perf_counter() - started)

    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(latencies), latencies, failures


def serve(variant: str, apps: list[App], asked: list[str], clients: int, seconds: float) -> str:
    """One table row: start the app servers, warm them, load them, stop them."""
    try:
        for app in apps:
            app.first_answer(asked[0])
            app.latency(asked[:10])  # warm: the model's first batches and the caches
        answered, latencies, failures = load([a.url for a in apps], asked, clients, seconds)
    finally:
        for app in apps:
            app.stop()
    row = (
        f"| {variant} | {answered / seconds:.1f}/s | {ms(percentile(latencies, 50))} | "
        f"{ms(percentile(latencies, 95))} | {len(failures)} |"
    )
    print(row + (f"  first failure: {failures[0]}" if failures else ""), file=sys.stderr, flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.shared_load", description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, help="covidqa papers (default all 98)")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each load test")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients")
    args = parser.parse_args(argv)
    files = papers(args.papers)
    asked = covidqa_questions(400)
    embedder = Embedder(backend="onnx", precision="float32")
    embedder.encode(["warm up the model"])
    rows = []
    with tempfile.TemporaryDirectory(prefix="studychat-shared-load-") as tmp:
        work = Path(tmp)
        embedded = Settings(corpus=files[0].parent, db=work / "embedded", _env_file=None)
        with cluster() as engine, chroma_server(work / "chroma") as chroma_url:
            database = engine.create_database("load")
            shared = embedded.model_copy(update={"database_url": database, "chroma_url": chroma_url, "db": work / "a"})
            ingests = {}
            for name, settings in (("embedded", embedded), ("shared", shared)):
                ingests[name] = ingest(settings, embedder, files)
                print(f"ingest into the {name} store: {ingests[name][0].wall:.1f} s", file=sys.stderr, flush=True)
            del embedder  # the app servers load their own

            def app(name: str, settings: Settings, **env: str) -> App:
                return App(settings.model_copy(update={"db": work / name}), work / f"{name}.log", **env)

            shared_env = {"STUDYCHAT_DATABASE_URL": database, "STUDYCHAT_CHROMA_URL": chroma_url}
            rows.append(
                serve("embedded store, 1 app server", [app("embedded", embedded)], asked, args.clients, args.seconds)
            )
            rows.append(
                serve("shared store, 1 app server", [app("a", shared, **shared_env)], asked, args.clients, args.seconds)
            )
            rows.append(
                serve(
                    "shared store, 2 app servers",
                    [app("a", shared, **shared_env), app("b", shared, **shared_env)],
                    asked,
                    args.clients,
                    args.seconds,
                )
            )
    chunks = ingests["embedded"][1]
    print(f"\n{len(files)} papers, {chunks} chunks; {args.clients} clients x {args.seconds:.0f} s each\n")
    print("| Ingest into | wall s | CPU s of this process |\n|---|---|---|")
    for name, (clock, _) in ingests.items():
        print(f"| {name} store | {clock.wall:.1f} | {clock.cpu:.1f} |")
    print("\n| Serving | answers/s | p50 | p95 | errors |\n|---|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
