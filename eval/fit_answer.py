"""`python -m eval.fit_answer`: fit the answer model and write `chat/models/answer.json`.

Two steps, the first slow (the chain reads every question of the suites), the second quick:

1. collect: every question of the suites of `python -m eval` (`eval.suites`: the own set, the
   reader questions, COVID-QA over the 98 papers and in small corpora, a fixed sample of
   `eval.suites.GENERAL_FITTED` general questions over the home corpus and the papers, the
   unrelated PubMedQA questions, each PubMedQA abstract with its four nearest, each home document
   alone) goes through the chain's condensing and retrieval, and each of its candidate quotes
   (`chat.extractive.candidate_quotes`) becomes a row of `chat.candidates.ANSWER_FEATURES`,
   labelled 1 when quoting it would count as a hit by the rule of `eval/counting.py` (its
   document the expected one, its text holding the answer).
   Kept in `--rows` (default `data/answer-rows.pkl`) for step 2.
2. fit: a LightGBM LambdaRank model (`RANKER`, fixed settings) over the rows of the answerable
   questions that have a quote that answers ranks candidates; a logistic regression over the
   question as a whole (`chat.fitted.RELEVANCE_FEATURES`) gives the relevance; the best
   candidate's score and the relevance, calibrated together (`fit_calibration`), are the
   answer's confidence. Every figure printed and recorded is held out:
   5 folds by group (a paper with its questions, in both COVID-QA suites; an abstract with its
   question, which the unrelated suite also asks; a home document with its questions, in the
   home corpus and alone; a general question over every corpus it is asked over), each question
   answered by a ranker and a calibration fitted without its group.

The two thresholds follow a stated rule on those held-out confidences: `confident` is the lowest
at which the answers given confidently hit at least `PRECISION` of the time, counting every
question (an answer to a question that should be declined is a miss); `declined` is the highest
at which at most `MAX_DECLINED` of the answerable questions are declined. Each share is taken at
the end of its one-sided 95% Wilson interval that the rule must hold at (`share_bounds`): the
share measured on the readings a threshold is set on is itself an estimate. The shipped thresholds,
calibration and relevance model are set on the readings of every ranker seed (`--seeds`) taken
together; in the printed table each question is counted at thresholds set without its fold, so
the figures that depend on them are held out as well.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import pickle
import platform
import subprocess
import sys
import tempfile
import zlib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import lightgbm
import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from chat.candidates import ANSWER_FEATURES
from chat.chain import Chain
from chat.compose import about_documents, chosen
from chat.fitted import (
    MARGIN_CAP,
    MODELS,
    RELEVANCE_FEATURES,
    LinearModel,
    Models,
    Ranker,
    calibrated,
    load_model,
    logit,
    relevance_row,
)
from eval.counting import HIT_SHARE, same_document
from eval.harness import Asked, Asker
from eval.suites import BENCHMARKS, ORDER, SUITES, Context, general_fitted, read_jsonl
from studychat.embedder import build_embedder
from studychat.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
ROWS = ROOT / "data" / "answer-rows.pkl"
# The code that computes the features: a change to it without a refit fails tests/chat/test_fitted.py
FEATURE_CODE = tuple(
    f"chat/{name}.py"
    for name in (
        "spelling",
        "candidates",
        "extractive",
        "sentences",
        "kinds",
        "retrieve",
        "grounding",
        "document_questions",
        "wording",
    )
)
FOLDS = 5
C = 1.0  # inverse regularisation of the logistic regressions, fixed before fitting
# The ranker's settings: LightGBM's LambdaRank with small trees, shrinkage and row and column
# sampling against over-fitting; fixed before fitting, deterministic
RANKER = {
    "objective": "lambdarank",
    "n_estimators": 300,
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_child_samples": 50,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "lambdarank_truncation_level": 10,
    "random_state": 0,
    "deterministic": True,
    "force_row_wise": True,
    "n_jobs": 2,
    "verbose": -1,
}
# Suites measured and never fitted on: a corpus kind the models never saw (one document alone), so
# that its figures say how the answerer holds on a kind of corpus it was not fitted to
MEASURED_ONLY = frozenset({"alone"})
PRECISION = 0.90  # of the confident answers, the share that must hit (held out)
# Both rules hold at this z (one-sided 95%, fixed before measuring): the precision's lower bound
# and the declined share's upper bound, not the shares themselves (`share_bounds`)
BOUND_Z = 1.645
MAX_DECLINED = 0.03  # of the answerable questions, the most declined (held out)


@dataclass
class Question:
    """One question's candidates: rows (n, features), labels (n,), and where it counts."""

    id: str
    text: str
    suite: str
    rows_key: tuple[str, ...]
    group: str
    answerable: bool
    features: np.ndarray
    labels: np.ndarray


