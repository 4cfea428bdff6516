"""The optional language model: built from the settings, given fenced passages, never trusted.

`build_chat_model` is called once at start (by `Chain`); with `STUDYCHAT_LLM` unset it returns
None and nothing in StudyChat calls out of the machine. The functions here turn a question and
passages into prompt messages, read the model's reply, and describe a failure in one line that
never holds the API key.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator

from langchain_core.language_models import BaseChatModel

from chat.compose import REFUSAL
from chat.prompts import render
from studychat.schema import Passage
from studychat.settings import Settings

# Text inside a passage that could pass for our fence: "<passage ...>", "</passage>", "< / passages".
FENCE_LIKE = re.compile(r"<(\s*/?\s*passages?\b)", re.IGNORECASE)
HISTORY_MESSAGES = 6  # the condense prompt sees the last three exchanges
HISTORY_MESSAGE_CHARS = 600
KEY_LIKE = re.compile(r"\b(sk|key|token)-[A-Za-z0-9_-]{6,}")
# Local OpenAI-compatible servers (vLLM, llama.cpp, LM Studio) ignore the key, but the client insists on one.
NO_KEY = "not-needed"


def build_chat_model(settings: Settings) -> BaseChatModel | None:
    """The chat model named by `settings.llm` ("provider:model"), or None when it is unset.

    Any provider LangChain's `init_chat_model` knows works; `openai` with `llm_base_url` reaches
    any OpenAI-compatible server, `ollama` a local Ollama. Requests wait at most `llm_timeout`
    seconds and are not retried, so a dead server costs one timeout before the offline answer; a
    reply is at most `llm_max_tokens` tokens long.
    """
    if not settings.llm:
        return None
    provider, _, model = settings.llm.partition(":")
    if not provider or not model:
        raise ValueError(f"STUDYCHAT_LLM={settings.llm!r} must be 'provider:model', e.g. 'ollama:llama3.1'")
    from langchain.chat_models import init_chat_model  # imported only when a model is wanted

    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    kwargs: dict = {}
    if provider == "ollama":
        kwargs["num_predict"] = settings.llm_max_tokens
        client: dict = {"timeout": settings.llm_timeout}
        if key:  # an Ollama behind a proxy that checks a bearer token
            client["headers"] = {"Authorization": f"Bearer {key}"}
        kwargs["client_kwargs"] = client
    else:
        kwargs["timeout"] = settings.llm_timeout
        kwargs["max_retries"] = 0
        kwargs["max_tokens"] = settings.llm_max_tokens
        if provider == "openai" and settings.llm_base_url:
            # LangChain sends OpenAI's newer `max_completion_tokens`, which llama.cpp's Python server
            # ignores (it then writes until its context is full): say `max_tokens` too.
            kwargs["extra_body"] = {"max_tokens": settings.llm_max_tokens}
        if key:
            kwargs["api_key"] = key
        elif settings.llm_base_url and provider == "openai":
            kwargs["api_key"] = NO_KEY
    if settings.llm_base_url:
        kwargs["base_url"] = settings.llm_base_url
    return init_chat_model(model, model_provider=provider, **kwargs)


def fence(passages: list[Passage]) -> str:
    """The passages numbered from 1 and fenced as data, with fence-like text inside them escaped."""
    blocks = []
    for n, passage in enumerate(passages, start=1):
        attributes = f'n="{n}" title="{html.escape(passage.title, quote=True)}"'
        if passage.page is not None:
            attributes += f' page="{passage.page}"'
        if passage.date:
            attributes += f' date="{html.escape(passage.date, quote=True)}"'
        body = FENCE_LIKE.sub(r"&lt;\1", passage.text.strip())
        blocks.append(f"<passage {attributes}>\n{body}\n</passage>")
    return "\n\n".join(blocks)


def answer_messages(question: str, passages: list[Passage], max_sentences: int) -> list[tuple[str, str]]:
    """The answering prompt for `question` over `passages` (numbered as `fence` numbers them)."""
    return render(
        "answer",
        passages=fence(passages),
        question=question.strip(),
        refusal=REFUSAL,
        max_sentences=max_sentences,
    )


def condense_messages(question: str, history: list[dict]) -> list[tuple[str, str]]:
    """The prompt that asks the model to make a follow-up question stand on its own."""
    lines = []
    for message in history[-HISTORY_MESSAGES:]:
        role = "User" if message.get("role") == "user" else "Assistant"
        content = " ".join(str(message.get("content", "")).split())[:HISTORY_MESSAGE_CHARS]
        if content:
            lines.append(f"{role}: {content}")
    return render("condense", history="\n".join(lines), question=question.strip())


def standalone_question(reply: str, limit: int) -> str:
    """The rewritten question from a condense reply, or "" when the reply is not usable as one."""
    for line in reply.strip().splitlines():
        line = re.sub(r"^(rewritten question|question)\s*:\s*", "", line.strip(), flags=re.IGNORECASE)
        line = line.strip().strip("\"'“”").strip()
        if line:
            return line if len(line) <= limit else ""
    return ""


def reply_text(message: object) -> str:
    """The text of a chat model's reply or streamed chunk (content may be a string or blocks)."""
    content = getattr(message, "content", message)
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            block if isinstance(block, str) else str(block.get("text", ""))
            for block in content
            if isinstance(block, str) or (isinstance(block, dict) and block.get("type", "text") == "text")
        )
    return ""


