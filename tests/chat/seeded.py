"""A chain over the seed article and a few documents a test writes beside it: a real store in a
temp folder, the real model."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from chat.chain import Chain
from ingest.pipeline import ingest_paths
from studychat.embedder import Embedder
from studychat.settings import Settings
from studychat.store import open_store

SEED_ID = "echemi-car-t-lupus-2022.txt"
SEED = Path(__file__).resolve().parents[2] / "corpus" / SEED_ID


@contextmanager
def seeded_chain(root: Path, embedder: Embedder, documents: dict[str, str | bytes]) -> Iterator[Chain]:
    """`Chain` over `root/corpus`: the seed plus `documents` (file name -> text, or bytes for a
    binary format such as PDF), ingested."""
    corpus = root / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED_ID)
    for name, content in documents.items():
        if isinstance(content, bytes):
            (corpus / name).write_bytes(content)
        else:
            (corpus / name).write_text(content)
    settings = Settings(corpus=corpus, db=root / "db", _env_file=None)
    store = open_store(settings, embedder, writer="tests")
    try:
        ingest_paths(store, settings, [corpus])
        yield Chain(settings, store, embedder)
    finally:
        store.close()


def not_stated(answer) -> bool:
    """Declined, or shown as the closest statement: never stated as an answer."""
    return answer.refused or answer.tentative


def right_or_not_stated(answer, expected: str) -> bool:
    """What a reader may get: the expected words, or an answer that does not claim to be one."""
    return expected in answer.text or not_stated(answer)
