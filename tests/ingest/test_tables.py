"""Tables in Markdown, HTML and DOCX are content: each row one quotable sentence with its column
names; DOCX headers and footers are read once; what a web page hides is not stored."""

from __future__ import annotations

import io
from pathlib import Path

from ingest import pipeline
from tests.chat.seeded import seeded_chain

ROW = "Bananas: Price 1.89, In stock 6."
MARKDOWN = "Item | Price | # In stock\n---|---|---\nJuicy Apples | 1.99 | 739\nBananas | 1.89 | 6\n"


def read(path: Path, settings):
    return pipeline.read_document(path, settings, path.read_bytes(), pipeline.document_id(path, settings.corpus))


def test_a_markdown_table_alone_is_kept_row_by_row(tmp_path, settings):
    path = tmp_path / "prices.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    text = read(path, settings).text
    assert text.split("\n\n") == ["Columns: Item, Price, In stock.", "Juicy Apples: Price 1.99, In stock 739.", ROW]


def test_a_table_row_is_the_quoted_answer(tmp_path, embedder):
    prices = "# Market stall prices\n\nThe stall sells fruit by the kilogram.\n\n" + MARKDOWN
    with seeded_chain(tmp_path, embedder, {"prices.md": prices}) as chain:
        for question in ("How much are the bananas?", "How many bananas are in stock?"):
            answer = chain.answer(question)
            assert not answer.refused, question
            assert ROW in answer.citations[0].quote, question  # the row, perhaps with the one beside it


def test_an_html_table_keeps_its_rows_and_hidden_text_is_dropped(tmp_path, settings):
    path = tmp_path / "stall.html"
    path.write_text(
        """<html><head><title>Stall</title><style>.price { font-family: serif }</style>
<script>(adsbygoogle = window.adsbygoogle || []).push({});</script></head><body><article>
<h1>Market stall prices</h1><p>The stall sells fruit by the kilogram at the Saturday market in town.</p>
<!-- editor: remember to raise the apple price -->
<table><tr><th>Item</th><th>Price</th><th># In stock</th></tr>
<tr><td>Juicy Apples</td><td>1.99</td><td>739</td></tr><tr><td>Bananas</td><td>1.89</td><td>6</td></tr></table>
<p hidden>Secret staff discount code is PEAR42 for everyone who asks.</p>
<div style="display: none">Hidden coupon text that no reader of the page ever sees at all.</div>
<p>Prices include tax and were checked on Monday morning by the stall owner.</p></article></body></html>""",
        encoding="utf-8",
    )
    text = read(path, settings).text
    assert ROW in text.split("\n\n")
    assert "Prices include tax" in text
    for hidden in ("adsbygoogle", "font-family", "remember to raise", "PEAR42", "Hidden coupon"):
        assert hidden not in text, hidden


def docx_with_header_footer() -> bytes:
    import docx
    from docx.enum.section import WD_SECTION

    document = docx.Document()
    document.sections[0].header.paragraphs[0].text = "Clinic handbook, edition 4"
    document.sections[0].footer.paragraphs[0].text = "Confidential to clinic staff"
    document.add_paragraph("Wash your hands before and after every patient contact, for at least twenty seconds.")
    grid = document.add_table(rows=3, cols=3)
    for r, row in enumerate([["Drug", "Dose", "Route"], ["Amoxicillin", "500 mg", "oral"], ["Ceftriaxone", "1 g", ""]]):
        for c, value in enumerate(row):
            grid.cell(r, c).text = value
    document.add_section(WD_SECTION.NEW_PAGE)  # the second section shows the same header and footer
    document.add_paragraph("Report every needle-stick injury to the occupational health team on the same day.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_docx_table_rows_header_and_footer_read_once(tmp_path, settings):
    path = tmp_path / "handbook.docx"
    path.write_bytes(docx_with_header_footer())
    text = read(path, settings).text
    paragraphs = text.split("\n\n")
    assert "Amoxicillin: Dose 500 mg, Route oral." in paragraphs
    assert "Ceftriaxone: Dose 1 g." in paragraphs  # a missing cell is left out, not written empty
    assert text.count("Clinic handbook, edition 4") == 1
    assert text.count("Confidential to clinic staff") == 1
    assert paragraphs.index("Clinic handbook, edition 4") < paragraphs.index("Confidential to clinic staff")
