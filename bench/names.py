"""`python -m bench.names [FOLDER ...]`: how well documents are named, from the metadata step only.

Each file is loaded and cleaned as ingest does (`ingest.pipeline.read_document`), without embedding
or storing anything, and the report counts how many titles hold a URL, are a date alone or are
shorter than two words, and how many documents get authors and a date. Default folders: the
COVID-QA papers and the real files in `../shared`. `--list` prints each document's title, date and
authors too.
"""

from __future__ import annotations

import argparse
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import LoadError
from ingest.load import SUPPORTED
from ingest.pipeline import read_document
from studychat.settings import Settings

# The measure's own patterns, apart from the code it measures
URL = re.compile(r"https?://|\bwww\.", re.IGNORECASE)
MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
DATE_ONLY = re.compile(
    rf"^(?:[a-z]+day,?\s+)?(?:\d{{4}}[-/.]\d{{1,2}}[-/.]\d{{1,2}}|\d{{1,2}}[-/.]\d{{1,2}}[-/.]\d{{2,4}}"
    rf"|{MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}|\d{{1,2}}\s+{MONTH}\s+\d{{4}}|{MONTH}\s+\d{{4}})$",
    re.IGNORECASE,
)
SHARED = Path(__file__).resolve().parents[2] / "shared"
FOLDERS = [SHARED / "benchmarks" / "covidqa" / "documents", SHARED / "realfiles"]


@dataclass
class Named:
    """What the metadata step made of one file."""

    path: Path
    title: str = ""
    date: str = ""
    authors: tuple[str, ...] = ()
    skipped: str = ""


def name_files(paths: list[Path], settings: Settings) -> list[Named]:
    """Title, date and authors of each file, or the reason it was skipped."""
    out = []
    for path in paths:
        data = path.read_bytes()
        try:
            document = read_document(path, settings, data, hashlib.sha256(data).hexdigest()[:16])
        except LoadError as error:
            out.append(Named(path, skipped=str(error)))
            continue
        out.append(Named(path, document.title, document.date, tuple(document.authors)))
    return out


def summary(named: list[Named]) -> str:
    """One line: documents named, titles with a URL, titles that are a date or too short, with
    authors, with a date."""
    read = [n for n in named if not n.skipped]
    with_url = sum(bool(URL.search(n.title)) for n in read)
    date_only = sum(bool(DATE_ONLY.match(n.title.strip())) for n in read)
    short = sum(len(n.title.split()) < 2 for n in read)
    authors = sum(bool(n.authors) for n in read)
    dates = sum(bool(n.date) for n in read)
    return (
        f"{len(read)} documents ({len(named) - len(read)} skipped): title holds a URL {with_url}, "
        f"title a date alone {date_only}, title under two words {short}, with authors {authors}, with a date {dates}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.names", description=__doc__)
    parser.add_argument("folders", nargs="*", type=Path, help="folders of documents (default: ../shared's)")
    parser.add_argument("--list", action="store_true", help="print each document's title, date and authors")
    args = parser.parse_args(argv)
    settings = Settings()
    for folder in args.folders or FOLDERS:
        if not folder.is_dir():
            print(f"{folder}: not a folder, skipped")
            continue
        paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in SUPPORTED)
        named = name_files(paths, settings)
        if args.list:
            for n in named:
                what = f"skipped: {n.skipped}" if n.skipped else f"{n.title!r} | {n.date} | {'; '.join(n.authors)}"
                print(f"{n.path.name}: {what}")
        print(f"{folder.name}: {summary(named)}")


if __name__ == "__main__":
    main()
