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
import time
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
# A saved upload's name in bytes: file systems allow 255 (ext4, xfs, btrfs); the rest leaves room.
MAX_NAME_BYTES = 200
REPLACE_HINT = "upload it again with replace"  # how to replace; the API and the UI pass their own words


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


@dataclass
class Progress:
    """How far an ingest has got, for a progress bar: files read, then chunks embedded.

    Reading (load, clean, chunk) is about 1 % of the time on real papers and embedding the rest, so
    the time left is the embedding rate so far times the chunks still to embed (while files are
    still being read, the reading rate times the files left). `result` is set when a file is done.
    """

    files: int = 0
    files_read: int = 0
    chunks: int = 0  # chunks to embed, known once every file is read
    chunks_done: int = 0
    stage: str = "reading"  # "reading", "embedding" or "done"
    current: list[str] = field(default_factory=list)  # names of the files being read or embedded
    result: FileResult | None = None
    started: float = field(default_factory=time.perf_counter)
    embedding_started: float | None = None

    def seconds_left(self) -> float | None:
        """Estimated seconds until the ingest is done; None until there is a rate to go by."""
        now = time.perf_counter()
        if self.stage == "reading" and self.files_read:
            return (now - self.started) / self.files_read * (self.files - self.files_read)
        if self.stage == "embedding" and self.chunks_done and self.embedding_started is not None:
            return (now - self.embedding_started) / self.chunks_done * (self.chunks - self.chunks_done)
        return 0.0 if self.stage == "done" else None

    def fraction(self) -> float:
        """0 to 1 over the whole ingest, reading counted as its first 1 %."""
        if self.stage == "done":
            return 1.0
        if self.stage == "reading":
            return 0.01 * self.files_read / max(self.files, 1)
        return 0.01 + 0.99 * self.chunks_done / max(self.chunks, 1)

    def describe(self) -> str:
        """One line for a person: "embedding a.pdf, b.txt: 120 of 480 chunks, 9 of 12 files done,
        about 1 min left"."""
        names = ", ".join(self.current[:3]) + (f" and {len(self.current) - 3} more" if len(self.current) > 3 else "")
        if self.stage == "reading":
            what = f"reading {names or 'files'}: {self.files_read} of {self.files} files"
        elif self.stage == "embedding":
            what = f"embedding {names}: {self.chunks_done} of {self.chunks} chunks"
        else:
            what = f"done: {self.files} files, {self.chunks} chunks embedded"
        left = self.seconds_left()
        return what if left is None or self.stage == "done" else f"{what}, {duration(left)} left"


def duration(seconds: float) -> str:
    """ "about 40 s", "about 3 min", "about 2 h 5 min": a time left to the precision it has."""
    if seconds < 60:
        return f"about {max(1, round(seconds))} s"
    if seconds < 3600:
        return f"about {round(seconds / 60)} min"
    return f"about {int(seconds // 3600)} h {round(seconds % 3600 / 60)} min"


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
    ext = shorten(ext.lower(), 16)
    stem = shorten(stem[:100], MAX_NAME_BYTES - 1 - len(ext.encode())).strip(" .") or "upload"
    return f"{stem}.{ext}" if ext else stem


def shorten(text: str, max_bytes: int) -> str:
    """`text` cut to at most `max_bytes` bytes of UTF-8, at a character boundary."""
    return text.encode("utf-8")[:max_bytes].decode("utf-8", "ignore")


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
    raw = load(path, data, settings.max_upload_bytes, settings.tesseract, settings=settings)
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
    progress: Callable[[Progress], None] | None = None,
) -> Report:
    """Bring the store up to date with these files and folders.

    `progress(Progress)` is called as each file is read, as chunks are embedded and as each file
    is stored (with `Progress.result`).
    """
    files, skipped = discover(paths)
    report = Report(results=list(skipped))
    state = Progress(files=len(files))
    tell = progress or (lambda _: None)
    for result in skipped:
        state.result = result
        tell(state)
    state.result = None
    todo: list[tuple[Document, list[Chunk], str, list[str]]] = []
    for path in files:
        state.current = [path.name]
        tell(state)
        result, item = _read_file(store, settings, path)
        state.files_read += 1
        if item:
            todo.append(item)
        else:
            report.results.append(result)
            state.result = result
            tell(state)
            state.result = None
    state.chunks = sum(len(item[1]) for item in todo)
    state.stage, state.embedding_started = "embedding", time.perf_counter()
    report.embedded, stored = _store_groups(store, todo, state, tell)
    report.results += stored
    state.stage, state.current = "done", []
    tell(state)
    return report


def _read_file(store: Store, settings: Settings, path: Path) -> tuple[FileResult | None, tuple | None]:
    """(what happened, None) for a file skipped or unchanged, else (None, (document, chunks, status,
    notes))."""
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
            return FileResult(str(path), "unchanged", doc_id, known.title, known.chunks), None
        document = read_document(path, settings, data, doc_id, notes)
    except (LoadError, OSError) as error:
        return FileResult(str(path), "skipped", doc_id, reason=_reason(error)), None
    chunks = chunk_document(document, settings.chunk_size, settings.chunk_overlap)
    return None, (document, chunks, "updated" if known else "added", notes)


