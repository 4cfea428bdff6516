"""Decisions fitted to data, stored in `chat/models/`: a logistic regression orders passages
(`passage.json`, fitted by `python -m eval.fit`), and the answer model scores candidate quotes
and gives the answer's calibrated confidence and outcome (`answer.json` with its ranker in
`answer-ranker.txt`, fitted by `python -m eval.fit_answer`). Each JSON file records what it was
fitted on and its held-out figures. The ranker is a LightGBM LambdaRank model (gradient-boosted
trees trained to put a quote that answers first among a question's candidates); the rest is numpy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

MODELS = Path(__file__).resolve().parent / "models"


@dataclass(frozen=True)
class LinearModel:
    """p(y=1 | x) = sigmoid(w . (x - mean) / scale + bias) over the named `features`; `threshold`
    is the decision point chosen by the fitting script (see the file's `rule`)."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    threshold: float = 0.5

    def probability(self, rows: np.ndarray) -> np.ndarray:
        """One probability per row of `rows` (shape (n, len(features)))."""
        return _sigmoid(self.log_odds(rows))

    def log_odds(self, rows: np.ndarray) -> np.ndarray:
        """One log-odds per row of `rows` (shape (n, len(features)))."""
        return ((np.atleast_2d(rows) - self.mean) / self.scale) @ self.weights + self.bias


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


@cache
def load_model(name: str, folder: Path = MODELS) -> LinearModel:
    """The linear model `folder/name.json`. Raises FileNotFoundError or KeyError when it is missing or malformed."""
    return _linear(json.loads((folder / f"{name}.json").read_text()))


# What the relevance model weighs of a question: figures its best candidate's row holds for the
# whole question, the ranker's score for the best candidate and its margin over the second.
QUESTION_FEATURES = (
    "best_dense",
    "best_lexical",
    "known_share",
    "unknown_names",
    "question_words",
    "asks_kind",
    "whole_study",
    "document_share",  # of the best candidate's document: does one document speak of all the question names?
)
RELEVANCE_FEATURES = (*QUESTION_FEATURES, "score", "margin")
MARGIN_CAP = 10.0  # the margin of a question with one candidate, and the most any counts


def relevance_row(rows: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The question's row of `RELEVANCE_FEATURES`, from its candidates' `rows` (shape (n,
    len(ANSWER_FEATURES)), n >= 1) and the ranker's `scores` for them (shape (n,))."""
    from chat.candidates import ANSWER_FEATURES

    order = np.argsort(-scores, kind="stable")
    best = order[0]
    margin = min(MARGIN_CAP, scores[best] - scores[order[1]]) if len(order) > 1 else MARGIN_CAP
    question = [rows[best, ANSWER_FEATURES.index(name)] for name in QUESTION_FEATURES]
    return np.array([*question, scores[best], margin])


@dataclass(frozen=True)
class Ranker:
    """A LightGBM booster that scores candidate quotes: higher is likelier to answer the question.
    Scores compare the candidates of one question; `AnswerModel.confidence` turns one into a probability."""

    booster: object  # lightgbm.Booster

    def scores(self, rows: np.ndarray) -> np.ndarray:
        """One score per row of `rows` (shape (n, len(ANSWER_FEATURES)))."""
        return np.asarray(self.booster.predict(np.atleast_2d(rows), num_threads=1), dtype=np.float64)


@dataclass(frozen=True)
class AnswerModel:
    """The answer model, three fitted parts: `ranker` scores each candidate quote; `relevance`
    gives the probability that the documents answer the question at all (`relevance_row`), under
    `relevance.threshold` the question is declined; the calibration turns a candidate's score and
    the question's relevance into the answer's confidence, `sigmoid(a * score + c * logit(relevance)
    + b)`, and an answer at least `confident` is stated, else tentative. The rules that set both
    thresholds are in the file."""

    ranker: Ranker
    relevance: LinearModel
    a: float
    c: float
    b: float
    confident: float

    def confidence(self, score: float, relevance: float) -> float:
        """The calibrated probability that the answer quoting a candidate of this ranker `score`
        is right, when the relevance model gives the question `relevance` (0-1)."""
        return float(calibrated(self.a, self.c, self.b, np.float64(score), np.float64(relevance)))


def calibrated(a: float, c: float, b: float, score: np.ndarray, relevance: np.ndarray) -> np.ndarray:
    """`sigmoid(a * score + c * logit(relevance) + b)`, elementwise."""
    return _sigmoid(a * score + c * logit(relevance) + b)


def logit(p: np.ndarray) -> np.ndarray:
    """log(p / (1 - p)), elementwise, `p` clipped to 1e-6 from 0 and 1."""
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _linear(data: dict) -> LinearModel:
    return LinearModel(
        features=tuple(data["features"]),
        mean=np.asarray(data["mean"], dtype=np.float64),
        scale=np.asarray(data["scale"], dtype=np.float64),
        weights=np.asarray(data["weights"], dtype=np.float64),
        bias=float(data["bias"]),
        threshold=float(data.get("threshold", 0.5)),
    )


@cache
def load_answer_model(folder: Path = MODELS) -> AnswerModel:
    """`folder/answer.json` and the ranker it names. Raises FileNotFoundError or KeyError when one
    is missing or malformed, ValueError when it was fitted on other features than `chat.candidates`
    computes."""
    import lightgbm

    from chat.candidates import ANSWER_FEATURES

    path = folder / "answer.json"
    data = json.loads(path.read_text())
    ranker = folder / data["ranker"]["file"]
    if not ranker.is_file():
        raise FileNotFoundError(f"{path}: its ranker {ranker.name} is missing; refit it (make fit)")
    booster = lightgbm.Booster(model_file=str(ranker))
    if tuple(booster.feature_name()) != ANSWER_FEATURES:
        raise ValueError(f"{path}: fitted on other features than chat.candidates computes; refit it (make fit)")
    if tuple(data["relevance"]["features"]) != RELEVANCE_FEATURES:
        raise ValueError(f"{path}: fitted on other features than chat.fitted.relevance_row computes; refit it")
    c = data["calibration"]
    a, c, b = (float(c[k]) for k in ("a", "c", "b"))
    return AnswerModel(Ranker(booster), _linear(data["relevance"]), a, c, b, float(data["confident"]))


@dataclass(frozen=True)
class Models:
    """The fitted models the chain uses; None for one whose file is missing."""

    passage: LinearModel | None = None
    answer: AnswerModel | None = None


def load_models(folder: Path = MODELS) -> Models:
    """Every model found in `folder`: `passage.json` and `answer.json`."""
    passage = load_model("passage", folder) if (folder / "passage.json").exists() else None
    answer = load_answer_model(folder) if (folder / "answer.json").exists() else None
    return Models(passage=passage, answer=answer)
