"""What a document is called: its title, authors and date, as the documents list, the picker and
the answers name it. The title is the first line that is a real title (not a URL, a date alone, a
byline, a salutation, text set at an angle or a stamp in the margin); the authors come from a
byline near the title; the date from a date line near the top."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.names import DATE_ONLY, URL, name_files
from ingest import pipeline
from ingest.clean import clean
from studychat.settings import Settings
from tests.ingest.pdfs import new_pdf, output

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
REALFILES = SHARED / "realfiles"
COVIDQA = SHARED / "benchmarks" / "covidqa" / "documents"
LAYOUT_PARSER = "LayoutParser: A Unified Toolkit for Deep Learning Based Document Image Analysis"


def read(path: Path, settings: Settings):
    return pipeline.read_document(path, settings, path.read_bytes(), pipeline.document_id(path, settings.corpus))


def shared(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"the shared test data is not at {path}")
    return path


# Files of ../shared


def test_the_arxiv_stamp_in_the_margin_is_not_the_papers_title(settings):
    document = read(shared(REALFILES / "layout-parser-paper-fast.pdf"), settings)
    assert document.title == LAYOUT_PARSER  # not "n u J", the sideways "arXiv:2103.15348v2 [cs.CV] 21 Jun 2021"
    assert "n\n\nu\n\nJ" not in document.text and not document.text.startswith("n")
    assert document.authors[:2] == ["Zejiang Shen", "Ruochen Zhang"] and document.authors[-1] == "Weining Li"


def test_a_memo_is_not_titled_with_its_date(settings):
    document = read(shared(REALFILES / "fake-memo-with-duplicate-page.pdf"), settings)
    assert document.title != "May 5, 2023"
    assert not DATE_ONLY.match(document.title)
    assert "Concern" not in document.title  # nor its salutation, "To Whom it May Concern:"
    assert "May 5, 2023" in document.text  # the date stays in the memo's text


def test_a_covidqa_paper_gets_its_title_without_url_its_authors_and_its_date(settings):
    document = read(shared(COVIDQA / "covidqa-000.txt"), settings)
    assert document.title == (
        "Functional Genetic Variants in DC-SIGNR Are Associated with Mother-to-Child Transmission of HIV-1"
    )
    assert document.date == "2009-10-07"
    assert document.authors[0] == "Geneviève Boily-Larouche" and document.authors[-1] == "Michel Roger"
    assert len(document.authors) == 7
    labelled = read(COVIDQA / "covidqa-002.txt", settings)  # "Authors: Kin, Nathalie; Guerard, Pauline; ..."
    assert labelled.authors[:2] == ["Nathalie Kin", "Pauline Guerard"]


def test_the_covidqa_papers_are_named(settings):
    """All 98 papers: no title holds a URL (60 did), and nearly all get authors (1 did) and a date."""
    named = name_files(sorted(shared(COVIDQA).glob("*.txt")), settings)
    assert len(named) == 98
    assert [n.path.name for n in named if URL.search(n.title)] == []
    assert sum(bool(n.authors) for n in named) >= 88
    assert sum(bool(n.date) for n in named) >= 82


# Documents written here


def test_text_set_at_an_angle_or_stamped_in_the_side_margin_is_not_read(tmp_path, settings):
    pdf = new_pdf()
    pdf.add_page()
    with pdf.rotation(90, 10, 200):  # an arXiv-style stamp up the left margin
        pdf.text(10, 200, "arXiv:2406.01234v1 [q-bio.PE] 3 Jun 2024")
    with pdf.rotation(35, 60, 200):  # a watermark across the page
        pdf.text(60, 200, "CONFIDENTIAL")
    pdf.text(200, 150, "DRAFT")  # a stamp in the right margin
    pdf.set_font(size=18)
    pdf.text(30, 40, "Hedgehog Nesting in Suburban Gardens")
    pdf.set_font(size=11)
    pdf.set_xy(30, 60)
    pdf.multi_cell(150, 6, "Hedgehogs in twelve gardens chose nest boxes facing south more often than any other box.")
    path = tmp_path / "hedgehogs.pdf"
    path.write_bytes(output(pdf))

    document = read(path, settings)

    assert document.title == "Hedgehog Nesting in Suburban Gardens"
    assert "Hedgehogs in twelve gardens chose nest boxes facing south" in document.text
    for stamp in ("arXiv", "2406", "CONFIDENTIAL", "DRAFT"):
        assert stamp not in document.text.replace("\n", ""), stamp


PAPER = """\
Nest box temperatures and the length of hibernation in garden hedgehogs across twelve gardens

