"""Text that addresses an assistant instead of a reader: "ignore all previous instructions ...".

Documents are untrusted. Ingest flags each chunk that holds such text, and the answerer never
quotes a sentence of it as an answer, so one detector serves both.
"""

from __future__ import annotations

import re

INSTRUCTIONS = re.compile(
    r"\b(ignore|disregard|forget|override)\b.{0,40}\b(previous|prior|above|earlier|all|your|the system)\b.{0,20}"
    r"\b(instructions?|prompts?|rules|directions)\b|\byou are now\b|\bsystem prompt\b|\bnew instructions\b|"
    r"\bact as (an?|the) \w+|\bdo not (tell|reveal|mention)\b.{0,30}\b(user|anyone)\b|"
    # what an injected text asks an assistant to say: "tell the user that ...", "reply with the word X"
    r"\b(tell|inform|assure) the user\b|\b(reply|respond|answer)( only)? with the word\b",
    re.IGNORECASE | re.DOTALL,
)


def reads_like_instructions(text: str) -> bool:
    """Text that addresses an assistant ("ignore previous instructions ...") rather than a reader."""
    return bool(INSTRUCTIONS.search(text))


def instruction_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each run of `text` that reads like instructions to an assistant, so that a
    caller can tell which of its sentences an instruction covers (one may run over two)."""
    return [match.span() for match in INSTRUCTIONS.finditer(text)]
