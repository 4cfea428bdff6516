"""A small hostile file costs one reading process, never the server: a PDF that loops forever is
refused within the time limit, one that inflates or renders to gigabytes within the memory
limit, a .docx whose zip lies about its size with a reason naming the member; the caller's memory
stays flat, no reader is left spinning, a normal file is still read and what was stored stays."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import bombs
import hostile
import httpx
import pytest
from conftest import PYTHON, ROOT, seeded_app, study_env

from ingest import pipeline
from studychat.settings import Settings
from studychat.store import open_store

SEED = ROOT / "corpus" / "echemi-car-t-lupus-2022.txt"
READ_SECONDS = 5
GUARD_SECONDS = 120  # a test whose reading hangs fails after this, instead of hanging the run
MB = 1024 * 1024


@pytest.fixture(scope="module")
def library(tmp_path_factory, embedder):
    """A real store holding the seed article, read with a 5 s time limit."""
    base = tmp_path_factory.mktemp("contained")
    corpus = base / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus)
    settings = Settings(corpus=corpus, db=base / "db", read_timeout_seconds=READ_SECONDS, _env_file=None)
    store = open_store(settings, embedder, writer="tests")
    report = pipeline.ingest_paths(store, settings, [corpus])
    assert report.count("added") == 1, report.results
    yield store, settings, base
    store.close()


def _resident(pid: int | str = "self") -> int:
    found = re.search(r"^VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M)
    return int(found.group(1)) * 1024 if found else 0


def _guarded(work: Callable[[], object]) -> tuple[object, float, int]:
    """`work()` in a thread, stopped waiting for after GUARD_SECONDS: (its result, seconds taken,
    how far this process's resident memory rose above where it started, in bytes)."""
    outcome: dict = {}
    started_rss = _resident()

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as error:  # handed to the test below
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    started = time.monotonic()
    thread.start()
    peak = started_rss
    while thread.is_alive() and time.monotonic() - started < GUARD_SECONDS:
        peak = max(peak, _resident())
        thread.join(0.02)
    took = time.monotonic() - started
    assert not thread.is_alive(), f"still reading after {GUARD_SECONDS} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"], took, peak - started_rss


def _readers(parent: int | None = None) -> list[int]:
    """The pids of the reading processes of `parent` (this process by default)."""
    parent = parent or os.getpid()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and b"ingest.contained" in command:
            found.append(int(entry.name))
    return found


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _ingest_with_a_good_file(library, name: str, data: bytes, **limits) -> tuple[pipeline.FileResult, float]:
    """Ingest the hostile file and a normal one together, with the settings' `limits` changed:
    the hostile file's result and the seconds taken, once the normal file is stored and the seed
    article still is."""
    store, settings, base = library
    settings = settings.model_copy(update=limits)
    folder = base / name.replace(".", "-")
    folder.mkdir()
    (folder / name).write_bytes(data)
    good = folder / "good-notes.txt"
    good.write_text(f"Notes on {name}. " + hostile.GOOD_TEXT)
    report, took, rise = _guarded(lambda: pipeline.ingest_paths(store, settings, [folder]))
    results = {Path(r.path).name: r for r in report.results}
    print(f"\n{name}: {took:.1f} s, caller's memory rose {rise / MB:.0f} MB: {results[name].reason}")
    assert results["good-notes.txt"].status == "added", results["good-notes.txt"].reason
    assert rise < 200 * MB, f"the caller's memory rose {rise / MB:.0f} MB reading {name}"
    seed = store.document("echemi-car-t-lupus-2022.txt")
    assert seed is not None and seed.chunks > 0
    assert store.document_chunks(seed.id), "the seed article lost its chunks"
    return results[name], took


@pytest.mark.slow
@pytest.mark.parametrize("where", ["contents", "length"])
def test_a_pdf_object_that_refers_to_itself_is_refused_within_the_time_limit(library, where) -> None:
    name = f"self-reference-{where}.pdf"
    data = bombs.self_referencing_pdf(where)
    assert len(data) < 1000

    result, took = _ingest_with_a_good_file(library, name, data)

    assert result.status == "skipped"
    assert result.reason == f"took longer than {READ_SECONDS} s to read; the file may be malformed"
    assert took < READ_SECONDS + 60
    # the reader that looped was stopped: no reading process is left using a core
    readers = _readers()
    before = {pid: _cpu_seconds(pid) for pid in readers}
    time.sleep(1)
    assert all(_cpu_seconds(pid) - spent < 0.2 for pid, spent in before.items()), "a reader is still spinning"


@pytest.mark.slow
def test_a_pdf_stream_that_inflates_to_gigabytes_is_refused_by_the_memory_limit(library) -> None:
    data = bombs.inflating_pdf(4)
    assert len(data) < MB

    # inflating 4 GB of zeros takes seconds: the memory limit, not the clock, stops it
    result, _ = _ingest_with_a_good_file(library, "inflates.pdf", data, read_timeout_seconds=120, read_memory_mb=512)

    assert result.status == "skipped"
    assert result.reason == "needed more than 512 MB of memory to read; the file may be malformed"


