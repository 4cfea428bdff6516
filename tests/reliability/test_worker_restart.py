"""A serving process that dies is started again (`STUDYCHAT_WORKERS=2`): a real `python app.py`
with one writer and one reader; each in turn is killed with SIGKILL, as the kernel's out-of-memory
killer would. Questions are answered all along by the process left, the supervisor starts a new
process in the dead one's place, and after the writer's death a document upload works again as
soon as the new writer is up."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from conftest import seeded_app

QUESTION = {"question": "What disease was treated with CAR-T cells?"}
NEW_FACT = "The heron survey counted 283 grey herons on the Loire in the spring of 2020."


def fresh(method: str, url: str, timeout: float = 120, **kwargs) -> httpx.Response:
    """One request on a new connection, so the kernel may hand it to either process."""
    with httpx.Client(timeout=timeout, headers={"Connection": "close"}) as client:
        return client.request(method, url, **kwargs)


def alive(pid: int) -> bool:
    """A running process (not a zombie waiting to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def serving_processes(supervisor: int) -> set[int]:
    """The live serving processes the supervisor started: its children spawned by multiprocessing
    (not the Chroma server, not multiprocessing's resource tracker)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if parent == supervisor and b"--multiprocessing-fork" in command and alive(int(entry.name)):
            found.add(int(entry.name))
    return found


def writer_pid(db: Path) -> int | None:
    """The pid the writer wrote into the store's writer lock, if one holds it."""
    match = re.search(r"\(pid (\d+)\)", (db / "writer.lock").read_text())
    return int(match.group(1)) if match else None


def wait_for(check: Callable[[], object], what: str, log: Path, timeout: float = 60) -> object:
    """Poll `check` until it returns something true, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"{what}: not within {timeout} s\n{log.read_text()}")


def ask_several(url: str, times: int = 6) -> set[str]:
    """Ask `times` questions on fresh connections; every one must be answered. Which processes answered."""
    served = set()
    for _ in range(times):
        reply = fresh("POST", f"{url}/api/ask", json=QUESTION)
        assert reply.status_code == 200 and reply.json()["citations"], reply.text
        served.add(reply.headers["x-studychat-process"].split(",")[-1].strip())
    return served


@pytest.mark.slow
def test_a_killed_reader_or_writer_is_started_again(tmp_path: Path) -> None:
    db = tmp_path / "db"
    with seeded_app(tmp_path, stop_timeout=60, STUDYCHAT_WORKERS="2") as (url, app, log):
        wait_for(lambda: "StudyChat is ready" in log.read_text(), "the reader started", log, timeout=300)
        processes = serving_processes(app.pid)
        writer = writer_pid(db)
        assert writer in processes and len(processes) == 2, (processes, writer)
        (reader,) = processes - {writer}

        # A reader dies: the writer answers meanwhile, and a new reader takes its place.
        os.kill(reader, signal.SIGKILL)
        assert ask_several(url, 4) == {"writer"}  # a restart takes RESTART_PAUSE and a model load
        new_readers = wait_for(
            lambda: serving_processes(app.pid) - {writer, reader}, "a new reader after the reader was killed", log
        )
        (reader,) = new_readers
        wait_for(lambda: "reader-1" in ask_several(url, 4), "an answer from the new reader", log)
        assert alive(writer) and app.poll() is None

        # The writer dies: the reader answers meanwhile; an upload works again once a new writer is up.
        os.kill(writer, signal.SIGKILL)
        assert ask_several(url, 4) == {"reader-1"}

        def upload() -> httpx.Response | None:
            files = {"files": ("herons.txt", f"Heron survey.\n\n{NEW_FACT}\n".encode(), "text/plain")}
            try:  # forwarded by the reader, it waits in the writer's queue until a writer takes it
                reply = fresh("POST", f"{url}/api/documents", files=files, timeout=20)
            except httpx.TimeoutException:
                return None
            if reply.status_code == 503:  # refused while no writer answers, with where to add documents
                assert "writer process" in reply.json()["detail"], reply.text
                return None
            assert reply.status_code == 201, reply.text
            return reply

        added = wait_for(upload, "an upload after the writer was killed", log)
        assert added.json()["results"][0]["status"] == "added"
        new_writer = writer_pid(db)
        assert new_writer not in (None, writer) and alive(new_writer)
        assert serving_processes(app.pid) == {new_writer, reader}
        assert "the writer process ended" in log.read_text() and "the reader-1 process ended" in log.read_text()

        def herons_answered() -> bool:
            reply = fresh("POST", f"{url}/api/ask", json={"question": "How many grey herons did the survey count?"})
            assert reply.status_code == 200, reply.text
            return "283" in reply.json()["answer"]

        wait_for(herons_answered, "an answer from the uploaded document", log, timeout=30)
    assert app.returncode == 0, log.read_text()
