"""The HTTP API (`/healthz`, `/api/ask`, `/api/ask/stream`, `/api/documents`) and the edge rules:
CORS only for asking, no cross-origin document changes, upload size, frame-ancestors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Header, HTTPException, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ingest.load import SUPPORTED
from ingest.pipeline import FileResult, add_uploads
from studychat.schema import TENTATIVE, Answer
from studychat.settings import Settings
from studychat.store import StoreError
from web.answers import answer_json
from web.scope import UnknownDocuments, searched
from web.services import Services, log, refuse_change, remove_document, user_message


class ChatMessage(BaseModel):
    role: Literal["user", "assistant"]
    content: str


class AskRequest(BaseModel):
    question: str = Field(description="The question, at most `STUDYCHAT_MAX_QUESTION_CHARS` characters.")
    history: list[ChatMessage] = Field(default_factory=list, description="The conversation so far, oldest first.")
    document_ids: list[str] | None = Field(
        None, description="Answer only from these documents (ids as `GET /api/documents` lists them); all when empty."
    )


class CitationOut(BaseModel):
    n: int
    document_id: str
    title: str
    source: str
    page: int | None
    quote: str = Field(description="The exact supporting sentence.")
    passage: str = Field(description="The chunk around the quote.")
    score: float
    date: str = ""
    unsupported: bool = False
    flagged: bool = False


class SearchedDocument(BaseModel):
    id: str
    title: str


class Searched(BaseModel):
    all: bool = Field(description="True when the question searched every document (no `document_ids`).")
    count: int = Field(description="How many documents were searched.")
    documents: list[SearchedDocument] = Field(description="The documents searched when chosen; empty when all.")


class AskResponse(BaseModel):
    answer: str = Field(
        description="The answer text with `[n]` markers pointing to `citations`; a quoted document's own "
        "reference marks read ⁽¹⁾, not [1]."
    )
    refused: bool = Field(description="True when the documents do not answer; citations are then related reading.")
    tentative: bool = Field(
        description="True when no passage answers for certain and the answer quotes the closest statement "
        f'the documents hold: its text then opens with "{TENTATIVE}". Show it as such, never as a plain answer.',
    )
    confidence: float | None = Field(
        description="The calibrated probability (0-1, 3 decimals) that the answer is right; null when nothing "
        "estimated it (as for a language model's answer).",
    )
    citations: list[CitationOut]
    notes: list[str] = Field(
        default_factory=list,
        description="What the answer's text also says about how it was made, one line each: a warning that a cited "
        "passage reads like instructions, a language model's failure, how misspelt words were read "
        '("Read “avrage” as “average”.").',
    )
    searched: Searched


class FileOutcome(BaseModel):
    """What happened to one file of an upload."""

    path: str = Field(description="The file's name, as it is saved in the corpus folder.")
    status: Literal["added", "updated", "unchanged", "exists", "skipped"] = Field(
        description="Taken: `added`, `updated` (replaced, with `?replace=true`), `unchanged` (the same content "
        "again). Refused: `exists` (a document has this name), `skipped` (unreadable, unsupported, too large)."
    )
    document_id: str = ""
    title: str = ""
    chunks: int = 0
    reason: str = Field("", description="Why the file was refused.")
    notes: list[str] = Field(default_factory=list, description="How the file was read, e.g. the pages read by OCR.")


class UploadReply(BaseModel):
    detail: str | None = Field(None, description="Which files were refused and why; absent when none was.")
    results: list[FileOutcome] = Field(description="One per file sent, in the order sent.")


class Health(BaseModel):
    status: str
    documents: int | None = None
    chunks: int | None = None
    reason: str | None = None


def validate_question(request: AskRequest, settings: Settings) -> tuple[str, list[dict]]:
    """The question and history, or a 422 that says what is wrong."""
    question = request.question.strip()
    unreadable = [where for where, text in texts_of(request) if not is_text(text)]
    if unreadable:
        raise HTTPException(
            422, f"{', '.join(unreadable)}: contains a lone surrogate (such as \\ud800), which is not text"
        )
    if not question:
        raise HTTPException(422, "question is empty")
    if len(question) > settings.max_question_chars:
        raise HTTPException(
            422, f"question is {len(question)} characters long; the limit is {settings.max_question_chars}"
        )
    history = [m.model_dump() for m in request.history]
    if len(history) > settings.max_history_messages:
        raise HTTPException(422, f"history has {len(history)} messages; the limit is {settings.max_history_messages}")
    size = sum(len(m["content"]) for m in history)
    if size > settings.max_history_chars:
        raise HTTPException(422, f"history is {size} characters long; the limit is {settings.max_history_chars}")
    return question, history


def texts_of(request: AskRequest) -> Iterator[tuple[str, str]]:
    """(field, text) of every string a question request carries."""
    yield "question", request.question
    for n, message in enumerate(request.history):
        yield f"history[{n}].content", message.content
    for n, document_id in enumerate(request.document_ids or []):
        yield f"document_ids[{n}]", document_id


def is_text(text: str) -> bool:
    """False for a string with a lone surrogate (JSON allows "\\ud800"; UTF-8 cannot carry it)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def scope_of(request: AskRequest, services: Services) -> dict:
    """The documents the question searches (`web.scope.searched`), or a 422 naming unknown ids."""
    try:
        return searched(services.store, request.document_ids)
    except UnknownDocuments as error:
        raise HTTPException(422, f"document_ids: {error}") from None
    except StoreError as error:
        raise HTTPException(503, user_message(error)) from None


