"""A long upload does not stall other users: while the app embeds an upload of several real
papers, questions from other clients are answered (a real `python app.py` on a free port)."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
from conftest import PYTHON, ROOT, free_port, stop, study_env, wait_http

SEED = ROOT / "corpus" / "echemi-car-t-lupus-2022.txt"
PAPERS = ROOT / ".." / "shared" / "benchmarks" / "covidqa" / "documents"


@pytest.mark.slow
def test_questions_are_answered_while_an_upload_is_embedded(tmp_path: Path) -> None:
    corpus, db = tmp_path / "corpus", tmp_path / "db"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(tmp_path / "app.log", "w+")
    env = study_env(db, corpus, STUDYCHAT_PORT=str(port))
    app = subprocess.Popen([PYTHON, str(ROOT / "app.py")], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    papers = sorted(PAPERS.glob("*.txt"))[:6]  # about 400 chunks: tens of seconds of embedding here
    upload: dict = {}

    def send_upload() -> None:
        files = [("files", (p.name, p.read_bytes(), "text/plain")) for p in papers]
        upload["reply"] = httpx.post(f"{url}/api/documents", files=files, timeout=900)
        upload["finished"] = time.monotonic()

    try:
        wait_http(f"{url}/healthz", timeout=300, ok=lambda status: status == 200)
        uploading = threading.Thread(target=send_upload)
        uploading.start()
        answered_during = 0
        with httpx.Client(timeout=300) as client:
            while uploading.is_alive():
                reply = client.post(f"{url}/api/ask", json={"question": "What disease was treated with CAR-T cells?"})
                assert reply.status_code == 200 and reply.json()["citations"], reply.text
                if "finished" not in upload:
                    answered_during += 1
        uploading.join()
        assert upload["reply"].status_code == 201, upload["reply"].text
        assert [r["status"] for r in upload["reply"].json()["results"]] == ["added"] * len(papers)
        assert answered_during >= 3, f"only {answered_during} questions were answered during the upload"
    finally:
        stop(app)
        log.close()
