"""`python -m ingest [PATH ...]`: add, update, list and remove documents in the index."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from pydantic import ValidationError

from studychat.settings import Settings, describe_error
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
    try:
        settings = Settings()
    except ValidationError as error:
        print(f"error: {describe_error(error)}", file=sys.stderr)
        return 2
    try:
        return run(args, settings)
    except StoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; what was stored before is intact", file=sys.stderr)
        return 130


def run(args: argparse.Namespace, settings: Settings) -> int:
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
        with ProgressDisplay() as display:
            report = pipeline.ingest_paths(store, settings, args.paths or [Path(settings.corpus)], display.update)
            if args.prune:
                report.results += pipeline.prune(store)
        print(f"{report.summary()} in {time.perf_counter() - started:.1f}s")
        return 1 if report.skipped else 0
    finally:
        store.close()


class ProgressDisplay:
    """What the ingest is doing: a line per file as it is stored (stdout) or skipped (stderr, with
    the reason), and on a terminal two bars on stderr (files read, then chunks embedded) with the
    time left, from tqdm. Without a terminal the bars become a line on stdout every 10 % or 30 s,
    so a log shows it too, and stderr keeps only the files that could not be read."""

    def __init__(self, out=None, err=None):
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.live = self.err.isatty()
        self.bars: dict = {}
        self.said = (-1, 0.0)

    def __enter__(self) -> ProgressDisplay:
        return self

    def __exit__(self, *_) -> None:
        for bar in self.bars.values():
            bar.close()

    def _bar(self, stage: str, total: int, unit: str):
        from tqdm import tqdm

        if stage not in self.bars:
            self.bars[stage] = tqdm(total=total, unit=unit, desc=stage, file=self.err, dynamic_ncols=True)
        return self.bars[stage]

    def say(self, line: str, stream) -> None:
        from tqdm import tqdm

        if self.bars:
            tqdm.write(line, file=stream)  # above the bars, which are drawn again below it
        else:
            print(line, file=stream, flush=True)

    def update(self, progress) -> None:
        result = progress.result
        if result and result.status == "skipped":
            self.say(f"skipped {result.path}: {result.reason}", self.err)
        elif result and result.status != "unchanged":
            self.say(f"{result.status} {result.path} ({result.chunks} chunks)", self.out)
            for note in result.notes:  # what the reader should know, e.g. the pages read by OCR
                self.say(f"{result.path}: {note}", self.out)
        elif not result and self.live:
            self._live(progress)
        elif not result:
            self._lines(progress)

    def _live(self, progress) -> None:
        if progress.stage == "reading":
            bar = self._bar("reading", progress.files, "file")
            bar.update(progress.files_read - bar.n)
            bar.set_postfix_str(", ".join(progress.current)[:40], refresh=False)
        elif progress.stage == "embedding" and progress.chunks:
            if "reading" in self.bars:
                reading = self.bars["reading"]
                reading.update(progress.files_read - reading.n)
            bar = self._bar("embedding", progress.chunks, "chunk")
            bar.update(progress.chunks_done - bar.n)
            bar.set_postfix_str(", ".join(progress.current)[:40], refresh=False)

    def _lines(self, progress) -> None:
        if progress.stage == "done" or (progress.chunks and progress.chunks_done == progress.chunks):
            return
        step = int(progress.fraction() * 10)
        now = time.monotonic()
        if step != self.said[0] or now - self.said[1] > 30:
            self.said = (step, now)
            print(progress.describe(), file=self.out, flush=True)


if __name__ == "__main__":
    sys.exit(main())
