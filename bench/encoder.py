"""The encoder: sentence-transformers on torch against the same weights exported to ONNX.

ONNX may become the default only if it is faster and retrieves the same passages, with every
embedding within cosine 0.99 of torch's.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from bench.common import Results, median, ms
from studychat.embedder import Embedder
from studychat.settings import Settings
from studychat.store import open_store


def sample_texts(count: int) -> list[str]:
    """Chunk texts of the ingest corpus."""
    from bench.ingest_bench import ingest_corpus
    from ingest.chunk import chunk_document
    from ingest.pipeline import document_id, read_document

    folder = ingest_corpus(2000)
    settings = Settings(corpus=folder, _env_file=None)
    texts: list[str] = []
    for path in sorted(folder.glob("*.txt")):
        document = read_document(path, settings, path.read_bytes(), document_id(path, folder))
        texts += [c.text for c in chunk_document(document, settings.chunk_size, settings.chunk_overlap)]
        if len(texts) >= count:
            break
    return texts[:count]


def chunks_per_second(embedder: Embedder, texts: list[str], rounds: int = 2) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        embedder.encode(texts)
        best = min(best, time.perf_counter() - started)
    return len(texts) / best


def single_question(embedder: Embedder, asked: list[str]) -> float:
    times = []
    for question in asked:
        started = time.perf_counter()
        embedder.encode([question])
        times.append(time.perf_counter() - started)
    return median(times)


def same_passages(index: Path, source: Path, asked: list[str], embedders: list[Embedder]) -> tuple[int, int]:
    """(questions whose top-k passages are the same for every embedder, questions asked)."""
    from chat.retrieve import retrieve

    settings = Settings(db=index, corpus=source, _env_file=None)
    found = []
    for embedder in embedders:
        store = open_store(settings, embedder)
        try:
            found.append(
                [
                    [p.chunk_id for p in retrieve(q, store, embedder, settings.top_k, settings.candidates).passages]
                    for q in asked
                ]
            )
        finally:
            store.close()
    same = sum(1 for answers in zip(*found, strict=True) if all(a == answers[0] for a in answers))
    return same, len(asked)


def bench_encoder(results: Results, quick: bool) -> None:
    from bench.answers import questions
    from bench.indexes import CACHE

    texts = sample_texts(128 if quick else 400)
    torch_embedder = Embedder(batch_size=64)
    onnx_embedder = Embedder(batch_size=64, backend="onnx")
    torch_embedder.encode(["warm up"])
    onnx_embedder.encode(["warm up"])  # exports the model the first time

    a, b = torch_embedder.encode(texts[:300]), onnx_embedder.encode(texts[:300])
    cosine = np.sum(a * b, axis=1)
    torch_cps, onnx_cps = chunks_per_second(torch_embedder, texts), chunks_per_second(onnx_embedder, texts)
    source = CACHE / "index-1000-source"
    asked = questions(source, 12 if quick else 40) if source.exists() else [t[:80] for t in texts[:40]]
    torch_q, onnx_q = single_question(torch_embedder, asked), single_question(onnx_embedder, asked)

    results.add(
        "Encoder",
        "ingest batches, chunks/s (ONNX vs torch)",
        f"{onnx_cps:.1f}",
        f"{torch_cps:.1f}",
        f"{onnx_cps / torch_cps:.2f}x",
    )
    results.add("Encoder", "one question (ONNX vs torch)", ms(onnx_q), ms(torch_q), f"{onnx_q / torch_q:.2f}x")
    results.add(
        "Encoder",
        f"cosine to torch over {len(a)} chunks (min / mean)",
        f"{cosine.min():.4f} / {cosine.mean():.4f}",
        "",
        "",
        ">= 0.99",
        bool(cosine.min() >= 0.99),
    )
    index = CACHE / "index-1000"
    if (CACHE / "index-1000.complete").exists():
        same, total = same_passages(index, source, asked, [torch_embedder, onnx_embedder])
        results.add(
            "Encoder", "questions with the same top-k passages", f"{same}/{total}", "", "", "all", same == total
        )
