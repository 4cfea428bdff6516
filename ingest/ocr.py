"""A scanned PDF page -> text, by OCR: pypdfium2 renders the page, Tesseract reads it (through
the pytesseract binding). Tesseract is a program, not a Python package: Debian's `tesseract-ocr`
(installed by `.ci/run` and the README's set-up); where it is missing, the caller says so."""

from __future__ import annotations

RENDER_DPI = 300  # Tesseract reads body text best at about 300 dots per inch
LANGUAGES = "eng"


class OcrUnavailable(Exception):
    """No OCR engine to run; the message says what to install."""


def read_page_image(data: bytes, index: int, tesseract: str = "tesseract") -> str:
    """The text Tesseract reads on page `index` (0-based) of the PDF `data`.

    `tesseract` is the command to run. Raises `OcrUnavailable` when it cannot be run.
    """
    import pypdfium2
    import pytesseract

    document = pypdfium2.PdfDocument(data, password="")
    try:
        image = document[index].render(scale=RENDER_DPI / 72).to_pil()
    finally:
        document.close()
    pytesseract.pytesseract.tesseract_cmd = tesseract
    try:
        return pytesseract.image_to_string(image, lang=LANGUAGES)
    except pytesseract.TesseractNotFoundError:
        raise OcrUnavailable(f"no OCR engine ({tesseract!r} not found; install Debian's tesseract-ocr)") from None
    except pytesseract.TesseractError as error:
        raise OcrUnavailable(f"the OCR engine failed ({error.message.strip()[:120]})") from None