def group_of(suite: str, asked: Asked) -> str:
    """The cross-validation group of a question: what must not be both fitted on and measured."""
    if suite in ("covidqa", "covidqa-small"):
        return "paper:" + asked.expected.document
    if suite in ("pubmedqa", "unrelated", "general") or "alone-general" in asked.rows:
        return "question:" + asked.question.strip().lower()
    return "document:" + asked.expected.document if asked.expected.answerable else "question:" + asked.id


def collect(benchmarks: Path, sample: int | None, log) -> list[Question]:
    settings = Settings()
    embedder = build_embedder(settings)
    out: list[Question] = []
    with tempfile.TemporaryDirectory(prefix="studychat-fit-") as work:
        ctx = Context(settings, embedder, Path(work), benchmarks, sample)
        # the candidates need the passage model only: the answer model being fitted may not load yet
        asker = Asker(settings, embedder, Path(work), models=Models(passage=load_model("passage")))
        try:
            for name in ORDER:
                plan = SUITES[name].plan(ctx)
                if name == "general" and not sample:
                    fitted = {r["id"] for r in general_fitted(read_jsonl(benchmarks / "nq-open-general.jsonl"))}
                    plan = [(corpus, [q for q in asked if q.id in fitted]) for corpus, asked in plan]
                for corpus, asked in plan:

                    def each(chain: Chain, q: Asked, suite: str = name) -> Question:
                        found = chain.candidates(q.question, q.history)
                        labels = [
                            q.expected.answerable
                            and same_document(q.expected.document, c.document_id)
                            and q.expected.holds(c.text, HIT_SHARE)
                            for c in found.quotes
                        ]
                        rows = np.array([c.row for c in found.quotes]).reshape(-1, len(ANSWER_FEATURES))
                        return Question(
                            q.id,
                            q.question,
                            suite,
                            q.rows,
                            group_of(suite, q),
                            q.expected.answerable,
                            rows,
                            np.array(labels, bool),
                        )

                    out += asker.visit(corpus, asked, each)
                log(f"{name}: {sum(q.suite == name for q in out)} questions collected")
        finally:
            asker.close()
    return out


# ---- fitting ---------------------------------------------------------------------------------


def fit_linear(rows: np.ndarray, labels: np.ndarray, names: tuple[str, ...]) -> LinearModel:
    """A logistic regression (`C`) on standardised `rows`, as the answerer's `LinearModel`."""
    mean, scale = rows.mean(axis=0), rows.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=C, max_iter=5000).fit((rows - mean) / scale, labels)
    return LinearModel(names, mean, scale, model.coef_[0], float(model.intercept_[0]))


def fit_ranker(questions: list[Question], seed: int = 0) -> Ranker:
    """LambdaRank (`RANKER`, its `random_state` set to `seed`) over the candidates of the
    questions that have one that answers."""
    taught = [q for q in questions if q.labels.any()]
    rows = np.vstack([q.features for q in taught])
    labels = np.concatenate([q.labels.astype(int) for q in taught])
    model = lightgbm.LGBMRanker(**{**RANKER, "random_state": seed}).fit(
        rows, labels, group=[len(q.features) for q in taught], feature_name=list(ANSWER_FEATURES)
    )
    return Ranker(model.booster_)


