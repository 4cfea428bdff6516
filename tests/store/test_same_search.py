"""The shared store's lexical index ranks as the embedded store's FTS5 bm25() does: over the same
documents every question of the evaluation set finds the same chunks in the same order with the
same scores, so answers do not depend on which store serves them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bench.engines import Cluster
from ingest.pipeline import ingest_paths
from studychat.embedder import Embedder
from studychat.settings import Settings
from studychat.store import open_store
from studychat.text import terms

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_both_stores_rank_every_question_alike(
    tmp_path: Path, embedder: Embedder, engines: tuple[Cluster, str]
) -> None:
    cluster, chroma_url = engines
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "eval" / "documents", corpus)
    shutil.copy(ROOT / "corpus" / "echemi-car-t-lupus-2022.txt", corpus)
    embedded = Settings(corpus=corpus, db=tmp_path / "db", _env_file=None)
    shared = embedded.model_copy(
        update={"database_url": cluster.create_database("same_search"), "chroma_url": chroma_url, "collection": "same"}
    )
    stores = [open_store(s, embedder, writer="tests") for s in (embedded, shared)]
    try:
        for store, settings in zip(stores, (embedded, shared), strict=True):
            ingest_paths(store, settings, [corpus])
        first, second = stores
        assert first.counts() == second.counts()
        ids = {d.id: d for d in first.documents()}
        questions = [json.loads(line)["question"] for line in (ROOT / "eval" / "qa.jsonl").read_text().splitlines()]
        assert len(questions) > 20
        compared = 0
        for question in questions:
            for scope in (None, sorted(ids)[:2]):
                want, got = first.search_lexical(question, 30, scope), second.search_lexical(question, 30, scope)
                assert [i for i, _ in got] == [i for i, _ in want], question
                assert [s for _, s in got] == pytest.approx([s for _, s in want], rel=1e-6), question
                compared += len(want)
            assert second.documents_with(question, sorted(ids)) == first.documents_with(question, sorted(ids))
            words = terms(question)
            assert second.document_frequencies(words) == first.document_frequencies(words)
            for term in words:
                assert sorted(second.terms_like(term)) == sorted(first.terms_like(term)), term
        assert compared > 200
    finally:
        for store in stores:
            store.close()
