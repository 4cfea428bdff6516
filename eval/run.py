"""The evaluation: our chain and the plain LangChain tutorial pipeline on the same questions.

Both pipelines index the same files in fresh temp folders: the seed article plus the documents in
`eval/documents/` (a near-topic distractor, and four related ones: a drug article, a trial news
page, a hospital guideline and a patient leaflet). The tutorial pipeline is
RecursiveCharacterTextSplitter(1000, 200) over the raw, uncleaned text (the tutorial does not
clean), the same embedding model, Chroma, dense top-4; its "answer" is the four chunks joined,
and it searches with the question alone (no history). It has no refusal of its own, so it is given
the most generous one there is: it declines when its best similarity is under the threshold that
makes the most right answer-or-decline decisions on this very set (an oracle).
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from chat.chain import Chain, condense
from chat.retrieve import retrieve
from ingest.pipeline import discover, document_id, ingest_paths
from studychat.embedder import Embedder
from studychat.settings import Settings
from studychat.store import open_store

HERE = Path(__file__).resolve().parent
SEED = HERE.parent / "corpus" / "echemi-car-t-lupus-2022.txt"
DOCUMENTS = HERE / "documents"
QUESTIONS = HERE / "qa.jsonl"
RETRIEVED = 5  # passages looked at for recall@5 and MRR
TUTORIAL_K = 4  # chunks the tutorial pipeline shows as its answer


@dataclass
class Case:
    """One question of the set, with the fact (a regex) and the document that answer it."""

    id: str
    question: str
    expect: str
    source: str
    in_scope: bool
    history: list[dict] = field(default_factory=list)


@dataclass
class Outcome:
    """What a pipeline did with one question."""

    id: str
    retrieved: list[str]  # document ids of the top passages, best first
    refused: bool
    answer: str
    cited: list[str]
    ms: float
    hit: bool = False
    top_score: float = 0.0
    tentative: bool = False  # shown as the closest statement, not stated as an answer


def load_cases(path: Path = QUESTIONS) -> list[Case]:
    """The questions of `eval/qa.jsonl`."""
    return [Case(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


def build_corpus(folder: Path) -> Path:
    """Copy the seed to `folder` and the evaluation documents to `folder/eval-documents`."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(SEED, folder / SEED.name)
    shutil.copytree(DOCUMENTS, folder / "eval-documents")
    return folder


def is_hit(case: Case, outcome: Outcome, shown: list[str]) -> bool:
    """An in-scope answer counts when it is given, holds the expected fact and shows the expected source."""
    found = re.search(case.expect, outcome.answer, re.IGNORECASE) is not None
    return case.in_scope and not outcome.refused and found and case.source in shown


def run_chain(settings: Settings, embedder: Embedder, cases: list[Case]) -> list[Outcome]:
    """Ingest the corpus into a fresh store and answer every question with `Chain`."""
    store = open_store(settings, embedder, writer="eval")
    try:
        ingest_paths(store, settings, [settings.corpus])
        chain = Chain(settings, store, embedder)
        outcomes = []
        for case in cases:
            start = time.perf_counter()
            answer = chain.answer(case.question, case.history)
            ms = (time.perf_counter() - start) * 1000
            # The passages the chain itself retrieves: the condensed search plus the question as asked.
            search, _ = condense(case.question, case.history)
            found = retrieve(
                search,
                store,
                embedder,
                RETRIEVED,
                settings.candidates,
                question=case.question,
                ranker=chain.models.passage,
            )
            outcome = Outcome(
                id=case.id,
                retrieved=[p.document_id for p in found.passages],
                refused=answer.refused,
                answer=answer.text,
                cited=[c.document_id for c in answer.citations],
                ms=ms,
                tentative=answer.tentative,
            )
            outcome.hit = is_hit(case, outcome, outcome.cited)
            outcomes.append(outcome)
        return outcomes
    finally:
        store.close()


def tutorial_index(embedder: Embedder, texts: dict[str, str], folder: Path):
    """The LangChain RAG tutorial's index of `texts` ({document id: raw text}) in a Chroma at
    `folder`: RecursiveCharacterTextSplitter(1000, 200), the same model, cosine distance."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    documents = [Document(page_content=text, metadata={"id": doc_id}) for doc_id, text in texts.items()]
    splits = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(documents)
    client = chromadb.PersistentClient(path=str(folder), settings=ChromaSettings(anonymized_telemetry=False))
    # Cosine distance ranks unit vectors exactly as the default L2 does, and reads as 1 - similarity.
    return Chroma.from_documents(
        splits, embedder, client=client, collection_name="tutorial", collection_metadata={"hnsw:space": "cosine"}
    )


def run_tutorial(embedder: Embedder, cases: list[Case], corpus: Path, folder: Path) -> list[Outcome]:
    """The LangChain RAG tutorial's retrieval over the same files, and an oracle refusal threshold."""
    from ingest.load import load

    files, _ = discover([corpus])
    texts = {document_id(f, corpus): "\n".join(load(f, f.read_bytes(), 10**8).pages) for f in files}
    vectors = tutorial_index(embedder, texts, folder)
    outcomes = []
    for case in cases:
        start = time.perf_counter()
        found = vectors.similarity_search_with_score(case.question, k=RETRIEVED)
        answer = "\n\n".join(doc.page_content for doc, _ in found[:TUTORIAL_K])
        ms = (time.perf_counter() - start) * 1000
        ids = [doc.metadata["id"] for doc, _ in found]
        outcomes.append(Outcome(case.id, ids, False, answer, ids[:TUTORIAL_K], ms, top_score=1 - found[0][1]))

    threshold = oracle_threshold(cases, outcomes)
    for case, outcome in zip(cases, outcomes, strict=True):
        outcome.refused = outcome.top_score < threshold
        outcome.hit = is_hit(case, outcome, outcome.cited)
    return outcomes


