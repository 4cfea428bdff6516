"""Prompt files -> chat messages, rendered strictly.

Every prompt lives in `prompts/<name>.txt` as sections headed `### system` and `### user`, with
`{placeholder}` fields (write `{{` and `}}` for literal braces). `render` fails loudly when a
placeholder has no value or a value has no placeholder, so a prompt and the code that fills it
cannot drift apart unnoticed.
"""

from __future__ import annotations

import re
import string
from functools import lru_cache
from pathlib import Path

PROMPTS = Path(__file__).resolve().parent.parent / "prompts"
ROLES = ("system", "user", "assistant")
HEADER = re.compile(r"^### (\w+)[ \t]*$", re.MULTILINE)
NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class PromptError(ValueError):
    """A prompt file is missing or malformed, or was rendered with missing or unknown values."""


@lru_cache(maxsize=32)
def load(name: str) -> tuple[tuple[str, str], ...]:
    """The (role, template) sections of `prompts/<name>.txt`, checked for well-formed placeholders."""
    if not NAME.match(name):
        raise PromptError(f"prompt name {name!r} must be lower-case letters, digits and '_'")
    path = PROMPTS / f"{name}.txt"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PromptError(f"no prompt file {path}") from None
    headers = list(HEADER.finditer(text))
    if not headers or text[: headers[0].start()].strip():
        raise PromptError(f"{path}: must start with a '### system' or '### user' header")
    sections = []
    for header, after in zip(headers, [*headers[1:], None], strict=True):
        role = header.group(1)
        if role not in ROLES:
            raise PromptError(f"{path}: unknown role {role!r}; use one of {', '.join(ROLES)}")
        body = text[header.end() : after.start() if after else len(text)].strip()
        placeholders(body, path)  # fail at load on a malformed field
        sections.append((role, body))
    return tuple(sections)


def placeholders(template: str, where: object = "prompt") -> set[str]:
    """The names of the `{fields}` of a template; only plain names are allowed."""
    names = set()
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        raise PromptError(f"{where}: {error}") from None
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if not NAME.match(field) or spec or conversion:
            raise PromptError(f"{where}: placeholder {{{field}}} must be a plain lower-case name")
        names.add(field)
    return names


def render(name: str, **values: object) -> list[tuple[str, str]]:
    """The prompt `name` as (role, text) messages, every placeholder filled from `values`.

    Raises `PromptError` when a placeholder has no value or a value matches no placeholder.
    """
    sections = load(name)
    wanted = set().union(*(placeholders(body) for _, body in sections))
    missing = wanted - values.keys()
    unknown = values.keys() - wanted
    if missing or unknown:
        problems = []
        if missing:
            problems.append(f"missing values for {sorted(missing)}")
        if unknown:
            problems.append(f"no placeholder for {sorted(unknown)}")
        raise PromptError(f"prompt {name!r}: " + "; ".join(problems))
    return [(role, body.format(**values)) for role, body in sections]
