"""Cleaning scraped pages: boilerplate out, broken sentences and links joined, metadata found."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest.clean import clean, parse_date

SEED = Path(__file__).resolve().parents[2] / "corpus" / "echemi-car-t-lupus-2022.txt"


@pytest.fixture(scope="module")
def seed():
    return clean(SEED.read_text(encoding="utf-8"))


def lines_of(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("label", ["Product", "Supplier", "Inquiry", "Contact Us"])
def test_seed_navigation_lines_are_gone(seed, label):
    assert label not in lines_of(seed.text)


def test_seed_banner_logo_and_breadcrumb_are_gone(seed):
    assert "echemi logo" not in seed.text.lower()
    assert "www.echemi.com" not in seed.text
    assert "Home >" not in seed.text
    assert "Immunology News" not in seed.text


def test_seed_header_fields_are_metadata_not_text(seed):
    assert "Last Update" not in seed.text
    assert "Source: Internet" not in seed.text
    assert "Author: User" not in seed.text
    # "User" is the site's placeholder, not an author
    assert "User" not in seed.authors


def test_seed_disclaimer_and_emails_are_gone(seed):
    assert "English version of an article" not in seed.text
    assert "plagiarism" not in seed.text
    assert "doesn't represent" not in seed.text
    assert not re.search(r"[\w.+-]+@[\w-]+\.\w+", seed.text)
    assert "service@echemi.com" not in seed.text


def test_seed_article_body_is_kept(seed):
    assert "Systemic lupus erythematosus (SLE) is a severe autoimmune disease" in seed.text
    assert "five patients (4 women and 1 male) with an average age of 22 years were enrolled" in seed.text
    assert seed.text.count("Nat Med: A new breakthrough in CAR-T cell therapy") == 1


def test_seed_doi_is_whole(seed):
    assert "10.1038/s41591-022-02017-5" in seed.text
    assert "https://doi.org/10.1038/s41591-022-02017-5" in seed.text
    assert seed.doi == "10.1038/s41591-022-02017-5"


def test_seed_citation_is_one_line(seed):
    citation = next(line for line in seed.text.splitlines() if line.startswith("Mackensen, A."))
    assert citation == (
        "Mackensen, A., Müller, F., Mougiakakos, D. et al. Anti-CD19 CAR T cell therapy for refractory "
        "systemic lupus erythematosus. Nat Med (2022). https://doi.org/10.1038/s41591-022-02017-5."
    )


def test_seed_sentence_broken_across_lines_is_joined(seed):
    assert (
        "Taken together, these data offer new therapeutic possibilities for controlling system lupus "
        "erythematosus by engineering autologous cells."
    ) in seed.text
    assert "possibilities\n" not in seed.text
    assert "safety and efficacy of CAR-T cell therapy." in seed.text


def test_seed_metadata(seed):
    assert seed.title.startswith("Nat Med: A new breakthrough in CAR-T cell therapy:")
    assert seed.title.endswith("long-term drug-free remission")
    assert seed.date == "2022-10-02"
    assert seed.doi == "10.1038/s41591-022-02017-5"
    assert seed.authors[:3] == ["Mackensen, A.", "Müller, F.", "Mougiakakos, D."]
    assert seed.source == "https://doi.org/10.1038/s41591-022-02017-5"


# A page from another (made-up) site, with its own kind of boilerplate.
OTHER_PAGE = """\
Skip to main content
The Daily Clinician
Home
News
Research
Opinion
Events

This website uses cookies to ensure you get the best experience on our website.
Got it!

Health › Cardiology › Statins and sleep

Statins and sleep: what a large trial found

Published: March 3, 2021
By Jane Doe, Health Correspondent

Share
Tweet
Print

A randomised trial of more than four thousand adults found that taking a daily statin
did not change how long participants slept or how often they woke during the night. The
investigators measured sleep with wrist-worn monitors over six weeks, which is more
reliable than asking people to recall their own sleep in a question-
naire at the end of the study.

