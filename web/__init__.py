"""The serving layer: the HTTP API, the Gradio UI, the embeddable widget. `app.py` wires them.

Nothing here answers or ingests on its own; it calls `chat/` and `ingest/` through `Services`.
"""
