"""Chroma server mode: a real `chroma run` on loopback that goes away and comes back, while the
same Store and Chain objects stay open."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from conftest import ROOT, chroma_server, free_port

from chat.chain import Chain
from ingest import pipeline
from studychat.settings import Settings
from studychat.store import StoreUnavailable, open_store

SEED = ROOT / "corpus" / "echemi-car-t-lupus-2022.txt"
QUESTION = "What disease was treated with CAR-T cells?"


def _consistent(store) -> None:
    chunk_ids = {r[0] for r in store._query("SELECT id FROM chunks")}
    assert set(store.vectors._collection.get(include=[])["ids"]) == chunk_ids


@pytest.mark.slow
def test_store_survives_the_server_going_away(tmp_path: Path, embedder) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    port = free_port()
    server_path = tmp_path / "chroma-server"
    settings = Settings(corpus=corpus, db=tmp_path / "db", chroma_url=f"http://127.0.0.1:{port}", _env_file=None)

    with chroma_server(server_path, port):
        store = open_store(settings, embedder, writer="tests")
        report = pipeline.ingest_paths(store, settings, [corpus])
        assert report.count("added") == 1 and not report.skipped
        chain = Chain(settings, store, embedder)
        first = chain.answer(QUESTION)
        assert not first.refused and first.citations
        store.ping()
        _consistent(store)

    try:
        # The server is gone: every use says so, quickly, with a reason, and nothing half-written stays.
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="cannot be reached: .+"):
            store.ping()
        with pytest.raises(StoreUnavailable):
            chain.answer(QUESTION)
        upload = corpus.parent / "upload.txt"
        upload.write_text("Lupus nephritis is an inflammation of the kidneys caused by lupus.\n" * 3)
        with pytest.raises(StoreUnavailable):
            pipeline.add_upload(store, settings, "nephritis.txt", upload.read_bytes())
        assert time.monotonic() - started < 60
        assert [d.id for d in store.documents()] == [r.document_id for r in report.results]

        with chroma_server(server_path, port):  # back on the same port and data: same objects work again
            store.ping()
            again = chain.answer(QUESTION)
            assert not again.refused and again.text == first.text
            added = pipeline.add_upload(store, settings, "nephritis.txt", upload.read_bytes())
            assert added.status == "added", added.reason
            _consistent(store)
            assert pipeline.remove(store, added.document_id, delete_file=True).status == "removed"
            _consistent(store)
            assert store.counts()[0] == 1
    finally:
        store.close()