def _store_groups(
    store: Store,
    todo: list[tuple[Document, list[Chunk], str, list[str]]],
    state: Progress,
    tell: Callable[[Progress], None],
    name: Callable[[Document], str] = lambda d: d.path,
) -> tuple[int, list[FileResult]]:
    """Embed and store the documents read, in groups: (chunks embedded, what happened to each)."""

    def step(n: int) -> None:
        state.chunks_done += n
        tell(state)

    embedded, results = 0, []
    # Documents go to the store in groups, so that the chunks of many small documents are embedded
    # in full batches; each document is still switched in on its own (see `Store.put_documents`).
    group: list[tuple[Document, list[Chunk], str, list[str]]] = []
    for i, item in enumerate(todo):
        group.append(item)
        if sum(len(chunks) for _, chunks, _, _ in group) < GROUP_CHUNKS and i < len(todo) - 1:
            continue
        state.current = [Path(d.path).name for d, *_ in group]
        tell(state)
        done_before = state.chunks_done
        embedded += store.put_documents([(d, c) for d, c, *_ in group], progress=step)
        state.chunks_done = done_before + sum(len(c) for _, c, *_ in group)  # unchanged chunks are not embedded
        for document, chunks, status, notes in group:
            result = FileResult(name(document), status, document.id, document.title, len(chunks), notes=notes)
            results.append(result)
            state.result = result
            tell(state)
        state.result = None
        group = []
    return embedded, results


def add_upload(store: Store, settings: Settings, filename: str, data: bytes, *, replace: bool = False) -> FileResult:
    """`add_uploads` of one file."""
    return add_uploads(store, settings, [(filename, data)], replace=replace)[0]


def add_uploads(
    store: Store,
    settings: Settings,
    uploads: list[tuple[str, bytes]],
    progress: Callable[[Progress], None] | None = None,
    *,
    replace: bool = False,
    replace_hint: str = REPLACE_HINT,
) -> list[FileResult]:
    """Check uploaded files (name, bytes), save the readable ones into the corpus folder and index
    them together; one result per upload, in order. `progress` as for `ingest_paths`.

    Each file is read before it is saved, so a bad upload neither lands in the corpus nor
    replaces a good file of the same name; of two uploads with the same name, the last is kept.
    A file whose name a document in the index already has replaces it only with `replace`;
    otherwise its result is "exists", with a reason that ends in `replace_hint` (how the caller's
    user asks to replace). The same content again is "unchanged".
    """
    state = Progress(files=len(uploads))
    tell = progress or (lambda _: None)
    results: list[FileResult | None] = [None] * len(uploads)
    todo: dict[str, tuple[int, Document, list[Chunk], str, list[str]]] = {}
    for i, (filename, data) in enumerate(uploads):
        name = safe_filename(filename)
        state.current = [name]
        tell(state)
        target = Path(settings.corpus) / name
        doc_id = document_id(target, settings.corpus)
        state.files_read += 1
        notes: list[str] = []
        try:
            document = read_document(target, settings, data, doc_id, notes)
        except LoadError as error:
            results[i] = FileResult(name, "skipped", doc_id, reason=str(error))
            continue
        known = store.document(doc_id)
        if known and known.content_hash == document.content_hash:
            results[i] = FileResult(name, "unchanged", doc_id, known.title, known.chunks)
            continue
        # Only a document in the index is protected: a file left by an upload whose indexing failed
        # (the store was unreachable) is taken over by the next upload of that name.
        if not replace and doc_id not in todo and known:
            reason = f"a document “{known.title}” with this name is already in the index; to replace it, {replace_hint}"
            results[i] = FileResult(name, "exists", doc_id, known.title, reason=reason)
            continue
        try:
            save(target, data)
        except OSError as error:
            results[i] = FileResult(name, "skipped", doc_id, reason=f"could not be saved: {_reason(error)}")
            continue
        if doc_id in todo:  # the same name twice: the earlier file is replaced, as on disk
            earlier = todo.pop(doc_id)[0]
            results[earlier] = FileResult(name, "skipped", doc_id, reason="replaced by a later file of the same name")
        chunks = chunk_document(document, settings.chunk_size, settings.chunk_overlap)
        todo[doc_id] = (i, document, chunks, "updated" if known else "added", notes)
    state.chunks = sum(len(item[2]) for item in todo.values())
    state.stage, state.embedding_started = "embedding", time.perf_counter()
    order = {doc_id: i for doc_id, (i, *_) in todo.items()}
    _, stored = _store_groups(store, [item for _, *item in todo.values()], state, tell, lambda d: Path(d.path).name)
    for result in stored:
        results[order[result.document_id]] = result
    state.stage, state.current = "done", []
    tell(state)
    return [r for r in results if r is not None]


def save(target: Path, data: bytes) -> None:
    """Write `data` to `target` at once (a temporary file renamed over it); on any failure the
    temporary file is removed and `target` is as it was."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=target.parent, prefix=".upload-", delete=False)
    try:
        with handle:
            handle.write(data)
        os.replace(handle.name, target)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


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
