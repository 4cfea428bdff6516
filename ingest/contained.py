"""Untrusted file bytes -> `RawDocument`, read in a separate process that a hostile file cannot
take the server down with.

A file's bytes are parsed by `python -m ingest.contained`, a reading process that holds no model,
no store and no server thread: it runs under a memory limit (`RLIMIT_AS`) and a processor-time
limit (`RLIMIT_CPU`), and the caller stops it (the whole process group, OCR included) when a file
takes longer than its time limit. A file that loops forever, inflates to gigabytes or renders a
giant bitmap costs one reading process and gets one clear reason; the caller keeps serving.

Reading processes are started on first use and reused for the next files (starting one costs
about the time of reading a few files), at most `IDLE_WORKERS` kept waiting. A new process is
started with `subprocess`, never forked from the caller: forking a process that runs torch or
onnxruntime threads is unsafe. Requests and replies are JSON (and the file's bytes), so a
compromised reader cannot send the caller anything but data.
"""

from __future__ import annotations

import atexit
import json
import os
import resource
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ingest.errors import LoadError
from ingest.raw import RawDocument

IDLE_WORKERS = 2  # reading processes kept waiting for the next file
RETIRE_SHARE = 0.5  # a reader left holding more than this share of its memory limit is stopped
LENGTH = struct.Struct("<Q")
MB = 1024 * 1024


@dataclass(frozen=True)
class ReadLimits:
    """What one file may cost its reading process: wall-clock seconds and address space in MB."""

    seconds: float
    memory_mb: int


def read(suffix: str, data: bytes, tesseract: str, limits: ReadLimits) -> RawDocument:
    """`ingest.load.parse` of `data` in a reading process under `limits`.

    Raises `LoadError` with the reason for a file that cannot be read or hits a limit.
    """
    try:
        worker = _POOL.take(limits.memory_mb)
    except OSError as error:
        raise LoadError(f"no reading process could be started ({error.strerror or error})") from None
    request = json.dumps({"suffix": suffix, "tesseract": tesseract, "seconds": limits.seconds}).encode()
    try:
        reply = worker.ask([request, data], time.monotonic() + limits.seconds)
    except TimeoutError:
        worker.stop()
        raise LoadError(f"took longer than {limits.seconds:g} s to read; the file may be malformed") from None
    except EOFError:
        raise LoadError(_death_reason(worker.stop(), limits)) from None
    try:
        answer = json.loads(reply)
        document = RawDocument(**answer["document"]) if "document" in answer else None
    except (ValueError, TypeError, KeyError):
        worker.stop()
        raise LoadError("the reading process gave an unreadable answer; the file may be malformed") from None
    if "memory" in answer:
        worker.stop()
        raise LoadError(f"needed more than {limits.memory_mb} MB of memory to read; the file may be malformed")
    _POOL.give_back(worker)
    if document is None:
        raise LoadError(str(answer.get("error") or "the file could not be read"))
    return document


def _death_reason(returncode: int, limits: ReadLimits) -> str:
    if returncode == -signal.SIGXCPU:
        return f"took longer than {limits.seconds:g} s to read; the file may be malformed"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"the reading process stopped ({name}) while reading it; the file may be malformed"
    return f"the reading process stopped (exit status {returncode}) while reading it; the file may be malformed"


