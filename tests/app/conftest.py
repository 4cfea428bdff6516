"""One real StudyChat server per test session: uvicorn in a thread, a temp corpus and store,
the session's bundled model. Tests share it, since starting one costs the 2-core machine seconds."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import uvicorn

from app import build_app
from chat.chain import Chain
from studychat.settings import Settings
from web.services import Services

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "corpus" / "echemi-car-t-lupus-2022.txt"
TOKEN = "test-admin-token"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


@dataclass
class Live:
    url: str
    settings: Settings
    services: Services
    token: str = TOKEN

    @property
    def auth(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerThread:
    """uvicorn serving an app in a daemon thread until `stop`."""

    def __init__(self, app, host: str, port: int):
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self, health_url: str, timeout: float = 60) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(health_url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the server did not answer at {health_url}")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@contextmanager
def served(root: Path, embedder, chain: Callable[[Services], Chain] | None = None, **values) -> Iterator[Live]:
    """The app over a corpus of the seed article in `root`, with these settings, on a free port
    until the block ends. `chain` builds the answerer from the started services instead of theirs."""
    corpus = root / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    port = free_port()
    settings = Settings(corpus=corpus, db=root / "db", host="127.0.0.1", port=port, _env_file=None, **values)
    services = Services.start(settings, embedder=embedder, say=lambda _: None)
    if chain is not None:
        services = replace(services, chain=chain(services))
    server = ServerThread(build_app(settings, services), settings.host, port)
    url = f"http://127.0.0.1:{port}"
    server.start(url + "/healthz")
    try:
        yield Live(url, settings, services)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory, embedder) -> Live:
    """The app with the seed corpus, an admin token, and small limits that tests can reach."""
    values = {"admin_token": TOKEN, "max_upload_mb": 1, "max_files_per_request": 5}
    with served(tmp_path_factory.mktemp("live"), embedder, **values) as running:
        yield running


@contextmanager
def document_added(live: Live, name: str, text: str) -> Iterator[str]:
    """A document uploaded through the API as `name` for the length of the block; its id."""
    files = {"files": (name, text.encode(), "text/plain")}
    reply = httpx.post(f"{live.url}/api/documents", files=files, headers=live.auth, timeout=60)
    assert reply.status_code == 201, reply.text
    document_id = reply.json()["results"][0]["document_id"]
    try:
        yield document_id
    finally:
        httpx.delete(f"{live.url}/api/documents/{document_id}", headers=live.auth, timeout=60)


@pytest.fixture(scope="session")
def http(live: Live) -> httpx.Client:
    with httpx.Client(base_url=live.url, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def browser():
    """Debian Chromium through Playwright (skips when either is missing)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    """A fresh browser context and page, 1280x900, 30 s to find an element."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(30_000)
    yield opened
    context.close()


class SiteHandler(BaseHTTPRequestHandler):
    """Answers each path of `pages` with its (content type, body, headers); 404 otherwise."""

    pages: dict[str, tuple[str, str, dict]] = {}

    def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
        found = self.pages.get(self.path.split("?")[0])
        if found is None:
            self.send_error(404)
            return
        content_type, body, headers = found
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def host_sites():
    """Start another site (a real HTTP server on its own port) from {path: (type, body, headers)};
    returns its base URL. Every site started is stopped after the module."""
    servers = []

    def start(pages: dict[str, tuple[str, str, dict]]) -> str:
        handler = type("Site", (SiteHandler,), {"pages": pages})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
