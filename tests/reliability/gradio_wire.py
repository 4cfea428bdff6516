"""Gradio's wire protocol as a hostile client speaks it: the app's config, and one event sent to
/gradio_api/queue/join with its server-sent events read from /gradio_api/queue/data."""

from __future__ import annotations

import json
import re
import uuid

import httpx

FILE_URL = re.compile(r"/gradio_api/file=[^\"'\s\\]+")


def config(url: str) -> dict:
    """The app's config: its components and its events (`dependencies`, each with its `id`)."""
    reply = httpx.get(f"{url}/config", timeout=30)
    reply.raise_for_status()
    return reply.json()


def file_data(path: str) -> dict:
    """A file as Gradio's client names one."""
    return {"path": path, "meta": {"_type": "gradio.FileData"}}


def send_event(
    url: str, event: dict, data: list, timeout: float = 120, content_type: str | None = "application/json"
) -> tuple[int, str]:
    """Send `data` to the event (its config entry) as its inputs, as JSON declared `content_type`
    (none when None); (the join's status, everything the server said: the join's reply and, when
    it was accepted, every message up to the last)."""
    session = uuid.uuid4().hex
    trigger = event["targets"][0][0] if event.get("targets") else None
    body = {"data": data, "fn_index": event["id"], "trigger_id": trigger, "session_hash": session, "event_data": None}
    # Sent as ASCII JSON, so a lone surrogate travels as the escape "\ud800" that a browser would send.
    joined = httpx.post(
        f"{url}/gradio_api/queue/join",
        content=json.dumps(body).encode(),
        headers={"Content-Type": content_type} if content_type else {},
        timeout=timeout,
    )
    said = joined.text
    if joined.status_code != 200:
        return joined.status_code, said
    with httpx.stream("GET", f"{url}/gradio_api/queue/data", params={"session_hash": session}, timeout=timeout) as s:
        for line in s.iter_lines():
            said += line + "\n"
            if '"msg":"process_completed"' in line or '"msg":"unexpected_error"' in line:
                break
    return joined.status_code, said


def completed(said: str) -> dict:
    """The event's last message (process_completed), parsed."""
    for line in reversed(said.splitlines()):
        if line.startswith("data:") and "process_completed" in line:
            return json.loads(line[5:])
    raise AssertionError(f"the event did not complete: {said[-500:]}")
