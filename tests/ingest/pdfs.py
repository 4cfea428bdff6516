"""PDFs laid out as journals and scanners make them, written by fpdf2 in the test: ligatures,
superscripts, two columns, running headers and footers, image-only pages."""

from __future__ import annotations

import io

from fpdf import FPDF

from tests.needs import DEJAVU, debian_file

FONT = DEJAVU


def new_pdf() -> FPDF:
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    pdf.add_font("DejaVu", fname=str(debian_file(FONT, "fonts-dejavu-core")))
    pdf.set_font("DejaVu", size=11)
    return pdf


def output(pdf: FPDF) -> bytes:
    return bytes(pdf.output())


def write_runs(pdf: FPDF, runs: list[tuple[str, str]]) -> None:
    """Write (text, position) runs on one line; position "SUP" raises and shrinks a run."""
    for text, position in runs:
        pdf.char_vpos = position
        pdf.write(6, text)
    pdf.char_vpos = "LINE"
    pdf.ln(10)


def page_image(lines: list[str]) -> bytes:
    """A PNG of black text on white, like a scanned page."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (1700, 400 + 90 * len(lines)), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONT), 48)
    for i, line in enumerate(lines):
        draw.text((120, 150 + 90 * i), line, fill=0, font=font)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def scanned_pdf(text_pages: list[list[str]], image_pages: list[list[str]]) -> bytes:
    """Pages of text, then pages that are only an image of text."""
    pdf = new_pdf()
    for lines in text_pages:
        pdf.add_page()
        pdf.set_xy(20, 30)
        for line in lines:
            pdf.multi_cell(170, 6, line)
            pdf.ln(4)
    for lines in image_pages:
        pdf.add_page()
        pdf.image(io.BytesIO(page_image(lines)), x=0, y=0, w=210)
    return output(pdf)
