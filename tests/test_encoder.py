"""The int8 encoder: close to float32, and never mixed with it in one index."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from chat.retrieve import retrieve
from ingest import pipeline
from studychat.embedder import Embedder
from studychat.settings import Settings
from studychat.store import IndexMismatch, open_store

QUESTIONS = [
    "What side effects did the patients have?",
    "How many patients were enrolled in the trial?",
    "How long were the patients followed up without recurrence?",
    "Who published the clinical research paper?",
]


@pytest.fixture(scope="module")
def int8() -> Embedder:
    model = Embedder(backend="onnx", precision="int8")
    model.encode(["warm up"])
    return model


def settings_for(tmp_path, corpus, precision: str) -> Settings:
    return Settings(corpus=corpus, db=tmp_path / f"db-{precision}", embedding_precision=precision, _env_file=None)


def test_int8_vectors_stay_close_to_float32(embedder, int8, corpus):
    sentences = [s.strip() for s in next(corpus.iterdir()).read_text().split(". ") if len(s) > 40][:60]
    cosine = np.sum(embedder.encode(sentences) * int8.encode(sentences), axis=1)
    assert cosine.mean() > 0.98 and cosine.min() > 0.95, (cosine.mean(), cosine.min())


def test_int8_finds_the_passages_float32_finds(tmp_path, corpus, embedder, int8):
    found = {}
    for precision, model in (("float32", embedder), ("int8", int8)):
        settings = settings_for(tmp_path, corpus, precision)
        store = open_store(settings, model, writer="tests")
        try:
            pipeline.ingest_paths(store, settings, [corpus])
            found[precision] = [
                retrieve(q, store, model, settings.top_k, settings.candidates).passages[0].chunk_id for q in QUESTIONS
            ]
        finally:
            store.close()
    assert found["int8"] == found["float32"]


def test_an_index_is_refused_with_the_other_precision(tmp_path, corpus, embedder, int8):
    built = settings_for(tmp_path, corpus, "float32")
    store = open_store(built, embedder, writer="tests")
    pipeline.ingest_paths(store, built, [corpus])
    store.close()

    other = built.model_copy(update={"embedding_precision": "int8"})
    with pytest.raises(IndexMismatch, match="embedding_precision is 'float32' in the index but 'int8' now.*--reset"):
        open_store(other, int8)

    # An index built before the precision was recorded holds float32 vectors: it opens as such.
    with sqlite3.connect(built.db / "studychat.sqlite3") as db:
        db.execute("DELETE FROM meta WHERE key = 'embedding_precision'")
    open_store(built, embedder).close()
    with pytest.raises(IndexMismatch, match="embedding_precision"):
        open_store(other, int8)

    rebuilt = open_store(other, int8, writer="tests", reset=True)
    try:
        rebuilt.reset()
        assert pipeline.ingest_paths(rebuilt, other, [corpus]).count("added") == 1
    finally:
        rebuilt.close()
    with pytest.raises(IndexMismatch, match="embedding_precision is 'int8' in the index but 'float32' now"):
        open_store(built, embedder)


def test_int8_needs_the_onnx_backend():
    with pytest.raises(ValueError, match="STUDYCHAT_EMBEDDING_BACKEND=onnx"):
        Settings(embedding_precision="int8", embedding_backend="torch", _env_file=None)