def oracle_threshold(cases: list[Case], outcomes: list[Outcome]) -> float:
    """The similarity threshold that declines out-of-scope and answers in-scope questions most often."""
    candidates = sorted({o.top_score for o in outcomes}) + [2.0]

    def right(threshold: float) -> int:
        return sum((o.top_score < threshold) != c.in_scope for c, o in zip(cases, outcomes, strict=True))

    return max(candidates, key=lambda t: (right(t), -t))


def metrics(cases: list[Case], outcomes: list[Outcome]) -> dict[str, float | None]:
    """Retrieval recall@1 and @5, MRR and answer hit rate on in-scope questions; refusal precision
    and recall (declining is the positive class); mean latency."""
    pairs = list(zip(cases, outcomes, strict=True))
    inside = [(c, o) for c, o in pairs if c.in_scope]
    refused = [c for c, o in pairs if o.refused]
    outside = [c for c in cases if not c.in_scope]
    true_refusals = sum(not c.in_scope for c in refused)

    def rank(case: Case, outcome: Outcome) -> int | None:
        return outcome.retrieved.index(case.source) + 1 if case.source in outcome.retrieved else None

    def mean(values: list[float]) -> float:
        return sum(values) / len(values) if values else 0.0

    return {
        "recall@1": mean([rank(c, o) == 1 for c, o in inside]),
        "recall@5": mean([rank(c, o) is not None for c, o in inside]),
        "mrr": mean([1 / (rank(c, o) or float("inf")) for c, o in inside]),
        "answer_hit_rate": mean([o.hit for _, o in inside]),
        "refusal_precision": true_refusals / len(refused) if refused else None,
        "refusal_recall": true_refusals / len(outside) if outside else None,
        "in_scope_declined": sum(o.refused for _, o in inside),
        "mean_latency_ms": mean([o.ms for o in outcomes]),
        "mean_answer_chars": mean([len(o.answer) for o in outcomes if not o.refused]),
    }


def evaluate(
    settings: Settings,
    embedder: Embedder,
    pipelines: tuple[str, ...] = ("chain", "tutorial"),
    cases_path: Path = QUESTIONS,
) -> dict:
    """Run the pipelines on the set in fresh temp folders: {pipeline: {"metrics", "outcomes"}}."""
    cases = load_cases(cases_path)
    results = {}
    with tempfile.TemporaryDirectory(prefix="studychat-eval-", ignore_cleanup_errors=True) as tmp:
        corpus = build_corpus(Path(tmp) / "corpus")
        if "chain" in pipelines:
            chain_settings = settings.model_copy(update={"corpus": corpus, "db": Path(tmp) / "db", "chroma_url": None})
            results["chain"] = run_chain(chain_settings, embedder, cases)
        if "tutorial" in pipelines:
            results["tutorial"] = run_tutorial(embedder, cases, corpus, Path(tmp) / "tutorial")
    return {
        name: {"metrics": metrics(cases, outcomes), "outcomes": [asdict(o) for o in outcomes]}
        for name, outcomes in results.items()
    }


ROWS = [
    ("Retrieval recall@1", "recall@1", "{:.2f}"),
    ("Retrieval recall@5", "recall@5", "{:.2f}"),
    ("MRR", "mrr", "{:.2f}"),
    ("Answer hit rate", "answer_hit_rate", "{:.2f}"),
    ("Refusal precision", "refusal_precision", "{:.2f}"),
    ("Refusal recall", "refusal_recall", "{:.2f}"),
    ("In-scope questions declined", "in_scope_declined", "{}"),
    ("Mean latency per question (ms)", "mean_latency_ms", "{:.0f}"),
    ("Mean answer length (characters)", "mean_answer_chars", "{:.0f}"),
]
TITLES = {"chain": "StudyChat chain", "tutorial": "LangChain tutorial (dense top-4)"}


def table(results: dict, rows: list[tuple[str, str, str]] = ROWS, titles: dict[str, str] = TITLES) -> str:
    """The metrics as a markdown table, one column per pipeline: `rows` of (label, metric, format)."""
    names = list(results)
    lines = ["| Metric | " + " | ".join(titles.get(n, n) for n in names) + " |", "|---" * (len(names) + 1) + "|"]
    for label, key, style in rows:
        values = [results[n]["metrics"][key] for n in names]
        lines.append(f"| {label} | " + " | ".join("n/a" if v is None else style.format(v) for v in values) + " |")
    return "\n".join(lines)


def failures(results: dict, pipeline: str = "chain", cases_path: Path = QUESTIONS) -> list[str]:
    """One line per question the pipeline got wrong: what was asked, whether it declined, what it said."""
    lines = []
    for case, outcome in zip(load_cases(cases_path), results[pipeline]["outcomes"], strict=True):
        if case.in_scope and not outcome["hit"]:
            why = "declined" if outcome["refused"] else f"expected /{case.expect}/ from {case.source}"
        elif not case.in_scope and not outcome["refused"]:
            why = "answered an out-of-scope question"
        else:
            continue
        head = " ".join(outcome["answer"].split())[:220]
        cited = ", ".join(dict.fromkeys(outcome["cited"])) or "-"
        lines.append(f"- {case.id}: {case.question!r} [{why}; cited {cited}]\n    -> {head}")
    return lines
