"""The pipeline into a real store: incremental re-ingest, updates, prune, remove and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ingest import pipeline
from studychat.embedder import Embedder, pool
from studychat.settings import Settings
from studychat.store import IndexMismatch, Store, open_store
from tests.documents import encrypted_pdf

SEED_ID = "echemi-car-t-lupus-2022.txt"


def chunk_ids(store: Store, document_id: str) -> list[str]:
    return [p.chunk_id for p in store.document_chunks(document_id)]


def texts_found(store: Store, words: str) -> list[str]:
    found = store.passages([chunk_id for chunk_id, _ in store.search_lexical(words, 10)])
    return [p.text for p in found.values()]


def test_seed_is_indexed_with_its_metadata(store, ingest):
    report = ingest()
    assert report.summary().startswith("added 1 documents (")
    [result] = report.results
    assert (result.status, result.document_id) == ("added", SEED_ID)
    record = store.document(SEED_ID)
    assert record.title.startswith("Nat Med: A new breakthrough in CAR-T cell therapy:")
    assert record.date == "2022-10-02"
    assert record.doi == "10.1038/s41591-022-02017-5"
    assert "Mackensen, A." in record.authors
    assert record.chunks == result.chunks == len(chunk_ids(store, SEED_ID)) > 1
    assert store.counts() == (1, record.chunks)
    assert report.embedded == record.chunks
    # offsets point into the clean text, and no boilerplate reached the index
    passages = store.document_chunks(SEED_ID)
    assert all(p.start >= 0 for p in passages)
    joined = " ".join(p.text for p in passages)
    assert "service@echemi.com" not in joined and "Contact Us" not in joined
    assert any("https://doi.org/10.1038/s41591-022-02017-5" in p.text for p in passages)


def test_each_chunk_keeps_its_sentences_and_their_vectors(store, ingest, embedder: Embedder):
    ingest()
    passages = store.document_chunks(SEED_ID)
    store.load_sentences(passages)
    ids = [p.chunk_id for p in passages]
    stored = dict(zip(ids, store.vectors._collection.get(ids=ids, include=["embeddings"])["embeddings"], strict=True))
    for passage in passages:
        # the sentences tile the passage: each one whole, in order, nothing but spaces between them
        assert passage.sentences[0][0] == 0 and passage.sentences[-1][1] == len(passage.text)
        for (_, end), (start, _) in zip(passage.sentences, passage.sentences[1:], strict=False):
            assert end <= start and not passage.text[end:start].strip()
        # each stored vector is its own sentence's, and the chunk's vector in Chroma is their mean
        texts = [passage.text[s:e] for s, e in passage.sentences]
        assert (passage.vectors * embedder.encode(texts)).sum(axis=1).min() > 0.999
        pooled = pool(passage.vectors, [len(t) for t in texts])
        assert float(pooled @ np.asarray(stored[passage.chunk_id])) > 0.999


def test_reingest_of_unchanged_corpus_embeds_nothing(store, ingest, embedder: Embedder):
    first = ingest()
    ids = chunk_ids(store, SEED_ID)
    before = embedder.embedded
    second = ingest()
    assert embedder.embedded == before
    assert second.embedded == 0
    assert [r.status for r in second.results] == ["unchanged"]
    assert second.summary() == "added 0 documents (0 chunks), updated 0, unchanged 1, skipped 0, removed 0"
    assert chunk_ids(store, SEED_ID) == ids
    assert store.counts() == (1, first.results[0].chunks)
    assert store.vectors._collection.count() == len(ids)


def test_reingest_after_reopening_the_store_embeds_nothing(settings, embedder):
    first = open_store(settings, embedder, writer="tests")
    try:
        pipeline.ingest_paths(first, settings, [Path(settings.corpus)])
        ids = chunk_ids(first, SEED_ID)
    finally:
        first.close()
    reopened = open_store(settings, embedder, writer="tests")
    try:
        before = embedder.embedded
        report = pipeline.ingest_paths(reopened, settings, [Path(settings.corpus)])
        assert embedder.embedded == before and report.embedded == 0
        assert [r.status for r in report.results] == ["unchanged"]
        assert chunk_ids(reopened, SEED_ID) == ids
    finally:
        reopened.close()


def write_notes(path: Path, body: str) -> None:
    path.write_text("Pharmacology notes\n\n" + body, encoding="utf-8")


def test_changed_file_replaces_its_chunks(store, settings, ingest):
    path = Path(settings.corpus) / "notes.txt"
    write_notes(path, "Warfarin is monitored with the INR. Its effect is reversed by vitamin K.")
    ingest(path)
    assert texts_found(store, "warfarin")
    write_notes(path, "Heparin is monitored with the aPTT. Its effect is reversed by protamine sulfate.")
    report = ingest(path)
    assert [r.status for r in report.results] == ["updated"]
    assert texts_found(store, "warfarin") == []
    assert any("protamine sulfate" in t for t in texts_found(store, "protamine"))
    doc_id = report.results[0].document_id
    assert store.document(doc_id).chunks == len(chunk_ids(store, doc_id)) == report.results[0].chunks
    # the vectors of the old version are gone from Chroma too
    stored = store.vectors._collection.get(where={"document_id": doc_id})["ids"]
    assert sorted(stored) == sorted(chunk_ids(store, doc_id))


def test_update_keeps_unchanged_chunks_and_embeds_only_new_ones(store, settings, ingest, embedder):
    path = Path(settings.corpus) / "long.txt"
    paragraphs = [
        f"Paragraph {i} explains mechanism {i} of drug resistance in bacteria, with an example and a "
        f"short summary of what the student should remember about mechanism {i} for the exam."
        for i in range(1, 13)
    ]
    path.write_text("\n\n".join(paragraphs), encoding="utf-8")
    first = ingest(path)
    doc_id = first.results[0].document_id
    old = set(chunk_ids(store, doc_id))
    paragraphs[-1] = "The last paragraph now says something entirely different about efflux pumps."
    path.write_text("\n\n".join(paragraphs), encoding="utf-8")
    before = embedder.embedded
    second = ingest(path)
    new = set(chunk_ids(store, doc_id))
    assert old & new, "unchanged chunks keep their ids"
    assert second.embedded == len(new - old)
    assert 0 < second.embedded < len(new)
    # the model ran on the sentences of the new chunks only, each once
    fresh = store.passages(sorted(new - old)).values()
    store.load_sentences(fresh)
    assert embedder.embedded - before == len({p.text[s:e] for p in fresh for s, e in p.sentences})


def test_prune_removes_documents_whose_files_are_gone(store, settings, ingest):
    extra = Path(settings.corpus) / "extra.md"
    extra.write_text("# Extra\n\nThe spleen filters old red blood cells from the circulation.", encoding="utf-8")
    ingest()
    assert {d.id for d in store.documents()} == {SEED_ID, "extra.md"}
    extra.unlink()
    results = pipeline.prune(store)
    assert [(r.status, r.document_id) for r in results] == [("removed", "extra.md")]
    assert store.document("extra.md") is None
    assert texts_found(store, "spleen") == []
    assert store.document(SEED_ID) is not None
    assert pipeline.prune(store) == []


def test_remove_deletes_one_document(store, ingest):
    ingest()
    result = pipeline.remove(store, SEED_ID)
    assert (result.status, result.document_id) == ("removed", SEED_ID)
    assert store.counts() == (0, 0)
    assert texts_found(store, "lupus") == []
    assert store.vectors._collection.count() == 0
    missing = pipeline.remove(store, "no-such-document")
    assert missing.status == "skipped" and "no-such-document" in missing.reason


def test_every_bad_input_is_named_and_the_rest_is_ingested(store, settings, ingest, tmp_path, make_pdf):
    ingest()  # the seed, stored before
    seed_ids = chunk_ids(store, SEED_ID)
    folder = tmp_path / "batch"
    folder.mkdir()
    bad = {
        "empty.txt": b"",
        "binary.txt": b"\x00\x01\x02\x03ELF\x00\x00binary\x00",
        "corrupt.pdf": b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage without xref",
        "locked.pdf": encrypted_pdf("secret"),
        "slides.pptx": b"PK\x03\x04 not for us",
    }
    for name, data in bad.items():
        (folder / name).write_bytes(data)
    (folder / "good.txt").write_text("The thyroid makes thyroxine, which sets the metabolic rate.", encoding="utf-8")
    missing = tmp_path / "no-such-folder"

    report = ingest(folder, missing)

    reasons = {Path(r.path).name: r.reason for r in report.skipped}
    assert set(reasons) == {*bad, "no-such-folder"}
    assert "empty" in reasons["empty.txt"]
    assert "binary" in reasons["binary.txt"]
    assert "corrupt" in reasons["corrupt.pdf"]
    assert "encrypted" in reasons["locked.pdf"]
    assert "unsupported file type .pptx" in reasons["slides.pptx"]
    assert "no such file or directory" in reasons["no-such-folder"]
    assert [r.status for r in report.results if r.status != "skipped"] == ["added"]
    assert report.summary() == "added 1 documents (1 chunks), updated 0, unchanged 0, skipped 6, removed 0"
    assert any("thyroxine" in t for t in texts_found(store, "thyroxine"))
    assert chunk_ids(store, SEED_ID) == seed_ids
    assert store.counts() == (2, len(seed_ids) + 1)


def test_bad_new_version_of_a_file_keeps_the_old_one(store, settings, ingest):
    path = Path(settings.corpus) / "notes.txt"
    write_notes(path, "Insulin lowers blood glucose by moving it into cells.")
    ingest(path)
    path.write_bytes(b"\xff\xfe broken \x00 bytes")
    report = ingest(path)
    assert [r.status for r in report.results] == ["skipped"]
    assert any("Insulin" in t for t in texts_found(store, "insulin"))


def test_hidden_files_in_a_folder_are_skipped(store, settings, ingest):
    (Path(settings.corpus) / ".draft.txt").write_text("A hidden draft about the kidney.", encoding="utf-8")
    report = ingest()
    assert {(Path(r.path).name, r.reason) for r in report.skipped} == {(".draft.txt", "hidden file")}
    assert store.document(SEED_ID) is not None


def test_index_built_with_another_chunk_size_is_refused(tmp_path, corpus, embedder):
    built = Settings(corpus=corpus, db=tmp_path / "db", chunk_size=600, _env_file=None)
    store = open_store(built, embedder, writer="tests")
    pipeline.ingest_paths(store, built, [corpus])
    store.close()

    other = Settings(corpus=corpus, db=tmp_path / "db", chunk_size=400, _env_file=None)
    with pytest.raises(IndexMismatch, match="--reset") as refused:
        open_store(other, embedder, writer="tests")
    assert "chunk_size" in str(refused.value)

    rebuilt = open_store(other, embedder, writer="tests", reset=True)
    try:
        rebuilt.reset()
        assert rebuilt.counts() == (0, 0)
        report = pipeline.ingest_paths(rebuilt, other, [corpus])
        assert [r.status for r in report.results] == ["added"]
        assert max(len(p.text) for p in rebuilt.document_chunks(SEED_ID)) <= 400
    finally:
        rebuilt.close()
    # the rebuilt index now opens with the new settings and is refused with the old ones
    open_store(other, embedder).close()
    with pytest.raises(IndexMismatch):
        open_store(built, embedder)


def test_index_built_with_another_model_is_refused(tmp_path, corpus, embedder):
    store = open_store(Settings(corpus=corpus, db=tmp_path / "db", _env_file=None), embedder, writer="tests")
    store.close()
    other_model = tmp_path / "other-model"
    other_model.mkdir()
    other = Settings(corpus=corpus, db=tmp_path / "db", embedding_model=str(other_model), _env_file=None)
    with pytest.raises(IndexMismatch, match="embedding_model.*--reset"):
        open_store(other, Embedder(str(other_model)))
