"""A document's own reference marks never read as StudyChat's [n] citation marks."""

from __future__ import annotations

import pytest

from studychat.marks import doc_marks
from web.render import MARKER

SENTENCE = "She was born on 26 June 1968,[1] and grew up in York.[2][3]"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (SENTENCE, "She was born on 26 June 1968,⁽¹⁾ and grew up in York.⁽²⁾⁽³⁾"),
        ("as reported [4, 5] and [12]", "as reported ⁽⁴,⁵⁾ and ⁽¹²⁾"),
        ("trials [6–8] and [9-10]", "trials ⁽⁶⁻⁸⁾ and ⁽⁹⁻¹⁰⁾"),
    ],
)
def test_bracketed_numeric_marks_become_superscript(text, shown):
    assert doc_marks(text) == shown
    assert MARKER.search(doc_marks(text)) is None  # nothing left that the UI would take for a citation


@pytest.mark.parametrize("text", ["published in [2022]", "a list [a] [note 1]", "x[i] = y", "no marks at all"])
def test_other_brackets_stay_as_written(text):
    assert doc_marks(text) == text


def test_applying_it_twice_changes_nothing():
    assert doc_marks(doc_marks(SENTENCE)) == doc_marks(SENTENCE)
