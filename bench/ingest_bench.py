"""Ingest speed: our pipeline against the encoder alone (the floor) and the LangChain tutorial.

All three run in this process with the model already loaded, one after the other, on the same
files, so their ratios are fair even when the machine is busy.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from bench.common import Results, cache_dir
from bench.corpus import build_corpus, corpus_files
from ingest.chunk import chunk_document
from ingest.pipeline import document_id, ingest_paths, read_document
from studychat.embedder import Embedder, build_embedder
from studychat.settings import Settings
from studychat.store import open_store

MAX_DOCUMENT_BYTES = 1500  # an abstract or a handout page; keeps four passes over 2,000 documents short


def ingest_corpus(documents: int) -> Path:
    """`documents` files spread evenly over the docstring corpus, hard-linked into their own folder."""
    folder = cache_dir(f"ingest-{documents}")
    done = folder.with_name(folder.name + ".complete")  # outside the folder, which is ingested whole
    if done.exists():
        return folder
    candidates = [p for p in corpus_files(build_corpus(None)) if p.stat().st_size <= MAX_DOCUMENT_BYTES]
    step = max(1, len(candidates) // documents)
    for path in candidates[::step][:documents]:
        target = folder / path.name
        if not target.exists():
            try:
                os.link(path, target)
            except OSError:
                shutil.copy(path, target)
    done.write_text("ok\n")
    return folder


def run_pipeline(folder: Path, embedder: Embedder, work: Path) -> tuple[float, int]:
    """Seconds and chunks for `ingest_paths` into a fresh store."""
    settings = Settings(corpus=folder, db=work, embedding_backend=embedder.backend, _env_file=None)
    store = open_store(settings, embedder, writer="bench")
    try:
        started = time.perf_counter()
        report = ingest_paths(store, settings, [folder])
        seconds = time.perf_counter() - started
        assert not report.skipped, report.skipped[:3]
        return seconds, store.counts()[1]
    finally:
        store.close()


def run_floor(folder: Path, embedder: Embedder) -> tuple[float, int]:
    """Seconds to encode the same chunk texts with SentenceTransformer.encode, in the same batch size."""
    settings = Settings(corpus=folder, _env_file=None)
    texts = []
    for path in corpus_files(folder):
        document = read_document(path, settings, path.read_bytes(), document_id(path, folder))
        texts += [c.text for c in chunk_document(document, settings.chunk_size, settings.chunk_overlap)]
    model = embedder.model
    started = time.perf_counter()
    model.encode(texts, batch_size=embedder.batch_size, normalize_embeddings=True, convert_to_numpy=True)
    return time.perf_counter() - started, len(texts)


def run_tutorial(folder: Path, embedder: Embedder, work: Path) -> tuple[float, int]:
    """The LangChain tutorial: RecursiveCharacterTextSplitter(1000, 200) + the same model +
    Chroma.from_documents. Our Embedder is the embedding function, so the model and batch size
    are the same; reading the files is included, as in the tutorial."""
    from langchain_chroma import Chroma
    from langchain_core.documents import Document as LCDocument
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    started = time.perf_counter()
    docs = [
        LCDocument(page_content=p.read_text(encoding="utf-8"), metadata={"source": str(p)})
        for p in corpus_files(folder)
    ]
    splits = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(docs)
    store = Chroma.from_documents(splits, embedder, persist_directory=str(work / "tutorial"))
    seconds = time.perf_counter() - started
    del store
    return seconds, len(splits)


def bench_ingest(results: Results, documents: int) -> None:
    folder = ingest_corpus(documents)
    files = corpus_files(folder)
    megabytes = sum(p.stat().st_size for p in files) / 1e6
    print(f"ingest: {len(files)} documents, {megabytes:.1f} MB of text in {folder}", flush=True)
    embedder = build_embedder(Settings(_env_file=None))  # the default backend, as `python -m ingest` uses
    torch_embedder = Embedder(batch_size=embedder.batch_size, backend="torch")
    embedder.encode(["warm up the model"])
    torch_embedder.encode(["warm up the model"])
    import chromadb  # noqa: F401  (imported before timing: a one-off cost of a process, paid by both sides)
    import langchain_chroma  # noqa: F401

    with tempfile.TemporaryDirectory(prefix="studychat-bench-") as tmp:
        work = Path(tmp)
        floor_s, floor_chunks = run_floor(folder, torch_embedder)
        print(f"  floor: {floor_s:.1f} s", flush=True)
        ours_s, ours_chunks = run_pipeline(folder, embedder, work / "default")
        print(f"  pipeline: {ours_s:.1f} s", flush=True)
        torch_s, _ = run_pipeline(folder, torch_embedder, work / "torch")
        print(f"  pipeline on torch: {torch_s:.1f} s", flush=True)
        tutorial_s, tutorial_chunks = run_tutorial(folder, torch_embedder, work)
        print(f"  tutorial: {tutorial_s:.1f} s", flush=True)
    ours_cps, floor_cps = ours_chunks / ours_s, floor_chunks / floor_s
    results.notes.append(
        f"Ingest corpus: {len(files)} documents, {megabytes:.2f} MB (module docstrings of at most "
        f"{MAX_DOCUMENT_BYTES} bytes, evenly spread over the stdlib and site-packages); {ours_chunks} chunks "
        f"for us, {tutorial_chunks} for the tutorial's 1000/200 splitter. Times exclude loading the model. "
        "The floor and the tutorial use sentence-transformers on torch; "
        "the pipeline runs with the default backend and again with torch."
    )
    results.add(
        "Ingest",
        f"chunks/s, {embedder.backend} backend (vs encode alone)",
        f"{ours_cps:.1f}",
        f"{floor_cps:.1f}",
        f"{ours_cps / floor_cps:.2f}x",
        ">= 0.85x",
        ours_cps / floor_cps >= 0.85,
    )
    ours_mbs, tutorial_mbs = megabytes / ours_s, megabytes / tutorial_s
    torch_cps = ours_chunks / torch_s
    results.add(
        "Ingest",
        "chunks/s, torch backend (vs encode alone)",
        f"{torch_cps:.1f}",
        f"{floor_cps:.1f}",
        f"{torch_cps / floor_cps:.2f}x",
        ">= 0.85x",
        torch_cps / floor_cps >= 0.85,
    )
    results.add(
        "Ingest",
        "text MB/s (vs LangChain tutorial)",
        f"{ours_mbs:.3f}",
        f"{tutorial_mbs:.3f}",
        f"{ours_mbs / tutorial_mbs:.2f}x",
        ">= 1x",
        ours_mbs >= tutorial_mbs,
    )
    results.add(
        "Ingest",
        "seconds: ours (torch) / floor / tutorial",
        f"{ours_s:.1f} ({torch_s:.1f})",
        f"{floor_s:.1f} / {tutorial_s:.1f}",
    )
