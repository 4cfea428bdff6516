"""Misspelt questions over a real store (the seed article and a note): each misspelt word is read as
the documents' word, the answer says how it read them, and words the documents do not hold stay."""

from __future__ import annotations

import pytest

from chat.spelling import Spelling, read_spelling
from tests.chat.seeded import seeded_chain

NOTE = (
    "Cytokine release note\n\nCytokine release syndrome is treated with tocilizumab at 8 mg per kilogram, "
    "given over one hour.\n"
)


@pytest.fixture
def chain(tmp_path, embedder):
    with seeded_chain(tmp_path, embedder, {"crs-note.txt": NOTE}) as chain:
        yield chain


def spelling(chain, question: str, edits: int = 1):
    return read_spelling(question, chain.store, chain.embedder.vocabulary, edits)


def test_misspelt_words_are_read_as_the_words_the_documents_use(chain):
    read = spelling(chain, "wat was the avrage age of the pateints?")
    assert read.text == "wat was the average age of the patients?"  # "wat": too short to read safely
    assert read.changed == (("avrage", "average"), ("pateints", "patients"))
    assert read.note() == "Read “avrage” as “average”, “pateints” as “patients”."
    # a drug's name outside everyday English, one letter off the index's word; capitals kept
    assert spelling(chain, "Which dose of Tocilizumb is given?").text == "Which dose of Tocilizumab is given?"


def test_words_the_documents_hold_or_that_have_no_near_word_stay_as_asked(chain):
    for question in (
        "What dose of tocilizumab is given?",  # held by the note
        "Does hydroxychloroquine help?",  # held by no document, and nothing like it is
        "Was the CARTT trial safe?",  # an acronym
    ):
        assert spelling(chain, question) == Spelling(question)
    # STUDYCHAT_SPELLING_EDITS=0 reads questions as typed
    assert spelling(chain, "Which univercity is it?", edits=0) == Spelling("Which univercity is it?")


def test_a_misspelt_question_is_answered_with_a_note_of_how_it_was_read(chain):
    answer = chain.answer("wat was the avrage age of the pateints")
    assert not answer.refused, answer.text
    assert "average age of 22" in answer.text
    assert answer.text.endswith("Read “avrage” as “average”, “pateints” as “patients”.")
    assert answer.notes[-1] == "Read “avrage” as “average”, “pateints” as “patients”."
    plain = chain.answer("What was the average age of the patients?")
    assert "Read " not in plain.text and not plain.notes
