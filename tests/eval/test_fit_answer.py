"""The answer model's fit: the held-out table, and how far a ranker's seed moves it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import chat.fitted
from chat.candidates import ANSWER_FEATURES
from eval.fit_answer import (
    Question,
    Read,
    Reading,
    collect,
    fit,
    held_out_table,
    held_out_thresholds,
    pooled_thresholds,
    stacked,
    thresholds,
)
from tests.needs import shared_data


def questions(n: int = 80, candidates: int = 8) -> list[Question]:
    """`n` made-up questions over 16 documents, "own" and "covidqa", and every fifth one "unrelated"
    (to decline): a candidate answers when its `dense` figure is the question's highest, blurred by
    noise."""
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        rows = rng.random((candidates, len(ANSWER_FEATURES)))
        noisy = rows[:, ANSWER_FEATURES.index("dense")] + rng.normal(0, 0.3, candidates)
        answerable = i % 5 != 0
        labels = (noisy == noisy.max()) & answerable
        suite = ("own" if i % 2 else "covidqa") if answerable else "unrelated"
        group = f"document:{i % 16}" if answerable else f"question:{i}"
        out.append(Question(f"q{i}", f"What is thing {i}?", suite, (suite,), group, answerable, rows, labels))
    return out


def test_the_fit_records_how_far_the_ranker_s_seed_moves_answer_hit(tmp_path):
    asked = questions()
    one = fit(asked, "sha", tmp_path / "one.txt")
    three = fit(asked, "sha", tmp_path / "three.txt", seeds=3)
    assert three["answer_hit_over_seeds"]["seeds"] == 3
    for row in ("own", "covidqa", "all"):
        low, high = three["answer_hit_over_seeds"]["rows"][row]
        assert low <= three["held_out"][row]["answer_hit"] <= high
        assert one["answer_hit_over_seeds"]["rows"][row] == [one["held_out"][row]["answer_hit"]] * 2
    assert (tmp_path / "three.txt").read_text() == (tmp_path / "one.txt").read_text()  # the ranker: seed 0


def test_a_fold_unlike_the_others_is_counted_at_thresholds_set_without_it():
    """The thresholds are fitted numbers too: each question is counted at the thresholds set on
    the other folds' readings. When one home document's answerable questions read as less
    relevant than every other's, they are declined at the others' threshold, where a rule set on
    every question would lower the threshold to answer them and report no decline."""
    asked = questions(400)
    weak = asked[1].group
    answerable = np.array([q.answerable for q in asked])
    relevance = np.where(answerable, 0.9, 0.1)
    relevance[[q.group == weak for q in asked]] = 0.3
    found = Read(np.zeros(len(asked)), answerable.copy(), np.zeros((len(asked), 1)), np.zeros(len(asked), bool))
    reading = Reading(found, np.full(len(asked), 0.95), relevance)
    every = pooled_thresholds(*stacked([reading], asked, np.ones(len(asked), bool)))
    assert every[1] <= 0.3  # in-sample, the weak document's questions would all be answered
    confident, declined, by_fold = held_out_thresholds([reading], asked)
    table = held_out_table(asked, reading, confident, declined)
    weak_share = sum(q.group == weak for q in asked) / answerable.sum()
    assert table["all"]["answerable_declined"] == pytest.approx(weak_share, abs=0.01) and weak_share > 0.03
    assert len(by_fold) == 5 and {pair[1] for pair in by_fold} == {0.9, every[1]}


def test_shares_measured_on_few_questions_set_no_threshold_they_cannot_support():
    """Each rule holds at its share's 95% bound. Nine right answers in ten at some confidence are
    too few to state such answers (the precision's lower bound is under 0.90), 950 in 1,000 are
    enough. Declining the 2% of answerable questions that read as least relevant needs enough of
    them to show that at most 3% would be: not with 100, yes with 2,000."""
    for n, right, stated in ((10, 9, False), (30, 27, False), (1000, 950, True)):
        ones = np.ones(n)
        confident, _ = thresholds(0.99 * ones, ones, np.zeros(n, bool), np.arange(n) < right, np.ones(n, bool))
        assert (confident == 0.99) is stated, (n, right, confident)
    for n, declines in ((100, False), (2000, True)):
        relevance = np.where(np.arange(n) < n // 50, 0.2, 0.9)
        ones = np.ones(n)
        _, declined = thresholds(0.5 * ones, relevance, np.zeros(n, bool), np.ones(n, bool), np.ones(n, bool))
        assert (declined > 0.2) is declines, (n, declined)


def test_a_measured_only_suite_is_held_out_and_never_fitted_on(tmp_path):
    """One document alone (`eval.fit_answer.MEASURED_ONLY`) is a corpus kind the models never see:
    its questions get a held-out row, and the ranker is the one fitted without them."""
    asked = questions()
    alone = [dataclasses.replace(q, id=f"{q.id}-alone", suite="alone", rows_key=("alone",)) for q in asked[:30]]
    without = fit(asked, "sha", tmp_path / "without.txt")
    measured = fit(asked + alone, "sha", tmp_path / "with.txt")
    assert (tmp_path / "with.txt").read_text() == (tmp_path / "without.txt").read_text()
    for part in ("relevance", "calibration", "confident"):
        assert measured[part] == without[part]
    assert measured["held_out"]["alone"]["questions"] == 30 and "alone" not in without["held_out"]
    assert measured["held_out"]["all"] == without["held_out"]["all"]
    assert measured["fitted_on"]["questions"] == len(asked) and measured["fitted_on"]["measured_only"] == {"alone": 30}


def test_collecting_needs_no_answer_model(monkeypatch):
    """After a change to the features, the shipped answer model no longer loads until it is refit,
    and `make fit` must still collect the rows to refit it from."""
    benchmarks = shared_data("benchmarks")

    def stale(*_args, **_kwargs):
        raise ValueError("answer.json: fitted on other features than chat.candidates computes; refit it")

    monkeypatch.setattr(chat.fitted, "load_answer_model", stale)
    asked = collect(benchmarks, 1, lambda line: None)
    assert {q.suite for q in asked} >= {"own", "covidqa", "pubmedqa"}
    assert all(q.features.shape[1:] == (len(ANSWER_FEATURES),) for q in asked if len(q.features))
    assert any(q.labels.any() for q in asked)
