"""Progress a person can read: what the ingest is doing, per file and overall, with the time left."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ingest import pipeline
from ingest.pipeline import Progress, duration

ROOT = Path(__file__).resolve().parents[2]


def smallest_papers(papers: Path, count: int) -> list[str]:
    """The names of the `count` shortest papers: real text, little to embed."""
    return [p.name for p in sorted(papers.glob("*.txt"), key=lambda p: (p.stat().st_size, p.name))[:count]]


def copy_papers(papers: Path, folder: Path, count: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    names = smallest_papers(papers, count)
    for name in names:
        shutil.copy(papers / name, folder / name)
    return names


def test_every_file_and_every_embedded_chunk_is_reported(store, settings, tmp_path, covidqa_papers):
    folder = tmp_path / "papers"
    names = copy_papers(covidqa_papers, folder, 3)
    (folder / "empty.txt").write_bytes(b"")
    seen: list[tuple[str, int, int, str | None, str]] = []

    def progress(state: Progress) -> None:
        result = state.result.status if state.result else None
        seen.append((state.stage, state.files_read, state.chunks_done, result, state.describe()))

    report = pipeline.ingest_paths(store, settings, [folder], progress)
    chunks = sum(r.chunks for r in report.results if r.status == "added")

    reading = [s for s in seen if s[0] == "reading" and s[3] is None]
    assert [s[1] for s in reading] == [0, 1, 2, 3]  # before each of the four files
    assert any("empty.txt" in s[4] for s in reading)
    embedding = [s for s in seen if s[0] == "embedding" and s[3] is None]
    done = [s[2] for s in embedding]
    assert done == sorted(done) and done[-1] == chunks and len(done) >= 2
    assert all(f"of {chunks} chunks" in s[4] for s in embedding)
    assert any(s[4].endswith(" left") for s in embedding)  # a time left, once there is a rate
    assert sorted(s[3] for s in seen if s[3]) == ["added", "added", "added", "skipped"]
    assert seen[-1][0] == "done" and seen[-1][4] == f"done: 4 files, {chunks} chunks embedded"
    assert {Path(r.path).name for r in report.results if r.status == "added"} == set(names)


def test_uploads_of_several_files_report_progress_and_a_result_each(store, settings, covidqa_papers):
    uploads = [(name, (covidqa_papers / name).read_bytes()) for name in smallest_papers(covidqa_papers, 2)]
    uploads.append(("broken.pdf", b"%PDF-1.4 not a real pdf"))
    states: list[tuple[str, float]] = []
    results = pipeline.add_uploads(store, settings, uploads, lambda s: states.append((s.stage, s.fraction())))
    assert [r.status for r in results] == ["added", "added", "skipped"]
    assert "PDF is corrupt" in results[2].reason
    fractions = [f for _, f in states]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and states[-1][0] == "done"
    assert len({f for stage, f in states if stage == "embedding"}) >= 2  # the bar moves while embedding


@pytest.mark.parametrize(
    ("seconds", "said"), [(0.2, "about 1 s"), (42, "about 42 s"), (150, "about 2 min"), (7500, "about 2 h 5 min")]
)
def test_time_left_is_said_to_the_precision_it_has(seconds, said):
    assert duration(seconds) == said


@pytest.mark.slow
def test_cli_says_per_file_and_overall_what_it_does(tmp_path, covidqa_papers):
    corpus = tmp_path / "corpus"
    names = copy_papers(covidqa_papers, corpus, 3)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDYCHAT_")}
    env.update(STUDYCHAT_DB=str(tmp_path / "db"), STUDYCHAT_CORPUS=str(corpus))
    run = subprocess.run(
        [sys.executable, "-m", "ingest"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()  # no terminal here: lines instead of bars; stderr only for problems
    assert run.stderr == ""
    for name in names:
        assert any(line.startswith(f"added {corpus / name} (") and line.endswith(" chunks)") for line in lines)
    overall = [line for line in lines if line.startswith("embedding ")]
    assert overall and any(line.endswith(" left") and " of " in line for line in overall), run.stdout
