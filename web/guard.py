"""What Gradio's own routes accept: files only from its upload folder, uploads only from whoever may
change documents.

Gradio checks where an event's files come from only in an app it launched itself; `guard_gradio`
applies that check to the app mounted in FastAPI, and `GradioGuard` adds, before any Gradio route runs:

- a request whose JSON names a file (`{"path": ...}`) outside Gradio's upload folder is refused (403),
  naming the field, so no event can copy a server file into the cache that `/gradio_api/file=` serves;
- `POST /gradio_api/upload` stores nothing unless documents may be changed: refused on a read-only
  server, and on a token server without the token (as a Bearer header, or the cookie that the
  Documents tab's Unlock sets: HttpOnly, SameSite=Strict, an HMAC of the token); its size is bounded.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import posixpath
from collections.abc import Iterator
from pathlib import Path

import gradio as gr
from fastapi import FastAPI
from gradio.utils import get_upload_folder
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from studychat.settings import Settings
from web.services import change_policy, log, refuse_change

UNLOCK_PATH = "/ui/unlock"
COOKIE = "studychat_upload"
UPLOAD_ROUTE = "/gradio_api/upload"
EVENT_BODY_LIMIT = 1024 * 1024  # an event's JSON: a question, its picks, no file contents


def upload_folder() -> Path:
    """Gradio's upload folder (GRADIO_TEMP_DIR, else <tmp>/gradio), symlinks resolved."""
    return Path(get_upload_folder()).resolve()


def uploaded_here(path: str | Path, folder: Path | None = None) -> bool:
    """True when `path`, symlinks resolved, is inside Gradio's upload folder."""
    folder = folder or upload_folder()
    try:
        return Path(path).resolve().is_relative_to(folder)
    except (OSError, ValueError):
        return False


def upload_key(settings: Settings) -> str | None:
    """The cookie value that lets a browser upload on a token server: an HMAC of the token, so the
    cookie is not the token itself. None unless a token is set."""
    if settings.admin_token is None:
        return None
    token = settings.admin_token.get_secret_value().encode()
    return hmac.new(token, b"studychat gradio upload", hashlib.sha256).hexdigest()


def file_fields(value: object, where: str = "data") -> Iterator[tuple[str, object]]:
    """(field, path) of every file a JSON value names: each object with a "path" member."""
    if isinstance(value, dict):
        if "path" in value:
            yield where, value["path"]
        for key, item in value.items():
            yield from file_fields(item, f"{where}.{key}")
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from file_fields(item, f"{where}[{n}]")


def stray_file(body: object, folder: Path) -> str | None:
    """The first field of a JSON body that names a file outside the upload folder (a server path,
    a URL, anything not uploaded through /gradio_api/upload), or None."""
    for where, path in file_fields(body, "body"):
        if not isinstance(path, str) or "://" in path or not uploaded_here(path, folder):
            return where
    return None


def refusal(status: int, message: str) -> Response:
    return JSONResponse({"detail": message}, status_code=status)


class GradioGuard:
    """The rules above, as ASGI middleware in front of the mounted Gradio app."""

    def __init__(self, app: ASGIApp, settings: Settings):
        self.app = app
        self.settings = settings
        self.folder = upload_folder()
        self.key = upload_key(settings)
        self.upload_limit = settings.max_upload_bytes * settings.max_files_per_request + 64 * 1024

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        path = posixpath.normpath("/" + scope["path"].lstrip("/"))
        if path.endswith(UPLOAD_ROUTE):
            refused = self.refuse_upload(scope)
            if refused:
                await refused(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        await self.check_files(scope, receive, send)

    def refuse_upload(self, scope: Scope) -> Response | None:
        """Why this upload is refused before a byte of it is read, or None."""
        headers = Headers(scope=scope)
        client = (scope.get("client") or ("?",))[0]
        policy = change_policy(self.settings)
        if policy == "read-only":
            log.warning("refused a Gradio upload from %s: read-only server", client)
            return refusal(403, refuse_change(self.settings, None))
        if policy == "token":  # the Unlock cookie, or the token itself
            cookie = Request(scope).cookies.get(COOKIE, "")
            bearer = headers.get("authorization", "").removeprefix("Bearer ").strip()
            if not (
                (cookie and hmac.compare_digest(cookie.encode(), self.key.encode()))
                or (bearer and refuse_change(self.settings, bearer) is None)
            ):
                log.warning("refused a Gradio upload from %s: no admin token", client)
                return refusal(401, "the admin token is required to upload: enter it in the Documents tab and Unlock")
        length = headers.get("content-length")
        if length is None or not length.isdigit():
            return refusal(411, "an upload must declare its Content-Length")
        if int(length) > self.upload_limit:
            return refusal(
                413,
                f"upload too large: at most {self.settings.max_files_per_request} files "
                f"of {self.settings.max_upload_mb:g} MB each",
            )
        return None

    async def check_files(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read a body, refuse it when, as JSON, it names a file outside the upload folder, else pass it
        on, whatever type it declares (FastAPI reads "+json" types, and with strict_content_type=False
        an undeclared body, as JSON)."""
        if Headers(scope=scope).get("content-type", "").startswith("multipart/"):
            await self.app(scope, receive, send)  # only the upload route reads files, and it is guarded
            return
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > EVENT_BODY_LIMIT:
                await refusal(413, f"the request body is over the {EVENT_BODY_LIMIT // 1024} KB limit")(
                    scope, receive, send
                )
                return
        try:
            stray = stray_file(json.loads(body), self.folder)
        except ValueError:
            stray = None  # not JSON: no route reads it as an event's data
        if stray:
            client = (scope.get("client") or ("?",))[0]
            log.warning(
                "refused a request to %s from %s: %s names a file not uploaded here", scope["path"], client, stray
            )
            await refusal(403, f"{stray}: only files uploaded through this page can be sent, not a server path or URL")(
                scope, receive, send
            )
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def unlock_endpoint(settings: Settings):
    """POST {"token"} -> 204 with the upload cookie when the token is right; 401/403 with the reason."""
    key = upload_key(settings)

    async def unlock(request: Request) -> Response:
        try:
            token = (await request.json()).get("token")
        except (ValueError, AttributeError):
            return refusal(400, 'send {"token": "..."} as JSON')
        reason = refuse_change(settings, token if isinstance(token, str) else None)
        if reason:
            status = 403 if change_policy(settings) == "read-only" else 401
            return refusal(status, reason)
        response = Response(status_code=204)
        if key:
            response.set_cookie(
                COOKIE, key, httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/"
            )
        return response

    return unlock


def guard_gradio(app: FastAPI, blocks: gr.Blocks, settings: Settings) -> None:
    """Apply the rules above to `blocks`, once mounted in `app`."""
    # gr.mount_gradio_app leaves has_launched False, and Gradio then skips its own check that an
    # event's files come from its upload folder (gradio.processing_utils._check_allowed).
    blocks.has_launched = True
    # Before the Gradio mount at "/", which would otherwise take the path.
    app.router.routes.insert(0, Route(UNLOCK_PATH, unlock_endpoint(settings), methods=["POST"]))
    app.add_middleware(GradioGuard, settings=settings)
