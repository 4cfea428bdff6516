"""Every setting of StudyChat, read once from `STUDYCHAT_*` environment variables.

Nothing else in the code reads the environment: build a `Settings` at start and pass it down.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def _invisible(char: str) -> bool:
    """A character that shows nothing: any Unicode space, a control or a format character (e.g. the
    no-break space, the zero-width space, the byte-order mark)."""
    return char.isspace() or unicodedata.category(char) in ("Zs", "Zl", "Zp", "Cc", "Cf")


def describe_error(error: ValidationError) -> str:
    """A settings error as lines a person reads at start: the variable and the reason, no traceback."""
    lines = []
    for item in error.errors():
        name = ".".join(str(part) for part in item.get("loc", ()))
        reason = str(item.get("msg", "invalid")).removeprefix("Value error, ")
        lines.append(f"STUDYCHAT_{name.upper()}: {reason}" if name else reason)
    return "\n".join(lines)


class Settings(BaseSettings):
    """StudyChat's configuration. Every field can be set as `STUDYCHAT_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="STUDYCHAT_", extra="ignore")

    # Where things live
    corpus: Path = Field(
        Path("corpus"), description="Folder of documents ingested by default and where uploads are saved."
    )
    db: Path = Field(
        Path("data/chroma"), description="Folder of the embedded Chroma store, the manifest and the lexical index."
    )
    chroma_url: str | None = Field(
        None, description="URL of a Chroma server (e.g. http://127.0.0.1:8000); unset uses the embedded store at `db`."
    )
    collection: str = Field(
        "studychat",
        description="Chroma collection name: 3-512 characters of [a-zA-Z0-9._-].",
        pattern=r"^[a-zA-Z0-9._-]{3,512}$",
    )

    # Shared store: one corpus served from several machines (docs/scaling.md)
    database_url: SecretStr | None = Field(
        None,
        description="PostgreSQL URL (postgresql://user:password@host:5432/db) of a shared store: the manifest, "
        "the chunks, their sentence vectors and the lexical index there, the vectors in the Chroma server at "
        "`chroma_url` (needed with it). Unset uses the embedded store at `db`. Never logged.",
    )
    database_pool_size: int = Field(
        10, ge=1, le=200, description="Most PostgreSQL connections one app server keeps open for reading."
    )
    database_timeout: float = Field(
        5.0,
        gt=0,
        description="Seconds to wait for a PostgreSQL connection before the store is reported unreachable (503).",
    )

    # Embedding and chunking (recorded in the index; changing them needs `python -m ingest --reset`)
    embedding_model: str = Field(
        "all-MiniLM-L6-v2",
        description="Embedding model: the bundled all-MiniLM-L6-v2 or a path to a local sentence-transformers model.",
    )
    embedding_backend: Literal["torch", "onnx"] = Field(
        "onnx",
        description="What runs the embedding model: `onnx` (onnxruntime, exported once from the same weights "
        "into ~/.cache/studychat/onnx; exporting needs the `onnx` package, else torch is used) or `torch`.",
    )
    embedding_precision: Literal["float32", "int8"] = Field(
        "float32",
        description="Weights of the ONNX encoder: `float32`, or `int8` (quantized once from the float32 export "
        "with onnxruntime; about twice as fast, answers within about 0.01 on the evaluation sets, BENCHMARKS.md). "
        "Recorded in the index.",
    )
    embedding_batch_size: int = Field(64, ge=1, le=1024, description="Chunks embedded per batch at ingest.")
    chunk_size: int = Field(
        600, ge=100, le=4000, description="Largest chunk in characters; chunks end on sentence boundaries."
    )
    chunk_overlap: int = Field(
        1, ge=0, le=5, description="Sentences repeated from the end of one chunk at the start of the next."
    )

    # Answering
    top_k: int = Field(5, ge=1, le=20, description="Passages shown with an answer.")
    candidates: int = Field(
        30, ge=5, le=200, description="Candidates taken from each of the dense and lexical searches before fusion."
    )
    dense_search_ef: int = Field(
        400,
        ge=10,
        le=5000,
        description="Breadth of Chroma's HNSW search (`ef_search`), set on the collection by the writer: larger "
        "finds more of the true nearest chunks, slower. See the README for how 400 was chosen.",
    )
    max_quote_chars: int = Field(
        600, ge=80, le=5000, description="Longest quote of one passage in an offline answer; longer ones end with …."
    )
    max_answer_sentences: int = Field(3, ge=1, le=10, description="Most sentences a language model's answer may have.")
    spelling_edits: int = Field(
        1,
        ge=0,
        le=2,
        description="Most edits (letters added, dropped, changed or swapped) between a question's misspelt word "
        "and the documents' word it is read as (`chat.spelling`); one covers most typing errors; 0: read as typed.",
    )

    # Optional language model
    llm: str | None = Field(
        None,
        description="Chat model as `provider:model` (`ollama:llama3.1`, `openai:gpt-4o-mini`); unset answers offline.",
    )
    llm_base_url: str | None = Field(None, description="Base URL of an OpenAI-compatible or Ollama server.")
    llm_api_key: SecretStr | None = Field(None, description="API key for the chat model's server; never logged.")
    llm_timeout: float = Field(
        60.0, gt=0, description="Seconds to wait for the chat model before falling back to the offline answer."
    )
    llm_max_tokens: int = Field(
        512,
        ge=16,
        le=32768,
        description="Most tokens the chat model may write per reply (`max_tokens`), so a model that does not "
        "stop on its own ends in time; an answer is a few cited sentences.",
    )

    # Serving
    host: str = Field("127.0.0.1", description="Address the app listens on.")
    port: int = Field(7860, ge=1, le=65535, description="Port the app listens on.")
    workers: int = Field(
        1,
        ge=1,
        le=64,
        description="Serving processes on the one port: 1, or N for one writer and N-1 readers, the vectors "
        "then through a Chroma server (started on loopback unless `chroma_url` is set). See docs/scaling.md.",
    )
    admin_token: SecretStr | None = Field(
        None, description="Token that allows changing documents; unset, only a server on loopback allows changes."
    )
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        ["*"], description="Comma-separated origins that may embed the widget and call the API (`*` for any)."
    )
    allowed_hosts: Annotated[list[str], NoDecode] | None = Field(
        None,
        description="Comma-separated host names a request may be addressed to (its `Host` header, any port; "
        "`.example.org` also allows its subdomains; `*` for any); other requests get 400, which stops "
        "DNS-rebinding pages. Unset: on loopback, localhost, 127.0.0.1, [::1] and `host`; otherwise `*`.",
    )

    # Limits
    max_question_chars: int = Field(2000, ge=1, description="Longest question accepted.")
    max_history_messages: int = Field(20, ge=0, description="Most history messages accepted with a question.")
    max_history_chars: int = Field(20000, ge=0, description="Most characters of history accepted with a question.")
    max_upload_mb: float = Field(20.0, gt=0, description="Largest document file accepted, in megabytes.")
    max_files_per_request: int = Field(20, ge=1, description="Most files in one upload.")
    tesseract: str = Field(
        "tesseract", description="OCR program that reads scanned PDF pages (Debian's tesseract-ocr); a name or a path."
    )
    read_timeout_seconds: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="Longest time one file may take to be read (parsed, and OCR of its scanned pages) in the "
        "separate reading process; a file that takes longer is refused and the process stopped.",
    )
    read_memory_mb: int = Field(
        1024,
        ge=256,
        le=65536,
        description="Most memory (address space, in MB) the separate process that reads one file may use; a file "
        "that needs more is refused.",
    )

    _split_origins = field_validator("allowed_origins", "allowed_hosts", mode="before")(_split_csv)

    @field_validator("admin_token")
    @classmethod
    def _token_not_blank(cls, token: SecretStr | None) -> SecretStr | None:
        # An empty token would match an empty or blank Authorization header: refuse it at start.
        if token is None:
            return None
        value = token.get_secret_value()
        if all(_invisible(char) for char in value):
            raise ValueError(
                "is set but blank (empty, or only spaces or invisible characters); set a real token "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe())'`) or unset the variable"
            )
        if _invisible(value[0]) or _invisible(value[-1]):
            raise ValueError(
                "starts or ends with a space or an invisible character, which an Authorization header "
                "cannot carry; remove it"
            )
        return token

    @model_validator(mode="after")
    def _int8_needs_onnx(self) -> Settings:
        if self.embedding_precision == "int8" and self.embedding_backend != "onnx":
            raise ValueError(
                "STUDYCHAT_EMBEDDING_PRECISION=int8 runs on onnxruntime: set STUDYCHAT_EMBEDDING_BACKEND=onnx "
                "or STUDYCHAT_EMBEDDING_PRECISION=float32"
            )
        return self

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def on_loopback(self) -> bool:
        return self.host in LOOPBACK_HOSTS or self.host.startswith("127.")

    @property
    def hosts(self) -> list[str]:
        """The host names requests may be addressed to, lower case without port (see `allowed_hosts`)."""
        if self.allowed_hosts is not None:
            return [host.lower() for host in self.allowed_hosts]
        if not self.on_loopback:
            return ["*"]
        own = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 address, as a Host header writes it
        return sorted({"localhost", "127.0.0.1", "[::1]", own.lower()})

    @property
    def max_ask_bytes(self) -> int:
        """Largest request body a question needs: the question and history limits at 12 bytes a
        character (an escaped astral character in JSON, `\\ud83d\\ude00`), per-message overhead and
        64 KiB for the rest (document ids)."""
        chars = self.max_question_chars + self.max_history_chars
        return 12 * chars + 512 * self.max_history_messages + 64 * 1024

    @property
    def changes_allowed_without_token(self) -> bool:
        """With no admin token, only a server bound to loopback lets its users change documents."""
        return self.admin_token is None and self.on_loopback