def sse(event: str, data: object) -> str:
    """One server-sent event; the data is JSON, so newlines in the text cannot end the event."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def api_router(services: Services, changes: bool = True) -> APIRouter:
    """The HTTP API over the shared services; without `changes`, only asking and listing (a reader
    process forwards document changes to the writer)."""
    settings = services.settings
    router = APIRouter()

    @router.get(
        "/healthz",
        response_model=Health,
        response_model_exclude_none=True,
        tags=["status"],
        responses={503: {"model": Health}},
    )
    def healthz():
        """Whether the store answers, with how many documents and chunks it holds."""
        try:
            services.store.ping()
            documents, chunks = services.store.counts()
        except StoreError as error:
            return JSONResponse({"status": "unavailable", "reason": str(error)}, status_code=503)
        return {"status": "ok", "documents": documents, "chunks": chunks}

    @router.post("/api/ask", response_model=AskResponse, tags=["ask"])
    def ask(request: AskRequest) -> dict:
        """Answer a question from the documents; every sentence of the answer cites a passage."""
        question, history = validate_question(request, settings)
        scope = scope_of(request, services)
        try:
            answer = services.chain.answer(question, history, request.document_ids or None)
            return answer_json(answer, scope)
        except StoreError as error:
            raise HTTPException(503, user_message(error)) from None
        except Exception as error:
            raise HTTPException(500, user_message(error)) from None

    @router.post(
        "/api/ask/stream",
        tags=["ask"],
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}, "description": "token* answer done, or error"}},
    )
    def ask_stream(request: AskRequest):
        """The answer as server-sent events: `token` events ({"text"}) as it is written, then `answer`
        (the same JSON as /api/ask), then `done`. A failure sends `error` ({"message"}) before `done`."""
        question, history = validate_question(request, settings)
        scope = scope_of(request, services)

        def events() -> Iterator[str]:
            try:
                for piece in services.chain.stream(question, history, request.document_ids or None):
                    if isinstance(piece, Answer):
                        yield sse("answer", answer_json(piece, scope))
                    else:
                        yield sse("token", {"text": piece})
            except Exception as error:
                yield sse("error", {"message": user_message(error)})
            yield sse("done", {})

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @router.get("/api/documents", tags=["documents"])
    def documents() -> dict:
        """Every document in the index, newest first."""
        return {"documents": [public_record(r.to_dict()) for r in services.store.documents()]}

    if changes:
        add_change_routes(router, services)
    return router


def add_change_routes(router: APIRouter, services: Services) -> None:
    """POST /api/documents and DELETE /api/documents/{id}: only the writer process changes documents."""
    settings = services.settings

    def may_change(authorization: Annotated[str | None, Header(description="Bearer <admin token>")] = None):
        reason = refuse_change(settings, bearer_token(authorization))
        if reason:
            raise HTTPException(401, reason, headers={"WWW-Authenticate": "Bearer"})

    @router.post(
        "/api/documents",
        tags=["documents"],
        status_code=201,
        response_model=UploadReply,
        dependencies=[Depends(may_change)],
        responses={
            207: {"model": UploadReply, "description": "some files were taken and others refused: see each `status`"},
            401: {},
            409: {"model": UploadReply, "description": "no file was taken: each has the name of a document there"},
            413: {"model": UploadReply, "description": "too many files, or no file was taken: each is too large"},
            415: {"model": UploadReply, "description": "no file was taken: each is of a type StudyChat cannot read"},
            422: {"model": UploadReply, "description": "no file was taken: unreadable, or refused for several reasons"},
        },
    )
    async def add_documents(
        files: Annotated[list[UploadFile], File(description="One or more documents")],
        replace: Annotated[
            bool, Query(description="Replace documents that have the same name; without it such a file is refused.")
        ] = False,
    ):
        """Add documents (.txt .md .html .pdf .docx), or replace them with `?replace=true`. Needs
        `Authorization: Bearer <token>` when STUDYCHAT_ADMIN_TOKEN is set.

        Answers with what happened to each file, in the order sent (`results`): 201 when every file
        was taken (added, updated or unchanged), 207 Multi-Status when some were and others refused
        (`detail` names those), and when none was, 409, 413 or 415 if all were refused for that one
        reason, else 422."""
        if len(files) > settings.max_files_per_request:
            return problem(413, f"{len(files)} files in one request; the limit is {settings.max_files_per_request}")
        received, early = [], {}  # early: position -> (result, status code) of a file refused unread
        for n, upload in enumerate(files):
            name = Path(upload.filename or "upload").name
            suffix = Path(name).suffix.lower()
            if suffix not in SUPPORTED:
                early[n] = refused(name, f"unsupported file type {suffix or '(none)'}", 415)
                continue
            data = await upload.read(settings.max_upload_bytes + 1)
            if len(data) > settings.max_upload_bytes:
                early[n] = refused(name, f"over the {settings.max_upload_mb:g} MB limit", 413)
                continue
            received.append((name, data))
        try:  # a request whose every file was refused unread does not need the store
            stored = received and await run_in_threadpool(
                partial(add_uploads, replace=replace, replace_hint="send it again with ?replace=true"),
                services.store,
                settings,
                received,
            )
        except StoreError as error:
            return problem(503, user_message(error), [])
        read = iter((r.to_dict(), REFUSED.get(r.status)) for r in stored)
        outcomes = [early[n] if n in early else next(read) for n in range(len(files))]
        for result, _ in outcomes:
            log.info("upload %s: %s %s", result["path"], result["status"], result["reason"])
        return upload_reply(outcomes)

    @router.delete(
        "/api/documents/{document_id}",
        tags=["documents"],
        dependencies=[Depends(may_change)],
        responses={401: {}, 404: {}},
    )
    def delete_document(document_id: str) -> dict:
        """Remove a document from the index and its uploaded file from the corpus folder."""
        try:
            result = remove_document(services.store, document_id, "the API")
        except StoreError as error:
            raise HTTPException(503, user_message(error)) from None
        if result.status != "removed":
            raise HTTPException(404, result.reason)
        return {"result": {**result.to_dict(), "path": Path(result.path).name}}


# The status code that a file refused by `add_uploads` brings to the reply; a file taken brings none.
REFUSED = {"exists": 409, "skipped": 422}


def refused(name: str, reason: str, status: int) -> tuple[dict, int]:
    """(result, status code) of a file refused before it was read, in the words of `add_uploads`."""
    return FileResult(name, "skipped", reason=reason).to_dict(), status


def upload_reply(outcomes: list[tuple[dict, int | None]]) -> JSONResponse:
    """The reply to an upload from each file's (result, status code when refused): 201 when none
    was refused, 207 when some were, else the status the refusals share (422 when they differ)."""
    results = [result for result, _ in outcomes]
    refusals = [result for result, code in outcomes if code]
    codes = {code for _, code in outcomes if code}
    if not refusals:
        return JSONResponse({"results": results}, status_code=201)
    named = describe(refusals)
    if len(refusals) < len(results) or len(codes) > 1:
        status = 207 if len(refusals) < len(results) else 422
        return problem(status, f"{len(refusals)} of {len(results)} files were not added: {named}", results)
    status = codes.pop()
    message = {
        409: f"already in the index: {named}",
        413: f"files over the size limit: {named}",
        415: f"cannot read {named}; StudyChat reads {', '.join(sorted(SUPPORTED))}",
    }.get(status, f"{len(refusals)} of {len(results)} files could not be read: {named}")
    return problem(status, message, results)


def public_record(record: dict) -> dict:
    """A document as the API shows it: the file name, not the server's full path."""
    record = dict(record)
    record["file"] = Path(record.pop("path")).name
    return record


