"""`python -m bench --quick` still runs end to end and prints the whole table, so the benchmark cannot rot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quick_benchmark_prints_the_table(tmp_path: Path, covidqa_benchmark: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    table = out.read_text()
    assert "| Section | Measure | StudyChat | Reference | Ratio | Target | Met |" in table
    for measure in ("chunks/s", "text MB/s", "p50 at 1k chunks", "p95 at 1k chunks", "cosine to torch"):
        assert measure in table, measure
    if (ROOT / "app.py").exists():
        for measure in ("to first answer", "memory serving", "clients x", "errors"):
            assert measure in table, measure
    assert "| Load | errors | 0 |" in table or not (ROOT / "app.py").exists()
    for measure in ("ingest 4 papers", "encoder alone on the distinct sentences", "1 process: 16 clients"):
        assert measure in table, measure
    assert "2 processes: 16 clients" in table or not (ROOT / "app.py").exists()
    assert "nproc" in table and "torch" in table
