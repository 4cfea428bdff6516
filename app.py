"""StudyChat's server: `python app.py` (or `make run`) serves at STUDYCHAT_HOST:STUDYCHAT_PORT.

This module only starts things: the app is built in `web/server.py`, answering lives in `chat/`,
ingesting in `ingest/`, the API and the UI in `web/`.
"""

from __future__ import annotations

import logging
import sys

from pydantic import ValidationError

from studychat.quiet import silence_meaningless_warnings
from studychat.settings import Settings, describe_error
from studychat.store import StoreError
from web.server import build_app

__all__ = ["build_app", "main"]


def main() -> None:
    import uvicorn

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("studychat").setLevel(logging.INFO)
    silence_meaningless_warnings()  # the one-time ONNX export's trace warnings (studychat/quiet.py)
    try:
        settings = Settings()
    except ValidationError as error:  # a setting a person got wrong: say which and why, no traceback
        print(f"error: {describe_error(error)}", file=sys.stderr)
        sys.exit(1)
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
