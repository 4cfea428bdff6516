"""A real HTTP server on localhost that speaks the OpenAI chat-completions protocol, with scripted
replies: JSON for `stream: false`, server-sent events (`data: {...}` ... `data: [DONE]`) for
`stream: true`.

A test sets `server.script` to one of `SCRIPTS` (or "timeout", "error", "endless"); condense requests
(recognised by the condense prompt's "Latest question:") get `server.condensed`. Replies are
written from the passages in the request, so they cite whichever number the passage was sent as.

"endless" plays a model that does not stop on its own, as llama.cpp's server does: one token every
`token_seconds` up to `max_tokens` (or `endless_tokens` when the request sets none); a streamed
request stops when the client hangs up, a non-streamed one is written to the end whatever happens.
`server.outcomes` records how each request ended and after how many seconds.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from chat.compose import REFUSAL

PASSAGE = re.compile(r'<passage n="(\d+)"[^>]*>\n(.*?)\n</passage>', re.DOTALL)


def _find(passages: dict[int, str], phrase: str) -> int:
    for n, text in passages.items():
        if phrase.lower() in " ".join(text.split()).lower():
            return n
    raise LookupError(f"no passage sent holds {phrase!r}")


def good(passages: dict[int, str]) -> str:
    fever, months = _find(passages, "mild side effects"), _find(passages, "17 months")
    return (
        f"All patients had only mild side effects from the CAR-T cell therapy, such as fever [{fever}]. "
        f"No recurrence was observed in the patients for up to 17 months of follow-up [{months}]."
    )


def missing_passage(passages: dict[int, str]) -> str:
    fever = _find(passages, "mild side effects")
    return (
        f"All patients had only mild side effects from the CAR-T cell therapy, such as fever [{fever}]. "
        "No recurrence was observed in the patients for up to 17 months of follow-up [9]."
    )


def wrong_number(passages: dict[int, str]) -> str:
    fever, age = _find(passages, "mild side effects"), _find(passages, "average age")
    return (
        f"All patients had only mild side effects from the CAR-T cell therapy, such as fever [{fever}]. "
        f"The five patients enrolled in the trial had an average age of 35 years [{age}]."
    )


def declines(passages: dict[int, str]) -> str:
    return REFUSAL


def uncited(passages: dict[int, str]) -> str:
    return "The therapy worked well for everyone who received it."


def empty(passages: dict[int, str]) -> str:
    return ""


SCRIPTS: dict[str, Callable[[dict[int, str]], str]] = {
    "good": good,
    "missing_passage": missing_passage,
    "wrong_number": wrong_number,
    "declines": declines,
    "uncited": uncited,
    "empty": empty,
}


@dataclass
class Outcome:
    """How one "endless" request ended: "written" to the end or "client gone", when, and its tokens."""

    end: str
    seconds: float
    tokens: int


class ScriptedOpenAI:
    """The server, its scripted behaviour, and every request it received (as parsed JSON)."""

    def __init__(self, sleep: float = 5.0):
        self.script = "good"
        self.condensed = "What side effects did the lupus patients treated with CAR-T cells have?"
        self.sleep = sleep  # how long "timeout" keeps the client waiting
        self.token_seconds = 0.05  # "endless": the time to write one token
        self.endless_tokens = 400  # "endless": tokens written when the request sets no max_tokens
        self.outcomes: list[Outcome] = []
        self.requests: list[dict] = []
        self.authorizations: list[str] = []
        self.problems: list[str] = []
        self._stopped = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> ScriptedOpenAI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._server.shutdown()
        self._server.server_close()

    def reset(self, script: str = "good") -> None:
        self.script = script
        self.requests.clear()
        self.authorizations.clear()
        self.problems.clear()
        self.outcomes.clear()
        self.token_seconds, self.endless_tokens = 0.05, 400

    def reply_for(self, body: dict) -> str:
        """The scripted reply text for a request (condense or answer)."""
        user = next((m["content"] for m in reversed(body["messages"]) if m["role"] == "user"), "")
        if "Latest question:" in user:
            return self.condensed
        passages = {int(n): text for n, text in PASSAGE.findall(user)}
        try:
            return SCRIPTS[self.script](passages)
        except LookupError as error:
            self.problems.append(str(error))
            return REFUSAL

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send_json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
                    return
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                server.requests.append(body)
                server.authorizations.append(self.headers.get("Authorization", ""))
                if server.script == "timeout":
                    server._stopped.wait(server.sleep)  # past the client's timeout, which hung up
                    return
                if server.script == "endless":
                    self._endless(body)
                    return
                if server.script == "error":
                    self._send_json(500, {"error": {"message": "scripted failure", "type": "server_error"}})
                    return
                reply = server.reply_for(body)
                try:
                    if body.get("stream"):
                        self._send_stream(body, reply)
                    else:
                        self._send_json(200, _completion(body, reply))
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout): nothing to do

            def _send_json(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _send_stream(self, body: dict, reply: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()  # HTTP/1.0: the body ends when the connection closes
                tokens = re.findall(r"\S+\s*", reply)
                chunks = [{"role": "assistant", "content": ""}] + [{"content": t} for t in tokens]
                for delta in chunks:
                    self._event(_chunk(body, delta, None))
                    time.sleep(0.002)
                self._event(_chunk(body, {}, "stop"))
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

            def _endless(self, body: dict) -> None:
                """Write tokens until the cap, or until a streaming client hangs up."""
                started = time.monotonic()
                cap = body.get("max_tokens") or server.endless_tokens
                streaming = bool(body.get("stream"))
                try:
                    if streaming:
                        self.send_response(200)
                        self.send_header("Content-Type", "text/event-stream")
                        self.end_headers()
                    for n in range(cap):
                        time.sleep(server.token_seconds)
                        if streaming:
                            self._event(_chunk(body, {"content": f"word{n} "}, None))
                    if streaming:
                        self._event(_chunk(body, {}, "length"))
                        self.wfile.write(b"data: [DONE]\n\n")
                        self.wfile.flush()
                    else:
                        self._send_json(200, _completion(body, " ".join(f"word{n}" for n in range(cap))))
                except (BrokenPipeError, ConnectionResetError):
                    server.outcomes.append(Outcome("client gone", time.monotonic() - started, n))
                    return
                server.outcomes.append(Outcome("written", time.monotonic() - started, cap))

            def _event(self, payload: dict) -> None:
                self.wfile.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
                self.wfile.flush()

        return Handler


def _completion(body: dict, reply: str) -> dict:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "test-model"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _chunk(body: dict, delta: dict, finish: str | None) -> dict:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model", "test-model"),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
