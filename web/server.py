"""Building the app: the Gradio UI, the HTTP API and the widget on one FastAPI app, for the
services given. Below both `app.py` (one process) and `web/workers.py` (several), which import it;
it imports neither of them at start (a reader process's forwarder is taken from `web.workers` when
the app is built for one).
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from html import escape
from pathlib import Path

import gradio as gr
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse

from studychat.settings import Settings
from web.api import EdgeMiddleware, api_router, validation_error
from web.docs import add_docs
from web.guard import guard_gradio
from web.services import Services
from web.ui import HEAD, build_ui

WEB = Path(__file__).resolve().parent

DESCRIPTION = """Ask questions about the documents; every answer cites the passages it quotes.

* `POST /api/ask` answers in one JSON reply; `POST /api/ask/stream` streams it as server-sent events.
* `GET /api/documents` lists the documents; `POST /api/documents` and `DELETE /api/documents/{id}` change them
  and need `Authorization: Bearer <STUDYCHAT_ADMIN_TOKEN>` when a token is set.
* The chat UI is at `/`, the widget at `/widget.js` and its snippets at `/embed`.
"""


def build_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """The whole app. Loads the model and opens the store (ingesting the corpus on first start)
    unless `services` are given."""
    services = services or Services.start(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        yield
        services.close()

    reader = services.reader  # a reader of several processes forwards the UI and changes (web/workers.py)
    app = FastAPI(
        title="StudyChat",
        description=DESCRIPTION,
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served from local assets below (web/docs.py), not from a CDN
        redoc_url=None,
        **({"openapi_url": None} if reader else {}),
    )
    if not reader:
        add_docs(app)
    app.state.services = services
    app.add_exception_handler(RequestValidationError, validation_error)
    app.include_router(api_router(services, changes=not reader))

    @app.get("/widget.js", include_in_schema=False)
    def widget() -> FileResponse:
        return FileResponse(WEB / "widget.js", media_type="text/javascript", headers={"Cache-Control": "max-age=300"})

    @app.get("/widget.css", include_in_schema=False)
    def widget_css() -> FileResponse:
        return FileResponse(WEB / "widget.css", media_type="text/css", headers={"Cache-Control": "max-age=300"})

    @app.get("/embed", response_class=HTMLResponse, tags=["widget"])
    def embed(request: Request) -> HTMLResponse:
        """Copy-paste snippets to put StudyChat on another site."""
        base = str(request.base_url).rstrip("/")
        return HTMLResponse((WEB / "embed.html").read_text().replace("{{BASE}}", escape(base)))

    app.add_middleware(EdgeMiddleware, settings=settings)
    if reader:
        from web.workers import WriterProxy

        app.mount("/", WriterProxy(services.writer_url))
        return app
    ui = build_ui(services)
    gr.mount_gradio_app(
        app,
        ui,
        path="/",
        theme=gr.themes.Soft(
            primary_hue="indigo", secondary_hue="slate", font=("ui-sans-serif", "system-ui", "sans-serif")
        ),
        css_paths=[WEB / "style.css"],
        head=HEAD,
        max_file_size=settings.max_upload_bytes,
        show_error=False,
        footer_links=["api"],
        server_name=settings.host,
        server_port=settings.port,
    )
    guard_gradio(app, ui, settings)  # files only from Gradio's upload folder; uploads need the token
    return app
