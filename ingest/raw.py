"""What every format's reader returns (`RawDocument`), and the text of plain-text bytes: the words
`ingest.load` and the format modules (`ingest.pdf`) share, kept here so that neither imports the other."""

from __future__ import annotations

from dataclasses import dataclass, field

from ingest.decode import decode

__all__ = ["RawDocument", "decode_text"]


@dataclass
class RawDocument:
    """What a loader found: the text (one entry per page for paged formats) and metadata."""

    pages: list[str]
    paged: bool = False
    title: str = ""
    date: str = ""
    source: str = ""
    authors: list[str] = field(default_factory=list)
    # Text scraped from the web (txt, md, html) may carry menus and banners; a PDF or DOCX does not.
    scraped: bool = True
    ocr_pages: list[int] = field(default_factory=list)  # 1-based pages read by OCR
    notes: list[str] = field(default_factory=list)  # what the user should know about this file


def decode_text(data: bytes) -> str:
    """The text of a plain-text file in whatever encoding it was saved (see `ingest.decode`)."""
    return decode(data)