@pytest.mark.slow
def test_a_huge_page_is_not_rendered_for_ocr(library) -> None:
    result, took = _ingest_with_a_good_file(library, "huge-page.pdf", bombs.huge_page_pdf())

    assert result.status == "skipped"
    assert result.reason == (
        "scanned PDF with no text layer; page 1 is an image not read: too large to render for OCR "
        "(200000 x 200000 points, over 40 million pixels at 300 dpi)"
    )
    assert took < 60


def test_without_an_ocr_engine_a_page_is_not_rendered(tmp_path) -> None:
    """With no Tesseract, an image page is never rendered: the file is refused for that reason,
    not for the memory its bitmap would take (4000 x 4000 points is 278 million pixels at 300 dpi,
    over a gigabyte)."""
    from ingest.load import LoadError, load

    missing = str(tmp_path / "no-tesseract")
    settings = Settings(corpus=tmp_path, db=tmp_path / "db", read_memory_mb=512, _env_file=None)
    data = bombs.huge_page_pdf(points=4000)
    with pytest.raises(LoadError) as refused:
        load(tmp_path / "poster.pdf", data, settings.max_upload_bytes, missing, settings=settings)
    assert str(refused.value) == (
        f"scanned PDF with no text layer; page 1 is an image not read: no OCR engine ({missing!r} not found; "
        "install Debian's tesseract-ocr)"
    )


@pytest.mark.slow
def test_a_docx_whose_zip_understates_its_size_is_refused(library) -> None:
    bomb = library[2] / "lying.docx"
    hostile.lying_zip_bomb(bomb, megabytes=300)
    assert bomb.stat().st_size < MB

    result, _ = _ingest_with_a_good_file(library, "lying.docx", bomb.read_bytes())

    assert result.status == "skipped"
    assert result.reason == (
        ".docx is corrupt (word/document.xml does not match the size or checksum its zip header declares)"
    )


@pytest.mark.slow
def test_stopping_the_ingest_stops_its_reader(tmp_path) -> None:
    """SIGTERM to `python -m ingest` while its reader loops on a file: both are gone at once."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "loop.pdf").write_bytes(bombs.self_referencing_pdf("contents"))
    env = study_env(tmp_path / "db", corpus, STUDYCHAT_READ_TIMEOUT_SECONDS="600")
    cli = subprocess.Popen(
        [PYTHON, "-m", "ingest"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        reader = None
        while reader is None and time.monotonic() < deadline and cli.poll() is None:
            reader = next(iter(_children(cli.pid)), None)
            time.sleep(0.2)
        assert reader, "no reading process was started"
        time.sleep(1)  # reading (looping) by now
        cli.send_signal(signal.SIGTERM)
        cli.wait(10)
        assert _gone(reader, 10), "the reader outlived the ingest"
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()


@pytest.mark.slow
def test_the_server_answers_and_stops_while_an_upload_loops(tmp_path) -> None:
    """A real `python app.py`: while its reader loops on an uploaded PDF, questions are answered;
    the upload is refused naming the file once the time limit passes; SIGTERM during another such
    upload stops the server within the time limit, and its reader with it."""
    seconds = 15
    loop = bombs.self_referencing_pdf("contents")
    replies: list[httpx.Response] = []

    def upload(url: str) -> None:
        files = [("files", ("loop.pdf", loop, "application/pdf"))]
        try:
            replies.append(httpx.post(f"{url}/api/documents", files=files, timeout=GUARD_SECONDS))
        except httpx.HTTPError:
            pass  # the server stopped while answering

    def reading(app: subprocess.Popen) -> int | None:
        """The reader spinning on the upload, once it is (None if none is seen in 30 s)."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for pid in _readers(app.pid):
                if _cpu_seconds(pid) > 0.5:
                    return pid
            time.sleep(0.2)
        return None

    with seeded_app(tmp_path, STUDYCHAT_READ_TIMEOUT_SECONDS=str(seconds)) as (url, app, log):
        first = threading.Thread(target=upload, args=(url,), daemon=True)
        first.start()
        reading(app)
        answer = httpx.post(f"{url}/api/ask", json={"question": "What disease was treated?"}, timeout=60)
        assert answer.status_code == 200 and answer.json()["citations"], answer.text
        first.join(seconds + 60)
        assert not first.is_alive(), "the upload of a looping PDF never answered"
        assert replies[0].status_code == 422
        assert replies[0].json()["detail"] == (
            f"1 of 1 files could not be read: loop.pdf: took longer than {seconds} s to read; the file may be malformed"
        )

        second = threading.Thread(target=upload, args=(url,), daemon=True)
        second.start()
        reader = reading(app)
        app.send_signal(signal.SIGTERM)
        try:
            app.wait(seconds + 30)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the server still runs {seconds + 30} s after SIGTERM") from None
        assert reader is None or _gone(reader, 10), "the reader outlived the server"


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _gone(pid: int, seconds: float) -> bool:
    """Whether process `pid` has ended (or is a zombie) within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return True
        except OSError:
            return True
        time.sleep(0.1)
    return False
