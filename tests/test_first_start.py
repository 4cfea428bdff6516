"""The first start of `python app.py` on a fresh machine prints what it does, and no warning that
reads like an error (the one-time ONNX export of the embedding model used to print three)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_first_start_prints_no_warning(tmp_path: Path) -> None:
    home = tmp_path / "home"  # no ~/.cache/studychat/onnx yet: the model is exported on this start
    home.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("STUDYCHAT_")},
        "HOME": str(home),
        "STUDYCHAT_PORT": str(free_port()),
        "STUDYCHAT_DB": str(tmp_path / "db"),
        "PYTHONUNBUFFERED": "1",
    }
    app = subprocess.Popen(
        [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            line = app.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "StudyChat is ready at" in line:
                break
    finally:
        app.terminate()
        app.wait(timeout=30)
    printed = "".join(lines)
    assert "StudyChat is ready at" in printed, printed[-3000:]
    assert any((home / ".cache" / "studychat" / "onnx").rglob("model.onnx")), "the model was not exported"
    assert "Warning" not in printed and "warn" not in printed.lower(), printed
