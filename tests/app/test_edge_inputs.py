"""Odd and careless input on the live app: a blank admin token, an upload under a name already
taken, a file name over the file system's limit, a lone surrogate in a question, and what a
DELETE answer shows. Each answer is a clear 4xx or a result line, never a 500."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from studychat.settings import Settings, describe_error
from tests.app.conftest import SEED, Live
from web.services import refuse_change

FEVER = "What side effects did the patients have?"
NOTE = (
    "Heron survey\n\nVolunteers counted the herons nesting along the river every spring.\n\n"
    "The survey found forty-two heron nests in the last spring count.\n"
)


def leftovers(live: Live) -> list[str]:
    """Temporary upload files left in the corpus folder."""
    return [p.name for p in Path(live.settings.corpus).rglob(".upload-*")]


@pytest.mark.parametrize("token", ["", " ", "\u00a0", "\u200b\u2003", "\ufeff"])
def test_a_blank_admin_token_is_refused_at_start(token: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Settings(admin_token=token, host="0.0.0.0", _env_file=None)
    message = describe_error(raised.value)
    assert message.startswith("STUDYCHAT_ADMIN_TOKEN: is set but blank"), message


def test_a_token_is_compared_exactly_as_sent() -> None:
    settings = Settings(admin_token="s3cret-token", _env_file=None)
    assert refuse_change(settings, "s3cret-token") is None
    for near in ("s3cret-token\u00a0", " s3cret-token", "s3cret-token\n", "\u2003s3cret-token"):
        assert refuse_change(settings, near) == "the admin token is wrong", repr(near)
    for blank in ("", " ", "\u00a0"):
        assert refuse_change(settings, blank) == "the admin token is required to change documents"


def test_an_upload_with_a_taken_name_is_refused_until_replace_is_asked(http: httpx.Client, live: Live) -> None:
    seed_text = SEED.read_bytes()
    other = b"Seed replaced\n\nThis text only says that the seed article was replaced by a short note.\n"
    reply = http.post("/api/documents", files={"files": (SEED.name, other, "text/plain")}, headers=live.auth)
    assert reply.status_code == 409, reply.text
    body = reply.json()
    assert body["results"][0]["status"] == "exists" and "?replace=true" in body["results"][0]["reason"], body
    assert SEED.name in body["detail"]
    assert (Path(live.settings.corpus) / SEED.name).read_bytes() == seed_text
    answer = http.post("/api/ask", json={"question": FEVER}).json()
    assert not answer["refused"] and answer["citations"][0]["document_id"] == SEED.name, answer

    same = http.post("/api/documents", files={"files": (SEED.name, seed_text, "text/plain")}, headers=live.auth)
    assert same.status_code == 201 and same.json()["results"][0]["status"] == "unchanged", same.text

    files = [("files", ("heron-survey.txt", NOTE.encode(), "text/plain")), ("files", (SEED.name, other, "text/plain"))]
    mixed = http.post("/api/documents", files=files, headers=live.auth)
    assert mixed.status_code == 207, mixed.text  # one file added, one refused
    assert [r["status"] for r in mixed.json()["results"]] == ["added", "exists"]
    heron = mixed.json()["results"][0]["document_id"]
    try:
        changed = NOTE.replace("forty-two", "fifty-one").encode()
        again = http.post("/api/documents", files={"files": ("heron-survey.txt", changed)}, headers=live.auth)
        assert again.status_code == 409 and again.json()["results"][0]["status"] == "exists", again.text
        replaced = http.post(
            "/api/documents",
            params={"replace": "true"},
            files={"files": ("heron-survey.txt", changed)},
            headers=live.auth,
        )
        assert replaced.status_code == 201 and replaced.json()["results"][0]["status"] == "updated", replaced.text
        assert (Path(live.settings.corpus) / "heron-survey.txt").read_bytes() == changed
    finally:
        http.delete(f"/api/documents/{heron}", headers=live.auth)
    assert (Path(live.settings.corpus) / SEED.name).read_bytes() == seed_text


def test_a_name_over_the_file_system_limit_is_shortened(http: httpx.Client, live: Live) -> None:
    name = "患者研究報告" * 17 + ".txt"  # 102 CJK characters: 306 bytes of UTF-8, over the 255 a name may have
    reply = http.post("/api/documents", files={"files": (name, NOTE.encode(), "text/plain")}, headers=live.auth)
    assert reply.status_code == 201, reply.text
    result = reply.json()["results"][0]
    try:
        saved = [p for p in Path(live.settings.corpus).iterdir() if p.name.startswith("患者")]
        assert len(saved) == 1 and saved[0].suffix == ".txt" and len(saved[0].name.encode()) <= 200
        assert saved[0].read_bytes() == NOTE.encode()
        assert result["status"] == "added" and result["path"] == saved[0].name
    finally:
        http.delete(f"/api/documents/{result['document_id']}", headers=live.auth)
    assert leftovers(live) == []


def test_a_file_that_cannot_be_saved_leaves_nothing_behind(http: httpx.Client, live: Live) -> None:
    clash = Path(live.settings.corpus) / "clash.txt"
    clash.mkdir()  # a folder where the upload would be saved: the rename fails
    try:
        reply = http.post(
            "/api/documents",
            params={"replace": "true"},
            files={"files": ("clash.txt", NOTE.encode(), "text/plain")},
            headers=live.auth,
        )
        assert reply.status_code == 422, reply.text
        result = reply.json()["results"][0]
        assert result["status"] == "skipped" and result["reason"].startswith("could not be saved"), result
        assert "Traceback" not in reply.text
        assert leftovers(live) == []
    finally:
        clash.rmdir()


@pytest.mark.parametrize("path", ["/api/ask", "/api/ask/stream"])
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"question": "What side effects \\ud800 did they have?"}', "question"),
        ('{"question": "And then?", "history": [{"role": "user", "content": "x\\udfff"}]}', "history[0].content"),
    ],
)
def test_a_lone_surrogate_gets_422_naming_the_field(http: httpx.Client, path: str, body: str, field: str) -> None:
    reply = http.post(path, content=body.encode(), headers={"Content-Type": "application/json"})
    assert reply.status_code == 422, reply.text
    detail = reply.json()["detail"]
    assert detail.startswith(f"{field}: ") and "surrogate" in detail, detail


def test_delete_answers_with_the_file_name_only(http: httpx.Client, live: Live) -> None:
    reply = http.post("/api/documents", files={"files": ("heron-delete.txt", NOTE.encode())}, headers=live.auth)
    assert reply.status_code == 201, reply.text
    document_id = reply.json()["results"][0]["document_id"]
    removed = http.delete(f"/api/documents/{document_id}", headers=live.auth)
    assert removed.status_code == 200
    assert removed.json()["result"]["path"] == "heron-delete.txt"
    assert str(Path(live.settings.corpus).resolve()) not in json.dumps(removed.json())
