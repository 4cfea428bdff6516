"""Shared pieces of the reliability tests: a corpus of real text, subprocess helpers, free ports.

Everything runs for real: `python -m ingest` and `chroma run` as subprocesses, the bundled model,
stores in temp dirs. Processes a test starts are stopped by the test (by their own pid).
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
# Standard-library modules whose docstrings are real English prose about many subjects.
PROSE_MODULES = [
    "argparse",
    "asyncio",
    "base64",
    "bisect",
    "calendar",
    "collections",
    "concurrent.futures",
    "configparser",
    "contextlib",
    "csv",
    "dataclasses",
    "datetime",
    "decimal",
    "difflib",
    "email.message",
    "enum",
    "fractions",
    "ftplib",
    "functools",
    "gettext",
    "glob",
    "gzip",
    "heapq",
    "hmac",
    "html.parser",
    "http.client",
    "http.cookiejar",
    "imaplib",
    "inspect",
    "ipaddress",
    "itertools",
    "json",
    "logging",
    "lzma",
    "mailbox",
    "mimetypes",
    "multiprocessing.pool",
    "numbers",
    "optparse",
    "os",
    "pathlib",
    "pickle",
    "pickletools",
    "pkgutil",
    "platform",
    "plistlib",
    "poplib",
    "pprint",
    "queue",
    "random",
    "re",
    "sched",
    "secrets",
    "selectors",
    "shlex",
    "shutil",
    "smtplib",
    "socket",
    "sqlite3",
    "statistics",
    "string",
    "subprocess",
    "tarfile",
    "tempfile",
    "textwrap",
    "threading",
    "timeit",
    "tokenize",
    "trace",
    "traceback",
    "typing",
    "unittest.case",
    "unittest.mock",
    "urllib.parse",
    "urllib.request",
    "uuid",
    "warnings",
    "weakref",
    "xml.dom.minidom",
    "zipfile",
]


def prose_paragraphs() -> list[str]:
    """Paragraphs of the standard library's docstrings, in a fixed order, each of 200+ characters."""
    seen: set[str] = set()
    found: list[str] = []
    for name in PROSE_MODULES:
        module = importlib.import_module(name)
        objects = [
            module,
            *(obj for _, obj in sorted(vars(module).items()) if inspect.isclass(obj) or inspect.isfunction(obj)),
        ]
        for obj in objects:
            if getattr(obj, "__module__", name) != name and obj is not module:
                continue
            for paragraph in (inspect.getdoc(obj) or "").split("\n\n"):
                text = " ".join(paragraph.split())
                if len(text) >= 200 and ">>>" not in text and text not in seen:
                    seen.add(text)
                    found.append(text)
    return found


def corpus_texts(count: int, size: int = 600, shift: int = 0) -> dict[str, str]:
    """`count` documents (file name -> text) of about `size` characters of real prose each, all
    different; another `shift` gives other texts under the same names."""
    paragraphs = prose_paragraphs()
    texts, at = {}, shift * 7919
    for n in range(count):
        parts: list[str] = []
        while sum(len(p) for p in parts) < size:
            parts.append(paragraphs[at % len(paragraphs)])
            at += 1
        texts[f"note-{n:04d}.txt"] = f"Library note {n}.{shift}\n\n" + "\n\n".join(parts) + "\n"
    return texts


def write_corpus(folder: Path, texts: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def study_env(db: Path, corpus: Path, **extra: str) -> dict[str, str]:
    """The environment of a StudyChat subprocess on this store and corpus (no inherited STUDYCHAT_*)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDYCHAT_")}
    env.update(STUDYCHAT_DB=str(db), STUDYCHAT_CORPUS=str(corpus), PYTHONUNBUFFERED="1", TOKENIZERS_PARALLELISM="false")
    env.update(extra)
    return env


def run_ingest(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """`python -m ingest ARGS` to completion."""
    return subprocess.run(
        [PYTHON, "-m", "ingest", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    """Stop one process this test started (by its pid), escalating to SIGKILL."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)


@contextlib.contextmanager
def seeded_app(tmp_path: Path, stop_timeout: float = 20, **extra: str) -> Iterator[tuple[str, subprocess.Popen, Path]]:
    """`python app.py` on a free port over a corpus of the seed article, in `tmp_path`, with the
    extra STUDYCHAT_* settings: (its URL, its process, its log file) once /healthz answers 200;
    stopped (by its pid) when the block ends."""
    corpus, db = tmp_path / "corpus", tmp_path / "db"
    corpus.mkdir()
    shutil.copy(ROOT / "corpus" / "echemi-car-t-lupus-2022.txt", corpus)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "app.log"
    env = study_env(db, corpus, STUDYCHAT_PORT=str(port), **extra)
    with open(log, "w") as out:
        app = subprocess.Popen(
            [PYTHON, str(ROOT / "app.py")], cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_http(f"{url}/healthz", timeout=300, ok=lambda status: status == 200)
        yield url, app, log
    finally:
        stop(app, timeout=stop_timeout)


def wait_http(url: str, timeout: float = 90, ok=lambda status: status < 500) -> None:
    """Wait until `url` answers with a status `ok` accepts."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                if ok(response.status):
                    return
                last = response.status
        except urllib.error.HTTPError as error:
            if ok(error.code):
                return
            last = error
        except OSError as error:
            last = error
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer in {timeout}s: {last}")


@contextlib.contextmanager
def chroma_server(path: Path, port: int) -> Iterator[subprocess.Popen]:
    """A real `chroma run` server on loopback, stopped on exit."""
    log = open(path.parent / f"chroma-{port}.log", "ab")
    process = subprocess.Popen(
        [str(Path(PYTHON).parent / "chroma"), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=60, ok=lambda status: status == 200)
        yield process
    finally:
        stop(process)
        log.close()
