"""The fitted models in chat/models/ match the features the code computes, and decide as stored."""

from __future__ import annotations

import json

import numpy as np
import pytest

from chat.candidates import ANSWER_FEATURES
from chat.fitted import (
    MODELS,
    RELEVANCE_FEATURES,
    AnswerModel,
    LinearModel,
    load_answer_model,
    load_model,
    load_models,
)
from chat.retrieve import PASSAGE_FEATURES
from eval.fit_answer import feature_code_digest


def test_the_passage_model_was_fitted_on_the_features_the_code_computes():
    # A feature added, removed or reordered without running `python -m eval.fit` fails here.
    data = json.loads((MODELS / "passage.json").read_text())
    assert tuple(data["features"]) == PASSAGE_FEATURES
    assert data["fitted_on"] and data["figures"]
    model = load_model("passage")
    assert len(model.mean) == len(model.scale) == len(model.weights) == len(PASSAGE_FEATURES)


def test_the_answer_model_was_fitted_on_the_feature_code_as_it_stands():
    # Any change to the code that computes the candidates' features, without `make fit`, fails here.
    data = json.loads((MODELS / "answer.json").read_text())
    assert tuple(load_answer_model().ranker.booster.feature_name()) == ANSWER_FEATURES
    assert tuple(data["relevance"]["features"]) == RELEVANCE_FEATURES
    assert data["fitted_on"]["feature_code_sha256"] == feature_code_digest()
    assert 0.0 < data["relevance"]["threshold"] < 1.0 and 0.0 < data["confident"] < 1.0
    assert data["held_out"]["all"]["questions"] == data["fitted_on"]["questions"]


def test_an_answer_model_fitted_on_other_features_is_refused_by_name(tmp_path):
    data = json.loads((MODELS / "answer.json").read_text())
    (tmp_path / "answer.json").write_text(json.dumps(data))
    ranker = (MODELS / data["ranker"]["file"]).read_text()
    names = f"feature_names={' '.join(ANSWER_FEATURES)}"
    assert names in ranker
    renamed = names.replace(ANSWER_FEATURES[-1], "a_feature_no_longer_computed")
    (tmp_path / data["ranker"]["file"]).write_text(ranker.replace(names, renamed))
    with pytest.raises(ValueError, match=r"answer\.json: fitted on other features"):
        load_answer_model(tmp_path)


def test_an_answer_model_without_its_ranker_is_refused_by_name(tmp_path):
    (tmp_path / "answer.json").write_text((MODELS / "answer.json").read_text())
    with pytest.raises(FileNotFoundError, match=r"answer-ranker\.txt is missing"):
        load_answer_model(tmp_path)


def test_the_passage_model_is_the_stored_logistic_regression():
    model = load_model("passage")
    rows = np.random.default_rng(0).random((4, len(model.features)))
    expected = 1 / (1 + np.exp(-(((rows - model.mean) / model.scale) @ model.weights + model.bias)))
    assert np.allclose(model.probability(rows), expected)


def test_confidence_rises_with_the_ranker_s_score_and_the_question_s_relevance():
    model = load_answer_model()
    for relevance in (0.1, 0.5, 0.9):
        confidences = [model.confidence(z, relevance) for z in np.linspace(-8, 8, 50)]
        assert all(0.0 <= c <= 1.0 for c in confidences)
        assert all(b >= a for a, b in zip(confidences, confidences[1:], strict=False))
    by_relevance = [model.confidence(1.0, r) for r in (0.0, 0.05, 0.5, 0.95, 1.0)]
    assert all(b >= a for a, b in zip(by_relevance, by_relevance[1:], strict=False))


def test_a_folder_without_models_has_none():
    models = load_models(MODELS.parent / "no-such-folder")
    assert models.passage is None and models.answer is None
    assert isinstance(load_models().passage, LinearModel) and isinstance(load_models().answer, AnswerModel)
