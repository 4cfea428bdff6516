"""Decisions fitted to data, stored as JSON in `chat/models/`: a logistic regression orders
passages (`passage.json`, fitted by `python -m eval.fit`), and the answer model scores candidate
quotes and gives the answer's calibrated confidence and outcome (`answer.json`, fitted by
`python -m eval.fit_answer`). Each file records what it was fitted on and its held-out figures.
Only numpy runs at answer time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache, cached_property
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
        return _sigmoid(((np.atleast_2d(rows) - self.mean) / self.scale) @ self.weights + self.bias)


@dataclass(frozen=True)
class TreeModel:
    """p(y=1 | x) = sigmoid(bias + the sum of each tree's leaf value for x): gradient-boosted
    regression trees over the named `features`. Each tree is parallel node arrays, node 0 its
    root: an inner node sends x to `left` when x[feature] <= threshold, else to `right`; a leaf
    (left == -1) holds its `value`, the learning rate already applied."""

    features: tuple[str, ...]
    trees: tuple[dict[str, np.ndarray], ...]
    bias: float
    threshold: float = 0.5

    def probability(self, rows: np.ndarray) -> np.ndarray:
        """One probability per row of `rows` (shape (n, len(features)))."""
        return _sigmoid(self.log_odds(rows))

    def log_odds(self, rows: np.ndarray) -> np.ndarray:
        """The bias plus the trees' leaf values, one per row of `rows`: every tree is walked at
        once, one level a step."""
        rows = np.atleast_2d(rows).astype(np.float32)  # as scikit-learn's trees compare them
        feature, threshold, left, right, value = (self._stacked[k] for k in TREE_ARRAYS)
        tree = np.arange(len(self.trees))[None, :]
        row = np.arange(len(rows))[:, None]
        node = np.zeros((len(rows), len(self.trees)), dtype=int)
        while (inner := left[tree, node] >= 0).any():
            goes_left = rows[row, feature[tree, node].clip(0)] <= threshold[tree, node]  # a leaf's feature is -2
            node = np.where(inner, np.where(goes_left, left[tree, node], right[tree, node]), node)
        return self.bias + value[tree, node].sum(axis=1)

    @cached_property
    def _stacked(self) -> dict[str, np.ndarray]:
        """The trees' node arrays as one (trees, most nodes) array each, short trees padded with leaves."""
        size = max((len(t["left"]) for t in self.trees), default=1)
        padding = {"feature": -2, "threshold": 0.0, "left": -1, "right": -1, "value": 0.0}
        return {
            k: np.array(
                [np.pad(t[k], (0, size - len(t[k])), constant_values=padding[k]) for t in self.trees], dtype=kind
            ).reshape(len(self.trees), size)
            for k, kind in TREE_ARRAYS.items()
        }


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


TREE_ARRAYS = {"feature": np.int64, "threshold": np.float64, "left": np.int64, "right": np.int64, "value": np.float64}


@cache
def load_model(name: str, folder: Path = MODELS) -> LinearModel | TreeModel:
    """The model `folder/name.json`. Raises FileNotFoundError or KeyError when it is missing or malformed."""
    data = json.loads((folder / f"{name}.json").read_text())
    if "trees" in data:
        return TreeModel(
            features=tuple(data["features"]),
            trees=tuple({k: np.asarray(t[k], dtype=kind) for k, kind in TREE_ARRAYS.items()} for t in data["trees"]),
            bias=float(data["bias"]),
            threshold=float(data.get("threshold", 0.5)),
        )
    return LinearModel(
        features=tuple(data["features"]),
        mean=np.asarray(data["mean"], dtype=np.float64),
        scale=np.asarray(data["scale"], dtype=np.float64),
        weights=np.asarray(data["weights"], dtype=np.float64),
        bias=float(data["bias"]),
        threshold=float(data.get("threshold", 0.5)),
    )


@dataclass(frozen=True)
class AnswerModel:
    """The answer model: `ranker` gives each candidate quote the probability that quoting it
    answers the question; the best candidate's log-odds, through the Platt calibration
    `sigmoid(a * z + b)`, is the answer's confidence. An answer is stated when its confidence is at
    least `confident`, tentative when at least `declined`, else declined (the rule that set both
    is in the file)."""

    ranker: LinearModel
    a: float
    b: float
    confident: float
    declined: float

    def confidence(self, probability: float) -> float:
        """The calibrated probability that the answer quoting a candidate of this `probability` is right."""
        p = min(max(probability, 1e-9), 1 - 1e-9)
        return float(_sigmoid(self.a * np.log(p / (1 - p)) + self.b))


@cache
def load_answer_model(folder: Path = MODELS) -> AnswerModel:
    """`folder/answer.json`. Raises FileNotFoundError or KeyError when it is missing or malformed,
    ValueError when it was fitted on other features than `chat.candidates` computes."""
    from chat.candidates import ANSWER_FEATURES

    path = folder / "answer.json"
    data = json.loads(path.read_text())
    if tuple(data["features"]) != ANSWER_FEATURES:
        raise ValueError(f"{path}: fitted on other features than chat.candidates computes; refit it (make fit)")
    ranker = LinearModel(
        features=tuple(data["features"]),
        mean=np.asarray(data["mean"], dtype=np.float64),
        scale=np.asarray(data["scale"], dtype=np.float64),
        weights=np.asarray(data["weights"], dtype=np.float64),
        bias=float(data["bias"]),
    )
    c = data["calibration"]
    return AnswerModel(ranker, float(c["a"]), float(c["b"]), float(data["confident"]), float(data["declined"]))


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
