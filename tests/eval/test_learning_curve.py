"""The learning curve of the answer ranker: a share of the groups, read held out as the fit reads."""

from __future__ import annotations

import numpy as np

from eval.fit_answer import held_out
from eval.learning_curve import curve, kept, top1
from tests.eval.test_fit_answer import questions


def test_all_the_groups_read_as_the_fit_reads_and_a_smaller_share_keeps_fewer():
    asked = questions(200)
    assert np.array_equal(top1(asked, 1.0, 0), held_out(asked, 0).found.hit)
    groups = {q.group for q in asked}
    for small, large in ((0.125, 0.25), (0.25, 0.5), (0.5, 1.0)):
        assert {g for g in groups if kept(g, small)} < {g for g in groups if kept(g, large)}


def test_no_share_reads_above_the_ceiling():
    rows = curve(questions(200), shares=(0.25, 1.0), seeds=1)
    (label, ceiling), *shares = rows
    assert label.startswith("ceiling") and len(shares) == 2
    for _, figures in shares:
        assert all(figures[k] <= ceiling[k] for k in figures)
