"""PDFs as journals and scanners make them: each rule of `ingest.pdf`, on files written here."""

from __future__ import annotations

import io
import re
import textwrap
from pathlib import Path

import pytest

from ingest import pipeline
from ingest.chunk import sentence_spans
from studychat.settings import Settings
from tests.ingest.pdfs import new_pdf, output, scanned_pdf, write_runs


def read(path: Path, settings: Settings):
    return pipeline.read_document(path, settings, path.read_bytes(), pipeline.document_id(path, settings.corpus))


def sentences(text: str) -> list[str]:
    return [" ".join(text[s:e].split()) for s, e in sentence_spans(text)]


def test_ligatures_are_expanded_and_superscripts_keep_their_meaning(tmp_path, settings):
    pdf = new_pdf()
    pdf.add_page()
    write_runs(pdf, [("The uniﬁed assay was eﬃcient and ﬂexible for all ﬁve labs.", "LINE")])
    write_runs(pdf, [("Each sample held 1.5 × 10", "LINE"), ("6", "SUP"), (" cells per millilitre.", "LINE")])
    write_runs(pdf, [("The kit cost $320", "LINE"), ("1", "SUP"), (" per run in 2023.", "LINE")])
    path = tmp_path / "assay.pdf"
    path.write_bytes(output(pdf))

    text = read(path, settings).text

    assert "The unified assay was efficient and flexible for all five labs." in text
    assert not re.search("[\ufb00-\ufb06]", text)
    assert "1.5 × 10⁶ cells per millilitre." in text  # not "106"
    assert "$320¹ per run" in text  # not "$3201"
    assert "106" not in text and "3201" not in text


def test_two_columns_are_read_one_after_the_other(tmp_path, settings):
    left = (
        "The left column explains that the kidney filters about one hundred and eighty litres of plasma "
        "every day through its glomeruli."
    )
    right = (
        "The right column adds that almost all of that water is taken back in the tubules, leaving "
        "about one and a half litres of urine."
    )
    pdf = new_pdf()
    pdf.add_page()
    # Drawn line by line across the page, left then right, as some typesetters write the content
    # stream: the order of drawing is not the order of reading. 11 pt type on 14 pt leading.
    rows = zip(textwrap.wrap(left, 40), textwrap.wrap(right, 40), strict=True)
    for i, (left_line, right_line) in enumerate(rows):
        pdf.text(15, 30 + 5 * i, left_line)
        pdf.text(115, 30 + 5 * i, right_line)
    path = tmp_path / "columns.pdf"
    path.write_bytes(output(pdf))

    found = sentences(read(path, settings).text)

    assert left in found
    assert right in found


def test_running_headers_and_page_numbers_are_not_glued_or_repeated(tmp_path, settings):
    header = "Journal of Renal Tests, Volume 7, ISSN 1234-5678"
    pdf = new_pdf()
    for number in range(1, 4):
        pdf.add_page()
        pdf.set_xy(20, 10)
        pdf.cell(170, 6, header)
        pdf.set_xy(20, 40)
        pdf.multi_cell(170, 6, f"Body sentence {number} reports that the patients in group {number} recovered.")
        pdf.set_xy(20, 285)
        pdf.cell(170, 6, f"Page {number} of 3")
    path = tmp_path / "journal.pdf"
    path.write_bytes(output(pdf))

    doc = read(path, settings)
    found = sentences(doc.text)

    assert "Page 2 of 3" not in doc.text and "of 3" not in doc.text
    assert doc.text.count("ISSN 1234-5678") == 1
    assert header in found  # its own paragraph, not glued onto a body sentence
    for number in range(1, 4):
        assert f"Body sentence {number} reports that the patients in group {number} recovered." in found
    assert [page for _, page in doc.page_starts] == [1, 2, 3]


def test_a_repeated_page_is_stored_once(store, settings, ingest):
    memo = ["Seven hundred blankets were delivered to the shelter on 3 March 2023.", "Regards, the depot."]
    path = Path(settings.corpus) / "memo.pdf"
    path.write_bytes(scanned_pdf([memo, memo], []))

    report = ingest(path)

    result = report.results[0]
    assert result.status == "added"
    assert result.notes == ["page 2 repeats page 1 and is stored once"]
    text = "".join(p.text for p in store.document_chunks(result.document_id))
    assert text.count("Seven hundred blankets") == 1