Participants who reported muscle aches were slightly more likely to say they slept
badly, but the monitors showed no difference between the statin and placebo groups.
The full protocol is available at https://clinicaltrials.example.org/study/
NCT01234567 for readers who want the details.

Share this article
Print this page

Related articles
Five myths about cholesterol
How to read a trial report

About us | Contact | Advertise | Careers

© 2021 The Daily Clinician Ltd. All rights reserved.
"""


@pytest.fixture(scope="module")
def other():
    return clean(OTHER_PAGE)


def test_other_page_boilerplate_is_gone(other):
    text = other.text
    for gone in [
        "Skip to main content",
        "The Daily Clinician",
        "cookies",
        "Got it",
        "Cardiology ›",
        "Share",
        "Tweet",
        "Print",
        "Related articles",
        "Five myths about cholesterol",
        "Careers",
        "©",
        "All rights reserved",
        "Published:",
        "By Jane Doe",
    ]:
        assert gone not in text, gone
    for label in ["Home", "News", "Research", "Opinion", "Events"]:
        assert label not in lines_of(text)


def test_other_page_body_is_kept_and_joined(other):
    paragraphs = other.text.split("\n\n")
    body = [p for p in paragraphs if p.startswith("A randomised trial")]
    assert len(body) == 1
    assert "\n" not in body[0]
    assert "taking a daily statin did not change how long participants slept" in body[0]
    assert "in a questionnaire at the end of the study." in body[0]
    assert "question-" not in other.text
    assert "https://clinicaltrials.example.org/study/NCT01234567 for readers" in other.text
    assert "no difference between the statin and placebo groups." in other.text


def test_other_page_metadata(other):
    assert other.title == "Statins and sleep: what a large trial found"
    assert other.date == "2021-03-03"
    assert other.authors == ["Jane Doe"]
    assert other.doi == ""
    # the title is kept once, as the first paragraph
    assert other.text.startswith("Statins and sleep: what a large trial found\n\n")


@pytest.mark.parametrize(
    ("written", "iso"),
    [
        ("2022-10-02", "2022-10-02"),
        ("2021/3/3 14:05", "2021-03-03"),
        ("March 3, 2021", "2021-03-03"),
        ("Mar. 3rd, 2021", "2021-03-03"),
        ("3 March 2021", "2021-03-03"),
        ("sometime last spring", ""),
        ("2021-13-40", ""),
    ],
)
def test_dates_written_in_common_ways(written, iso):
    assert parse_date(written) == iso


def test_text_without_boilerplate_is_left_alone():
    text = (
        "Lecture notes on enzyme kinetics.\n\n"
        "The Michaelis constant is the substrate concentration at which the reaction rate is half of "
        "its maximum. A low constant means the enzyme binds its substrate tightly."
    )
    assert clean(text).text == text


def test_short_headings_inside_an_article_are_kept():
    text = (
        "Study design\n\n"
        "Forty adults with mild asthma were randomised to an inhaled steroid or to placebo for twelve weeks.\n\n"
        "Follow up at six months\n\n"
        "Symptoms stayed lower in the steroid group, and fewer people needed rescue inhalers."
    )
    cleaned = clean(text)
    assert cleaned.text.split("\n\n") == text.split("\n\n")
    assert cleaned.title == "Study design"


def test_a_bar_of_buttons_on_one_line_is_gone_and_the_headline_is_the_title():
    page = (
        "Sign in    Register\n\n"
        "Kidney trial of a new lupus drug meets its goal, phase 3 results show\n\n"
        "Share this article:  Facebook  Twitter  LinkedIn  Email\n\n"
        "The trial enrolled 448 adults with active lupus nephritis at 107 sites in 21 countries, and more of them\n"
        "reached a kidney response with the drug than with placebo."
    )
    cleaned = clean(page)
    for gone in ["Sign in", "Register", "Share this article", "Facebook", "LinkedIn"]:
        assert gone not in cleaned.text, gone
    assert cleaned.title == "Kidney trial of a new lupus drug meets its goal, phase 3 results show"
    assert "enrolled 448 adults" in cleaned.text
