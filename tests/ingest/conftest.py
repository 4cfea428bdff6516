"""Fixtures of the ingest tests: document builders and a pipeline run on a folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ingest import pipeline
from studychat.settings import Settings
from studychat.store import Store
from tests.documents import build_docx, build_pdf


@pytest.fixture
def make_pdf() -> Callable[[list[list[str]]], bytes]:
    return build_pdf


@pytest.fixture
def make_docx() -> Callable[..., bytes]:
    return build_docx


@pytest.fixture
def ingest(store: Store, settings: Settings) -> Callable[..., pipeline.Report]:
    """Run the real pipeline on paths (default: the corpus folder) into the test store."""

    def run(*paths: Path) -> pipeline.Report:
        return pipeline.ingest_paths(store, settings, list(paths) or [Path(settings.corpus)])

    return run
