"""PDF bytes -> pages of text in reading order, without page furniture, plus the file's metadata.

pdfminer.six does the layout analysis: characters -> lines -> text boxes, boxes ordered for
reading (columns read one after the other). It was chosen by measurement over pypdf and
pypdfium2 (README, "PDF text engines"): it alone keeps a paper's author block apart from its
abstract and joins words that a PDF draws one by one. On top of it, general rules:

- each text box is a paragraph, so a heading, an affiliation or a running header is never glued
  onto a body sentence;
- a raised, smaller digit is an exponent or a footnote mark and is written as a superscript digit
  ("10⁶", "$320¹"), so it never fuses with the number before it;
- running headers and footers (short boxes at the top or bottom of a page seen on other pages
  too) are kept once, page numbers ("Page 2 of 3") not at all, and a page that repeats an earlier
  page is stored once;
- a page with no text but an image is read by OCR (`ingest.ocr`), unless no OCR engine is
  installed (then the page is not rendered at all) or the page would render to more than
  `MAX_OCR_PIXELS` (its size is known before rendering: a 685-byte PDF can claim a page of
  200 000 x 200 000 points, gigabytes as a bitmap).
"""

from __future__ import annotations

import io
import logging
import math
import re
import shutil
import statistics
from dataclasses import dataclass

from ingest.errors import LoadError
from ingest.ocr import RENDER_DPI, OcrUnavailable, read_page_image
from ingest.raw import RawDocument

