"""`python -m ingest [PATH ...]`: add, update, list and remove documents in the index."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from studychat.settings import Settings
from studychat.store import StoreError


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m ingest", description=__doc__)
    parser.add_argument("paths", nargs="*", type=Path, help="files or folders (default: the corpus folder)")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--list", action="store_true", help="list the documents in the index")
    action.add_argument("--remove", metavar="ID", help="remove one document by id")
    parser.add_argument("--prune", action="store_true", help="also remove documents whose files are gone")
    parser.add_argument("--reset", action="store_true", help="empty the index first, then ingest")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = Settings()
    try:
        return run(args, settings)
    except StoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; what was stored before is intact", file=sys.stderr)
        return 130


def run(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from ingest import pipeline
    from studychat.embedder import build_embedder
    from studychat.store import open_store

    started = time.perf_counter()
    embedder = build_embedder(settings)
    writer = None if args.list else "python -m ingest"  # listing only reads, so it works beside the app
    store = open_store(settings, embedder, writer=writer, reset=args.reset)
    try:
        if args.list:
            for doc in store.documents():
                print(f"{doc.id}\t{doc.chunks} chunks\t{doc.date or '-'}\t{doc.title}")
            documents, chunks = store.counts()
            print(f"{documents} documents, {chunks} chunks")
            return 0
        if args.remove:
            result = pipeline.remove(store, args.remove)
            print(f"removed {result.document_id}" if result.status == "removed" else f"error: {result.reason}")
            return 0 if result.status == "removed" else 1
        if args.reset:
            store.reset()
        bar = tqdm(total=0, unit="chunk", desc="embedding", disable=None)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        report = pipeline.ingest_paths(store, settings, args.paths or [Path(settings.corpus)], progress)
        bar.close()
        if args.prune:
            report.results += pipeline.prune(store)
        for result in report.results:
            for note in result.notes:
                print(f"{result.path}: {note}")
        for result in report.skipped:
            print(f"skipped {result.path}: {result.reason}", file=sys.stderr)
        print(f"{report.summary()} in {time.perf_counter() - started:.1f}s")
        return 1 if report.skipped else 0
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main())
