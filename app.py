"""StudyChat's server: `python app.py` (or `make run`) serves at STUDYCHAT_HOST:STUDYCHAT_PORT.

This module only starts things: the app is built in `web/server.py`, answering lives in `chat/`,
ingesting in `ingest/`, the API and the UI in `web/`.
"""

from __future__ import annotations

import logging
import sys

from studychat.settings import Settings
from studychat.store import StoreError
from web.server import build_app

__all__ = ["build_app", "main"]


def main() -> None:
    import uvicorn

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("studychat").setLevel(logging.INFO)
    settings = Settings()
    if settings.workers > 1:  # one writer and readers on one port (web/workers.py, docs/scaling.md)
        from web.workers import Supervisor

        sys.exit(Supervisor(settings).run())
    try:
        app = build_app(settings)
    except StoreError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    print(f"StudyChat is ready at http://{settings.host}:{settings.port}  (API docs at /docs, widget at /embed)")
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")


if __name__ == "__main__":
    main()