@dataclass
class Read:
    """What a ranker made of each question, as the answerer reads it (`chat.compose`): the chosen
    candidate's score and hit, the question's relevance row, and whether it is about the
    documents by construction (never declined)."""

    score: np.ndarray
    hit: np.ndarray
    relevance: np.ndarray
    about: np.ndarray

    @classmethod
    def nothing(cls, n: int) -> Read:
        """The reading of `n` questions without a candidate."""
        return cls(
            np.full(n, -MARGIN_CAP), np.zeros(n, bool), np.zeros((n, len(RELEVANCE_FEATURES))), np.zeros(n, bool)
        )


def read(questions: list[Question], ranker: Ranker) -> Read:
    found = Read.nothing(len(questions))
    for i, q in enumerate(questions):
        if len(q.features):
            scores = ranker.scores(q.features)
            best = chosen(q.features, scores)
            found.score[i], found.hit[i] = scores[best], q.labels[best]
            found.relevance[i] = relevance_row(q.features, scores)
            found.about[i] = about_documents(q.text, q.features[best])
    return found


def fit_calibration(score: np.ndarray, relevance: np.ndarray, hit: np.ndarray) -> tuple[float, float, float]:
    """(a, c, b) of `chat.fitted.calibrated`: a logistic regression of the hit on the chosen
    candidate's score and the logit of the question's relevance (Platt scaling with the relevance
    beside the score), nearly unregularised."""
    model = LogisticRegression(C=100.0).fit(np.c_[score, logit(relevance)], hit)
    return float(model.coef_[0, 0]), float(model.coef_[0, 1]), float(model.intercept_[0])


def fitted_on(questions: list[Question]) -> np.ndarray:
    """(n,) bool: the questions the models may be fitted on (not of a `MEASURED_ONLY` suite)."""
    return np.array([q.suite not in MEASURED_ONLY for q in questions])


def split(questions: list[Question]) -> list[tuple[np.ndarray, np.ndarray]]:
    """`FOLDS` (train, test) index pairs: the questions fitted on (`fitted_on`) split by group
    (GroupKFold), a `MEASURED_ONLY` question tested in the fold of its group (or, for a group
    fitted on nowhere, a fold by its name) and never trained on. The folds, and so the fit, are
    the same with or without the measured-only questions."""
    taught = fitted_on(questions)
    groups = [q.group for q in questions]
    taught_at = np.flatnonzero(taught)
    fold_of = {}
    for k, (_, test) in enumerate(GroupKFold(n_splits=FOLDS).split(taught_at, groups=[groups[i] for i in taught_at])):
        fold_of.update({groups[taught_at[j]]: k for j in test})
    fold = np.array([fold_of.get(g, zlib.crc32(g.encode()) % FOLDS) for g in groups])
    return [(np.flatnonzero(taught & (fold != k)), np.flatnonzero(fold == k)) for k in range(FOLDS)]


class Reading(NamedTuple):
    """What `held_out` gives for one ranker seed: what the held-out rankers read, and each
    question's confidence and relevance."""

    found: Read
    confidence: np.ndarray
    relevance: np.ndarray


def read_held_out(questions: list[Question], seed: int = 0, taught=lambda q: True) -> Read:
    """What rankers (fitted with `seed`) read of each question, each ranker fitted on the other
    folds' questions for which `taught(question)` holds (`eval.learning_curve` keeps a share)."""
    found = Read.nothing(len(questions))  # every field filled below, fold by fold
    for train, test in split(questions):
        ranker = fit_ranker([questions[i] for i in train if taught(questions[i])], seed)
        part = read([questions[i] for i in test], ranker)
        for f in dataclasses.fields(Read):
            getattr(found, f.name)[test] = getattr(part, f.name)
    return found


def held_out(questions: list[Question], seed: int = 0) -> Reading:
    """(what held-out rankers read, confidence, relevance) per question: each from a ranker (fitted
    with `seed`), a calibration and a relevance model fitted without its group, and never on a
    `MEASURED_ONLY` suite."""
    answerable = np.array([q.answerable for q in questions])
    folds = split(questions)
    found = read_held_out(questions, seed)
    confidence, relevance = np.zeros(len(questions)), np.zeros(len(questions))
    for train, test in folds:  # the relevance model on the other groups' held-out reading
        model = fit_linear(found.relevance[train], answerable[train], RELEVANCE_FEATURES)
        relevance[test] = model.probability(found.relevance[test])
    for train, test in folds:  # the calibration on the other groups' held-out scores and relevance
        a, c, b = fit_calibration(found.score[train], relevance[train], found.hit[train])
        confidence[test] = calibrated(a, c, b, found.score[test], relevance[test])
    return Reading(found, confidence, relevance)


