"""Decisions fitted to data: small logistic regressions stored as JSON in `chat/models/`.

Each model is a list of named features, their means and scales (standardisation), weights and a
bias, fitted by `python -m eval.fit` (scikit-learn) on the public benchmark's development questions
and the project's own evaluation set; the file also records what it was fitted on and its
cross-validated figures. Only numpy runs at answer time.
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
        z = ((np.atleast_2d(rows) - self.mean) / self.scale) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-z))


@cache
def load_model(name: str, folder: Path = MODELS) -> LinearModel:
    """The model `folder/name.json`. Raises FileNotFoundError or KeyError when it is missing or malformed."""
    data = json.loads((folder / f"{name}.json").read_text())
    return LinearModel(
        features=tuple(data["features"]),
        mean=np.asarray(data["mean"], dtype=np.float64),
        scale=np.asarray(data["scale"], dtype=np.float64),
        weights=np.asarray(data["weights"], dtype=np.float64),
        bias=float(data["bias"]),
        threshold=float(data.get("threshold", 0.5)),
    )


@dataclass(frozen=True)
class Models:
    """The fitted models the chain uses; None for one whose file is missing (the hand-set rule then decides)."""

    passage: LinearModel | None = None
    refusal: LinearModel | None = None


def load_models(folder: Path = MODELS) -> Models:
    """Every model found in `folder`: `passage.json` and `refusal.json`."""
    found = {name: load_model(name, folder) for name in ("passage", "refusal") if (folder / f"{name}.json").exists()}
    return Models(**found)
