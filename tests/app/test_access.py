"""Who may change documents, and what users see when the store is down, on apps built for the case
(in-process with Starlette's TestClient, real store and model, no corpus to ingest)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app import build_app
from studychat.settings import Settings
from web.services import Services

pytestmark = pytest.mark.slow


def client_for(tmp_path: Path, embedder, **fields) -> TestClient:
    (tmp_path / "corpus").mkdir()
    settings = Settings(corpus=tmp_path / "corpus", db=tmp_path / "db", _env_file=None, **fields)
    services = Services.start(settings, embedder=embedder, say=lambda _: None)
    # Addressed as a browser on this machine addresses it (TestClient's own "testserver" is not an allowed host)
    return TestClient(build_app(settings, services), base_url="http://127.0.0.1")


def test_loopback_without_token_allows_changes(tmp_path, embedder):
    with client_for(tmp_path, embedder, host="127.0.0.1") as client:
        files = {"files": ("notes.txt", b"The heron study counted forty herons.", "text/plain")}
        reply = client.post("/api/documents", files=files)
        assert reply.status_code == 201, reply.text
        assert client.get("/healthz").json()["documents"] == 1


def test_network_host_without_token_is_read_only(tmp_path, embedder):
    with client_for(tmp_path, embedder, host="0.0.0.0") as client:
        files = {"files": ("notes.txt", b"Some notes.", "text/plain")}
        reply = client.post("/api/documents", files=files)
        assert reply.status_code == 401
        assert "network address" in reply.json()["detail"]
        assert client.delete("/api/documents/notes.txt").status_code == 401


def test_allowed_origins_limit_cors_and_framing(tmp_path, embedder):
    with client_for(tmp_path, embedder, allowed_origins="https://a.example") as client:
        ok = client.options(
            "/api/ask", headers={"Origin": "https://a.example", "Access-Control-Request-Method": "POST"}
        )
        assert ok.headers["access-control-allow-origin"] == "https://a.example"
        other = client.options(
            "/api/ask", headers={"Origin": "https://b.example", "Access-Control-Request-Method": "POST"}
        )
        assert "access-control-allow-origin" not in other.headers
        assert client.get("/embed").headers["content-security-policy"] == "frame-ancestors 'self' https://a.example"


def test_unreachable_store_gives_503_and_a_plain_message(tmp_path, embedder):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with client_for(tmp_path, embedder, chroma_url=f"http://127.0.0.1:{port}") as client:
        health = client.get("/healthz")
        assert health.status_code == 503
        assert health.json()["status"] == "unavailable" and health.json()["reason"]
        reply = client.post("/api/ask", json={"question": "What side effects did the patients have?"})
        assert reply.status_code == 503
        assert reply.json()["detail"].startswith("The document store is unreachable:")
        assert "Traceback" not in reply.text
