"""File -> raw text, pages and the metadata the format itself carries. One function per format."""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from pathlib import Path

from ingest import contained
from ingest.contained import ReadLimits
from ingest.decode import decode
from ingest.errors import LoadError
from ingest.pdf import read_pdf
from ingest.raw import RawDocument, decode_text
from ingest.tables import markdown_tables, rows_to_text
from studychat.settings import Settings

__all__ = ["SUPPORTED", "LoadError", "RawDocument", "check_size", "check_type", "decode_text", "load"]

SUPPORTED = {".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx"}
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024  # a .docx larger than this when unpacked is refused
MAX_PDF_PAGES = 2000
UNZIP_PIECE = 1 << 16  # bytes inflated at a time from a .docx member


def check_size(size: int, max_bytes: int) -> None:
    """Refuse a file larger than `max_bytes` before reading it."""
    if size > max_bytes:
        raise LoadError(f"file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB limit")


def check_type(path: Path) -> None:
    """Refuse a file whose extension no loader reads."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise LoadError(f"unsupported file type {suffix or '(none)'}; StudyChat reads {', '.join(sorted(SUPPORTED))}")


def load(
    path: Path, data: bytes, max_bytes: int, tesseract: str = "tesseract", settings: Settings | None = None
) -> RawDocument:
    """Read one file's bytes by the file's extension; `tesseract` is the OCR program for
    scanned PDF pages.

    The bytes are parsed in a separate reading process (`ingest.contained`) that may take at most
    the `settings`' `read_timeout_seconds` and `read_memory_mb` (without `settings`, their
    defaults); a file that needs more is refused with a `LoadError` saying which limit.
    """
    check_type(path)
    check_size(len(data), max_bytes)
    if not data.strip():
        raise LoadError("file is empty")
    settings = settings or Settings.model_construct()  # the defaults, not the environment
    limits = ReadLimits(settings.read_timeout_seconds, settings.read_memory_mb)
    return contained.read(path.suffix.lower(), data, tesseract, limits)


def parse(suffix: str, data: bytes, tesseract: str = "tesseract") -> RawDocument:
    """The text and metadata of a file's bytes, read in this process by its `suffix` (".pdf").
    Only for a process that may fail: untrusted bytes go through `load`."""
    if suffix == ".pdf":
        raw = load_pdf(data, tesseract)
    else:
        raw = {".docx": load_docx, ".html": load_html, ".htm": load_html}.get(suffix, load_text)(data)
    if not "".join(raw.pages).strip():
        raise LoadError("no text found in the file")
    return raw


def load_text(data: bytes) -> RawDocument:
    return RawDocument(pages=[markdown_tables(decode_text(data))])


# What a reader of the page never sees: hidden elements and the page's code
HIDDEN = (
    "//script | //style | //noscript | //template | //comment() | //*[@hidden] | //*[@aria-hidden='true']"
    " | //*[contains(translate(@style, ' ', ''), 'display:none')]"
    " | //*[contains(translate(@style, ' ', ''), 'visibility:hidden')]"
)


def visible_html(html: str) -> str:
    """The page without what a reader never sees (scripts, styles, comments, hidden elements)."""
    import lxml.html

    html = re.sub(r"^\s*<\?xml[^>]*\?>", "", html)  # lxml refuses a str that declares its encoding
    if not html.strip():
        return html
    tree = lxml.html.document_fromstring(html)
    for element in tree.xpath(HIDDEN):
        if element.getparent() is not None:
            element.drop_tree()
    return lxml.html.tostring(tree, encoding="unicode")


def load_html(data: bytes) -> RawDocument:
    import trafilatura

    html = decode(data, html=True)
    try:
        found = trafilatura.bare_extraction(
            visible_html(html), with_metadata=True, include_comments=False, favor_recall=True, output_format="python"
        )
    except MemoryError:
        raise
    except Exception as error:  # trafilatura/lxml raise many types on broken markup
        raise LoadError(f"HTML could not be parsed ({type(error).__name__})") from None
    if found is None or not (found.text or "").strip():
        raise LoadError("no readable text found in the HTML")
    # trafilatura puts one block element per line (and tables as Markdown): make each a paragraph
    text = "\n\n".join(line for line in markdown_tables(found.text).splitlines() if line.strip())
    return RawDocument(
        pages=[text],
        title=found.title or "",
        date=found.date or "",
        source=found.url or "",
        authors=[a.strip() for a in (found.author or "").split(";") if a.strip()],
    )


def load_pdf(data: bytes, tesseract: str = "tesseract") -> RawDocument:
    return read_pdf(data, MAX_PDF_PAGES, tesseract)


def _docx_blocks(container) -> list[str]:
    """Paragraphs and tables of a DOCX body, header or footer, in document order; a table's rows
    as `ingest.tables` writes them, nested tables after their row."""
    from docx.table import Table

    blocks = []
    for item in container.iter_inner_content():
        if isinstance(item, Table):
            rows, nested = [], []
            for row in item.rows:
                cells, seen = [], set()
                for cell in row.cells:
                    if id(cell._tc) in seen:  # a merged cell appears once per grid column it spans
                        continue
                    seen.add(id(cell._tc))
                    cells.append(cell.text)
                    for table in cell.tables:
                        nested.append(table)
                rows.append(cells)
            blocks.append(rows_to_text(rows))
            for table in nested:
                blocks += _docx_blocks(_Only(table))
        else:
            blocks.append(item.text)
    return [b for b in blocks if b.strip()]


class _Only:
    """A container of one table, for reading a nested table like a body."""

    def __init__(self, table):
        self.table = table

    def iter_inner_content(self):
        yield self.table


def _docx_furniture(document) -> tuple[list[str], list[str]]:
    """The distinct header and footer texts of all sections: read once, not once per page."""
    headers: dict[str, None] = {}
    footers: dict[str, None] = {}
    for section in document.sections:
        for part, found in (
            (section.first_page_header, headers),
            (section.header, headers),
            (section.even_page_header, headers),
            (section.first_page_footer, footers),
            (section.footer, footers),
            (section.even_page_footer, footers),
        ):
            if part.is_linked_to_previous and found:
                continue
            for block in _docx_blocks(part):
                found.setdefault(block)
    return list(headers), list(footers)


def load_docx(data: bytes) -> RawDocument:
    import docx

    try:
        document = docx.Document(io.BytesIO(_unpacked_docx(data)))
        headers, footers = _docx_furniture(document)
        body = _docx_blocks(document)
    except (LoadError, MemoryError):
        raise
    except Exception as error:  # python-docx raises many types on broken packages
        raise LoadError(f".docx is corrupt or unreadable ({type(error).__name__})") from None
    props = document.core_properties
    return RawDocument(
        pages=["\n\n".join(headers + body + footers)],
        title=(props.title or "").strip(),
        authors=[props.author.strip()] if props.author and props.author.strip() else [],
        scraped=False,
    )


def _unpacked_docx(data: bytes) -> bytes:
    """The .docx as an uncompressed zip, each member inflated a piece at a time and its real bytes
    counted: the sizes a zip declares can lie, and `zipfile` inflates a whole member at once
    before checking them (a 250 KB file claiming 1 KB then costs hundreds of megabytes)."""
    limit = f"over the {MAX_UNZIPPED_BYTES / 1e6:.0f} MB limit"
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            declared = sum(item.file_size for item in members)
            if declared > MAX_UNZIPPED_BYTES:
                raise LoadError(f".docx unpacks to {declared / 1e6:.0f} MB, {limit}")
            out, unpacked = io.BytesIO(), 0
            with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as stored:
                for item in members:
                    if item.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                        raise LoadError(f".docx member {item.filename} uses a compression Word never writes")
                    pieces = []
                    try:
                        with archive.open(item) as member:
                            while piece := member.read(UNZIP_PIECE):
                                unpacked += len(piece)
                                if unpacked > MAX_UNZIPPED_BYTES:
                                    raise LoadError(
                                        f".docx unpacks to more than {MAX_UNZIPPED_BYTES / 1e6:.0f} MB, {limit}"
                                    )
                                pieces.append(piece)
                    except (zipfile.BadZipFile, zlib.error, EOFError):
                        raise LoadError(
                            f".docx is corrupt ({item.filename} does not match the size or checksum its zip "
                            "header declares)"
                        ) from None
                    stored.writestr(item.filename, b"".join(pieces))
    except zipfile.BadZipFile:
        raise LoadError("file is not a valid .docx (not a zip archive)") from None
    return out.getvalue()
