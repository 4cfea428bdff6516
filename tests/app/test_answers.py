"""An answer as users get it (`web.answers`): the three outcomes in the API's JSON."""

from __future__ import annotations

from studychat.schema import TENTATIVE, Answer, Citation
from web.answers import answer_json

CITED = Citation(1, "trial.txt", "Trial", "", None, "Fever was seen.", "Before. Fever was seen. After.", 0.8)
SCOPE = {"all": True, "count": 1, "documents": []}


def test_a_tentative_answer_always_opens_with_the_tentative_words():
    written = answer_json(Answer(f"{TENTATIVE} Fever was seen. [1]", [CITED], tentative=True), SCOPE)
    assert written["answer"] == f"{TENTATIVE} Fever was seen. [1]"  # the answerer's words, not twice
    bare = answer_json(Answer("Fever was seen. [1]", [CITED], tentative=True, confidence=0.41239), SCOPE)
    assert bare["answer"] == f"{TENTATIVE} Fever was seen. [1]"
    assert bare["tentative"] is True and bare["confidence"] == 0.412 and bare["searched"] == SCOPE


def test_a_stated_answer_is_shown_as_written():
    stated = answer_json(Answer("Fever was seen. [1]", [CITED], confidence=0.9), SCOPE)
    assert stated["answer"] == "Fever was seen. [1]"
    assert stated["tentative"] is False and stated["confidence"] == 0.9
    assert answer_json(Answer("Fever was seen. [1]", [CITED]), SCOPE)["confidence"] is None