def thresholds(
    confidence: np.ndarray, relevance: np.ndarray, about: np.ndarray, hit: np.ndarray, answerable: np.ndarray
) -> tuple[float, float]:
    """(confident, declined) by the rule of the module's docstring, each share taken at the end of
    its 95% interval that the rule must hold at (`share_bounds`). A question about the documents
    by construction (`about`) is never declined."""
    declinable = answerable & ~about
    declined = max(
        (
            float(t)
            for t in np.unique(relevance)
            if share_bounds(int((declinable & (relevance < t)).sum()), int(answerable.sum()))[1] <= MAX_DECLINED
        ),
        default=0.0,
    )
    given = (relevance >= declined) | about

    def precision_low(t: float) -> float:  # of the answers stated at confidence t and above
        stated = given & (confidence >= t)
        return share_bounds(int(hit[stated].sum()), int(stated.sum()))[0]

    confident = next((float(t) for t in np.sort(np.unique(confidence)) if precision_low(t) >= PRECISION), 1.0)
    return confident, declined


def share_bounds(k: int, n: int) -> tuple[float, float]:
    """(low, high): the one-sided `BOUND_Z` Wilson score bounds of a share of `k` in `n`; (0, 1)
    for n = 0. The rule holds the share's bound, not the share measured on the readings a
    threshold is set on, so that it holds on questions those readings never held."""
    if not n:
        return 0.0, 1.0
    p, z2 = k / n, BOUND_Z**2
    centre = p + z2 / (2 * n)
    spread = BOUND_Z * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return float((centre - spread) / (1 + z2 / n)), float((centre + spread) / (1 + z2 / n))


def figures(confidence, relevance, about, hit, answerable, confident, declined) -> dict:
    """The counting rule's figures for these questions at these thresholds (`eval.counting`)."""
    given = (relevance >= declined) | about
    stated = given & (confidence >= confident)
    hit = hit & answerable
    n, answerable_n, decline_n = len(hit), int(answerable.sum()), int((~answerable).sum())
    bins = np.minimum((confidence[given] * 10).astype(int), 9)
    ece = sum(
        abs(confidence[given][bins == b].mean() - hit[given][bins == b].mean()) * (bins == b).sum()
        for b in range(10)
        if (bins == b).any()
    ) / max(1, given.sum())
    return {
        "questions": n,
        "answer_hit": round(float((hit & given)[answerable].mean()), 3) if answerable_n else None,
        "answerable_declined": round(float((~given)[answerable].mean()), 3) if answerable_n else None,
        "declined_should_be": round(float((~given)[~answerable].mean()), 3) if decline_n else None,
        "confident_wrong": int((stated & ~hit).sum()),
        "tentative": round(float((given & ~stated).mean()), 3),
        "confident_coverage": round(float(stated.mean()), 3),
        "confident_precision": round(float(hit[stated].mean()), 3) if stated.any() else None,
        "ece": round(float(ece), 3),
    }


def stacked(readings: list[Reading], questions: list[Question], counted: np.ndarray) -> tuple[Reading, np.ndarray]:
    """The `counted` questions' readings of every ranker seed one after another (each question
    once a seed), and whether each row's question is answerable."""
    found = Read(
        *(np.concatenate([getattr(r.found, f.name)[counted] for r in readings]) for f in dataclasses.fields(Read))
    )
    pooled = Reading(
        found,
        np.concatenate([r.confidence[counted] for r in readings]),
        np.concatenate([r.relevance[counted] for r in readings]),
    )
    return pooled, np.tile(np.array([q.answerable for q in questions])[counted], len(readings))


