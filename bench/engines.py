"""Private shared engines for the tests and benchmarks of the shared store: a PostgreSQL cluster
(initdb and pg_ctl in a temp directory, on a loopback port, as the `postgres` OS user when run as
root, since initdb refuses root) and a Chroma server (`chroma run`). Whoever starts them stops them."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
CHROMA = Path(sys.executable).parent / "chroma"


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def skip_without_engines() -> None:
    """Skip the calling test, saying why, where the PostgreSQL binaries or `chroma` are not installed."""
    import pytest

    if not BIN:
        pytest.skip("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)")
    if not CHROMA.exists():
        pytest.skip(f"the Chroma server program is not installed ({CHROMA})")


class Cluster:
    """A private PostgreSQL cluster in a temp directory, on a loopback port, trusting local users."""

    def __init__(self) -> None:
        self.bin = Path(BIN[-1]).parent
        self.folder = Path(tempfile.mkdtemp(prefix="studychat-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.root = os.geteuid() == 0
        if self.root:  # initdb refuses root: the cluster belongs to the postgres user
            shutil.chown(self.folder, "postgres", "postgres")
        self.run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale")

    def run(self, program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(self.bin / program), *args]
        if self.root:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"), "-w", "start")

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


@contextlib.contextmanager
def cluster() -> Iterator[Cluster]:
    """A started private cluster, stopped and removed afterwards."""
    made = Cluster()
    try:
        made.start()
        yield made
    finally:
        made.remove()


@contextlib.contextmanager
def chroma_server(folder: Path) -> Iterator[str]:
    """A Chroma server over `folder` on a free loopback port: its URL once it answers; stopped after."""
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f"chroma-{port}.log", "ab") as log:
        process = subprocess.Popen(
            [str(CHROMA), "run", "--path", str(folder), "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"the Chroma server stopped at start (see {log.name})"
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2) as response:
                    if response.status == 200:
                        break
            assert time.monotonic() < deadline, "the Chroma server did not answer within 60 s"
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
