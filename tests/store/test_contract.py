"""The store's contract, which both implementations keep: what goes in comes back, a changed
document replaces its old chunks at once, a removed one is gone from every search, one writer at a
time, an index built differently is refused, and an interrupted write is mended."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ingest.pipeline import ingest_paths
from studychat.embedder import Embedder
from studychat.settings import Settings
from studychat.store import IndexMismatch, Store, StoreError, StoreLocked, open_store

FROGS = (
    "Wood frogs survive winter frozen solid. Glucose floods their cells and keeps ice crystals outside them. "
    "In spring the frogs thaw and their hearts start beating again within hours."
)
MOSS = (
    "Moss grows on the north side of trees in the northern hemisphere only loosely. "
    "Shade and moisture matter more than direction, so moss is a poor compass."
)


def write(corpus: Path, name: str, text: str) -> Path:
    path = corpus / name
    path.write_text(text)
    return path


def ids_in_chroma(store: Store) -> set[str]:
    return set(store.vectors._collection.get(include=[])["ids"])


def all_chunk_ids(store: Store) -> set[str]:
    return {i for d in store.documents() for i in store.chunk_ids(d.id)}


def test_what_is_stored_comes_back(opened: Store, store_settings: Settings) -> None:
    corpus = Path(store_settings.corpus)
    write(corpus, "frogs.txt", FROGS)
    report = ingest_paths(opened, store_settings, [corpus])
    assert report.embedded > 0
    documents = opened.documents()
    assert len(documents) == 2
    assert sorted(d.id for d in documents) == ["echemi-car-t-lupus-2022.txt", "frogs.txt"]
    frogs = next(d for d in documents if "frogs" in d.path)
    assert frogs.chunks == len(opened.chunk_ids(frogs.id)) >= 1
    assert opened.counts() == (2, sum(d.chunks for d in documents))
    assert opened.document(frogs.id) == frogs and opened.document("no-such-document") is None

    passages = opened.document_chunks(frogs.id)
    assert "Wood frogs survive winter" in passages[0].text and passages[0].title == frogs.title
    opened.load_sentences(passages)
    assert passages[0].vectors.shape == (len(passages[0].sentences), 384)
    assert passages[0].vectors.dtype == np.float16

    # Each search finds the frog passage for a frog question.
    lexical = opened.search_lexical("frozen frogs glucose", 5)
    assert lexical[0][0] == passages[0].chunk_id and lexical[0][1] > 0
    vector = opened.embedder.encode(["How do frogs survive being frozen?"])[0].tolist()
    assert opened.search_dense(vector, 3)[0][0] == passages[0].chunk_id
    # ... and only within the documents asked for.
    other = next(d for d in documents if d is not frogs)
    assert all(p[0] not in set(opened.chunk_ids(frogs.id)) for p in opened.search_lexical("frogs", 5, [other.id]))
    assert opened.documents_with("frozen glucose", [frogs.id, other.id]) == {frogs.id}

    frequencies, total = opened.document_frequencies(["frog", "glucos", "unheardofword"])
    assert frequencies == {"frog": 1, "glucos": 1} and total == opened.counts()[1]
    assert "frog" in opened.terms_like("frgo") or "frog" in opened.terms_like("frogg")
    assert ids_in_chroma(opened) == all_chunk_ids(opened)


def test_a_changed_document_replaces_its_chunks(opened: Store, store_settings: Settings) -> None:
    corpus = Path(store_settings.corpus)
    path = write(corpus, "notes.txt", FROGS)
    ingest_paths(opened, store_settings, [path])
    old = set(opened.chunk_ids("notes.txt"))
    assert ingest_paths(opened, store_settings, [path]).embedded == 0  # unchanged: nothing embedded again

    write(corpus, "notes.txt", MOSS)
    ingest_paths(opened, store_settings, [path])
    new = set(opened.chunk_ids("notes.txt"))
    assert new and not new & old
    assert opened.passages(sorted(old)) == {}
    assert "frog" not in opened.document_frequencies(["frog"])[0]
    assert not opened.search_lexical("frogs frozen", 5)
    assert ids_in_chroma(opened) == all_chunk_ids(opened)


def test_a_removed_document_is_gone_from_every_search(opened: Store, store_settings: Settings) -> None:
    corpus = Path(store_settings.corpus)
    ingest_paths(opened, store_settings, [write(corpus, "frogs.txt", FROGS), write(corpus, "moss.txt", MOSS)])
    documents, chunks = opened.counts()
    gone = opened.chunk_ids("frogs.txt")
    assert opened.remove_document("frogs.txt") is True
    assert opened.remove_document("frogs.txt") is False
    assert opened.counts() == (documents - 1, chunks - len(gone))
    assert opened.document("frogs.txt") is None and opened.passages(gone) == {}
    assert not opened.search_lexical("frogs", 5)
    vector = opened.embedder.encode(["frozen frogs"])[0].tolist()
    assert not set(gone) & {i for i, _ in opened.search_dense(vector, 5)}


def test_one_writer_at_a_time(opened: Store, store_settings: Settings, embedder: Embedder) -> None:
    corpus = Path(store_settings.corpus)
    path = write(corpus, "frogs.txt", FROGS)
    ingest_paths(opened, store_settings, [path])
    second = None
    try:
        try:
            second = open_store(store_settings, embedder, writer="second writer")
        except StoreLocked as error:
            refused = str(error)
        else:
            with pytest.raises(StoreLocked) as error:
                ingest_paths(second, store_settings, [write(corpus, "moss.txt", MOSS)])
            refused = str(error.value)
        assert "tests" in refused and "Add documents" in refused, refused
        assert opened.document("moss.txt") is None
        opened.close()  # the first writer stops: the second may write now
        second = second or open_store(store_settings, embedder, writer="second writer")
        ingest_paths(second, store_settings, [write(corpus, "moss.txt", MOSS)])
        assert second.document("moss.txt") is not None
    finally:
        if second:
            second.close()


def test_a_reader_cannot_write(opened: Store, store_settings: Settings, embedder: Embedder) -> None:
    reader = open_store(store_settings, embedder)
    try:
        with pytest.raises(StoreError, match="read-only"):
            ingest_paths(reader, store_settings, [write(Path(store_settings.corpus), "frogs.txt", FROGS)])
    finally:
        reader.close()


def test_an_index_built_differently_is_refused_then_reset(
    opened: Store, store_settings: Settings, embedder: Embedder
) -> None:
    ingest_paths(opened, store_settings, [Path(store_settings.corpus)])
    opened.close()
    other = store_settings.model_copy(update={"chunk_size": 900})
    with pytest.raises(IndexMismatch, match="chunk_size is '600' in the index but '900' now"):
        open_store(other, embedder, writer="tests")
    rebuilt = open_store(other, embedder, writer="tests", reset=True)
    try:
        rebuilt.reset()
        assert rebuilt.counts() == (0, 0)
        assert not rebuilt.search_lexical("lupus", 5)
    finally:
        rebuilt.close()


def test_an_interrupted_write_is_mended_by_the_next_writer(
    opened: Store, store_settings: Settings, embedder: Embedder
) -> None:
    """A writer that died after writing vectors to Chroma but before switching the manifest left
    vectors of chunks that do not exist: the next writer removes them."""
    corpus = Path(store_settings.corpus)
    ingest_paths(opened, store_settings, [corpus])
    before = all_chunk_ids(opened)
    opened._mark_pending(["orphan-1", "orphan-2"])
    vector = embedder.encode(["a vector nobody will ever switch in"])[0].tolist()
    opened.vectors._collection.upsert(ids=["orphan-1", "orphan-2"], embeddings=[vector, vector])
    opened.close()  # dies before the switch: the manifest never names them

    again = open_store(store_settings, embedder, writer="next writer")
    try:
        ingest_paths(again, store_settings, [write(corpus, "frogs.txt", FROGS)])
        assert ids_in_chroma(again) == all_chunk_ids(again) and before < all_chunk_ids(again)
    finally:
        again.close()
