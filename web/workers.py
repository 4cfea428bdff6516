"""Several serving processes on one machine: one writer and readers, on one port.

`STUDYCHAT_WORKERS=N` (N > 1) makes `python app.py` a small supervisor:

- the vectors go through a Chroma server (`chroma run` on a loopback port over the same folder,
  unless `STUDYCHAT_CHROMA_URL` names one already): Chroma's embedded store is not safe to open
  from several processes (a second process's queries do not see the first one's writes), its
  server is;
- the **writer** (one process) takes the store's writer lock and serves everything, on the public
  port and on a private loopback port;
- N - 1 **readers** share the public port (the kernel hands each new connection to one of the
  processes). A reader answers questions (`/api/ask`, `/api/ask/stream`), lists documents and
  serves the widget itself, from the same SQLite manifest (WAL: a reader sees a document as soon as
  the writer commits it) and the same Chroma server. Everything else (document changes from the API,
  and the Gradio UI, whose sessions live in one process) it forwards to the writer's private port;
  when the writer does not answer, a change is refused with a message that says where to add
  documents.

The supervisor restarts a process that dies (killed, out of memory), and stops all of them (and
the Chroma server it started) on Ctrl-C or SIGTERM. It keeps both listening sockets open itself, so
while a process is started again nothing is refused: the others take the public port's
connections (a dead reader's share goes to the writer, a dead writer's questions to the readers),
and a change a reader forwards meanwhile waits in the private port's queue until the new writer
takes it, a few seconds later (tests/reliability/test_worker_restart.py kills each with SIGKILL).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from studychat.settings import Settings

RESTART_PAUSE = 2.0  # seconds between restarts of a process that keeps dying
HOP_BY_HOP = {
    b"connection",
    b"keep-alive",
    b"proxy-authenticate",
    b"proxy-authorization",
    b"te",
    b"trailer",
    b"transfer-encoding",
    b"upgrade",
}


class WriterProxy:
    """An ASGI app that forwards a request to the writer process and streams its answer back
    (server-sent events included); the `Host` header is kept, so the UI's links stay the public ones."""

    def __init__(self, writer_url: str):
        import httpx

        self.writer_url = writer_url.rstrip("/")
        self.client = httpx.AsyncClient(timeout=httpx.Timeout(None, connect=5.0))

    async def __call__(self, scope, receive, send) -> None:
        import httpx

        if scope["type"] != "http":  # websockets: the UI uses server-sent events, so none are expected
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1011})
            return
        path = scope.get("root_path", "") + scope["path"]
        query = scope.get("query_string", b"")
        url = self.writer_url + path + ("?" + query.decode("latin-1") if query else "")
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in HOP_BY_HOP]
        client = scope.get("client")
        if client:
            headers.append((b"x-forwarded-for", client[0].encode()))

        async def body():
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return
                yield message.get("body", b"")
                if not message.get("more_body"):
                    return

        request = self.client.build_request(scope["method"], url, headers=headers, content=body())
        try:
            response = await self.client.send(request, stream=True)
        except httpx.TransportError as error:
            await refuse(scope, receive, send, self.writer_url, error)
            return

        async def pump() -> None:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": [(k, v) for k, v in response.headers.raw if k.lower() not in HOP_BY_HOP],
                }
            )
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})

        async def disconnected() -> None:  # the request body is sent by now: what comes next is the end
            while (await receive())["type"] != "http.disconnect":
                pass

        # A stream (the UI's server-sent events) ends when the browser leaves, not only when the writer ends it.
        tasks = [asyncio.ensure_future(pump()), asyncio.ensure_future(disconnected())]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
        finally:
            for task in tasks:
                task.cancel()
            await response.aclose()


async def refuse(scope, receive, send, writer_url: str, error: Exception) -> None:
    """503 for a request that only the writer can serve, while it does not answer."""
    from fastapi.responses import JSONResponse

    message = (
        f"documents are added and changed by the writer process of this server ({writer_url}), which is not "
        f"answering ({type(error).__name__}); try again in a moment. Questions are still answered. "
        "With the server stopped, `python -m ingest` adds documents from the command line."
    )
    await JSONResponse({"detail": message}, status_code=503)(scope, receive, send)


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket, shared by the processes it is handed to."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def start_chroma_server(folder: Path) -> tuple[subprocess.Popen, str]:
    """`chroma run` over the store folder on a free loopback port: (process, URL), once it answers."""
    import httpx

    probe = bind("127.0.0.1", 0)
    port = probe.getsockname()[1]
    probe.close()
    folder.mkdir(parents=True, exist_ok=True)
    log = open(folder / "chroma-server.log", "ab")
    chroma = Path(sys.executable).parent / "chroma"
    process = subprocess.Popen(
        [str(chroma), "run", "--path", str(folder), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Chroma server stopped at start (see {folder / 'chroma-server.log'})")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=2).status_code == 200:
                return process, url
        time.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"the Chroma server did not answer within 60 s (see {folder / 'chroma-server.log'})")


def labelled(app, name: str):
    """`app` with an `X-StudyChat-Process` header on every answer naming the process that served it
    (a forwarded answer carries the writer's and the reader's, in that order)."""
    label = name.encode()

    async def wrapped(scope, receive, send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_labelled(message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"x-studychat-process", label)]}
            await send(message)

        await app(scope, receive, send_labelled)

    return wrapped


