"""No server file can be read or indexed through the Gradio UI's events and routes, and Gradio's
upload route stores nothing for whoever may not change documents.

Real `python app.py` servers on free ports over the seed corpus, each with its own Gradio upload
folder (GRADIO_TEMP_DIR), spoken to as a hostile client would: events posted to
/gradio_api/queue/join with file payloads naming server paths, then every file URL the server
hands back fetched.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.reliability.conftest import seeded_app
from tests.reliability.gradio_wire import FILE_URL, completed, config, file_data, send_event

pytestmark = pytest.mark.slow

TOKEN = "gradio-guard-token"
QUESTION = "What side effects did the patients have?"
SECRET = "vault-" + secrets.token_hex(8)  # in a tmp file the server could read
CANARY = "canary-" + secrets.token_hex(8)  # in the server's environment, so in /proc/self/environ
PASSWD = "root:x:0:0"


@dataclass
class Server:
    url: str
    root: Path
    uploads: Path  # Gradio's upload folder for this server
    log: Path

    def stored(self) -> list[Path]:
        """The regular files in the upload folder (not symlinks a test planted there)."""
        return [p for p in self.uploads.rglob("*") if p.is_file() and not p.is_symlink()]

    def documents(self) -> list[str]:
        return [d["id"] for d in httpx.get(f"{self.url}/api/documents", timeout=30).json()["documents"]]


@pytest.fixture(scope="module")
def token_server(tmp_path_factory) -> Server:
    root = tmp_path_factory.mktemp("token-server")
    uploads = root / "gradio-uploads"
    uploads.mkdir()
    (root / "secret-notes.txt").write_text(f"The vault code is {SECRET}.\n")
    planted = uploads / "planted"  # a symlink inside the upload folder to a file outside it
    planted.mkdir()
    (planted / "notes.txt").symlink_to(root / "secret-notes.txt")
    extra = {
        "STUDYCHAT_ADMIN_TOKEN": TOKEN,
        "STUDYCHAT_MAX_UPLOAD_MB": "1",
        "STUDYCHAT_MAX_FILES_PER_REQUEST": "2",
        "GRADIO_TEMP_DIR": str(uploads),
        "SECRET_CANARY": CANARY,
    }
    with seeded_app(root, **extra) as (url, _, log):
        yield Server(url, root, uploads, log)


@pytest.fixture(scope="module")
def read_only_server(tmp_path_factory) -> Server:
    """Listening on a network address with no token: nobody may change documents."""
    root = tmp_path_factory.mktemp("read-only-server")
    uploads = root / "gradio-uploads"
    uploads.mkdir()
    with seeded_app(root, STUDYCHAT_HOST="0.0.0.0", GRADIO_TEMP_DIR=str(uploads)) as (url, _, log):
        yield Server(url, root, uploads, log)


def server_files(server: Server) -> list[str]:
    """Paths naming files outside the upload folder: absolute, through /proc, by traversal, by symlink."""
    secret = server.root / "secret-notes.txt"
    return [
        "/etc/passwd",
        "/proc/self/environ",
        str(secret),
        f"{server.uploads}/../{secret.name}",
        str(server.uploads / "planted" / "notes.txt"),
    ]


def leaked(text: str) -> list[str]:
    return [marker for marker in (PASSWD, CANARY, SECRET) if marker in text]


def hostile_values(paths: list[str]) -> list[object]:
    """What a client can put in one input: one file, a file list, a chat history holding files."""
    return [
        *(file_data(p) for p in paths),
        [file_data(p) for p in paths],
        [{"role": "user", "content": [{"type": "file", "file": file_data(p)} for p in paths]}],
    ]


def ordinary_value(component: dict) -> object:
    """What the page itself would send for this input."""
    props = component.get("props", {})
    if component["type"] == "textbox":
        return TOKEN if props.get("elem_id") == "admin-token" else QUESTION
    if component["type"] in ("state", "api"):
        return None
    return props.get("value")


def test_no_event_returns_or_caches_a_server_file(token_server: Server):
    """Every event of the app (from its config, so a new one is covered), every input given file
    payloads that name server files: nothing of them comes back, directly or through a file URL,
    and no copy lands in the upload folder that /gradio_api/file= serves."""
    app = config(token_server.url)
    components = {c["id"]: c for c in app["components"]}
    events = [e for e in app["dependencies"] if e["inputs"]]
    assert any(e.get("api_name") == "chat" for e in events)
    before = token_server.documents()
    said_all, tried = "", 0
    for event in events:
        ordinary = [ordinary_value(components[i]) for i in event["inputs"]]
        for slot in range(len(ordinary)):
            for value in hostile_values(server_files(token_server)):
                data = [*ordinary[:slot], value, *ordinary[slot + 1 :]]
                _, said = send_event(token_server.url, event, data)
                said_all += said
                tried += 1
    served = ""
    for url in set(FILE_URL.findall(said_all)):
        served += httpx.get(token_server.url + url, timeout=30).text
    assert tried >= 10 * len(events)
    assert leaked(said_all) == [], "an event's reply holds a server file's content"
    assert leaked(served) == [], "a file URL from an event serves a server file"
    copies = [p for p in token_server.stored() if leaked(p.read_text(errors="replace"))]
    assert copies == [], f"server files were copied into the upload folder: {copies}"
    assert token_server.documents() == before


def test_file_routes_serve_no_server_file(token_server: Server):
    uploads = token_server.uploads
    names = [*server_files(token_server), f"{uploads}/../../../../../../etc/passwd", "../../../../etc/passwd"]
    urls = []
    for name in names:
        quoted = httpx.URL("http://x/").copy_with(path="/" + name.lstrip("/")).raw_path.decode()
        urls += [f"/gradio_api/file={name}", f"/gradio_api/file/{name.lstrip('/')}", f"/file={name}"]
        urls += [f"/gradio_api/file={quoted.replace('/', '%2F')}", f"/gradio_api/file=%2E%2E%2F{quoted}"]
    for url in urls:
        reply = httpx.get(token_server.url + url, timeout=30)
        assert leaked(reply.text) == [], f"GET {url} served a server file ({reply.status_code})"


def test_upload_event_with_a_server_path_indexes_nothing_and_says_why(token_server: Server):
    """Even with the admin token: the Add button's event takes only files uploaded through the page."""
    app = config(token_server.url)
    upload = next(e for e in app["dependencies"] if e.get("api_name") == "upload")
    before = token_server.documents()
    for path in server_files(token_server)[2:]:  # the .txt secret, by path, traversal and symlink
        for declared in ("application/json", None, "text/plain"):  # whatever type is declared
            status, said = send_event(token_server.url, upload, [[file_data(path)], TOKEN], content_type=declared)
            assert status in (403, 422), said
        status, said = send_event(token_server.url, upload, [[file_data(path)], TOKEN])
        assert status == 403, said
        assert "only files uploaded through this page" in json.loads(said)["detail"]
        assert json.loads(said)["detail"].startswith("body.data[0][0]")
    assert token_server.documents() == before
    assert "names a file not uploaded here" in token_server.log.read_text()


