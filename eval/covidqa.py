"""The public benchmark: COVID-QA expert questions over 98 real papers, and unrelated PubMedQA questions.

The data stays in `../shared/benchmarks/` (its README gives sources, licences and the counting
rule this module implements). Every paper goes through the normal ingest pipeline into a fresh
store; each development question is asked through the chain over the whole corpus, and each
unrelated question should be declined. Two peers answer the same questions in the same run:

- the LangChain tutorial pipeline: RecursiveCharacterTextSplitter(1000, 200) over the raw text,
  the same model, Chroma, dense top-4; its answer is its four chunks joined (it never declines);
- plain dense sentence search: the same model over every sentence of the corpus, the 3 nearest
  joined as the answer (it never declines).

Counted as the benchmark README says, by the rule written once in `eval.counting`: an answer
*hits* when it is not a refusal, cites the question's paper, and holds 60% of the expert answer's
distinct tokens; *passage recall@5* counts a question when one of the five passages shown holds
80% of them.
"""

from __future__ import annotations

import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from chat.chain import Chain
from chat.retrieve import retrieve
from eval import run
from eval.counting import HIT_SHARE, PASSAGE_SHARE, SHOWN, STOP_WORDS, TOKEN, Expected, share, tokens
from ingest.pipeline import ingest_paths
from studychat.embedder import Embedder
from studychat.settings import Settings
from studychat.store import open_store

BENCHMARKS = Path(__file__).resolve().parents[2] / "shared" / "benchmarks"


@dataclass
class Question:
    id: str
    question: str
    answer: str = ""  # the expert's answer span; empty for an unrelated question
    document: str = ""  # the paper's file stem ("covidqa-000"); empty for an unrelated question

    @property
    def related(self) -> bool:
        return bool(self.document)


@dataclass
class Outcome:
    """What one pipeline did with one question."""

    id: str
    refused: bool
    answer: str
    cited: list[str]  # document stems of the citations, in order
    shown: list[str]  # the texts of the passages shown
    ms: float
    hit: bool = False
    right_document: bool = False
    passage_hit: bool = False


def load_questions(folder: Path = BENCHMARKS, documents: Iterable[str] | None = None) -> tuple[list, list]:
    """(development questions, unrelated questions); only those on `documents` (stems) when given."""
    wanted = set(documents) if documents is not None else None
    dev = [
        Question(**{k: row[k] for k in ("id", "question", "answer", "document")})
        for row in map(json.loads, (folder / "covidqa" / "questions.jsonl").read_text().splitlines())
        if wanted is None or row["document"] in wanted
    ]
    unrelated = [
        Question(row["id"], row["question"])
        for row in map(json.loads, (folder / "pubmedqa-unrelated.jsonl").read_text().splitlines())
    ]
    return dev, unrelated


def sample(folder: Path, papers: int, unrelated: int, seed: int = 7) -> tuple[list[Path], list, list]:
    """A fixed small sample for a quick check: the first `papers` papers, their development
    questions, and `unrelated` unrelated questions drawn with a fixed seed."""
    paths = sorted((folder / "covidqa" / "documents").glob("*.txt"))[:papers]
    dev, others = load_questions(folder, [p.stem for p in paths])
    return paths, dev, random.Random(seed).sample(others, min(unrelated, len(others)))


def judge(question: Question, outcome: Outcome) -> Outcome:
    """Count one outcome by the benchmark's rule."""
    if not question.related:
        return outcome
    expected = Expected(document=question.document, answer=question.answer)
    outcome.right_document = not outcome.refused and question.document in outcome.cited
    outcome.hit = outcome.right_document and expected.holds(outcome.answer, HIT_SHARE)
    outcome.passage_hit = any(expected.holds(text, PASSAGE_SHARE) for text in outcome.shown[:SHOWN])
    return outcome


def paper_of(doc_id: str) -> str:
    """The paper a document id stands for: "covidqa-000.txt" -> "covidqa-000"."""
    return doc_id.rsplit(".", 1)[0]


def run_chain(
    settings: Settings, embedder: Embedder, papers: list[Path], questions: list[Question], db: Path
) -> list[Outcome]:
    """Ingest `papers` into the store at `db` (unchanged files are skipped, so a kept store is
    reused) and ask every question through the chain."""
    corpus = papers[0].parent
    settings = settings.model_copy(update={"corpus": corpus, "db": db, "chroma_url": None})
    store = open_store(settings, embedder, writer="eval")
    try:
        report = ingest_paths(store, settings, papers)
        if report.skipped:
            raise RuntimeError(f"papers skipped at ingest: {[r.path for r in report.skipped]}")
        chain = Chain(settings, store, embedder)
        outcomes = []
        for question in questions:
            start = time.perf_counter()
            answer = chain.answer(question.question)
            ms = (time.perf_counter() - start) * 1000
            found = retrieve(
                question.question, store, embedder, SHOWN, settings.candidates, ranker=chain.models.passage
            )
            outcomes.append(
                Outcome(
                    question.id,
                    answer.refused,
                    answer.text,
                    [paper_of(c.document_id) for c in answer.citations],
                    [p.text for p in found.passages],
                    ms,
                )
            )
        return outcomes
    finally:
        store.close()