def pooled_thresholds(pooled: Reading, answerable: np.ndarray) -> tuple[float, float]:
    """(confident, declined) by the rule (`thresholds`) over readings of every ranker seed taken
    together (`stacked`), so that one seed's draws do not set them."""
    return thresholds(pooled.confidence, pooled.relevance, pooled.found.about, pooled.found.hit, answerable)


def held_out_thresholds(readings: list[Reading], questions: list[Question]) -> tuple[np.ndarray, np.ndarray, list]:
    """(confident, declined) per question, each set by the rule on the readings of the other folds'
    questions fitted on (`pooled_thresholds`), never on its own: so the figures that depend on
    the thresholds are held out too. Also the (confident, declined) pair of each fold."""
    confident, declined, by_fold = np.zeros(len(questions)), np.zeros(len(questions)), []
    for train, test in split(questions):
        pair = pooled_thresholds(*stacked(readings, questions, train))
        confident[test], declined[test] = pair
        by_fold.append([round(x, 4) for x in pair])
    return confident, declined, by_fold


def held_out_table(questions: list[Question], reading: Reading, confident: np.ndarray, declined: np.ndarray) -> dict:
    """The figures of each table row for one held-out `reading` (`held_out`), each question
    counted at its held-out thresholds (`held_out_thresholds`)."""
    found, confidence, relevance = reading
    answerable = np.array([q.answerable for q in questions])
    by_row: dict[str, list[int]] = defaultdict(list)
    shown = {row.key for suite in SUITES.values() for row in suite.rows}
    for i, q in enumerate(questions):
        for key in set(q.rows_key) & shown:
            by_row[key].append(i)
    by_row["all"] = list(np.flatnonzero(fitted_on(questions)))  # the questions the thresholds' rule counts
    return {
        key: figures(
            confidence[idx],
            relevance[idx],
            found.about[idx],
            found.hit[idx],
            answerable[idx],
            confident[idx],
            declined[idx],
        )
        for key, idx in ((k, np.array(v)) for k, v in by_row.items())
    }


