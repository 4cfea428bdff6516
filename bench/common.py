"""Helpers the benchmarks share: the machine, percentiles, settings in a temp dir, memory."""

from __future__ import annotations

import os
import platform
import socket
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np

from bench.corpus import CACHE


@dataclass
class Row:
    """One line of the results table: what was measured, ours, the reference, their ratio, target."""

    section: str
    measure: str
    ours: str
    reference: str = ""
    ratio: str = ""
    target: str = ""
    met: bool | None = None

    def cells(self) -> list[str]:
        verdict = "" if self.met is None else ("yes" if self.met else "**no**")
        return [self.section, self.measure, self.ours, self.reference, self.ratio, self.target, verdict]


@dataclass
class Results:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *args, **kwargs) -> Row:
        row = Row(*args, **kwargs)
        self.rows.append(row)
        print("  " + " | ".join(c for c in row.cells() if c), flush=True)
        return row

    def table(self) -> str:
        head = ["Section", "Measure", "StudyChat", "Reference", "Ratio", "Target", "Met"]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r.cells()) + " |" for r in self.rows]
        return "\n".join(lines)


def machine() -> dict[str, str]:
    """The CPU, core count and versions the figures were measured with."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"nproc": str(os.cpu_count()), "cpu": cpu, "python": platform.python_version()}
    for package in ("torch", "chromadb", "sentence-transformers", "onnxruntime", "langchain-chroma"):
        try:
            info[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            info[package] = "-"
    try:
        info["load average"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        pass
    return info


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.0095 else f"{seconds * 1000:.1f} ms"


def timed(fn: Callable, *args, **kwargs) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - started, result


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def memory_mb(pid: int) -> tuple[float, float]:
    """(resident, peak resident) megabytes of a process, from /proc."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


def tree_memory_mb(pid: int) -> tuple[float, float]:
    """Memory of a process and its children (a server may fork workers)."""
    rss, hwm = memory_mb(pid)
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        for child in children.read_text().split():
            try:
                c_rss, c_hwm = tree_memory_mb(int(child))
            except (OSError, ValueError):
                continue
            rss, hwm = rss + c_rss, hwm + c_hwm
    return rss, hwm


def cache_dir(name: str) -> Path:
    path = CACHE / name
    path.mkdir(parents=True, exist_ok=True)
    return path