https://www.example.org/articles/hedgehog-nests-2023/

Rivera, Ana María; O’Neill, Siobhan; van der Berg, Jan P.
2023-11-02

Hedgehogs in twelve suburban gardens hibernated for ninety-one days on average, and those in the warmest nest boxes woke
least often during the winter.
"""


def test_a_paper_with_its_url_byline_and_date_line_under_the_title():
    cleaned = clean(PAPER)
    assert cleaned.title == (
        "Nest box temperatures and the length of hibernation in garden hedgehogs across twelve gardens"
    )
    assert "https://www.example.org/articles/hedgehog-nests-2023/" in cleaned.text  # kept, as its own line
    assert cleaned.authors == ["Ana María Rivera", "Siobhan O’Neill", "Jan P. van der Berg"]
    assert cleaned.date == "2023-11-02"


@pytest.mark.parametrize(
    ("byline", "authors"),
    [
        ("Zejiang Shen¹ (✉), Ruochen Zhang², and Weining Li⁵", ["Zejiang Shen", "Ruochen Zhang", "Weining Li"]),
        ("David L. Swerdlow, MD1; Lyn Finelli, DrPH, MS2", ["David L. Swerdlow", "Lyn Finelli"]),
        ("Authors: Kin, Nathalie; Guerard, Pauline", ["Nathalie Kin", "Pauline Guerard"]),
        ("By Dr. Miriam Okafor, Rheumatology Review, 3 June 2022", ["Miriam Okafor"]),
        ("Jane Doe* and John Roe†", ["Jane Doe", "John Roe"]),
    ],
)
def test_authors_come_from_a_byline_under_the_title(byline, authors):
    text = f"Hedgehog Nesting in Suburban Gardens\n\n{byline}\n\n" + PAPER.split("\n\n")[-1]
    assert clean(text).authors == authors


@pytest.mark.parametrize(
    "line",
    [
        "Harvard University, Boston, Massachusetts, USA",
        "Research Methods and Results",
        "Author Affiliations Article Information",
        "1 Allen Institute for AI",
        "Oncology News Desk | 14 April 2023",
    ],
)
def test_a_line_that_is_not_a_byline_gives_no_authors(line):
    text = f"Hedgehog Nesting in Suburban Gardens\n\n{line}\n\n" + PAPER.split("\n\n")[-1]
    assert clean(text).authors == []


@pytest.mark.parametrize(
    ("line", "iso"),
    [
        ("2009-10-07", "2009-10-07"),
        ("February 11, 2020", "2020-02-11"),
        ("Updated March 21, 2020", "2020-03-21"),
        ("Oncology News Desk | 14 April 2023", "2023-04-14"),
    ],
)
def test_the_date_comes_from_a_date_line_near_the_top(line, iso):
    text = f"Hedgehog Nesting in Suburban Gardens\n\n{line}\n\n" + PAPER.split("\n\n")[-1]
    cleaned = clean(text)
    assert cleaned.date == iso
    assert cleaned.title == "Hedgehog Nesting in Suburban Gardens"


def test_a_date_far_below_the_top_is_not_the_documents_date():
    body = "\n".join(f"Line {n} of the survey notes about nest boxes." for n in range(20))
    assert clean(f"Hedgehog Nesting in Suburban Gardens\n\n{body}\n\n2009-10-07\n").date == ""


def test_a_letter_is_titled_neither_by_its_date_nor_its_salutation():
    letter = (
        "May 5, 2023\n\nTo Whom it May Concern:\n\nThere were 20,000 bottles of water delivered on January 23, "
        "2023.\n\nBest Regards,\n\nMallori"
    )
    cleaned = clean(letter, scraped=False)
    assert cleaned.title == ""  # the file's name is used instead
    assert cleaned.date == "2023-05-05"


def test_a_sentence_with_a_link_in_it_is_no_title():
    page = "Survey notes\n\nSee https://www.example.org/notes for the data (collected by volunteers)\n"
    assert "example.org" not in clean(page).title
