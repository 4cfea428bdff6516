"""The fitted models in chat/models/ match the features the code computes, and decide as stored."""

from __future__ import annotations

import json

import numpy as np
import pytest

from chat.extractive import REFUSAL_FEATURES
from chat.fitted import MODELS, LinearModel, TreeModel, load_model, load_models
from chat.retrieve import PASSAGE_FEATURES
from eval.fit import fit_trees


@pytest.mark.parametrize(("name", "features"), [("passage", PASSAGE_FEATURES), ("refusal", REFUSAL_FEATURES)])
def test_each_model_was_fitted_on_the_features_the_code_computes(name, features):
    # A feature added, removed or reordered without running `python -m eval.fit` fails here.
    data = json.loads((MODELS / f"{name}.json").read_text())
    assert tuple(data["features"]) == features
    assert data["fitted_on"] and data["figures"]
    assert 0.0 < data["threshold"] < 1.0
    model = load_model(name)
    if isinstance(model, LinearModel):
        assert len(model.mean) == len(model.scale) == len(model.weights) == len(features)
    else:
        assert all(tree["feature"].max() < len(features) for tree in model.trees)


def test_the_passage_model_is_the_stored_logistic_regression():
    model = load_model("passage")
    rows = np.random.default_rng(0).random((4, len(model.features)))
    expected = 1 / (1 + np.exp(-(((rows - model.mean) / model.scale) @ model.weights + model.bias)))
    assert np.allclose(model.probability(rows), expected)


def test_a_tree_sends_each_row_down_its_branches_to_a_leaf():
    # x0 <= 0.5 ? (x1 <= 2 ? -1 : 3) : 0.5, plus a bias of 0.25
    tree = {
        "feature": np.array([0, 1, -2, -2, -2]),
        "threshold": np.array([0.5, 2.0, -2.0, -2.0, -2.0]),
        "left": np.array([1, 2, -1, -1, -1]),
        "right": np.array([4, 3, -1, -1, -1]),
        "value": np.array([0.0, 0.0, -1.0, 3.0, 0.5]),
    }
    model = TreeModel(("x0", "x1"), (tree, tree), bias=0.25)
    rows = np.array([[0.1, 1.0], [0.1, 5.0], [0.9, 0.0], [0.5, 2.0]])
    assert np.allclose(model.log_odds(rows), 0.25 + 2 * np.array([-1.0, 3.0, 0.5, -1.0]))
    assert np.allclose(model.probability(rows), 1 / (1 + np.exp(-model.log_odds(rows))))


def test_trees_read_from_scikit_learn_decide_as_scikit_learn_does_on_new_rows():
    from sklearn.ensemble import GradientBoostingClassifier

    from eval.fit import TREES

    rng = np.random.default_rng(1)
    features = rng.random((300, 3))
    labels = ((features[:, 0] > 0.5) ^ (features[:, 1] > 0.7)).astype(int)  # needs an interaction
    weights = np.where(labels == 1, 2.0, 1.0)
    model = fit_trees(features, labels, weights, ("a", "b", "c"))
    reference = GradientBoostingClassifier(**TREES, random_state=0).fit(features, labels, sample_weight=weights)
    unseen = rng.random((200, 3))
    assert np.allclose(model.probability(unseen), reference.predict_proba(unseen)[:, 1])
    assert ((model.probability(unseen) > 0.5) == ((unseen[:, 0] > 0.5) ^ (unseen[:, 1] > 0.7))).mean() > 0.9


def test_a_folder_without_models_leaves_the_hand_set_rules(tmp_path):
    models = load_models(tmp_path)
    assert models.passage is None and models.refusal is None
    assert isinstance(load_models().passage, LinearModel) and isinstance(load_models().refusal, TreeModel)
