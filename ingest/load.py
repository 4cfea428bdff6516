"""File -> raw text, pages and the metadata the format itself carries. One function per format."""

from __future__ import annotations

import io
import logging
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

SUPPORTED = {".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx"}
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024  # a .docx larger than this when unpacked is refused
MAX_PDF_PAGES = 2000


class LoadError(Exception):
    """A file that cannot be read; the message says why in words a user understands."""


@dataclass
class RawDocument:
    """What a loader found: the text (one entry per page for paged formats) and metadata."""

    pages: list[str]
    paged: bool = False
    title: str = ""
    date: str = ""
    source: str = ""
    authors: list[str] = field(default_factory=list)


def check_size(size: int, max_bytes: int) -> None:
    """Refuse a file larger than `max_bytes` before reading it."""
    if size > max_bytes:
        raise LoadError(f"file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB limit")


def check_type(path: Path) -> None:
    """Refuse a file whose extension no loader reads."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise LoadError(f"unsupported file type {suffix or '(none)'}; StudyChat reads {', '.join(sorted(SUPPORTED))}")


def load(path: Path, data: bytes, max_bytes: int) -> RawDocument:
    """Read one file's bytes by the file's extension."""
    check_type(path)
    check_size(len(data), max_bytes)
    suffix = path.suffix.lower()
    if not data.strip():
        raise LoadError("file is empty")
    loader = {".pdf": load_pdf, ".docx": load_docx, ".html": load_html, ".htm": load_html}.get(suffix, load_text)
    raw = loader(data)
    if not "".join(raw.pages).strip():
        raise LoadError("no text found in the file")
    return raw


def decode_text(data: bytes) -> str:
    """Strict UTF-8 (with or without a byte-order mark), or UTF-16 with its byte-order mark (what
    Windows Notepad saves as "Unicode"); binary data is refused, not guessed at."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            data = data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            raise LoadError("file starts like UTF-16 text but is not valid UTF-16; save it as UTF-8") from None
    if b"\x00" in data:
        raise LoadError("file holds binary data (NUL bytes), not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise LoadError(
            f"file is not valid UTF-8 (byte 0x{data[error.start]:02x} at offset {error.start}); save it as UTF-8"
        ) from None
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > max(8, len(text) // 100):
        raise LoadError("file holds binary data (control characters), not text")
    return text


def load_text(data: bytes) -> RawDocument:
    return RawDocument(pages=[decode_text(data)])


def load_html(data: bytes) -> RawDocument:
    import trafilatura

    try:
        html = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        html = data.decode("cp1252", errors="replace")
    if "\x00" in html:
        raise LoadError("file holds binary data (NUL bytes), not HTML")
    try:
        found = trafilatura.bare_extraction(
            html, with_metadata=True, include_comments=False, favor_recall=True, output_format="python"
        )
    except Exception as error:  # trafilatura/lxml raise many types on broken markup
        raise LoadError(f"HTML could not be parsed ({type(error).__name__})") from None
    if found is None or not (found.text or "").strip():
        raise LoadError("no readable text found in the HTML")
    # trafilatura puts one block element per line: make each a paragraph
    text = "\n\n".join(line for line in found.text.splitlines() if line.strip())
    return RawDocument(
        pages=[text],
        title=found.title or "",
        date=found.date or "",
        source=found.url or "",
        authors=[a.strip() for a in (found.author or "").split(";") if a.strip()],
    )


def load_pdf(data: bytes) -> RawDocument:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    # pypdf logs each repair it tries on a broken file; the user gets one reason per file instead
    logging.getLogger("pypdf").setLevel(logging.ERROR)

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                unlocked = reader.decrypt("")
            except Exception:
                unlocked = 0
            if not unlocked:
                raise LoadError("PDF is encrypted with a password")
        if len(reader.pages) > MAX_PDF_PAGES:
            raise LoadError(f"PDF has {len(reader.pages)} pages, over the {MAX_PDF_PAGES}-page limit")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
    except LoadError:
        raise
    except (PdfReadError, Exception) as error:  # pypdf raises many types on corrupt files
        raise LoadError(f"PDF is corrupt or unreadable ({type(error).__name__})") from None
    title = str(info.title).strip() if info and info.title else ""
    author = str(info.author).strip() if info and info.author else ""
    return RawDocument(pages=pages, paged=True, title=title, authors=[author] if author else [])


def load_docx(data: bytes) -> RawDocument:
    import docx

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(item.file_size for item in archive.infolist())
    except zipfile.BadZipFile:
        raise LoadError("file is not a valid .docx (not a zip archive)") from None
    if unpacked > MAX_UNZIPPED_BYTES:
        raise LoadError(f".docx unpacks to {unpacked / 1e6:.0f} MB, over the {MAX_UNZIPPED_BYTES / 1e6:.0f} MB limit")
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as error:  # python-docx raises many types on broken packages
        raise LoadError(f".docx is corrupt or unreadable ({type(error).__name__})") from None
    paragraphs = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            paragraphs.append(" | ".join(cell.text for cell in row.cells))
    props = document.core_properties
    return RawDocument(
        pages=["\n\n".join(paragraphs)],
        title=(props.title or "").strip(),
        authors=[props.author.strip()] if props.author and props.author.strip() else [],
    )