class ReplyTimeout(TimeoutError):
    """The chat model was still writing when its time was up."""


def stream_reply(model: BaseChatModel, messages: list[tuple[str, str]], timeout: float) -> Iterator[str]:
    """The model's reply in pieces as they arrive; raises `ReplyTimeout` once `timeout` seconds
    have passed.

    The request is always streamed, and its HTTP response is closed as soon as the reply is
    abandoned (time is up, the caller stopped reading, an error): a server such as llama.cpp stops
    generating when the client hangs up on a stream, but finishes a non-streamed request
    whatever happens, so every later question would wait behind it.
    """
    deadline = time.monotonic() + timeout
    chunks = model.stream(messages)
    try:
        for chunk in chunks:
            piece = reply_text(chunk)
            if piece:
                yield piece
            if time.monotonic() > deadline:
                raise ReplyTimeout(f"the chat model was still writing after {timeout:g} s")
    finally:
        chunks.close()  # closes the HTTP response, so the server stops writing this reply


def whole_reply(model: BaseChatModel, messages: list[tuple[str, str]], timeout: float) -> str:
    """The model's whole reply, streamed (see `stream_reply`) and given up after `timeout` seconds."""
    return "".join(stream_reply(model, messages, timeout))


def is_timeout(error: BaseException) -> bool:
    """Whether the error, or one it was raised from, is a timeout (each client names its own)."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, TimeoutError) or "timeout" in type(error).__name__.lower():
            return True
        error = error.__cause__ or error.__context__
    return False


def redact(text: str, settings: Settings) -> str:
    """`text` with the API key, and anything shaped like a key, replaced by '***'."""
    if settings.llm_api_key:
        secret = settings.llm_api_key.get_secret_value()
        if secret:
            text = text.replace(secret, "***")
    return KEY_LIKE.sub(r"\1-***", text)


def failure_note(error: BaseException | None, settings: Settings) -> str:
    """The one line the user sees when the model gave no usable answer."""
    tail = "this is the offline answer quoted from the documents."
    if error is None:
        return f"Note: the language model returned nothing; {tail}"
    if is_timeout(error):
        return f"Note: the language model did not answer within {settings.llm_timeout:g} s; {tail}"
    return f"Note: the language model failed ({type(error).__name__}); {tail}"


UNCITED_NOTE = (
    "Note: the language model's answer cited no passage, so it could not be checked; "
    "this is the offline answer quoted from the documents."
)
