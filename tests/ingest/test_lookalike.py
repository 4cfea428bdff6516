"""Characters that look alike match in search, while the quote keeps the characters the document
has: the micro sign and the Greek mu, a minus sign and a hyphen."""

from __future__ import annotations

from studychat.text import content_words, terms
from tests.chat.seeded import seeded_chain

PROTOCOL = (
    "# Buffer protocol\n\n"
    "Thaw the kit on ice before use. "
    "Add 5 \u03bcL of lysis buffer to each well and keep the plate at \u221220 \u00b0C overnight.\n"
)


def test_micro_sign_and_greek_mu_are_one_term():
    assert terms("5 \u00b5L") == terms("5 \u03bcL")
    assert content_words("\u00b5L") == content_words("\u03bcL")


def test_a_question_in_look_alike_characters_finds_and_quotes_the_original(tmp_path, embedder):
    with seeded_chain(tmp_path, embedder, {"protocol.md": PROTOCOL}) as chain:
        found = chain.store.search_lexical("\u00b5L lysis buffer -20", k=3)
        answer = chain.answer("How many \u00b5L of lysis buffer go into each well?")
    assert found and found[0][0].startswith("protocol.md")
    assert not answer.refused
    quote = answer.citations[0].quote
    assert "5 \u03bcL of lysis buffer" in quote  # the document's Greek mu, not the question's micro sign
    assert "\u221220 \u00b0C" in quote  # and its minus sign
