"""`python -m eval.learning_curve`: does the answer ranker want more questions, or other signals?

On the rows `python -m eval.fit_answer` keeps (`--rows`), the ranker is fitted, fold by fold
(`eval.fit_answer.split`), on a share of each fold's training groups (a paper with its questions,
a home document with its questions: the same share of groups in every fold, picked by a hash of
the group's name) and read on the held-out fold. It prints, per suite, the share of the
answerable questions whose chosen quote holds the answer (top-1, declines aside), for each share
of groups and ranker seed, and the ceiling: the share that have such a quote among their
candidates. A curve that is flat from a quarter of the groups to all of them says that more
questions of the same kinds will not lift the figure; what the ranker is given to weigh must.
"""

from __future__ import annotations

import argparse
import sys
import zlib
from pathlib import Path

import numpy as np

from eval.fit_answer import MEASURED_ONLY, ROWS, Question, load_rows, read_held_out

SHARES = (0.125, 0.25, 0.5, 1.0)
SUITES = ("own", "reader", "covidqa", "covidqa-small", "pubmedqa")


def kept(group: str, share: float) -> bool:
    """Whether `group` is among the `share` of groups kept: by a hash of its name, so a smaller
    share's groups are among every larger share's."""
    return zlib.crc32(group.encode()) % 1000 < share * 1000


def top1(questions: list[Question], share: float, seed: int) -> np.ndarray:
    """(n,) bool: whether each question's chosen quote holds the answer, read by a ranker fitted
    (with `seed`) on the `share` of the other folds' groups."""
    return read_held_out(questions, seed, taught=lambda q: kept(q.group, share)).hit


def curve(questions: list[Question], shares=SHARES, seeds: int = 2) -> list[tuple[str, dict[str, float]]]:
    """(label, {suite or "all": top-1 share}) rows: the ceiling first, then each share and seed.
    Over the answerable questions of the suites fitted on."""
    counted = np.array([q.answerable and q.suite not in MEASURED_ONLY for q in questions])
    suite = np.array([q.suite for q in questions])

    def row(hit: np.ndarray) -> dict[str, float]:
        shares_of = {s: hit[counted & (suite == s)] for s in SUITES}
        return {"all": round(float(hit[counted].mean()), 3)} | {
            s: round(float(h.mean()), 3) for s, h in shares_of.items() if len(h)
        }

    rows = [("ceiling: a right quote among the candidates", row(np.array([q.labels.any() for q in questions])))]
    for share in shares:
        for seed in range(seeds):
            rows.append((f"ranker on {share:g} of the groups, seed {seed}", row(top1(questions, share, seed))))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.learning_curve", description=__doc__)
    parser.add_argument("--rows", type=Path, default=ROWS, help="rows kept by python -m eval.fit_answer --collect")
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args(argv)
    if not args.rows.exists():
        parser.error(f"{args.rows}: no kept rows; run python -m eval.fit_answer --collect first")
    try:
        questions = load_rows(args.rows)
    except ValueError as error:
        parser.error(f"{error}: run python -m eval.fit_answer --collect")
    rows = curve(questions, seeds=args.seeds)
    columns = list(rows[0][1])
    print("| top-1, held out | " + " | ".join(columns) + " |\n" + "|---" * (len(columns) + 1) + "|")
    for label, figures in rows:
        print(f"| {label} | " + " | ".join(str(figures.get(c, "-")) for c in columns) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
