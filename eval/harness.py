"""Ask questions over a corpus through the chain, as a user would, and count the answers.

A corpus goes through the normal ingest into a store in a temp folder: a named corpus (the home
documents, the 98 papers) once per run and shared by the suites that ask over it, an unnamed one
(a small corpus) in a fresh store of its own, removed once its questions are answered. The models
are loaded once and the encoder is shared by every store.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from chat.chain import Chain, condense
from chat.fitted import Models, load_models
from chat.retrieve import retrieve
from eval.counting import SHOWN, Expected, Outcome, judge
from ingest.pipeline import ingest_paths
from studychat.embedder import Embedder
from studychat.settings import Settings
from studychat.store import Store, open_store

T = TypeVar("T")


@dataclass
class Asked:
    """A question to ask, what it expects, and the table rows (`rows`, by key) it is counted in."""

    id: str
    question: str
    expected: Expected
    rows: tuple[str, ...]
    history: list[dict] = field(default_factory=list)


@dataclass
class Corpus:
    """Files to ingest; document ids are their paths inside `folder`. A `name` shares the store
    between suites; without one the corpus gets a fresh store of its own."""

    folder: Path
    files: list[Path]
    name: str = ""


@dataclass
class Asker:
    """Answers questions over corpora with the chain; `close()` closes the shared stores."""

    settings: Settings
    embedder: Embedder
    workdir: Path
    models: Models | None = None
    ingest_seconds: float = 0.0
    stores_built: int = 0
    _stores: dict[str, tuple[Store, Settings]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.models is None:
            self.models = load_models()

    def _open(self, corpus: Corpus) -> tuple[Store, Settings]:
        self.stores_built += 1
        db = self.workdir / f"store-{corpus.name or self.stores_built}"
        settings = self.settings.model_copy(update={"corpus": corpus.folder, "db": db, "chroma_url": None})
        started = time.perf_counter()
        store = open_store(settings, self.embedder, writer="eval")
        report = ingest_paths(store, settings, corpus.files)
        self.ingest_seconds += time.perf_counter() - started
        if report.skipped:
            store.close()
            reasons = "; ".join(f"{r.path}: {r.reason}" for r in report.skipped)
            raise RuntimeError(f"files skipped at ingest: {reasons}")
        return store, settings

    def ask(self, corpus: Corpus, questions: list[Asked]) -> list[Outcome]:
        """Every question answered over `corpus` and counted."""
        return self.visit(corpus, questions, lambda chain, q: judge(q.expected, self._one(chain, q)))

    def visit(self, corpus: Corpus, questions: list[Asked], each: Callable[[Chain, Asked], T]) -> list[T]:
        """`each(chain, question)` for every question, with a chain over `corpus`'s store."""
        if corpus.name and corpus.name in self._stores:
            store, settings = self._stores[corpus.name]
        else:
            store, settings = self._open(corpus)
            if corpus.name:
                self._stores[corpus.name] = (store, settings)
        try:
            chain = Chain(settings, store, self.embedder, models=self.models)
            return [each(chain, q) for q in questions]
        finally:
            if not corpus.name:
                store.close()
                shutil.rmtree(settings.db, ignore_errors=True)

    def _one(self, chain: Chain, asked: Asked) -> Outcome:
        start = time.perf_counter()
        answer = chain.answer(asked.question, asked.history)
        ms = (time.perf_counter() - start) * 1000
        # The passages shown: retrieval's best five for the search the chain makes of the question.
        search, _ = condense(asked.question, asked.history)
        found = retrieve(
            search,
            chain.store,
            chain.embedder,
            SHOWN,
            chain.settings.candidates,
            question=asked.question,
            ranker=chain.models.passage,
        )
        confidence = getattr(answer, "confidence", None)  # the answerer may not report these yet
        return Outcome(
            id=asked.id,
            refused=answer.refused,
            answer=answer.text,
            cited=[c.document_id for c in answer.citations],
            shown=[(p.document_id, p.text) for p in found.passages],
            ms=ms,
            tentative=bool(getattr(answer, "tentative", False)),
            confidence=None if confidence is None else float(confidence),
        )

    def close(self) -> None:
        for store, _ in self._stores.values():
            store.close()
        self._stores.clear()
