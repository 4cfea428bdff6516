"""Answers over the same documents from each store: `python -m bench.shared_store` runs the chain
of the project's own evaluation set and of the COVID-QA benchmark once on the embedded store and
once on the shared one (a private PostgreSQL cluster and Chroma server it starts and stops), and
prints the figures side by side with their differences.

    python -m bench.shared_store [--suite own|covidqa|both] [--sample PAPERS] [--json PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import eval.covidqa as covidqa
import eval.run as own
from bench.engines import chroma_server, cluster
from studychat.embedder import build_embedder
from studychat.settings import Settings
from studychat.store import open_store

# (suite, metric key, label): the figures the two stores must agree on within 0.01.
FIGURES = [
    ("own", "answer_hit_rate", "own set: answer hit"),
    ("own", "recall@5", "own set: recall@5"),
    ("covidqa", "answer_hit", "COVID-QA: answer hit"),
    ("covidqa", "passage_recall@5", "COVID-QA: passage recall@5"),
    ("covidqa", "unrelated_declined", "COVID-QA: unrelated declined"),
    ("own", "mean_latency_ms", "own set: mean latency (ms)"),
    ("covidqa", "p50_ms", "COVID-QA: p50 latency (ms)"),
]
_names = itertools.count()


@contextlib.contextmanager
def shared_store(make_database, chroma_url: str) -> Iterator[None]:
    """Point the evaluation suites' `open_store` at a new database of the shared store (the suites
    build their own settings for the embedded store; everything else about the run is theirs)."""

    def opening(settings: Settings, embedder, **options):
        name = f"eval{next(_names)}"
        shared = settings.model_copy(
            update={"database_url": make_database(name), "chroma_url": chroma_url, "collection": name}
        )
        return open_store(shared, embedder, **options)

    saved = own.open_store, covidqa.open_store
    own.open_store = covidqa.open_store = opening
    try:
        yield
    finally:
        own.open_store, covidqa.open_store = saved


def run(suites: list[str], settings: Settings, embedder, sample: int | None) -> dict:
    """{suite: metrics} for the chain on the store the suites open."""
    found = {}
    if "own" in suites:
        found["own"] = own.evaluate(settings, embedder, ("chain",))["chain"]["metrics"]
    if "covidqa" in suites:
        if sample:
            papers, dev, unrelated = covidqa.sample(covidqa.BENCHMARKS, sample, unrelated=4 * sample)
        else:
            papers = covidqa.all_papers(covidqa.BENCHMARKS)
            dev, unrelated = covidqa.load_questions(covidqa.BENCHMARKS)
        found["covidqa"] = covidqa.evaluate(settings, embedder, papers, dev, unrelated, ("chain",))["chain"]["metrics"]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.shared_store", description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=("own", "covidqa", "both"), default="both")
    parser.add_argument("--sample", type=int, metavar="PAPERS", help="covidqa: only the first PAPERS papers")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--store",
        choices=("embedded", "shared", "both"),
        default="both",
        help="which store to run (two processes, one per store, finish sooner on a machine with spare cores)",
    )
    args = parser.parse_args(argv)
    suites = ["own", "covidqa"] if args.suite == "both" else [args.suite]
    settings = Settings()
    embedder = build_embedder(settings)
    results = {}
    if args.store != "shared":
        started = time.perf_counter()
        results["embedded"] = run(suites, settings, embedder, args.sample)
        print(f"embedded store: {time.perf_counter() - started:.0f} s", file=sys.stderr)
        write(args.json, results)
    if args.store == "embedded":
        return 0
    with tempfile.TemporaryDirectory(prefix="studychat-shared-") as tmp:
        with cluster() as engine, chroma_server(Path(tmp) / "chroma") as chroma_url:
            with shared_store(engine.create_database, chroma_url):
                started = time.perf_counter()
                results["shared"] = run(suites, settings, embedder, args.sample)
                print(f"shared store: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    write(args.json, results)
    if "embedded" not in results:
        return 0
    print(
        "| Figure | Embedded (SQLite + Chroma) | Shared (PostgreSQL + Chroma server) | Difference |\n|---|---|---|---|"
    )
    for suite, key, label in FIGURES:
        if suite in suites:
            a, b = results["embedded"][suite][key], results["shared"][suite][key]
            print(f"| {label} | {a:.3f} | {b:.3f} | {b - a:+.3f} |")
    return 0


def write(path: Path | None, results: dict) -> None:
    if path:
        path.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    sys.exit(main())