def run_tutorial(embedder: Embedder, papers: list[Path], questions: list[Question], folder: Path) -> list[Outcome]:
    """The LangChain RAG tutorial over the raw files: 1000/200 character splits, dense top-4 as its answer."""
    vectors = run.tutorial_index(embedder, {p.stem: p.read_text() for p in papers}, folder)
    outcomes = []
    for question in questions:
        start = time.perf_counter()
        found = vectors.similarity_search(question.question, k=SHOWN)
        ms = (time.perf_counter() - start) * 1000
        answer = "\n\n".join(doc.page_content for doc in found[:4])
        ids = [doc.metadata["id"] for doc in found[:4]]
        outcomes.append(Outcome(question.id, False, answer, ids, [d.page_content for d in found], ms))
    return outcomes


def run_sentences(embedder: Embedder, papers: list[Path], questions: list[Question]) -> list[Outcome]:
    """Plain dense sentence search: every sentence of the cleaned papers embedded, the 3 nearest a
    question's answer, the 5 nearest the passages shown."""
    from ingest.chunk import sentence_spans
    from ingest.clean import clean

    sentences, owners = [], []
    for path in papers:
        text = clean(path.read_text()).text
        for start, end in sentence_spans(text):
            if text[start:end].strip():
                sentences.append(text[start:end].strip())
                owners.append(path.stem)
    matrix = embedder.encode(sentences)
    outcomes = []
    for question in questions:
        start = time.perf_counter()
        scores = matrix @ embedder.encode([question.question])[0]
        top = np.argsort(-scores)[:SHOWN]
        ms = (time.perf_counter() - start) * 1000
        answer = " ".join(sentences[i] for i in top[:3])
        outcomes.append(
            Outcome(question.id, False, answer, [owners[i] for i in top[:3]], [sentences[i] for i in top], ms)
        )
    return outcomes


def metrics(dev: list[Outcome], unrelated: list[Outcome]) -> dict[str, float]:
    """The table's figures for one pipeline: shares over the development questions (hit, right
    document, passage recall@5, declined) and the unrelated ones (declined), the median length in
    characters of the answers given and the median latency in milliseconds."""

    def mean(values: list[bool]) -> float:
        return sum(values) / len(values) if values else 0.0

    given = [len(o.answer) for o in dev + unrelated if not o.refused]
    return {
        "answer_hit": mean([o.hit for o in dev]),
        "right_document": mean([o.right_document for o in dev]),
        "passage_recall@5": mean([o.passage_hit for o in dev]),
        "in_scope_declined": mean([o.refused for o in dev]),
        "in_scope_declined_n": sum(o.refused for o in dev),
        "unrelated_declined": mean([o.refused for o in unrelated]),
        "median_answer_chars": statistics.median(given) if given else 0,
        "p50_ms": statistics.median([o.ms for o in dev + unrelated]) if dev + unrelated else 0.0,
    }


def evaluate(
    settings: Settings,
    embedder: Embedder,
    papers: list[Path],
    dev: list[Question],
    unrelated: list[Question],
    pipelines: tuple[str, ...] = ("chain", "tutorial", "sentences"),
    keep: Path | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> dict:
    """Run the pipelines: {pipeline: {"metrics", "outcomes"}}. The chain's store is made fresh in a
    temp folder, or kept at `keep` to be reused by the next run."""
    questions = dev + unrelated
    by_id = {q.id: q for q in questions}
    results = {}
    with tempfile.TemporaryDirectory(prefix="studychat-covidqa-", ignore_cleanup_errors=True) as tmp:
        runners = {
            "chain": lambda: run_chain(settings, embedder, papers, questions, keep or Path(tmp) / "db"),
            "tutorial": lambda: run_tutorial(embedder, papers, questions, Path(tmp) / "tutorial"),
            "sentences": lambda: run_sentences(embedder, papers, questions),
        }
        for name in pipelines:
            started = time.perf_counter()
            outcomes = [judge(by_id[o.id], o) for o in runners[name]()]
            log(f"{name}: {time.perf_counter() - started:.0f} s")
            results[name] = {
                "metrics": metrics(outcomes[: len(dev)], outcomes[len(dev) :]),
                "outcomes": [asdict(o) for o in outcomes],
            }
    return results


ROWS = [
    ("Answer hit", "answer_hit", "{:.2f}"),
    ("Right document cited", "right_document", "{:.2f}"),
    ("Passage recall@5", "passage_recall@5", "{:.2f}"),
    ("In-scope declined", "in_scope_declined_n", "{}"),
    ("Unrelated declined", "unrelated_declined", "{:.2f}"),
    ("Median answer length (characters)", "median_answer_chars", "{:.0f}"),
    ("p50 latency (ms)", "p50_ms", "{:.0f}"),
]
TITLES = {
    "chain": "StudyChat",
    "tutorial": "LangChain tutorial (dense top-4 chunks)",
    "sentences": "Dense sentence search (top 3)",
}


def table(results: dict) -> str:
    """The figures as a Markdown table, one column per pipeline."""
    return run.table(results, ROWS, TITLES)


def all_papers(folder: Path = BENCHMARKS) -> list[Path]:
    """Every paper of the benchmark, in order."""
    return sorted((folder / "covidqa" / "documents").glob("*.txt"))


__all__ = ["HIT_SHARE", "PASSAGE_SHARE", "SHOWN", "STOP_WORDS", "TOKEN", "share", "tokens"]  # the rule, re-exported
