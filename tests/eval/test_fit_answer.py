"""The answer model's fit: the held-out table, and how far a ranker's seed moves it."""

from __future__ import annotations

import numpy as np

import chat.fitted
from chat.candidates import ANSWER_FEATURES
from eval.fit_answer import Question, collect, fit
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
    assert three["held_out"] == one["held_out"]  # seed 0 is the model's own table
    assert three["answer_hit_over_seeds"]["seeds"] == 3
    for row in ("own", "covidqa", "all"):
        low, high = three["answer_hit_over_seeds"]["rows"][row]
        assert low <= three["held_out"][row]["answer_hit"] <= high
        assert one["answer_hit_over_seeds"]["rows"][row] == [one["held_out"][row]["answer_hit"]] * 2
    assert (tmp_path / "three.txt").is_file()


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