def run_worker(name: str, sockets: list[socket.socket], settings: Settings, writer_url: str, ready) -> None:
    """One serving process (spawned): build the app for its role and serve the sockets."""
    import logging

    import uvicorn

    from studychat.store import StoreError
    from web.server import build_app
    from web.services import Services

    role = "writer" if name == "writer" else "reader"
    logging.basicConfig(level=logging.WARNING, format=f"%(levelname)s {name} %(name)s: %(message)s")
    logging.getLogger("studychat").setLevel(logging.INFO)
    try:
        services = Services.start(settings, writer=role == "writer", writer_url=writer_url)
        app = build_app(settings, services)
    except StoreError as error:
        print(f"error ({name}, pid {os.getpid()}): {error}", file=sys.stderr)
        sys.exit(1)
    ready.send(True)
    ready.close()
    config = uvicorn.Config(labelled(app, name), log_level="warning", timeout_graceful_shutdown=5)
    uvicorn.Server(config).run(sockets=sockets)


class Supervisor:
    """Starts the Chroma server (if needed), the writer, then the readers; restarts one that dies."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.context = multiprocessing.get_context("spawn")
        self.chroma: subprocess.Popen | None = None
        self.processes: dict[str, multiprocessing.Process] = {}
        self.stopping = False

    def start(self, name: str) -> None:
        sockets = [self.public, self.private] if name == "writer" else [self.public]
        waiting, ready = self.context.Pipe(duplex=False)  # the process says when it is ready to serve
        process = self.context.Process(
            target=run_worker,
            args=(name, sockets, self.worker_settings, self.writer_url, ready),
            name=f"studychat-{name}",
            daemon=False,
        )
        process.start()
        ready.close()
        self.processes[name] = process
        try:
            while not waiting.poll(0.5) and process.is_alive():
                pass
            waiting.recv()  # EOFError: it ended without saying it was ready
        except EOFError:
            process.join(5)
            raise RuntimeError(f"the {name} process stopped while starting (exit status {process.exitcode})") from None
        finally:
            waiting.close()

    def run(self) -> int:
        settings = self.settings
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._stop)
        try:
            try:
                self.public = bind(settings.host, settings.port)
            except OSError as error:
                raise RuntimeError(f"cannot listen on {settings.host}:{settings.port}: {error.strerror}") from None
            self.private = bind("127.0.0.1", 0)
            url = settings.chroma_url
            if not url:
                self.chroma, url = start_chroma_server(Path(settings.db))
            self.worker_settings = settings.model_copy(update={"chroma_url": url})
            self.writer_url = f"http://127.0.0.1:{self.private.getsockname()[1]}"
            self.start("writer")
            for n in range(1, settings.workers):
                self.start(f"reader-{n}")
            print(
                f"StudyChat is ready at http://{settings.host}:{settings.port} with {settings.workers} processes "
                f"(1 writer, {settings.workers - 1} readers; vectors at {url})",
                flush=True,
            )
            while not self.stopping:
                time.sleep(0.5)
                for name, process in list(self.processes.items()):
                    if not process.is_alive() and not self.stopping:
                        print(f"the {name} process ended (exit status {process.exitcode}); restarting it", flush=True)
                        time.sleep(RESTART_PAUSE)
                        self.start(name)
            return 0
        except RuntimeError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        finally:
            self.shutdown()

    def _stop(self, *_) -> None:
        self.stopping = True

    def shutdown(self) -> None:
        self.stopping = True
        if self.processes:
            print("Stopping StudyChat: open streams are closed after 5 s", flush=True)
        # Readers first: their forwarded streams to the writer close with them.
        for name in sorted(self.processes, key=lambda name: name == "writer"):
            process = self.processes[name]
            if process.is_alive():
                process.terminate()
            process.join(15)
            if process.is_alive():
                process.kill()
                process.join()
        if self.chroma is not None and self.chroma.poll() is None:
            self.chroma.terminate()
            try:
                self.chroma.wait(15)
            except subprocess.TimeoutExpired:
                self.chroma.kill()
                self.chroma.wait()