class _Worker:
    """One reading process and its pipes."""

    def __init__(self, memory_mb: int) -> None:
        self.memory_mb = memory_mb
        package_root = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ingest.contained", str(memory_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            process_group=0,  # its own group: stopped as a whole (OCR too), and a Ctrl-C reaches the caller only
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def ask(self, frames: list[bytes], deadline: float) -> bytes:
        """Send the frames, return the reply frame. Raises `TimeoutError` past `deadline` and
        `EOFError` when the process ends first."""
        assert self.process.stdin and self.process.stdout
        out = b"".join(LENGTH.pack(len(frame)) + frame for frame in frames)
        stdin, stdout = self.process.stdin.fileno(), self.process.stdout.fileno()
        os.set_blocking(stdin, False)
        view, sent = memoryview(out), 0
        while sent < len(out):  # the reader takes the bytes as they come; a stuck one times out
            _, writable, _ = select.select([], [stdin], [], _left(deadline))
            if not writable:
                raise TimeoutError
            try:
                sent += os.write(stdin, view[sent : sent + MB])
            except BrokenPipeError:
                raise EOFError from None
        reply = bytearray()
        size = None
        while size is None or len(reply) < LENGTH.size + size:
            readable, _, _ = select.select([stdout], [], [], _left(deadline))
            if not readable:
                raise TimeoutError
            piece = os.read(stdout, MB)
            if not piece:
                raise EOFError
            reply += piece
            if size is None and len(reply) >= LENGTH.size:
                size = LENGTH.unpack_from(reply)[0]
        return bytes(reply[LENGTH.size :])

    def resident_mb(self) -> float:
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return 0.0
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> int:
        """Stop the process and everything it started; its exit status."""
        if self.alive():
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe:
                pipe.close()
        return self.process.wait()


def _left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


class _Pool:
    """Reading processes waiting for a file, reused across the files of an ingest and across
    requests; each caller thread gets a process of its own."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.idle: list[_Worker] = []
        self.owner = 0  # the pid that started them: a forked copy of the caller starts its own

    def take(self, memory_mb: int) -> _Worker:
        with self.lock:
            if self.owner != os.getpid():
                self.idle, self.owner = [], os.getpid()
                atexit.register(self.close)
            while self.idle:
                worker = self.idle.pop()
                if worker.alive() and worker.memory_mb == memory_mb:
                    return worker
                worker.stop()
        return _Worker(memory_mb)

    def give_back(self, worker: _Worker) -> None:
        with self.lock:
            if self.owner == os.getpid() and len(self.idle) < IDLE_WORKERS:
                if worker.alive() and worker.resident_mb() < RETIRE_SHARE * worker.memory_mb:
                    self.idle.append(worker)
                    return
        worker.stop()

    def close(self) -> None:
        with self.lock:
            idle, self.idle = self.idle, []
        for worker in idle:
            worker.stop()


_POOL = _Pool()


# The reading process


def _receive(stream) -> bytes | None:
    head = stream.read(LENGTH.size)
    if len(head) < LENGTH.size:
        return None
    (size,) = LENGTH.unpack(head)
    body = stream.read(size)
    if len(body) < size:
        return None
    return body


def _send(stream, payload: dict) -> None:
    body = json.dumps(payload).encode()
    stream.write(LENGTH.pack(len(body)) + body)
    stream.flush()


def _watch_parent(parent: int) -> None:
    """End this process group when the caller is gone (killed or exited mid-file)."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os.killpg(0, signal.SIGKILL)


def _limit_cpu(seconds: float) -> None:
    """Allow this file `seconds` of processor time (plus a second) beyond what was used before:
    a backstop for the caller's clock, should the caller itself be stuck."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    soft = int(used.ru_utime + used.ru_stime + seconds) + 2
    resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))


def main(memory_mb: int) -> None:
    """Read files from stdin until it closes, one reply on stdout for each."""
    limit, hard = memory_mb * MB, resource.getrlimit(resource.RLIMIT_AS)[1]
    limit = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    requests, replies = sys.stdin.buffer, os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever a library prints goes to stderr, never into the replies
    from ingest.load import parse

    while (request := _receive(requests)) is not None and (data := _receive(requests)) is not None:
        header = json.loads(request)
        _limit_cpu(header["seconds"])
        try:
            reply = {"document": asdict(parse(header["suffix"], data, header["tesseract"]))}
        except LoadError as error:
            reply = {"error": str(error)}
        except MemoryError:
            reply = {"memory": True}
        except RecursionError:
            reply = {"error": "the file is nested too deeply to read"}
        except Exception as error:  # a library's own error on a broken file: the reason, never a trace
            reply = {"error": f"the file could not be read ({type(error).__name__})"}
        del data
        _send(replies, reply)


if __name__ == "__main__":
    main(int(sys.argv[1]))
