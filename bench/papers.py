"""Real papers: ingest of the covidqa papers with the float32 and the int8 encoder, each beside its
encoder alone (the floor), and answers under load with one and with two serving processes.

Everything runs in this process (or in app.py processes it starts), one variant after the other on
the same files, so the ratios hold even when the machine is busy.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from bench.common import Results, ms, percentile
from ingest.chunk import chunk_document
from ingest.pipeline import document_id, ingest_paths, read_document
from studychat.embedder import Embedder
from studychat.settings import Settings
from studychat.store import open_store

ROOT = Path(__file__).resolve().parent.parent
COVIDQA = ROOT / ".." / "shared" / "benchmarks" / "covidqa"


def papers(count: int | None) -> list[Path]:
    """The covidqa papers, all of them or the first `count`."""
    found = sorted((COVIDQA / "documents").glob("*.txt"))
    return found[:count] if count else found


def distinct_sentences(files: list[Path], settings: Settings) -> tuple[list[str], float]:
    """(each distinct sentence of the papers' chunks, seconds to read and chunk them): what the
    encoder must embed, as `Store.put_documents` gives it."""
    started = time.perf_counter()
    sentences: dict[str, None] = {}
    for path in files:
        document = read_document(path, settings, path.read_bytes(), document_id(path, path.parent))
        for chunk in chunk_document(document, settings.chunk_size, settings.chunk_overlap):
            sentences.update((chunk.text[s:e], None) for s, e in chunk.sentences)
    return list(sentences), time.perf_counter() - started


class Clock:
    """Wall seconds and CPU seconds of this process (all its threads) over a `with` block. On a
    machine shared with other work the wall time grows with their load and the CPU time barely
    does, so the CPU time compares two runs made minutes apart."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def ingest(files: list[Path], embedder: Embedder, db: Path) -> tuple[Clock, int]:
    """Time and chunks for `ingest_paths` of the papers into a fresh store at `db`."""
    folder = files[0].parent
    settings = Settings(
        corpus=folder, db=db, embedding_backend="onnx", embedding_precision=embedder.precision, _env_file=None
    )
    store = open_store(settings, embedder, writer="bench")
    try:
        with Clock() as clock:
            report = ingest_paths(store, settings, files)
        assert not report.skipped, report.skipped[:3]
        return clock, store.counts()[1]
    finally:
        store.close()


def bench_papers(results: Results, count: int | None, work: Path) -> Path:
    """Ingest rows; returns the float32 store (the default encoder's) for the serving rows."""
    files = papers(count)
    megabytes = sum(p.stat().st_size for p in files) / 1e6
    settings = Settings(corpus=files[0].parent, _env_file=None)
    sentences, reading = distinct_sentences(files, settings)
    print(f"papers: {len(files)} papers, {megabytes:.1f} MB, {len(sentences)} distinct sentences", flush=True)
    import chromadb  # noqa: F401  (a one-off cost of a process, paid before either side is timed)

    # The two encoders side by side, in the order A B B A, so that a change in the machine's load
    # during the run weighs on both alike.
    embedders = {precision: Embedder(backend="onnx", precision=precision) for precision in ("float32", "int8")}
    for embedder in embedders.values():
        embedder.encode(["warm up the model"])
    ingests, floors = {}, {}
    for precision in ("float32", "int8"):
        ingests[precision] = ingest(files, embedders[precision], work / precision)
        print(f"  {precision}: ingest {ingests[precision][0].wall:.1f} s", flush=True)
    for precision in ("int8", "float32"):
        with Clock() as floors[precision]:
            embedders[precision].encode(sentences)
        print(f"  {precision}: encoder alone {floors[precision].wall:.1f} s", flush=True)
    chunks = ingests["float32"][1]
    (f32, _), (i8, _) = ingests["float32"], ingests["int8"]
    f32_floor, i8_floor = floors["float32"], floors["int8"]
    target = count is None
    results.add(
        "Papers",
        f"ingest {len(files)} papers, wall s: int8 (vs float32, today's)",
        f"{i8.wall:.1f}",
        f"{f32.wall:.1f}",
        f"{f32.wall / i8.wall:.2f}x faster",
        ">= 2x" if target else "",
        (f32.wall / i8.wall >= 2) if target else None,
    )
    results.add(
        "Papers",
        f"ingest {len(files)} papers, CPU s: int8 (vs float32)",
        f"{i8.cpu:.1f}",
        f"{f32.cpu:.1f}",
        f"{f32.cpu / i8.cpu:.2f}x less",
        ">= 2x" if target else "",
        (f32.cpu / i8.cpu >= 2) if target else None,
    )
    results.add(
        "Papers",
        "encoder alone on the distinct sentences, wall / CPU s: int8 (float32)",
        f"{i8_floor.wall:.1f} / {i8_floor.cpu:.1f}",
        f"{f32_floor.wall:.1f} / {f32_floor.cpu:.1f}",
        f"{f32_floor.cpu / i8_floor.cpu:.2f}x less CPU",
    )
    results.add(
        "Papers",
        "ingest / encoder alone, CPU: int8 (float32)",
        f"{i8.cpu / i8_floor.cpu:.2f}",
        f"{f32.cpu / f32_floor.cpu:.2f}",
        "",
    )
    store = work / "float32"
    manifest = (store / "studychat.sqlite3").stat().st_size / 1e6
    vectors = sum(f.stat().st_size for f in store.rglob("*") if f.is_file()) / 1e6 - manifest
    results.notes.append(
        f"Store of the {len(files)} papers: {manifest:.1f} MB SQLite manifest (chunks, FTS5, sentence vectors) + "
        f"{vectors:.1f} MB Chroma = {(manifest + vectors) / len(files):.2f} MB per paper, "
        f"{(manifest + vectors) * 1e3 / chunks:.1f} KB per chunk."
    )
    results.notes.append(
        f"Papers: the {len(files)} covidqa papers of ../shared/benchmarks/ ({megabytes:.1f} MB of text, "
        f"{chunks} chunks, {len(sentences)} distinct sentences; reading and chunking them takes {reading:.1f} s). "
        "Ingest is `ingest_paths` into a fresh store, model loaded; the encoder alone is `Embedder.encode` of "
        "the distinct sentences in one call. float32 is the encoder of today; int8 its quantized weights."
    )
    return work / "float32"


def covidqa_questions(count: int) -> list[str]:
    lines = (COVIDQA / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines[:count]]


def bench_workers(results: Results, store: Path, files: list[Path], clients: int, seconds: float) -> None:
    """Answers per second and latency under `clients` concurrent clients, with 1 and 2 processes."""
    from bench.answers import App

    asked = covidqa_questions(400)
    settings = Settings(db=store, corpus=files[0].parent, _env_file=None)
    for workers in (1, 2):
        with tempfile.TemporaryDirectory(prefix="studychat-workers-") as logs:
            app = App(settings, Path(logs) / f"app-{workers}.log", STUDYCHAT_WORKERS=str(workers))
            try:
                app.first_answer(asked[0])
                app.ready("StudyChat is ready")
                app.latency(asked[:20])  # warm: the model's first batches and the page cache
                answered, latencies, errors = app.load(asked, clients, seconds)
                rss, _ = app.memory()
            finally:
                app.stop()
        results.add(
            "Workers",
            f"{workers} process{'es' if workers > 1 else ''}: {clients} clients x {seconds:.0f} s, real papers",
            f"{answered / seconds:.1f} req/s",
            f"p50 {ms(percentile(latencies, 50))}, p95 {ms(percentile(latencies, 95))}",
            "",
            "0 errors",
            errors == 0,
        )
        results.notes.append(
            f"Workers: STUDYCHAT_WORKERS={workers}, {answered} answers, {errors} errors, memory of all "
            f"processes {rss:.0f} MB" + (" (with the Chroma server)" if workers > 1 else "")
        )
