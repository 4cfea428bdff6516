"""`python -m bench [--quick]`: ingest, answer, start, load and encoder speed, as a markdown table.

The full run writes the table into BENCHMARKS.md between the `bench:begin` and `bench:end`
markers; `--quick` (CI) only prints it unless `--out` is given.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Results, machine

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a small run for CI (about two minutes)")
    parser.add_argument("--documents", type=int, help="documents in the ingest corpus (default 2000; quick 60)")
    parser.add_argument("--sizes", help="index sizes in chunks, comma-separated (default 1000,10000,100000)")
    parser.add_argument(
        "--unique-chunks", type=int, help="most distinct chunks embedded for the indexes (default 5000; quick 300)"
    )
    parser.add_argument("--questions", type=int, help="questions asked per index (default 60; quick 12)")
    parser.add_argument("--load-seconds", type=float, help="length of the load test (default 60; quick 5)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients in the load test")
    parser.add_argument(
        "--only",
        default="ingest,answers,encoder,papers,workers",
        help="sections to run, comma-separated: ingest,answers,encoder,papers,workers",
    )
    parser.add_argument("--papers", type=int, help="covidqa papers for the papers section (default all 98; quick 4)")
    parser.add_argument("--out", type=Path, help="markdown file to write the table into (default BENCHMARKS.md)")
    args = parser.parse_args(argv)
    quick = args.quick
    args.documents = args.documents or (60 if quick else 2000)
    args.sizes = [int(s) for s in (args.sizes or ("1000" if quick else "1000,10000,100000")).split(",")]
    args.unique_chunks = args.unique_chunks or (300 if quick else 5_000)
    args.questions = args.questions or (12 if quick else 60)
    args.load_seconds = args.load_seconds or (5.0 if quick else 60.0)
    args.papers = args.papers or (4 if quick else None)
    if args.out is None and not quick:
        args.out = ROOT / "BENCHMARKS.md"
    return args


def write_table(path: Path, text: str) -> None:
    """Replace the text between the markers, keeping what is written around it by hand."""
    block = f"{BEGIN}\n{text}\n{END}"
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if BEGIN in old and END in old:
        new = old[: old.index(BEGIN)] + block + old[old.index(END) + len(END) :]
    else:
        new = (old.rstrip() + "\n\n" if old else "# Benchmarks\n\n") + block + "\n"
    path.write_text(new, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sections = set(args.only.split(","))
    started = time.perf_counter()
    results = Results()
    info = machine()
    print("machine: " + ", ".join(f"{k} {v}" for k, v in info.items()), flush=True)

    if "ingest" in sections:
        from bench.ingest_bench import bench_ingest

        bench_ingest(results, args.documents)

    if "answers" in sections:
        from bench.answers import bench_answers, questions
        from bench.indexes import build_index, index_description

        indexes = []
        for size in args.sizes:
            folder, source = build_index(size, args.unique_chunks)
            indexes.append((size, folder, source))
            results.notes.append(f"index-{size}: {index_description(size)} (at {folder})")
        asked = questions(indexes[0][2], args.questions)
        with tempfile.TemporaryDirectory(prefix="studychat-bench-") as logs:
            bench_answers(results, indexes, asked, args.load_seconds, args.clients, Path(logs))
        results.notes.append(
            f"{len(asked)} questions per index ('What does <function> do in <package>?' from the documented "
            f"names, and {min(4, len(asked))} the documents cannot answer); floor = embed the question + one "
            "Chroma top-k query in the benchmark process."
        )

    if "encoder" in sections:
        from bench.encoder import bench_encoder

        bench_encoder(results, quick=args.quick)

    if sections & {"papers", "workers"}:
        from bench.papers import bench_papers, bench_workers, papers

        with tempfile.TemporaryDirectory(prefix="studychat-papers-") as work:
            store = bench_papers(results, args.papers, Path(work))
            if "workers" in sections:
                bench_workers(results, store, papers(args.papers), args.clients, args.load_seconds)

    info["load average"] += " -> " + " ".join(f"{x:.1f}" for x in __import__("os").getloadavg())
    lines = [
        f"Run {time.strftime('%Y-%m-%d %H:%M')}{' (--quick)' if args.quick else ''}, "
        f"{time.perf_counter() - started:.0f} s. Machine: " + ", ".join(f"{k} {v}" for k, v in info.items()) + ".",
        "",
        results.table(),
        "",
        *[f"- {note}" for note in results.notes],
    ]
    text = "\n".join(lines)
    print("\n" + text)
    if args.out:
        write_table(args.out, text)
        print(f"\nwrote the table to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
