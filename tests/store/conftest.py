"""Fixtures of the store's contract suite: every test runs against each implementation, the
embedded store in a temp dir and the shared one on a private PostgreSQL cluster and a Chroma
server (skipped, saying why, where their programs are not installed)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.engines import Cluster, chroma_server, cluster, skip_without_engines
from studychat.embedder import Embedder
from studychat.settings import Settings
from studychat.store import Store, open_store

_names = itertools.count()


@pytest.fixture(scope="session")
def engines(tmp_path_factory) -> Iterator[tuple[Cluster, str]]:
    """One PostgreSQL cluster and one Chroma server for the session: (cluster, Chroma URL)."""
    skip_without_engines()
    with cluster() as made, chroma_server(tmp_path_factory.mktemp("chroma") / "data") as url:
        yield made, url


@pytest.fixture(params=["embedded", "postgres"])
def store_settings(request, tmp_path: Path, corpus: Path) -> Settings:
    """Settings of an empty store of each kind: a new database and collection for each test."""
    if request.param == "embedded":
        return Settings(corpus=corpus, db=tmp_path / "db", _env_file=None)
    made, chroma_url = request.getfixturevalue("engines")
    name = f"contract{next(_names)}"
    return Settings(
        corpus=corpus,
        db=tmp_path / "unused",
        database_url=made.create_database(name),
        chroma_url=chroma_url,
        collection=name,
        _env_file=None,
    )


@pytest.fixture
def opened(store_settings: Settings, embedder: Embedder) -> Iterator[Store]:
    """A writable store of each kind, closed after the test."""
    store = open_store(store_settings, embedder, writer="tests")
    yield store
    store.close()
