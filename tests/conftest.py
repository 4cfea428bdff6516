"""Shared fixtures: real settings in a temp dir, the real bundled model, a real Chroma store."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from studychat.embedder import Embedder
from studychat.settings import Settings
from studychat.store import Store, open_store
from tests.needs import program, shared_data

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "corpus" / "echemi-car-t-lupus-2022.txt"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The bundled all-MiniLM-L6-v2, loaded once for the whole test session."""
    model = Embedder()
    model.encode(["warm up"])
    return model


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A corpus folder holding the seed article."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(SEED, folder / SEED.name)
    return folder


@pytest.fixture
def settings(tmp_path: Path, corpus: Path) -> Settings:
    return Settings(corpus=corpus, db=tmp_path / "db", _env_file=None)


@pytest.fixture
def store(settings: Settings, embedder: Embedder) -> Store:
    """A writable store in a temp dir, closed after the test."""
    opened = open_store(settings, embedder, writer="tests")
    yield opened
    opened.close()


# What some tests need beyond pip (tests/needs.py): each skips, with the reason, when it is missing.


@pytest.fixture(scope="session")
def covidqa_benchmark() -> Path:
    """The public benchmark's folder `../shared/benchmarks/covidqa` (papers and questions)."""
    return shared_data("benchmarks/covidqa")


@pytest.fixture(scope="session")
def covidqa_papers(covidqa_benchmark: Path) -> Path:
    """The benchmark's real papers, one `.txt` each."""
    return shared_data("benchmarks/covidqa/documents")


@pytest.fixture(scope="session")
def tesseract() -> str:
    """The OCR program StudyChat would run (`STUDYCHAT_TESSERACT`, default Debian's tesseract-ocr)."""
    return program(Settings(_env_file=None).tesseract, "tesseract-ocr")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "llm: against a real local language model server; runs only with `-m llm` (make llm-check)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The `llm` checks start a real model server (minutes of CPU): only `-m llm` runs them."""
    if "llm" in (config.option.markexpr or ""):
        return
    for item in items:
        if item.get_closest_marker("llm"):
            item.add_marker(pytest.mark.skip(reason="a real language model check: `make llm-check` runs it"))
