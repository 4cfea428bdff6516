"""A long upload does not stall other users: while the app embeds an upload of several real
papers, questions from other clients are answered (a real `python app.py` on a free port)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
from conftest import seeded_app


@pytest.mark.slow
def test_questions_are_answered_while_an_upload_is_embedded(tmp_path: Path, covidqa_papers: Path) -> None:
    papers = sorted(covidqa_papers.glob("*.txt"))[:6]  # about 400 chunks: tens of seconds of embedding here
    upload: dict = {}

    def send_upload(url: str) -> None:
        files = [("files", (p.name, p.read_bytes(), "text/plain")) for p in papers]
        upload["reply"] = httpx.post(f"{url}/api/documents", files=files, timeout=900)
        upload["finished"] = time.monotonic()

    with seeded_app(tmp_path) as (url, _, _):
        uploading = threading.Thread(target=send_upload, args=(url,))
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
