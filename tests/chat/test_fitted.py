"""The fitted models in chat/models/ match the features the code computes, and decide as stored."""

from __future__ import annotations

import json

import numpy as np
import pytest

from chat.extractive import REFUSAL_FEATURES
from chat.fitted import MODELS, load_model, load_models
from chat.retrieve import PASSAGE_FEATURES


@pytest.mark.parametrize(("name", "features"), [("passage", PASSAGE_FEATURES), ("refusal", REFUSAL_FEATURES)])
def test_each_model_was_fitted_on_the_features_the_code_computes(name, features):
    # A feature added, removed or reordered without running `python -m eval.fit` fails here.
    data = json.loads((MODELS / f"{name}.json").read_text())
    assert tuple(data["features"]) == features
    assert len(data["mean"]) == len(data["scale"]) == len(data["weights"]) == len(features)
    assert data["fitted_on"] and data["figures"]
    assert 0.0 < data["threshold"] < 1.0


def test_probability_is_the_stored_logistic_regression():
    model = load_model("refusal")
    rows = np.random.default_rng(0).random((4, len(model.features)))
    expected = 1 / (1 + np.exp(-(((rows - model.mean) / model.scale) @ model.weights + model.bias)))
    assert np.allclose(model.probability(rows), expected)


def test_a_folder_without_models_leaves_the_hand_set_rules(tmp_path):
    models = load_models(tmp_path)
    assert models.passage is None and models.refusal is None
    assert load_models().passage is not None and load_models().refusal is not None