def test_metadata_gives_title_and_authors_when_the_text_does_not(tmp_path, settings):
    pdf = new_pdf()
    pdf.set_title("Fluid balance after cardiac surgery")
    pdf.set_author("Ana Silva; Ben Ito")
    pdf.add_page()
    pdf.multi_cell(170, 6, "Patients were weighed every morning and their intake was recorded by the nurses.")
    path = tmp_path / "scan0042.pdf"
    path.write_bytes(output(pdf))

    doc = read(path, settings)

    assert doc.title == "Fluid balance after cardiac surgery"
    assert doc.authors == ["Ana Silva", "Ben Ito"]


def test_an_owner_password_pdf_opens_and_a_user_password_pdf_is_refused(tmp_path, settings):
    from pypdf import PdfReader, PdfWriter

    def encrypted(user_password: str) -> bytes:
        plain = scanned_pdf([["Copy-protected papers are still read."]], [])
        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(plain)))
        writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="AES-256")
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()

    protected = tmp_path / "protected.pdf"
    protected.write_bytes(encrypted(""))
    assert "Copy-protected papers are still read." in read(protected, settings).text

    locked = tmp_path / "locked.pdf"
    locked.write_bytes(encrypted("secret"))
    with pytest.raises(pipeline.LoadError, match="password"):
        read(locked, settings)


SCANNED = ["The scanned page says the trial enrolled", "forty two patients in Leeds."]


def test_an_image_only_page_is_read_by_ocr_and_reported(tesseract, store, settings, ingest):
    path = Path(settings.corpus) / "scan.pdf"
    path.write_bytes(scanned_pdf([["The typed first page describes the methods of the study."]], [SCANNED]))

    report = ingest(path)

    result = report.results[0]
    assert result.status == "added", result.reason
    assert result.notes == ["read by OCR: page 2"]
    stored = " ".join(" ".join(p.text for p in store.document_chunks(result.document_id)).split())
    assert "The scanned page says the trial enrolled forty two patients in Leeds." in stored
    doc = read(path, settings)
    assert doc.page_at(doc.text.index("forty two patients")) == 2


def test_without_an_ocr_engine_each_file_says_so(store, tmp_path, embedder):
    settings = Settings(corpus=tmp_path / "corpus", db=tmp_path / "db2", tesseract=str(tmp_path / "no-tesseract"))
    mixed = tmp_path / "mixed.pdf"
    mixed.write_bytes(scanned_pdf([["The typed first page describes the methods of the study."]], [SCANNED]))
    only_scans = tmp_path / "only-scans.pdf"
    only_scans.write_bytes(scanned_pdf([], [SCANNED]))
    from studychat.store import open_store

    other = open_store(settings, embedder, writer="tests")
    try:
        report = pipeline.ingest_paths(other, settings, [mixed, only_scans])
    finally:
        other.close()

    by_name = {Path(r.path).name: r for r in report.results}
    assert by_name["mixed.pdf"].status == "added"
    assert by_name["mixed.pdf"].notes == [
        f"page 2 is an image not read: no OCR engine ('{tmp_path / 'no-tesseract'}' not found; "
        "install Debian's tesseract-ocr)"
    ]
    assert by_name["only-scans.pdf"].status == "skipped"
    assert by_name["only-scans.pdf"].reason.startswith("scanned PDF with no text layer; page 1 is an image not read")
    assert "tesseract-ocr" in by_name["only-scans.pdf"].reason


def test_list_items_drawn_out_of_order_are_read_top_to_bottom(tmp_path, settings):
    items = [f"{n}. Step {n} of the protocol is done by the second nurse on the ward." for n in range(1, 6)]
    pdf = new_pdf()
    pdf.add_page()
    for n in (3, 1, 5, 2, 4):  # the order a layout program happened to write them in
        pdf.text(20, 40 + 12 * n, items[n - 1])
    path = tmp_path / "steps.pdf"
    path.write_bytes(output(pdf))

    text = read(path, settings).text

    assert [text.index(item) for item in items] == sorted(text.index(item) for item in items)
