"""The store, the only code that touches Chroma, SQLite or PostgreSQL: one interface (`Store`,
in `base.py`) and two implementations chosen by the settings alone. `open_store` gives the
embedded one (SQLite + embedded Chroma in `settings.db`, the default) unless
`settings.database_url` names a PostgreSQL database, which with the Chroma server at
`settings.chroma_url` holds one corpus for several app servers (`postgres.py`).
"""

from __future__ import annotations

from studychat.embedder import Embedder
from studychat.settings import Settings
from studychat.store.base import (
    DocumentRecord,
    IndexMismatch,
    Store,
    StoreError,
    StoreLocked,
    StoreUnavailable,
    build_signature,
)

__all__ = [
    "DocumentRecord",
    "IndexMismatch",
    "Store",
    "StoreError",
    "StoreLocked",
    "StoreUnavailable",
    "build_signature",
    "open_store",
]


def open_store(settings: Settings, embedder: Embedder, *, writer: str | None = None, reset: bool = False) -> Store:
    """Open the store the settings name. `writer` names the process that will write; `reset`
    empties an index built with other settings instead of refusing it."""
    if getattr(settings, "database_url", None):
        from studychat.store.postgres import PostgresStore

        return PostgresStore(settings, embedder, writer=writer, reset=reset)
    from studychat.store.embedded import EmbeddedStore, forget_signature

    if reset:
        forget_signature(settings)
    return EmbeddedStore(settings, embedder, writer=writer)
