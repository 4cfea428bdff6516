"""`python -m ingest` as a user runs it: a subprocess with its settings in STUDYCHAT_* variables."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "corpus" / "echemi-car-t-lupus-2022.txt"
SEED_ID = SEED.name
SUMMARY = re.compile(
    r"^added (\d+) documents \((\d+) chunks\), updated (\d+), unchanged (\d+), skipped (\d+), "
    r"removed (\d+) in [\d.]+s$",
    re.MULTILINE,
)

pytestmark = pytest.mark.slow  # each run loads the model in a new process


@pytest.fixture
def cli(tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDYCHAT_")}
    env.update(STUDYCHAT_DB=str(tmp_path / "db"), STUDYCHAT_CORPUS=str(corpus), HF_HUB_OFFLINE="1")

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, "-m", "ingest", *args],
            cwd=ROOT,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert "Traceback" not in result.stderr, result.stderr
        return result

    run.corpus = corpus
    return run


def summary(result: subprocess.CompletedProcess) -> tuple[int, ...]:
    match = SUMMARY.search(result.stdout)
    assert match, result.stdout + result.stderr
    return tuple(int(n) for n in match.groups())


def test_ingest_list_reingest_remove(cli):
    first = cli()
    assert first.returncode == 0, first.stderr
    added, chunks, updated, unchanged, skipped, removed = summary(first)
    assert (added, updated, unchanged, skipped, removed) == (1, 0, 0, 0, 0) and chunks > 1
    assert f"added 1 documents ({chunks} chunks), updated 0, unchanged 0, skipped 0, removed 0 in " in first.stdout

    listed = cli("--list")
    assert listed.returncode == 0
    row = next(line for line in listed.stdout.splitlines() if line.startswith(SEED_ID))
    assert f"{chunks} chunks" in row and "2022-10-02" in row and "Nat Med: A new breakthrough" in row
    assert f"1 documents, {chunks} chunks" in listed.stdout

    again = cli()
    assert again.returncode == 0
    assert summary(again) == (0, 0, 0, 1, 0, 0)

    gone = cli("--remove", SEED_ID)
    assert gone.returncode == 0 and f"removed {SEED_ID}" in gone.stdout
    assert "0 documents, 0 chunks" in cli("--list").stdout
    missing = cli("--remove", SEED_ID)
    assert missing.returncode != 0 and SEED_ID in missing.stdout + missing.stderr


def test_bad_input_is_named_and_exit_status_is_non_zero(cli, tmp_path):
    (cli.corpus / "empty.txt").write_bytes(b"")
    (cli.corpus / "broken.pdf").write_bytes(b"%PDF-1.4 not a real pdf")
    (cli.corpus / "notes.txt").write_text("The liver makes bile, which helps digest fats.", encoding="utf-8")
    result = cli(str(cli.corpus), str(tmp_path / "nowhere"))
    assert result.returncode != 0
    assert summary(result) == (2, summary(result)[1], 0, 0, 3, 0)
    assert "empty.txt: file is empty" in result.stderr
    assert "broken.pdf: PDF is corrupt" in result.stderr
    assert f"{tmp_path / 'nowhere'}: no such file or directory" in result.stderr
    listed = cli("--list").stdout
    assert SEED_ID in listed and "notes.txt" in listed


def test_prune_removes_documents_whose_files_are_gone(cli):
    (cli.corpus / "extra.md").write_text("# Extra\n\nThe spleen filters old red blood cells.", encoding="utf-8")
    assert cli().returncode == 0
    (cli.corpus / "extra.md").unlink()
    pruned = cli("--prune")
    assert pruned.returncode == 0
    assert summary(pruned)[3:] == (1, 0, 1)  # the seed unchanged, nothing skipped, extra.md removed
    listed = cli("--list").stdout
    assert "extra.md" not in listed and SEED_ID in listed


def test_index_built_with_another_chunk_size_is_refused_until_reset(cli):
    assert cli(STUDYCHAT_CHUNK_SIZE="600").returncode == 0
    refused = cli(STUDYCHAT_CHUNK_SIZE="400")
    assert refused.returncode != 0
    assert "--reset" in refused.stderr and "chunk_size" in refused.stderr
    assert cli("--list", STUDYCHAT_CHUNK_SIZE="400").returncode != 0

    rebuilt = cli("--reset", STUDYCHAT_CHUNK_SIZE="400")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert summary(rebuilt)[0] == 1
    listed = cli("--list", STUDYCHAT_CHUNK_SIZE="400")
    assert listed.returncode == 0 and "1 documents" in listed.stdout
    assert cli("--list", STUDYCHAT_CHUNK_SIZE="600").returncode != 0
