"""POST /api/documents says per file what happened: 201 when every file was taken, 207 Multi-Status
when some were and others refused (the good ones are in the index), and a 4xx only when none was.
Against the real server of tests/app/conftest.py."""

from __future__ import annotations

from contextlib import contextmanager

import httpx
import pytest

from tests.documents import encrypted_pdf

pytestmark = pytest.mark.slow

GOOD = "Heron survey\n\nVolunteers counted forty-two grey herons along the river in April.\n"
QUESTION = "How many grey herons did the volunteers count?"


@contextmanager
def uploaded(http: httpx.Client, live, files: list[tuple[str, bytes]]):
    """The reply to an upload of (name, bytes) files; what it added is deleted after the block."""
    reply = http.post("/api/documents", files=[("files", file) for file in files], headers=live.auth)
    try:
        yield reply
    finally:
        for result in reply.json().get("results", []):
            if result["status"] == "added":
                http.delete(f"/api/documents/{result['document_id']}", headers=live.auth)


def listed(http: httpx.Client) -> set[str]:
    return {d["id"] for d in http.get("/api/documents").json()["documents"]}


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (("locked.pdf", encrypted_pdf("hunter2")), "password"),
        (("broken.pdf", b"%PDF-1.4\nnot a real pdf at all"), "corrupt"),
        (("tool.exe", b"MZ\x90\x00"), "unsupported file type .exe"),
        (("huge.txt", b"word " * 250_000), "MB limit"),
    ],
    ids=["password", "corrupt", "unsupported", "too-large"],
)
def test_one_good_file_and_one_bad_file_get_207_with_each_file_s_status(http, live, bad, reason):
    with uploaded(http, live, [("heron-survey.txt", GOOD.encode()), bad]) as reply:
        assert reply.status_code == 207, reply.text
        body = reply.json()
        good, refused = body["results"]
        assert good["path"] == "heron-survey.txt" and good["status"] == "added" and good["chunks"] >= 1, good
        assert refused["path"] == bad[0] and refused["status"] == "skipped" and reason in refused["reason"], refused
        assert body["detail"].startswith("1 of 2 files were not added: " + bad[0]), body["detail"]
        assert good["document_id"] in listed(http)
        answer = http.post("/api/ask", json={"question": QUESTION}).json()
        assert "forty-two" in answer["answer"] and answer["citations"][0]["document_id"] == good["document_id"]
        assert not (live.settings.corpus / bad[0]).exists()


def test_every_file_added_is_201_and_none_added_is_a_4xx(http, live):
    kestrels = b"Kestrel count\n\nNine kestrels hunted over the meadow.\n"
    notes = [("kestrel-count.txt", kestrels), ("heron.md", GOOD.encode())]
    with uploaded(http, live, notes) as reply:
        assert reply.status_code == 201, reply.text
        assert [r["status"] for r in reply.json()["results"]] == ["added", "added"]
        assert "detail" not in reply.json()

    before = listed(http)
    bad = [("locked.pdf", encrypted_pdf("hunter2")), ("tool.exe", b"MZ")]  # refused for two reasons
    with uploaded(http, live, bad) as reply:
        assert reply.status_code == 422, reply.text
        assert [r["status"] for r in reply.json()["results"]] == ["skipped", "skipped"]
        assert reply.json()["detail"].startswith("2 of 2 files were not added: locked.pdf: ")
    assert listed(http) == before


def test_openapi_describes_the_per_file_statuses(http):
    operation = http.get("/openapi.json").json()["paths"]["/api/documents"]["post"]
    assert {"201", "207", "409", "413", "415", "422"} <= set(operation["responses"])
    assert "207 Multi-Status" in operation["description"]
    schema = operation["responses"]["207"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/UploadReply")
    outcome = http.get("/openapi.json").json()["components"]["schemas"]["FileOutcome"]
    assert outcome["properties"]["status"]["enum"] == ["added", "updated", "unchanged", "exists", "skipped"]
