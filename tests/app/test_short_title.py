"""Long titles cut for the picker and the document lists: at a word, with an ellipsis."""

from __future__ import annotations

from web.render import short_title

TITLE = "Functional Genetic Variants in DC-SIGNR Are Associated with Mother-to-Child Transmission of HIV-1"


def test_a_long_title_is_cut_at_a_word_with_an_ellipsis():
    shown = short_title(TITLE)
    assert shown == "Functional Genetic Variants in DC-SIGNR Are Associated with Mother-to-Child…"
    assert len(shown) <= 80


def test_a_title_that_fits_is_shown_whole():
    assert short_title("Hedgehog Nesting in Suburban Gardens") == "Hedgehog Nesting in Suburban Gardens"
    assert short_title(TITLE[:80]) == TITLE[:80]


def test_a_title_of_one_long_word_is_cut_inside_it():
    shown = short_title("x" * 200)
    assert shown == "x" * 79 + "…"
