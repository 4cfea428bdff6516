"""The counting rule of ../shared/benchmarks/README.md, as `eval.counting` implements it for every suite."""

from __future__ import annotations

import pytest

from eval.counting import Expected, Outcome, calibration_error, judge, summarize, tokens
from eval.report import tables


def outcome(answer: str = "", cited=(), shown=(), refused=False, tentative=False, confidence=None, ms=10.0):
    return Outcome("q", refused, answer, list(cited), list(shown), ms, tentative=tentative, confidence=confidence)


EXPERT = Expected(document="covidqa-001", answer="20,000 bottles of water")


def test_tokens_keep_numbers_and_drop_stop_words():
    assert tokens("The 1.5 mg dose, and 20,000 of THE patients") == {"1.5", "mg", "dose", "20,000", "patients"}


def test_an_answer_hits_with_60_percent_of_the_tokens_from_the_right_document():
    # "20,000 bottles water": 3 tokens; 2 of 3 is 67%, 1 of 3 is 33%
    assert judge(EXPERT, outcome("We sent 20,000 bottles [1]", ["covidqa-001.txt"])).hit
    assert not judge(EXPERT, outcome("We sent 20,000 crates [1]", ["covidqa-001.txt"])).hit
    elsewhere = judge(EXPERT, outcome("We sent 20,000 bottles [1]", ["covidqa-002.txt"]))
    assert not elsewhere.hit and not elsewhere.right_document and elsewhere.confident_wrong
    declined = judge(EXPERT, outcome("20,000 bottles of water", ["covidqa-001.txt"], refused=True))
    assert not declined.hit and not declined.right_document and not declined.confident_wrong


def test_passage_recall_needs_80_percent_in_one_of_the_first_five_passages():
    shown = [("covidqa-009", "nothing here")] * 5 + [("covidqa-001", "20,000 bottles of water")]
    assert judge(EXPERT, outcome("x", shown=shown)).passage_hit is False
    assert judge(EXPERT, outcome("x", shown=[("covidqa-001", "bottles of water, 20,000")])).passage_hit is True


def test_a_regex_expectation_matches_the_answer_and_a_passage_of_its_document():
    expected = Expected(document="seed.txt", pattern=r"\bfive\b|\b5\b")
    counted = judge(expected, outcome("Five patients were treated [1]", ["seed.txt"], [("seed.txt", "the 5 patients")]))
    assert counted.hit and counted.passage_hit
    other = judge(expected, outcome("Fifty patients [1]", ["seed.txt"], [("other.txt", "the 5 patients")]))
    assert not other.hit and other.passage_hit is False


def test_a_tentative_answer_counts_in_hit_but_is_never_confidently_wrong():
    right = judge(EXPERT, outcome("20,000 bottles [1]", ["covidqa-001"], tentative=True))
    assert right.hit and not right.confident_wrong
    wrong = judge(EXPERT, outcome("crates [1]", ["covidqa-001"], tentative=True))
    assert not wrong.hit and not wrong.confident_wrong


def test_a_question_to_decline_is_confidently_wrong_when_answered_outright():
    to_decline = Expected()
    assert judge(to_decline, outcome("An answer [1]", ["a"])).confident_wrong
    assert not judge(to_decline, outcome("Closest: ... [1]", ["a"], tentative=True)).confident_wrong
    assert not judge(to_decline, outcome("Not in the documents.", refused=True)).confident_wrong


def test_calibration_error_is_the_share_weighted_gap_per_tenth():
    hits = [judge(EXPERT, outcome("20,000 bottles", ["covidqa-001"], confidence=0.95)) for _ in range(3)]
    misses = [judge(EXPERT, outcome("no", ["covidqa-001"], confidence=0.92))]
    low = [judge(EXPERT, outcome("20,000 bottles", ["covidqa-001"], confidence=0.3))]
    declined = [judge(EXPERT, outcome("", refused=True, confidence=0.1))]  # not an answer given: left out
    # bin 0.9: 4 answers, mean confidence 0.9425, hit rate 0.75 -> gap 0.1925; bin 0.3: 1 answer, gap 0.7
    assert calibration_error(hits + misses + low + declined) == pytest.approx(0.8 * 0.1925 + 0.2 * 0.7)
    assert calibration_error([judge(EXPERT, outcome("20,000 bottles", ["covidqa-001"]))]) is None


def test_the_summary_and_the_table_report_what_a_reader_needs():
    expected = [EXPERT, EXPERT, EXPERT, Expected()]
    outcomes = [
        judge(EXPERT, outcome("20,000 bottles [1]", ["covidqa-001"], ms=10)),
        judge(EXPERT, outcome("crates and boxes [1]", ["covidqa-001"], tentative=True, ms=20)),
        judge(EXPERT, outcome("", refused=True, ms=30)),
        judge(Expected(), outcome("An answer anyway [1]", ["covidqa-004"], ms=40)),
    ]
    figures = summarize(expected, outcomes)
    assert figures["answer_hit"] == pytest.approx(1 / 3) and figures["answerable_declined"] == pytest.approx(1 / 3)
    assert figures["declined"] == 0.0 and figures["confident_wrong"] == 1 and figures["tentative"] == 0.25
    assert figures["coverage"] == 0.5 and figures["precision"] == 0.5  # two confident answers, one right
    assert figures["p50_ms"] == 25 and figures["median_answer_chars"] == len("crates and boxes [1]")
    assert figures["ece"] is None  # today's answers carry no confidence
    row = {"key": "own", "label": "(a) own set", "kind": "home", "in_sample": "fitted on these"}
    text = tables({"rows": {"own": {"row": row, "figures": figures, "outcomes": []}}})
    assert "| (a) own set **IN-SAMPLE** | 4 (1 to decline) | 0.33 |" in text
    assert "(a) own set: fitted on these." in text
