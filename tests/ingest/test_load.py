"""Each loader on a small file the test builds, read the way the pipeline reads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest import pipeline
from ingest.chunk import chunk_document
from ingest.load import LoadError, load
from studychat.settings import Settings


def read(path: Path, settings: Settings):
    return pipeline.read_document(path, settings, path.read_bytes(), pipeline.document_id(path, settings.corpus))


def test_txt(tmp_path, settings):
    path = tmp_path / "notes.txt"
    path.write_text(
        "Renal physiology\n\nThe loop of Henle concentrates urine by pumping sodium out of the\n"
        "thick ascending limb, which is impermeable to water.\n",
        encoding="utf-8",
    )
    doc = read(path, settings)
    assert doc.title == "Renal physiology"
    assert "sodium out of the thick ascending limb, which is impermeable to water." in doc.text
    assert doc.page_starts == []


def test_txt_with_byte_order_mark_and_windows_newlines(tmp_path, settings):
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeffAspirin inhibits cyclo-oxygenase.\r\nIt thins the blood.\r\n".encode())
    doc = read(path, settings)
    assert doc.text == "Aspirin inhibits cyclo-oxygenase. It thins the blood."


def test_markdown(tmp_path, settings):
    path = tmp_path / "cardio.md"
    path.write_text(
        "# Heart failure basics\n\n"
        "Ejection fraction is the share of blood the left ventricle pumps out with each beat.\n\n"
        "- Reduced: below 40 percent\n- Preserved: 50 percent or more\n",
        encoding="utf-8",
    )
    doc = read(path, settings)
    assert doc.title == "Heart failure basics"
    assert "Ejection fraction is the share of blood the left ventricle pumps out with each beat." in doc.text
    assert "Reduced: below 40 percent" in doc.text
    assert "Preserved: 50 percent or more" in doc.text


HTML = """<!doctype html>
<html><head><title>Vitamin D and fractures | Health Notes</title>
<meta name="author" content="Ana Silva">
<meta property="article:published_time" content="2020-05-14"></head>
<body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/topics">Topics</a></li>
<li><a href="/about">About</a></li></ul></nav>
<header><div class="logo">Health Notes</div></header>
<main><article>
<h1>Vitamin D and fractures</h1>
<p>A pooled analysis of eleven trials found that vitamin D supplements alone did not lower the risk
of hip fracture in older adults living at home.</p>
<p>Combined with calcium, the supplements reduced hip fractures by about sixteen percent, mostly among
people living in care homes.</p>
</article></main>
<footer><p>Copyright 2020 Health Notes. All rights reserved.</p><a href="/privacy">Privacy policy</a></footer>
</body></html>
"""


def test_html_keeps_the_article_and_drops_nav_and_footer(tmp_path, settings):
    path = tmp_path / "vitamin-d.html"
    path.write_text(HTML, encoding="utf-8")
    doc = read(path, settings)
    assert doc.title.startswith("Vitamin D and fractures")
    assert "did not lower the risk of hip fracture in older adults living at home." in doc.text
    assert "reduced hip fractures by about sixteen percent" in doc.text
    for gone in ["Topics", "About", "Copyright", "All rights reserved", "Privacy policy", "Health Notes"]:
        assert gone not in doc.text, gone
    assert doc.date == "2020-05-14"


def test_htm_extension_is_read_as_html(tmp_path, settings):
    path = tmp_path / "page.HTM"
    path.write_text(HTML, encoding="utf-8")
    assert "sixteen percent" in read(path, settings).text


def page_lines(topic: str, n: int) -> list[str]:
    return [f"Sentence {i} of the {topic} page describes finding number {i} in plain words." for i in range(1, n + 1)]


def test_pdf_two_pages_text_and_page_numbers(tmp_path, settings, make_pdf):
    path = tmp_path / "trial.pdf"
    path.write_bytes(make_pdf([page_lines("methods", 12), page_lines("results", 12)]))
    doc = read(path, settings)
    assert "Sentence 3 of the methods page describes finding number 3 in plain words." in doc.text
    assert "Sentence 12 of the results page describes finding number 12 in plain words." in doc.text
    assert [page for _, page in doc.page_starts] == [1, 2]

    chunks = chunk_document(doc, settings.chunk_size, settings.chunk_overlap)
    assert len(chunks) >= 3
    for chunk in chunks:
        # a chunk is labelled with the page it starts on
        expected = 1 if "methods page" in chunk.text.split(".")[0] else 2
        assert chunk.page == expected, chunk.text[:60]
    assert {c.page for c in chunks} == {1, 2}


def test_pdf_page_numbers_reach_the_store(store, settings, make_pdf):
    path = Path(settings.corpus) / "trial.pdf"
    path.write_bytes(make_pdf([page_lines("methods", 12), page_lines("results", 12)]))
    report = pipeline.ingest_paths(store, settings, [path])
    assert [r.status for r in report.results] == ["added"]
    passages = store.document_chunks(report.results[0].document_id)
    pages = {p.page for p in passages if "results page" in p.text and "methods page" not in p.text}
    assert pages == {2}
    assert passages[0].page == 1


def test_docx(tmp_path, settings, make_docx):
    path = tmp_path / "lecture.docx"
    path.write_bytes(
        make_docx(
            "Antibiotic classes",
            [
                "Penicillins break the bacterial cell wall by blocking the enzymes that cross-link it.",
                "Macrolides stop bacteria from making proteins by binding the large ribosomal subunit.",
            ],
            table=[["Drug", "Class"], ["Amoxicillin", "Penicillin"]],
        )
    )
    doc = read(path, settings)
    assert doc.title == "Antibiotic classes"
    assert "Penicillins break the bacterial cell wall" in doc.text
    assert "binding the large ribosomal subunit." in doc.text
    assert "Amoxicillin: Class Penicillin." in doc.text  # a row with its column name


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "empty"),
        ("blank.md", b"  \n\n \t\n", "empty"),
        ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        ("broken.pdf", b"%PDF-1.4\nthis is not really a pdf at all\n", "PDF"),
        ("broken.docx", b"PK this is not a zip archive", ".docx"),
        ("image.png", b"\x89PNG\r\n", "unsupported file type .png"),
    ],
)
def test_bad_files_are_refused_with_a_reason(name, data, reason):
    with pytest.raises(LoadError, match=reason.replace(".", r"\.")):
        load(Path(name), data, max_bytes=1_000_000)


def test_too_large_file_is_refused():
    with pytest.raises(LoadError, match="over the"):
        load(Path("big.txt"), b"word " * 1000, max_bytes=100)