def describe(results: list[dict]) -> str:
    return "; ".join(f"{r['path']}: {r['reason']}" for r in results)


def problem(status: int, message: str, files: list[dict] | None = None) -> JSONResponse:
    body: dict = {"detail": message}
    if files is not None:
        body["results"] = files
    return JSONResponse(body, status_code=status)


async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
    """422 with one readable sentence (`detail`) and the field-level `errors`, without echoing input."""
    errors = [{k: v for k, v in e.items() if k not in ("input", "ctx", "url")} for e in error.errors()]
    words = []
    for e in errors:
        if e.get("type") == "json_invalid":
            words.append("the body is not valid JSON")
            continue
        where = ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body"
        words.append(f"{where}: {e.get('msg', 'invalid')}")
    return JSONResponse({"detail": "; ".join(words), "errors": jsonable_encoder(errors)}, status_code=422)


class BodyTooLarge(HTTPException):
    """A request body passed its bound while it was read (an HTTPException, so that FastAPI's body
    parsing passes it on instead of answering 400)."""

    def __init__(self, detail: str):
        super().__init__(413, detail)


class EdgeMiddleware:
    """Rules for every request before it reaches a route.

    - A request addressed to a host name that is not allowed (`Settings.hosts`) gets 400, as Django's
      ALLOWED_HOSTS: a DNS-rebinding page reaches a loopback server under its own host name.
    - Every body is bounded before it is read: by its `Content-Length`, and by counting the bytes of
      a chunked body as they arrive (413 as soon as the bound is passed). Uploads may be as large as
      the upload limits; a question, its history, and the UI's events need far less.
    - A document change is refused before its body is read: from another site (`Origin`; a form post
      needs no preflight), without the admin token, or on a read-only server.
    - CORS headers only on the asking endpoints (`/api/ask*`, `/healthz`), for the allowed origins,
      methods GET and POST: a widget on another site may ask, but never change documents.
    - `frame-ancestors` from the allowed origins on pages (the UI and /embed).
    """

    def __init__(self, app: ASGIApp, settings: Settings):
        self.app = app
        self.settings = settings
        self.origins = settings.allowed_origins
        self.any_origin = "*" in self.origins
        self.hosts = settings.hosts
        self.any_host = "*" in self.hosts
        self.upload_limit = settings.max_upload_bytes * settings.max_files_per_request + 1024 * 1024
        self.ask_limit = settings.max_ask_bytes
        # The UI's events carry the whole visible conversation (the Chatbot's value), which grows
        # past the history a question takes, so they get a few times the bound of a question.
        self.event_limit = 4 * settings.max_ask_bytes
        ancestors = "*" if self.any_origin else " ".join(["'self'", *self.origins])
        self.frame_policy = f"frame-ancestors {ancestors}"

    def origin_allowed(self, origin: str) -> bool:
        return self.any_origin or origin in self.origins

    def host_allowed(self, host: str | None) -> bool:
        if self.any_host or host is None:  # no Host header (HTTP/1.0): addressed to this server itself
            return True
        name = host_name(host)
        return any(name == allowed or (allowed.startswith(".") and name.endswith(allowed)) for allowed in self.hosts)

    def body_limit(self, path: str, method: str) -> tuple[int, str]:
        """The largest body this request may send, and what the 413 says."""
        if (path == "/api/documents" and method == "POST") or path.startswith("/gradio_api/upload"):
            mb = self.settings.max_upload_mb
            return self.upload_limit, f"upload too large; each file may be {mb:g} MB"
        if path.startswith("/api/ask"):
            return self.ask_limit, (
                f"request body over {self.ask_limit // 1024} KB; a question may have "
                f"{self.settings.max_question_chars} characters and its history {self.settings.max_history_chars}"
            )
        return self.event_limit, f"request body over {self.event_limit // 1024} KB"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        headers = Headers(scope=scope)
        origin = headers.get("origin")

        if not self.host_allowed(headers.get("host")):
            message = f"this server does not answer to the host name {host_name(headers.get('host', ''))[:100]!r}"
            await problem(400, message + "; STUDYCHAT_ALLOWED_HOSTS lists those it does")(scope, receive, send)
            return

        if path.startswith("/api/documents") and method not in ("GET", "HEAD", "OPTIONS"):
            if origin and origin != own_origin(scope, headers):
                await problem(403, "documents cannot be changed from another site")(scope, receive, send)
                return
            reason = refuse_change(self.settings, bearer_token(headers.get("authorization")))
            if reason:  # before the body is read: an upload without the token is never stored, even briefly
                response = problem(401, reason)
                response.headers["WWW-Authenticate"] = "Bearer"
                await response(scope, receive, send)
                return

        limit, too_large = self.body_limit(path, method)
        length = headers.get("content-length")
        if length and length.strip().isdigit() and int(length) > limit:
            await problem(413, too_large)(scope, receive, send)
            return

        cors = path.startswith("/api/ask") or path == "/healthz"
        if cors and origin and method == "OPTIONS" and "access-control-request-method" in headers:
            allowed = self.origin_allowed(origin)
            preflight = {"Vary": "Origin"}
            if allowed:
                preflight.update(
                    {
                        "Access-Control-Allow-Origin": "*" if self.any_origin else origin,
                        "Access-Control-Allow-Methods": "GET, POST",
                        "Access-Control-Allow-Headers": "Content-Type",
                        "Access-Control-Max-Age": "600",
                    }
                )
            response = Response(status_code=204 if allowed else 403, headers=preflight)
            await response(scope, receive, send)
            return

        page = not (path.startswith(("/api/", "/gradio_api/", "/healthz", "/widget.js", "/docs", "/openapi")))
        received = 0
        over = False  # the body passed its bound: whatever the app answers, the client gets the 413
        started = False

        async def bounded_receive() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    raise BodyTooLarge(too_large)
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if over and not started:
                return  # the app's own answer to the cut-off body; the 413 is sent instead
            if message["type"] == "http.response.start":
                started = True
                out = MutableHeaders(scope=message)
                if cors and origin and self.origin_allowed(origin):
                    out["Access-Control-Allow-Origin"] = "*" if self.any_origin else origin
                    out.append("Vary", "Origin")
                if page:
                    out["Content-Security-Policy"] = self.frame_policy
                out.setdefault("X-Content-Type-Options", "nosniff")
            await send(message)

        try:
            await self.app(scope, bounded_receive, send_with_headers)
        except Exception:
            if not over:
                raise
        if over and not started:
            await problem(413, too_large)(scope, receive, send)


def host_name(host: str) -> str:
    """The host name of a `Host` header, lower case, without the port ("[::1]:7860" -> "[::1]")."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:]
    return None


def own_origin(scope: Scope, headers: Headers) -> str:
    return f"{scope.get('scheme', 'http')}://{headers.get('host', '')}"