SUPERSCRIPT = str.maketrans("0123456789+-−", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻")
PAGE_NUMBER = re.compile(r"^(page\s*)?[-–—]?\s*\d+\s*[-–—]?(\s*(of|/)\s*\d+)?$", re.IGNORECASE)
MARGIN = 0.1  # share of the page height at the top and bottom where running headers and footers sit
FURNITURE_WORDS = 15  # a running header or footer is at most this many words
MAX_OCR_PIXELS = 40_000_000  # an A2 page at 300 dpi is 35 million; a bitmap of 4 bytes a pixel
JUNK_TITLE = re.compile(r"^(untitled|microsoft (word|powerpoint)\b|.*\.(docx?|pdf|tex|dvi|indd|qxd)$)", re.IGNORECASE)


@dataclass
class Box:
    """One text box of a page: its text and whether it sits in the top or bottom margin."""

    text: str
    in_margin: bool


@dataclass
class PageLayout:
    """One page: its text boxes in reading order, whether it shows an image, and the size in
    points it would be rendered at for OCR."""

    boxes: list[Box]
    has_image: bool
    width: float
    height: float

    def pixels(self, dpi: float) -> float:
        return math.ceil(self.width * dpi / 72) * math.ceil(self.height * dpi / 72)


def read_pdf(data: bytes, max_pages: int, tesseract: str = "tesseract") -> RawDocument:
    """Pages of text (one entry per page; "" for a page left out) and the PDF's metadata.

    Raises `LoadError` for a PDF that needs a password, is corrupt, or has more than `max_pages`.
    """
    from pdfminer.layout import LAParams
    from pdfminer.pdfdocument import PDFDocument, PDFPasswordIncorrect
    from pdfminer.pdfparser import PDFParser
    from pdfminer.pdftypes import resolve1

    # pdfminer logs each oddity of a file it still reads; the user gets one reason per file instead
    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    try:
        document = PDFDocument(PDFParser(io.BytesIO(data)), password="")
        count = resolve1(resolve1(document.catalog.get("Pages")) or {}).get("Count", 0)
        if isinstance(count, int) and count > max_pages:
            raise LoadError(f"PDF has {count} pages, over the {max_pages}-page limit")
        pages = _layout_pages(document, LAParams(), max_pages)
        info = _info(document)
    except (LoadError, MemoryError):
        raise
    except PDFPasswordIncorrect:
        raise LoadError("PDF is encrypted with a password") from None
    except Exception as error:  # pdfminer raises many types on corrupt files
        reason = "encrypted with a password" if "password" in str(error).lower() else "corrupt or unreadable"
        raise LoadError(f"PDF is {reason} ({type(error).__name__})") from None

    raw = RawDocument(pages=[], paged=True, scraped=False)
    texts = _drop_furniture(pages)
    scanned: list[int] = []
    unread: dict[str, list[int]] = {}  # why pages were not read by OCR -> those pages
    no_engine = _missing_ocr_engine(tesseract)
    seen: dict[str, int] = {}
    for number, (text, page) in enumerate(zip(texts, pages, strict=True), start=1):
        if not text.strip() and page.has_image:  # nothing but an image (and perhaps a page number)
            if not (reason := no_engine or _too_large_to_render(page)):
                try:
                    text = read_page_image(data, number - 1, tesseract)
                    scanned.append(number)
                except OcrUnavailable as error:
                    reason = str(error)
            if reason:
                unread.setdefault(reason, []).append(number)
        key = " ".join(" ".join(b.text for b in page.boxes).split()) or " ".join(text.split())
        if key and key in seen:
            raw.notes.append(f"page {number} repeats page {seen[key]} and is stored once")
            text = ""
        elif key:
            seen[key] = number
        raw.pages.append(text)
    raw.ocr_pages = scanned
    if scanned:
        raw.notes.append(f"read by OCR: {_page_list(scanned)}")
    if unread:
        message = "; ".join(
            f"{_page_list(pages)} {'is an image' if len(pages) == 1 else 'are images'} not read: {reason}"
            for reason, pages in unread.items()
        )
        if not any(page.strip() for page in raw.pages):
            raise LoadError(f"scanned PDF with no text layer; {message}")
        raw.notes.append(message)
    title = info.get("Title", "")
    raw.title = "" if JUNK_TITLE.match(title) or len(title.split()) < 2 else title
    raw.authors = [a.strip() for a in re.split(r";|,| and ", info.get("Author", "")) if a.strip()]
    date = re.match(r"D:(\d{4})(\d{2})(\d{2})", info.get("CreationDate", ""))
    raw.date = "-".join(date.groups()) if date else ""
    return raw


def _missing_ocr_engine(tesseract: str) -> str:
    """Why no page can be read by OCR here ("" when the engine is installed): said before any
    page is rendered, since a render costs memory even when nothing can read it."""
    if shutil.which(tesseract):
        return ""
    return f"no OCR engine ({tesseract!r} not found; install Debian's tesseract-ocr)"


def _too_large_to_render(page: PageLayout) -> str:
    """Why `page` is not rendered for OCR ("" when it may be): a bitmap over `MAX_OCR_PIXELS`."""
    if page.pixels(RENDER_DPI) <= MAX_OCR_PIXELS:
        return ""
    return (
        f"too large to render for OCR ({page.width:.0f} x {page.height:.0f} points, over "
        f"{MAX_OCR_PIXELS // 1_000_000} million pixels at {RENDER_DPI} dpi)"
    )


def _page_list(numbers: list[int]) -> str:
    return ("page " if len(numbers) == 1 else "pages ") + ", ".join(map(str, numbers))


def _layout_pages(document, laparams, max_pages: int) -> list[PageLayout]:
    """Each page's text boxes in reading order, whether the page shows an image, and its size."""
    from pdfminer.converter import PDFPageAggregator
    from pdfminer.layout import LTFigure, LTImage, LTTextBox
    from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
    from pdfminer.pdfpage import PDFPage

    manager = PDFResourceManager(caching=True)
    device = PDFPageAggregator(manager, laparams=laparams)
    interpreter = PDFPageInterpreter(manager, device)
    pages = []
    for number, page in enumerate(PDFPage.create_pages(document), start=1):
        if number > max_pages:
            raise LoadError(f"PDF has over {max_pages} pages, the limit")
        interpreter.process_page(page)
        layout = device.get_result()
        height = (layout.y1 - layout.y0) or 1
        boxes, has_image = [], False
        for element in layout:
            if isinstance(element, LTTextBox):
                lines = [_line_text(line) for line in element]
                text = "\n".join(lines)
                if text.strip() and not _vertical(lines) and not _stamp(element, layout):
                    in_margin = element.y0 > layout.y1 - MARGIN * height or element.y1 < layout.y0 + MARGIN * height
                    boxes.append(Box(text.strip(), in_margin))
            elif isinstance(element, LTFigure | LTImage):
                has_image = True
        pages.append(PageLayout(boxes, has_image, *_render_size(page)))
    return pages


def _render_size(page) -> tuple[float, float]:
    """The largest width and height in points a renderer may give the page: of its media box and
    crop box, times its /UserUnit."""
    from pdfminer.pdftypes import resolve1

    unit = resolve1(page.attrs.get("UserUnit", 1))
    unit = unit if isinstance(unit, int | float) and unit > 1 else 1
    boxes = [box for box in (page.mediabox, page.cropbox) if box and len(box) == 4]
    width = max((abs(box[2] - box[0]) for box in boxes), default=0)
    height = max((abs(box[3] - box[1]) for box in boxes), default=0)
    return width * unit, height * unit


def _vertical(lines: list[str]) -> bool:
    """A box of one or two characters per line is text set sideways (an arXiv stamp in the
    margin), read a letter at a time: no sentence of the document."""
    return len(lines) >= 4 and sum(len(line.strip()) for line in lines) <= 2 * len(lines)


def _stamp(box, page, side_margin: float = 0.08) -> bool:
    """A box set at an angle (most of its letters turned: an arXiv stamp set sideways, a watermark)
    or lying wholly in the left or right margin (a stamp, line numbers): page furniture, never a
    sentence or the title of the document."""
    from pdfminer.layout import LTChar

    chars = [c for line in box for c in line if isinstance(c, LTChar) and c.get_text().strip()]
    # a letter's baseline runs along (a, b) of its matrix: turned more than about 10 degrees, or
    # upside down, the letter is set at an angle (pdfminer's `upright` misses a 45-degree watermark)
    if chars and sum(c.matrix[0] <= 0 or abs(c.matrix[1]) > 0.18 * abs(c.matrix[0]) for c in chars) > len(chars) / 2:
        return True
    width = (page.x1 - page.x0) or 1
    # `side_margin`: the share of the page width at each side where stamps and line numbers sit
    return box.x1 < page.x0 + side_margin * width or box.x0 > page.x1 - side_margin * width


def _line_text(line) -> str:
    """The text of one line, a raised smaller digit written as a superscript digit."""
    from pdfminer.layout import LTChar

    chars = [c for c in line if isinstance(c, LTChar)]
    if not chars:
        return line.get_text().rstrip("\n")
    size = statistics.median(c.size for c in chars)
    base = statistics.median(c.y0 for c in chars if c.size >= 0.9 * size) if chars else 0
    out = []
    for item in line:
        text = item.get_text()
        if (
            isinstance(item, LTChar)
            and out
            and item.size < 0.8 * size
            and item.y0 > base + 0.2 * size
            and text in "0123456789+-−"
        ):
            text = text.translate(SUPERSCRIPT)
        out.append(text)
    text = re.sub(r"\(cid:\d+\)", "\ufffd", "".join(out).rstrip("\n"))  # a glyph the font maps to no character
    return re.sub(r"(?<=\S) {2,}(?=\S)", " ", text)


def _key(text: str) -> str:
    return re.sub(r"\d+", "#", " ".join(text.split()).lower())


def _drop_furniture(pages: list[PageLayout]) -> list[str]:
    """Page texts (boxes as paragraphs) without page numbers and with running headers and footers
    kept only where first seen: a short margin box whose text, numbers aside, is in the margin of
    another page too."""
    counts: dict[str, int] = {}
    for page in pages:
        for key in {_key(b.text) for b in page.boxes if b.in_margin and len(b.text.split()) <= FURNITURE_WORDS}:
            counts[key] = counts.get(key, 0) + 1
    kept_once: set[str] = set()
    texts = []
    for page in pages:
        paragraphs = []
        for box in page.boxes:
            if box.in_margin and len(box.text.split()) <= FURNITURE_WORDS:
                if PAGE_NUMBER.match(" ".join(box.text.split())):
                    continue
                key = _key(box.text)
                if counts.get(key, 0) >= 2:
                    if key in kept_once:
                        continue
                    kept_once.add(key)
            paragraphs.append(box.text)
        texts.append("\n\n".join(paragraphs))
    return texts


def _info(document) -> dict[str, str]:
    """The document information dictionary (Title, Author, CreationDate) as text."""
    from pdfminer.pdftypes import resolve1
    from pdfminer.utils import decode_text

    found: dict[str, str] = {}
    for info in document.info or []:
        for key, value in (resolve1(info) or {}).items():
            value = resolve1(value)
            if isinstance(value, bytes):
                value = value.decode("utf-16") if value[:2] in (b"\xfe\xff", b"\xff\xfe") else decode_text(value)
            if isinstance(value, str) and value.strip():
                found.setdefault(str(key), " ".join(value.split()))
    return found
