"""The live app (`python app.py` in its own process) at its edge: oversized bodies, uploads without
the token, requests addressed to another host name (DNS rebinding), and a blank admin token.

Memory and disk are read from the server's /proc/<pid>: `VmHWM` (its peak resident memory, reset
through /proc/<pid>/clear_refs before each request) and `wchar` (bytes it has written)."""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from tests.reliability.conftest import PYTHON, ROOT, free_port, stop, study_env, wait_http

pytestmark = pytest.mark.slow

SEED = ROOT / "corpus" / "echemi-car-t-lupus-2022.txt"
TOKEN = "tok-" + uuid.uuid4().hex
MB = 1024 * 1024


class Server:
    """One `python app.py` on loopback with its own store, corpus and temp folder."""

    def __init__(self, base: Path, **env: str):
        self.base, self.port = base, free_port()
        self.corpus, self.tmp = base / "corpus", base / "tmp"
        for folder in (self.corpus, self.tmp):
            folder.mkdir(parents=True)
        shutil.copy(SEED, self.corpus / SEED.name)
        self.env = study_env(base / "db", self.corpus, STUDYCHAT_PORT=str(self.port), TMPDIR=str(self.tmp), **env)
        self.log_path = base / "server.log"

    def __enter__(self) -> Server:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [PYTHON, str(ROOT / "app.py")], cwd=self.base, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        wait_http(f"http://127.0.0.1:{self.port}/healthz", timeout=300, ok=lambda s: s == 200)
        return self

    def __exit__(self, *_) -> None:
        stop(self.process)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            conn.close()

    def documents(self) -> dict[str, dict]:
        status, _, body = self.request("GET", "/api/documents")
        assert status == 200
        return {d["id"]: d for d in json.loads(body)["documents"]}

    def proc(self, name: str, key: str) -> int:
        for line in Path(f"/proc/{self.process.pid}/{name}").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        raise KeyError(key)

    def reset_peak_memory(self) -> None:
        Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")  # VmHWM := VmRSS
        self.resident = self.proc("status", "VmRSS")

    def peak_growth_mb(self) -> float:
        """How far the resident memory rose above its level at `reset_peak_memory`, at its peak."""
        return (self.proc("status", "VmHWM") - self.resident) / 1024


