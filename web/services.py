"""What the app holds while it serves: settings, the model, the store and the chain, built once.

Also the one rule for who may change documents, so that the API and the UI apply the same one.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from chat.chain import Chain
from ingest.pipeline import FileResult, Progress, ingest_paths, remove
from studychat.embedder import Embedder, build_embedder
from studychat.settings import Settings
from studychat.store import Store, StoreError, StoreUnavailable, open_store

log = logging.getLogger("studychat.web")


@dataclass
class Services:
    """The shared, long-lived objects. Per-user state never lives here: it travels with each call."""

    settings: Settings
    embedder: Embedder
    store: Store
    chain: Chain
    writer_url: str | None = None  # set in a reader process: where the writer takes document changes

    @property
    def reader(self) -> bool:
        """True in a reader process of several (`web/workers.py`): it answers, the writer changes."""
        return self.writer_url is not None and self.store.lock is None

    @classmethod
    def start(
        cls,
        settings: Settings,
        embedder: Embedder | None = None,
        say: Callable[[str], None] = print,
        *,
        writer: bool = True,
        writer_url: str | None = None,
    ) -> Services:
        """Load the model and open the store: as its writer (taking the writer lock and, when the
        index is empty, ingesting the corpus), or, with `writer=False`, read-only for a reader
        process whose document changes go to the writer at `writer_url`."""
        if embedder is None:
            say(f"Loading the embedding model {settings.embedding_model} ...")
            embedder = build_embedder(settings)
            embedder.encode(["warm up"])  # load now, so the first question is not the slow one
        owner = f"app at {writer_url}" if writer_url else "app"
        store = open_store(settings, embedder, writer=owner if writer else None)
        try:
            if writer and store.counts()[0] == 0 and Path(settings.corpus).is_dir():
                if store.may_write:
                    ingest_corpus(store, settings, say)
                else:  # a shared store another server writes: it indexes, this one answers meanwhile
                    say("The index is empty and another server is its writer: it indexes the corpus.")
        except BaseException:
            store.close()
            raise
        return cls(settings, embedder, store, Chain(settings, store, embedder), writer_url)

    def close(self) -> None:
        self.store.close()


def ingest_corpus(store: Store, settings: Settings, say: Callable[[str], None] = print) -> None:
    """First start: index the corpus folder, saying how far it got (a line every 10 %, with the
    time left)."""
    say(f"The index is empty: indexing {settings.corpus}/ (first start only) ...")
    shown = -1

    def progress(state: Progress) -> None:
        nonlocal shown
        tenth = int(state.fraction() * 10)
        if state.result is None and state.stage == "embedding" and tenth != shown:
            shown = tenth
            say(f"  {state.describe()}")

    report = ingest_paths(store, settings, [Path(settings.corpus)], progress)
    say(f"Indexed {settings.corpus}/: {report.summary()}")
    for result in report.skipped:
        say(f"  skipped {result.path}: {result.reason}")


def user_message(error: Exception) -> str:
    """What a user is told when answering fails: the store's own words, never a traceback."""
    if isinstance(error, StoreUnavailable):
        return f"The document store is unreachable: {error}. Try again in a moment."
    if isinstance(error, StoreError):
        return f"The document store cannot answer: {error}"
    log.exception("answering failed", exc_info=error)
    return "Something went wrong while answering; the server log has the details."


def change_policy(settings: Settings) -> str:
    """ "token" (changes need the admin token), "open" (loopback, no token) or "read-only"."""
    if settings.admin_token is not None:
        return "token"
    return "open" if settings.changes_allowed_without_token else "read-only"


def access_note(settings: Settings) -> str:
    """Who may change documents on this server, in words for the Documents tab."""
    policy = change_policy(settings)
    if policy == "token":
        return "Adding or deleting documents needs the admin token (`STUDYCHAT_ADMIN_TOKEN`). Enter it below."
    if policy == "open":
        return (
            f"Anyone using this page can add or delete documents: the server listens only on this computer "
            f"({settings.host}). Set `STUDYCHAT_ADMIN_TOKEN` before serving it on a network."
        )
    return (
        f"Read-only: this server listens on {settings.host}, a network address, and no "
        "`STUDYCHAT_ADMIN_TOKEN` is set, so nobody can change documents here. "
        "Set the token and restart to allow changes."
    )


def refuse_change(settings: Settings, token: str | None) -> str | None:
    """Why a change with this token is refused, or None when it is allowed."""
    policy = change_policy(settings)
    if policy == "open":
        return None
    if policy == "read-only":
        return (
            "document changes are turned off: the server listens on a network address and "
            "no STUDYCHAT_ADMIN_TOKEN is set"
        )
    expected = settings.admin_token.get_secret_value().encode()
    if not token or not token.strip():
        return "the admin token is required to change documents"
    # Compared as given: stripping could turn a blank token into one that matches.
    if not expected or not hmac.compare_digest(token.encode("utf-8", "surrogatepass"), expected):
        return "the admin token is wrong"
    return None


def remove_document(store: Store, document_id: str, via: str) -> FileResult:
    """Remove a document from the index and its file from the corpus folder, and log the removal
    with where it was asked (`via`: "the API", "the Documents tab"): the API and the UI both delete
    through here, so every removal leaves the same line in the log."""
    result = remove(store, document_id, delete_file=True)
    if result.status == "removed":
        log.info("removed %s (through %s)", document_id, via)
    return result
