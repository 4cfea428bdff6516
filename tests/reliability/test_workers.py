"""Several serving processes (`STUDYCHAT_WORKERS=2`): a real `python app.py` on a free loopback
port, one writer and one reader sharing it. Both answer; a document uploaded through either is
stored once by the writer and answered from by both; the Gradio UI works through either; and with
the writer gone, a reader refuses a change with a message that says where documents are added."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from conftest import free_port, seeded_app

from web.workers import WriterProxy

NEW_FACT = "The okapi study counted 417 okapis in the Ituri forest between 2019 and 2021."


def served_by(response: httpx.Response) -> str:
    """The process that answered: the last name in X-StudyChat-Process ("writer, reader-1" was
    forwarded by reader-1 to the writer)."""
    return response.headers["x-studychat-process"].split(",")[-1].strip()


def fresh(method: str, url: str, **kwargs) -> httpx.Response:
    """One request on a new connection, so the kernel may hand it to either process."""
    with httpx.Client(timeout=120, headers={"Connection": "close"}) as client:
        return client.request(method, url, **kwargs)


@pytest.mark.slow
def test_two_workers_share_one_store(tmp_path: Path) -> None:
    corpus, db = tmp_path / "corpus", tmp_path / "db"
    with seeded_app(tmp_path, stop_timeout=60, STUDYCHAT_WORKERS="2") as (url, app, log):  # the writer is up
        deadline = time.monotonic() + 300
        while "StudyChat is ready" not in log.read_text():  # and so are the readers
            assert app.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
        seen = set()
        for _ in range(40):
            reply = fresh("POST", f"{url}/api/ask", json={"question": "What disease was treated with CAR-T cells?"})
            assert reply.status_code == 200 and reply.json()["citations"], reply.text
            seen.add(served_by(reply))
            if len(seen) == 2:
                break
        assert seen == {"writer", "reader-1"}

        # An upload that reaches the reader is forwarded to the writer, which stores it.
        forwarded = None
        for n in range(40):
            files = {"files": (f"okapi-{n}.txt", f"Okapi count {n}.\n\n{NEW_FACT}\n".encode(), "text/plain")}
            reply = fresh("POST", f"{url}/api/documents", files=files)
            assert reply.status_code == 201, reply.text
            assert reply.json()["results"][0]["status"] == "added"
            if reply.headers["x-studychat-process"] == "writer, reader-1":
                forwarded = reply.json()["results"][0]["document_id"]
                break
        assert forwarded, "no upload reached the reader in 40 tries"
        assert (corpus / f"{forwarded}").exists()

        # Both processes see it at once: listed and answered from.
        answered, listed = set(), set()
        for _ in range(60):
            documents = fresh("GET", f"{url}/api/documents")
            if forwarded in {d["id"] for d in documents.json()["documents"]}:
                listed.add(served_by(documents))
            reply = fresh("POST", f"{url}/api/ask", json={"question": "How many okapis did the okapi study count?"})
            assert reply.status_code == 200, reply.text
            body = reply.json()
            if not body["refused"] and "417" in body["answer"]:
                answered.add(served_by(reply))
            if len(answered) == 2 and len(listed) == 2:
                break
        assert answered == {"writer", "reader-1"} and listed == {"writer", "reader-1"}

        # The Gradio UI keeps its sessions in the writer: through either process it works.
        from gradio_client import Client

        for _ in range(4):
            client = Client(url, verbose=False)
            result = client.predict("What disease was treated with CAR-T cells?", [], api_name="/ask")
            assert result["citations"] and not result["refused"]
            client.close()
        page = fresh("GET", f"{url}/")
        assert page.status_code == 200 and "StudyChat" in page.text

        assert "app at http://127.0.0.1:" in (db / "writer.lock").read_text()
    output = log.read_text()
    assert app.returncode == 0, output
    serving, _, _ = output.partition("Stopping StudyChat")  # streams still open at the end are cut, with a log line
    assert "Traceback" not in serving and "Stopping StudyChat" in output, output
    with pytest.raises(httpx.TransportError):  # every process stopped with the supervisor
        fresh("GET", f"{url}/healthz")


def test_a_change_is_refused_clearly_while_the_writer_does_not_answer() -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens here
    proxy = WriterProxy(closed)

    async def delete() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=proxy), base_url="http://studychat") as client:
            return await client.delete("/api/documents/notes.txt")

    reply = asyncio.run(delete())
    assert reply.status_code == 503
    message = reply.json()["detail"]
    assert closed in message and "writer process" in message
    assert "Questions are still answered" in message and "python -m ingest" in message
