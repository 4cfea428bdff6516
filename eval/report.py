"""Run suites and lay out their figures: one Markdown table per corpus kind, one row per suite."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from eval.counting import Expected, Outcome, summarize
from eval.harness import Asker
from eval.remember import RememberingEmbedder
from eval.suites import KINDS, SUITES, Context, Row
from studychat.embedder import Embedder
from studychat.settings import Settings


def run_suites(
    names: list[str],
    settings: Settings,
    embedder: Embedder,
    benchmarks: Path,
    sample: int | None = None,
    log: Callable[[str], None] = lambda _: None,
    done: Callable[[dict], None] = lambda _: None,
) -> dict:
    """Every suite of `names` run in a temp folder: {"rows": {row key: {"row", "figures",
    "outcomes"}}, "seconds": {suite: wall seconds}, "ingest_seconds", "stores", "embedded",
    "vectors_reused"}. `done(results so far)` is called as each suite ends, so that a long run
    keeps what it has measured."""
    remembering = RememberingEmbedder(embedder)
    results: dict = {"rows": {}, "seconds": {}, "ingest_seconds": 0.0, "stores": 0, "embedded": 0, "vectors_reused": 0}
    with tempfile.TemporaryDirectory(prefix="studychat-suites-", ignore_cleanup_errors=True) as tmp:
        ctx = Context(settings, remembering, Path(tmp), benchmarks, sample)
        asker = Asker(settings, remembering, Path(tmp))
        try:
            for name in names:
                started = time.perf_counter()
                counted: dict[str, list[tuple[Expected, Outcome]]] = {row.key: [] for row in SUITES[name].rows}
                plan = SUITES[name].plan(ctx)
                for corpus, questions in plan:
                    for asked, outcome in zip(questions, asker.ask(corpus, questions), strict=True):
                        outcome.extra = {"question": asked.question}
                        for key in asked.rows:
                            counted[key].append((asked.expected, outcome))
                for row in SUITES[name].rows:
                    pairs = counted[row.key]
                    results["rows"][row.key] = {
                        "row": asdict(row),
                        "figures": summarize([e for e, _ in pairs], [o for _, o in pairs]),
                        "outcomes": [asdict(o) for _, o in pairs],
                    }
                results["seconds"][name] = time.perf_counter() - started
                results |= {
                    "ingest_seconds": asker.ingest_seconds,
                    "stores": asker.stores_built,
                    "embedded": remembering.embedded,
                    "vectors_reused": remembering.reused,
                }
                asked_n = sum(len(q) for _, q in plan)
                log(f"{name}: {asked_n} questions over {len(plan)} corpora in {results['seconds'][name]:.0f} s")
                done(results)
        finally:
            asker.close()
    return results


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


COLUMNS: list[tuple[str, Callable[[dict], str]]] = [
    (
        "Questions",
        lambda f: (
            f"{f['questions']}" + (f" ({f['to_decline']} to decline)" if f["answerable"] and f["to_decline"] else "")
        ),
    ),
    ("Answer hit", lambda f: _share(f["answer_hit"])),
    ("Passage recall@5", lambda f: _share(f["passage_recall@5"])),
    ("Answerable declined", lambda f: _share(f["answerable_declined"])),
    ("Declined (should be)", lambda f: _share(f["declined"])),
    ("Confident wrong", lambda f: f"{f['confident_wrong']}"),
    ("Tentative", lambda f: _share(f["tentative"])),
    ("Median answer (chars)", lambda f: _number(f["median_answer_chars"])),
    ("p50 (ms)", lambda f: _number(f["p50_ms"])),
    ("ECE", lambda f: "-" if f["ece"] is None else f"{f['ece']:.3f}"),
    ("Confident coverage", lambda f: _share(f["coverage"])),
    ("Precision when confident", lambda f: _share(f["precision"])),
]


def tables(results: dict) -> str:
    """One Markdown table per corpus kind, a row per suite; an in-sample row says so."""
    out = []
    for kind, title in KINDS.items():
        rows = [r for r in results["rows"].values() if r["row"]["kind"] == kind]
        if not rows:
            continue
        lines = [f"### {title}", "", "| Suite | " + " | ".join(name for name, _ in COLUMNS) + " |"]
        lines.append("|---" * (len(COLUMNS) + 1) + "|")
        notes = []
        for entry in rows:
            row = Row(**entry["row"])
            label = row.label + (" **IN-SAMPLE**" if row.in_sample else "")
            lines.append(f"| {label} | " + " | ".join(cell(entry["figures"]) for _, cell in COLUMNS) + " |")
            if row.in_sample:
                notes.append(f"{row.label}: {row.in_sample}.")
        out.append("\n".join(lines + ([""] + notes if notes else [])))
    return "\n\n".join(out)


def timing(results: dict) -> str:
    """What the run cost: wall time per suite, ingest time, stores built, vectors reused."""
    per_suite = ", ".join(f"{name} {s:.0f} s" for name, s in results["seconds"].items())
    return (
        f"Wall time: {per_suite}. Ingest {results['ingest_seconds']:.0f} s over {results['stores']} stores; "
        f"{results['embedded']} texts embedded, {results['vectors_reused']} served from the run's memory."
    )