def test_gradio_upload_needs_the_token_first(token_server: Server):
    name = f"note-{secrets.token_hex(4)}.txt"
    files = {"files": (name, b"The heron study counted forty herons.", "text/plain")}
    route = f"{token_server.url}/gradio_api/upload"

    refused = httpx.post(route, files=files, timeout=30)
    assert refused.status_code == 401 and "admin token" in refused.json()["detail"]
    wrong = httpx.post(f"{token_server.url}/ui/unlock", json={"token": "not-the-token"}, timeout=30)
    assert wrong.status_code == 401 and "wrong" in wrong.json()["detail"] and "set-cookie" not in wrong.headers
    assert httpx.post(route, files=files, cookies=wrong.cookies, timeout=30).status_code == 401
    assert [p for p in token_server.stored() if p.name == name] == []

    with httpx.Client(base_url=token_server.url, timeout=30) as browser:  # keeps the cookie, as a browser does
        unlocked = browser.post("/ui/unlock", json={"token": TOKEN})
        assert unlocked.status_code == 204
        cookie = unlocked.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and TOKEN not in cookie
        stored = browser.post("/gradio_api/upload", files=files)
    assert stored.status_code == 200, stored.text
    assert Path(stored.json()[0]).name == name and Path(stored.json()[0]).is_relative_to(token_server.uploads)
    bearer = httpx.post(route, files=files, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    assert bearer.status_code == 200


def test_gradio_upload_is_bounded(token_server: Server):
    """At most 2 files of 1 MB on this server: a 3 MB body is refused before it is stored."""
    name = f"big-{secrets.token_hex(4)}.txt"
    files = {"files": (name, b"x" * (3 * 1024 * 1024), "text/plain")}
    try:
        reply = httpx.post(
            f"{token_server.url}/gradio_api/upload", files=files, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert reply.status_code == 413 and "at most 2 files of 1 MB" in reply.json()["detail"]
    except httpx.WriteError:  # the server answered and closed before the body was sent: also refused
        pass
    assert [p for p in token_server.stored() if p.name == name] == []


def test_gradio_upload_is_refused_on_a_read_only_server(read_only_server: Server):
    files = {"files": ("notes.txt", b"Some notes.", "text/plain")}
    reply = httpx.post(f"{read_only_server.url}/gradio_api/upload", files=files, timeout=30)
    assert reply.status_code == 403 and "turned off" in reply.json()["detail"]
    with_token = httpx.post(
        f"{read_only_server.url}/gradio_api/upload", files=files, headers={"Authorization": "Bearer x"}, timeout=30
    )
    assert with_token.status_code == 403
    assert httpx.post(f"{read_only_server.url}/ui/unlock", json={"token": "x"}, timeout=30).status_code == 403
    assert read_only_server.stored() == []


def test_a_lone_surrogate_in_a_question_gets_a_clear_message(token_server: Server):
    app = config(token_server.url)
    components = {c["id"]: c for c in app["components"]}
    chat = next(e for e in app["dependencies"] if e.get("api_name") == "chat")
    data = ["side effects \ud800?" if components[i]["type"] == "textbox" else None for i in chat["inputs"]]
    log_before = len(token_server.log.read_text())
    status, said = send_event(token_server.url, chat, data)
    assert status == 200
    done = completed(said)
    assert done["success"], said[-500:]
    assert "not valid text" in json.dumps(done["output"]["data"][0])

    ask = next(e for e in app["dependencies"] if e.get("api_name") == "ask")
    status, said = send_event(token_server.url, ask, ["side effects \ud800?", None, None])
    assert status == 200
    assert "not valid text" in (completed(said)["output"]["error"] or "")
    assert "Traceback" not in said
    assert "Traceback" not in token_server.log.read_text()[log_before:]


def test_gradio_upload_is_open_on_loopback_and_deleted_at_shutdown(tmp_path):
    """No token on a loopback server: Gradio's upload route works; Gradio's copies do not outlive
    the server (and are deleted hourly once an hour old while it runs)."""
    uploads = tmp_path / "gradio-uploads"
    uploads.mkdir()
    with seeded_app(tmp_path, GRADIO_TEMP_DIR=str(uploads)) as (url, _, _):
        files = {"files": ("notes.txt", b"The heron study counted forty herons.", "text/plain")}
        reply = httpx.post(f"{url}/gradio_api/upload", files=files, timeout=30)
        assert reply.status_code == 200, reply.text
        stored = Path(reply.json()[0])
        assert stored.is_file() and stored.is_relative_to(uploads)
    assert not stored.exists()