def fit(questions: list[Question], rows_sha: str, ranker_file: Path, seeds: int = 1) -> dict:
    """The answer model's JSON, its ranker written to `ranker_file`.

    The questions are read held out by rankers fitted with seeds 0 .. `seeds` - 1 (row and column
    sampling draw differently). The thresholds, the calibration and the relevance model are set
    on those readings taken together, so that a refit moves them less; the table is seed 0's
    reading at held-out thresholds, and for each row the lowest and highest answer hit over the
    seeds is recorded: how far a figure moves by chance alone, the least a change must move it to
    be a result."""
    readings = [held_out(questions, seed) for seed in range(seeds)]
    confident_at, declined_at, by_fold = held_out_thresholds(readings, questions)
    tables = [held_out_table(questions, reading, confident_at, declined_at) for reading in readings]
    hits = defaultdict(list)
    for table in tables:
        for key, row in table.items():
            if row["answer_hit"] is not None:
                hits[key].append(row["answer_hit"])
    # The final parts: the ranker on every question fitted on; the thresholds, the calibration and
    # the relevance model on the held-out readings, which are what they meet in use (a ranker's
    # scores on questions it never saw).
    t = fitted_on(questions)
    pooled, answerable = stacked(readings, questions, t)
    confident, declined = pooled_thresholds(pooled, answerable)
    a, c, b = fit_calibration(pooled.found.score, pooled.relevance, pooled.found.hit)
    relevance_model = fit_linear(pooled.found.relevance, answerable, RELEVANCE_FEATURES)
    ranker = fit_ranker([q for q, taught in zip(questions, t, strict=True) if taught])
    ranker.booster.save_model(str(ranker_file))
    return {
        "ranker": {"file": ranker_file.name, "settings": RANKER},
        "relevance": {**_linear_json(relevance_model), "threshold": declined},
        "calibration": {"a": a, "c": c, "b": b},
        "confident": confident,
        "rule": (
            f"declined: under the highest held-out relevance at which at most {MAX_DECLINED} of the answerable "
            f"questions are declined; confident: the lowest held-out confidence at which the answers given "
            f"confidently hit at least {PRECISION} of the time (an answer to a question to decline is a miss); "
            f"each share at the end of its one-sided Wilson interval at z = {BOUND_Z} (95%) that the rule must "
            f"hold at; both over the readings of every ranker seed together"
        ),
        "held_out": tables[0],
        "thresholds_by_fold": {"confident_declined": by_fold, "note": "each set without its fold, as the table counts"},
        "answer_hit_over_seeds": {"seeds": seeds, "rows": {key: [min(v), max(v)] for key, v in hits.items()}},
        "fitted_on": {
            "questions": int(fitted_on(questions).sum()),
            "by_suite": {s: sum(q.suite == s for q in questions) for s in ORDER if s not in MEASURED_ONLY},
            "measured_only": {s: sum(q.suite == s for q in questions) for s in sorted(MEASURED_ONLY)},
            "candidates": int(sum(len(q.features) for q in questions)),
            "rows_sha256": rows_sha,
            "feature_code_sha256": feature_code_digest(),
            "folds": f"{FOLDS}, by group (eval.fit_answer.group_of)",
            "commit": _commit(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
            "lightgbm": lightgbm.__version__,
        },
    }


def _linear_json(model: LinearModel) -> dict:
    numbers = {k: np.round(getattr(model, k), 6).tolist() for k in ("mean", "scale", "weights")}
    return {"features": list(model.features), **numbers, "bias": model.bias}


def feature_code_digest() -> str:
    """sha256 of the code that computes the candidates' features (`FEATURE_CODE`)."""
    digest = hashlib.sha256()
    for name in FEATURE_CODE:
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def load_rows(path: Path) -> list[Question]:
    """The questions kept in `path` by `--collect`. Raises ValueError when they were collected
    with other feature code than `FEATURE_CODE` is now."""
    data = pickle.loads(path.read_bytes())
    if data["feature_code_sha256"] != feature_code_digest():
        raise ValueError(f"{path} was collected with other feature code")
    return [Question(*row) for row in data["questions"]]


def table(held: dict) -> str:
    columns = list(next(iter(held.values())))
    lines = ["| row | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    lines += [f"| {key} | " + " | ".join(str(v) for v in row.values()) + " |" for key, row in held.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.fit_answer", description=__doc__)
    parser.add_argument("--collect", action="store_true", help="read the suites again (slow) instead of --rows")
    parser.add_argument("--rows", type=Path, default=ROWS, help="where the collected rows are kept")
    parser.add_argument("--sample", type=int, help="collect a fixed sample of N questions of each suite")
    parser.add_argument("--benchmarks", type=Path, default=BENCHMARKS)
    parser.add_argument("--out", type=Path, default=MODELS / "answer.json")
    parser.add_argument("--seeds", type=int, default=1, help="also hold out rankers of N seeds: the hit's spread")
    args = parser.parse_args(argv)
    log = lambda line: print(line, file=sys.stderr)  # noqa: E731
    if args.collect or not args.rows.exists():
        questions = collect(args.benchmarks, args.sample, log)
        args.rows.parent.mkdir(parents=True, exist_ok=True)
        rows = [dataclasses.astuple(q) for q in questions]  # plain values: readable by any script
        args.rows.write_bytes(pickle.dumps({"feature_code_sha256": feature_code_digest(), "questions": rows}))
    try:
        questions = load_rows(args.rows)
    except ValueError as error:
        parser.error(f"{error}: run with --collect")
    sha = hashlib.sha256(args.rows.read_bytes()).hexdigest()
    fitted = fit(questions, sha, args.out.with_name("answer-ranker.txt"), args.seeds)
    args.out.write_text(json.dumps(fitted, indent=1) + "\n")
    print(table(fitted["held_out"]))
    if args.seeds > 1:
        spread = [f"{k} {low}-{high}" for k, (low, high) in fitted["answer_hit_over_seeds"]["rows"].items()]
        print(f"\nanswer hit, lowest-highest over {args.seeds} ranker seeds: " + ", ".join(spread))
    threshold = fitted["relevance"]["threshold"]
    print(f"\nconfident >= {fitted['confident']:.3f}, declined when relevance < {threshold:.3f}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