def send_large(
    port: int, path: str, size: int, headers: dict[str, str], chunked: bool, body: bytes = b""
) -> tuple[int, bytes, float]:
    """Send `body` padded to `size` bytes (declared in Content-Length, or chunked) while reading the
    answer, as a client that stops sending once answered: (status, answer body, seconds to answer)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    head = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", *(f"{k}: {v}" for k, v in headers.items())]
    head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}")
    answer = bytearray()
    answered = threading.Event()
    started = time.monotonic()
    seconds = [0.0]

    def read() -> None:
        try:
            while data := sock.recv(65536):
                if not answer:
                    seconds[0] = time.monotonic() - started
                answer.extend(data)
                if b"\r\n\r\n" in answer:
                    answered.set()
        except OSError:
            pass
        answered.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        sent, piece = 0, b"x" * MB
        while sent < size and not answered.is_set():
            chunk = (body + piece)[: min(MB, size - sent)] if sent == 0 else piece[: min(MB, size - sent)]
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
            sent += len(chunk)
        if chunked and not answered.is_set():
            sock.sendall(b"0\r\n\r\n")
    except OSError:
        pass  # the server closed the connection after answering
    answered.wait(120)
    time.sleep(0.2)
    sock.close()
    reader.join(10)
    status_line, _, rest = bytes(answer).partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 "), bytes(answer[:200])
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2], seconds[0]


def multipart_head(boundary: str, name: str) -> bytes:
    return (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()


@pytest.fixture(scope="module")
def open_server(tmp_path_factory):
    """Loopback, no admin token: anyone on this machine may change documents."""
    with Server(tmp_path_factory.mktemp("open")) as server:
        yield server


def test_an_oversized_body_gets_413_without_the_server_holding_it(open_server: Server) -> None:
    question = json.dumps({"question": "What side effects did the patients have?"}).encode()
    status, _, body = open_server.request("POST", "/api/ask", question, {"Content-Type": "application/json"})
    assert status == 200 and json.loads(body)["citations"], body  # warmed up: later growth is the body's
    for path, chunked in [("/api/ask", False), ("/api/ask", True), ("/gradio_api/queue/join", True)]:
        open_server.reset_peak_memory()
        headers = {"Content-Type": "application/json"}
        status, answer, seconds = send_large(open_server.port, path, 50 * MB, headers, chunked, b'{"question": "')
        growth = open_server.peak_growth_mb()
        print(f"{path} chunked={chunked}: {status} in {seconds:.2f}s, peak memory +{growth:.0f} MB")
        assert growth < 30, f"{path}: the server's memory grew by {growth:.0f} MB for a 50 MB body"
        assert status == 413, (path, chunked, answer[:300])
        assert b"KB" in answer and b"Traceback" not in answer, answer
        assert seconds < 5, (path, chunked, seconds)
    status, _, body = open_server.request("POST", "/api/ask", question, {"Content-Type": "application/json"})
    assert status == 200, body
    # An upload to Gradio's route may be larger, up to the upload limits (20 files of 20 MB), no more.
    form = {"Content-Type": "multipart/form-data; boundary=b"}
    status, answer, seconds = send_large(open_server.port, "/gradio_api/upload", 500 * MB, form, False)
    assert status == 413 and b"20 MB" in answer and seconds < 5, (status, answer[:300], seconds)


def test_requests_to_another_host_name_are_refused(open_server: Server) -> None:
    """What a DNS-rebinding page sends: our address, but its own Host and Origin."""
    before = open_server.documents()
    seed_id = next(iter(before))
    boundary = uuid.uuid4().hex
    upload = multipart_head(boundary, "rebound.txt") + b"A note from another site.\r\n" + f"--{boundary}--\r\n".encode()
    form = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    evil = {"Host": "evil.example", "Origin": "http://evil.example"}
    for method, path, body, headers in [
        ("POST", "/api/documents", upload, {**form, **evil}),
        ("DELETE", f"/api/documents/{seed_id}", None, evil),
        ("POST", "/gradio_api/queue/join", b'{"data": [], "fn_index": 0, "session_hash": "x"}', evil),
        ("GET", "/", None, evil),
        ("GET", "/api/documents", None, {"Host": "evil.example:7860"}),
    ]:
        status, _, answer = open_server.request(method, path, body, headers)
        assert status == 400 and b"evil.example" in answer, (method, path, status, answer[:300])
    assert open_server.documents() == before
    assert not (open_server.corpus / "rebound.txt").exists() and (open_server.corpus / SEED.name).exists()

    # Addressed to this machine, by name or address, changes still work from here.
    status, _, answer = open_server.request(
        "POST", "/api/documents", upload, {**form, "Host": f"localhost:{open_server.port}"}
    )
    assert status == 201, answer
    added = json.loads(answer)["results"][0]["document_id"]
    status, _, _ = open_server.request("DELETE", f"/api/documents/{added}")
    assert status == 200 and open_server.documents() == before
    assert open_server.request("GET", "/", None, {"Host": f"[::1]:{open_server.port}"})[0] == 200

    # The widget on another site asks across origins: addressed to us, so answered.
    question = json.dumps({"question": "What side effects did the patients have?"}).encode()
    origin = {"Origin": "https://lab.example", "Content-Type": "application/json"}
    status, headers, answer = open_server.request("POST", "/api/ask", question, origin)
    assert status == 200 and json.loads(answer)["citations"], answer
    assert dict(headers)["access-control-allow-origin"] == "*"


def test_an_upload_without_the_token_is_refused_before_it_is_read(tmp_path: Path) -> None:
    with Server(tmp_path, STUDYCHAT_ADMIN_TOKEN=TOKEN) as server:
        before = server.documents()
        boundary = uuid.uuid4().hex
        head = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        temporary = {p for p in server.tmp.rglob("*") if p.is_file()}  # Gradio's own, from its start
        written = server.proc("io", "wchar")
        status, answer, seconds = send_large(
            server.port, "/api/documents", 30 * MB, head, True, multipart_head(boundary, "large.txt")
        )
        grew = (server.proc("io", "wchar") - written) / MB
        print(f"no token: {status} in {seconds:.2f}s, server wrote {grew:.1f} MB")
        assert status == 401 and b"token" in answer, answer[:300]
        assert grew < 3, f"the server wrote {grew:.0f} MB of an upload it refused"
        assert (
            list(server.corpus.rglob(".upload-*")) == []
            and {p for p in server.tmp.rglob("*") if p.is_file()} == temporary
        )
        assert server.documents() == before
        status, _, answer = server.request(
            "DELETE", f"/api/documents/{next(iter(before))}", None, {"Authorization": "Bearer \u00a0".encode("latin-1")}
        )
        assert status == 401 and server.documents() == before


@pytest.mark.parametrize("token", ["", "\u00a0"])
def test_a_blank_admin_token_stops_the_start(tmp_path: Path, token: str) -> None:
    env = study_env(
        tmp_path / "db",
        tmp_path / "corpus",
        STUDYCHAT_ADMIN_TOKEN=token,
        STUDYCHAT_HOST="0.0.0.0",
        STUDYCHAT_PORT=str(free_port()),
    )
    process = subprocess.Popen(
        [PYTHON, str(ROOT / "app.py")], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        out, err = process.communicate(timeout=60)
    finally:
        stop(process)
    assert process.returncode == 1, (out, err)
    assert err.strip().startswith("error: STUDYCHAT_ADMIN_TOKEN: is set but blank"), err
    assert "Traceback" not in err and "ready" not in out
