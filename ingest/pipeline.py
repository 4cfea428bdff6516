"""Files -> the store: find files, skip what is unchanged, load, clean, chunk, embed, report.

Each document is replaced on its own (see `Store.put_document`), so a bad file or a crash never
costs what was stored before.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tempfile
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ingest.chunk import chunk_document
from ingest.clean import clean, parse_date
from ingest.load import SUPPORTED, LoadError, check_size, check_type, load
from studychat.schema import Chunk, Document
from studychat.settings import Settings
from studychat.store import Store

GROUP_CHUNKS = 512  # chunks embedded together across documents; a crash costs at most one group


@dataclass
class FileResult:
    """What happened to one file: added, updated, unchanged, skipped or removed."""

    path: str
    status: str
    document_id: str = ""
    title: str = ""
    chunks: int = 0
    reason: str = ""
    notes: list[str] = field(default_factory=list)  # e.g. the pages read by OCR

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Report:
    results: list[FileResult] = field(default_factory=list)
    embedded: int = 0

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def skipped(self) -> list[FileResult]:
        return [r for r in self.results if r.status == "skipped"]

    def summary(self) -> str:
        added = [r for r in self.results if r.status == "added"]
        return (
            f"added {len(added)} documents ({sum(r.chunks for r in added)} chunks), "
            f"updated {self.count('updated')}, unchanged {self.count('unchanged')}, "
            f"skipped {self.count('skipped')}, removed {self.count('removed')}"
        )


def document_id(path: Path, corpus: Path) -> str:
    """A stable id: the path inside the corpus folder, or the file name plus a hash of its full
    path for files elsewhere. Ids use letters, digits, '.', '_' and '-' only."""
    path = path.resolve()
    try:
        relative = path.relative_to(corpus.resolve()).as_posix()
        suffix = ""
    except ValueError:
        relative = path.name
        suffix = "-" + hashlib.sha256(str(path).encode()).hexdigest()[:8]
    slug = unicodedata.normalize("NFC", relative).lower().replace("/", "--")
    slug = re.sub(r"[^\w.-]+", "-", slug).strip("-.") or "document"
    return slug[:120] + suffix


def safe_filename(name: str) -> str:
    """The base name of an uploaded file with anything that could leave the corpus folder removed."""
    base = unicodedata.normalize("NFC", name.replace("\\", "/").split("/")[-1])
    base = re.sub(r"[^\w. -]+", "_", base).strip(" .")
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = stem[:100] or "upload"
    return f"{stem}.{ext.lower()}" if ext else stem


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[FileResult]]:
    """Expand files and folders (recursively) into files to ingest, and what is skipped and why."""
    files: list[Path] = []
    skipped: list[FileResult] = []
    for path in paths:
        if not path.exists():
            skipped.append(FileResult(str(path), "skipped", reason="no such file or directory"))
        elif path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(names):
                    file = Path(root) / name
                    if name.startswith("."):
                        skipped.append(FileResult(str(file), "skipped", reason="hidden file"))
                    elif file.suffix.lower() not in SUPPORTED:
                        skipped.append(
                            FileResult(str(file), "skipped", reason=f"unsupported file type {file.suffix or '(none)'}")
                        )
                    else:
                        files.append(file)
        else:
            files.append(path)
    return list(dict.fromkeys(files)), skipped


def read_document(path: Path, settings: Settings, data: bytes, doc_id: str, notes: list[str] | None = None) -> Document:
    """Load, clean and describe one file from its bytes; raises `LoadError` with the reason.
    What the user should know about the file (pages read by OCR) is added to `notes`."""
    raw = load(path, data, max_bytes=settings.max_upload_bytes, tesseract=settings.tesseract)
    if notes is not None:
        notes.extend(raw.notes)
    pages = raw.pages  # a PDF's running headers and page numbers are gone already (`ingest.pdf`)
    texts, page_starts, offset = [], [], 0
    meta = None
    for number, page in enumerate(pages, start=1):
        cleaned = clean(page, title_hint=raw.title, scraped=raw.scraped)
        meta = meta or cleaned
        if not cleaned.text:
            continue
        if raw.paged:
            page_starts.append((offset, number))
        texts.append(cleaned.text)
        offset += len(cleaned.text) + 2
    text = "\n\n".join(texts)
    if not text.strip():
        raise LoadError("no text left after cleaning")
    if raw.paged:  # metadata of a paged document comes from all of it, not just the first page
        meta = clean(text, title_hint=raw.title, scraped=raw.scraped)
    assert meta is not None
    title = meta.title or raw.title or path.stem.replace("_", " ").replace("-", " ")
    return Document(
        id=doc_id,
        path=str(path),
        title=title[:300],
        text=text,
        content_hash=hashlib.sha256(data).hexdigest(),
        source=raw.source or meta.source,
        date=parse_date(raw.date) or meta.date,
        doi=meta.doi,
        authors=meta.authors or raw.authors,
        page_starts=page_starts,
    )


def ingest_paths(
    store: Store,
    settings: Settings,
    paths: Iterable[Path],
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    """Bring the store up to date with these files and folders.

    `progress(done, total)` is called as chunks are embedded.
    """
    files, skipped = discover(paths)
    report = Report(results=list(skipped))
    todo: list[tuple[Document, list[Chunk], str]] = []
    notes_of: dict[str, list[str]] = {}
    for path in files:
        doc_id = ""
        notes: list[str] = []
        try:
            check_type(path)
            info = path.stat()  # before anything resolves the path: a symlink loop fails here, clearly
            if not stat.S_ISREG(info.st_mode):  # a pipe or a device would block or never end
                raise LoadError("not a regular file (a pipe, device or socket)")
            check_size(info.st_size, settings.max_upload_bytes)
            doc_id = document_id(path, settings.corpus)
            with path.open("rb") as handle:  # a file still growing is read no further than the limit
                data = handle.read(settings.max_upload_bytes + 1)
            check_size(len(data), settings.max_upload_bytes)
            known = store.document(doc_id)
            if known and known.content_hash == hashlib.sha256(data).hexdigest():
                report.results.append(FileResult(str(path), "unchanged", doc_id, known.title, known.chunks))
                continue
            document = read_document(path, settings, data, doc_id, notes)
        except (LoadError, OSError) as error:
            report.results.append(FileResult(str(path), "skipped", doc_id, reason=_reason(error)))
            continue
        chunks = chunk_document(document, settings.chunk_size, settings.chunk_overlap)
        todo.append((document, chunks, "updated" if known else "added"))
        notes_of[document.id] = notes

    total = sum(len(chunks) for _, chunks, _ in todo)
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total)

    # Documents go to the store in groups, so that the chunks of many small documents are embedded
    # in full batches; each document is still switched in on its own (see `Store.put_documents`).
    group: list[tuple[Document, list[Chunk], str]] = []
    for i, item in enumerate(todo):
        group.append(item)
        if sum(len(chunks) for _, chunks, _ in group) < GROUP_CHUNKS and i < len(todo) - 1:
            continue
        report.embedded += store.put_documents([(d, c) for d, c, _ in group], progress=step)
        for document, chunks, status in group:
            report.results.append(
                FileResult(document.path, status, document.id, document.title, len(chunks), notes=notes_of[document.id])
            )
        group = []
    return report


def add_upload(store: Store, settings: Settings, filename: str, data: bytes) -> FileResult:
    """Check an uploaded file, save it into the corpus folder and index it.

    The file is read before it is saved, so a bad upload neither lands in the corpus nor
    replaces a good file of the same name.
    """
    name = safe_filename(filename)
    target = Path(settings.corpus) / name
    doc_id = document_id(target, settings.corpus)
    notes: list[str] = []
    try:
        document = read_document(target, settings, data, doc_id, notes)
    except LoadError as error:
        return FileResult(name, "skipped", doc_id, reason=str(error))
    known = store.document(doc_id)
    if known and known.content_hash == document.content_hash:
        return FileResult(name, "unchanged", doc_id, known.title, known.chunks)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".upload-", delete=False) as handle:
        handle.write(data)
    os.replace(handle.name, target)
    chunks = chunk_document(document, settings.chunk_size, settings.chunk_overlap)
    store.put_document(document, chunks)
    return FileResult(name, "updated" if known else "added", doc_id, document.title, len(chunks), notes=notes)


def remove(store: Store, document_id: str, delete_file: bool = False) -> FileResult:
    """Remove one document from the index (and its file from the corpus folder, for uploads)."""
    record = store.document(document_id)
    if not record or not store.remove_document(document_id):
        return FileResult("", "skipped", document_id, reason=f"no document with id {document_id!r}")
    if delete_file:
        path = Path(record.path)
        corpus = Path(store.settings.corpus).resolve()
        if path.resolve().is_relative_to(corpus) and path.is_file():
            path.unlink()
    return FileResult(record.path, "removed", document_id, record.title, record.chunks)


def prune(store: Store) -> list[FileResult]:
    """Remove the documents whose files are gone."""
    return [remove(store, r.id) for r in store.documents() if not Path(r.path).exists()]


def _reason(error: Exception) -> str:
    if isinstance(error, LoadError):
        return str(error)
    if isinstance(error, PermissionError):
        return "permission denied"
    return getattr(error, "strerror", None) or type(error).__name__
