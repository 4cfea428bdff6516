"""Clean text -> chunks of whole sentences, each with its character offsets in the clean text."""

from __future__ import annotations

import hashlib
import re

from studychat.instructions import reads_like_instructions
from studychat.schema import Chunk, Document

ABBREVIATIONS = {
    "al",
    "e.g",
    "i.e",
    "eg",
    "ie",
    "etc",
    "vs",
    "cf",
    "dr",
    "prof",
    "mr",
    "mrs",
    "ms",
    "jr",
    "sr",
    "st",
    "fig",
    "figs",
    "no",
    "nos",
    "vol",
    "pp",
    "p",
    "approx",
    "ca",
    "inc",
    "ltd",
    "co",
    "corp",
    "dept",
    "univ",
    "ref",
    "refs",
    "eq",
    "tab",
    "suppl",
    "u.s",
    "u.k",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "min",
    "max",
    "est",
    "resp",
    "fl",
    "oz",
    "lb",
    "lbs",
}
# End punctuation, closing quotes or brackets and footnote marks ("benchmarks.¹"), then a space
BOUNDARY = re.compile(r"[.!?]+[\"'”’)\]¹²³⁰⁴-⁹]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence; a blank line always ends one, and a line break inside a
    paragraph does not (texts arrive hard-wrapped)."""
    spans = []
    for para in re.finditer(r"[^\n]+(?:\n(?!\s*\n)[^\n]+)*", text):
        start = para.start()
        for m in BOUNDARY.finditer(para.group(0)):
            end = para.start() + m.end()
            before = text[start : para.start() + m.start() + 1]
            last_word = re.findall(r"([\w.]+)\.$", before)
            if last_word and (last_word[0].lower() in ABBREVIATIONS or re.fullmatch(r"[A-Z]", last_word[0])):
                continue  # "et al.", "Dr.", an initial: not the end of a sentence
            spans.append((start, para.start() + m.start() + len(m.group(0).rstrip())))
            start = end
        spans.append((start, para.end()))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def _split_long(text: str, start: int, end: int, size: int) -> list[tuple[int, int]]:
    """Cut a sentence longer than `size` at word boundaries."""
    pieces = []
    while end - start > size:
        cut = text.rfind(" ", start, start + size)
        cut = cut if cut > start else start + size
        pieces.append((start, cut))
        start = cut + 1 if text[cut : cut + 1] == " " else cut
    pieces.append((start, end))
    return pieces


def chunk_document(document: Document, size: int, overlap: int) -> list[Chunk]:
    """Pack whole sentences into chunks of at most `size` characters; the last `overlap` sentences
    of a chunk begin the next one, so a fact near a cut keeps its context."""
    text = document.text
    sentences = [piece for s, e in sentence_spans(text) for piece in _split_long(text, s, e, size)]
    groups: list[list[tuple[int, int]]] = []
    current: list[tuple[int, int]] = []
    for span in sentences:
        if current and span[1] - current[0][0] > size:
            groups.append(current)
            carried = current[-overlap:] if overlap else []
            while carried and span[1] - carried[0][0] > size:
                carried = carried[1:]
            current = [*carried, span] if carried != current else [span]
        else:
            current.append(span)
    if current:
        groups.append(current)

    chunks, seen = [], set()
    for group in groups:
        start, end = group[0][0], group[-1][1]
        body = text[start:end]
        digest = hashlib.sha256(body.encode()).hexdigest()[:16]
        chunk_id = f"{document.id}:{digest}"
        n = 1
        while chunk_id in seen:
            n += 1
            chunk_id = f"{document.id}:{digest}-{n}"
        seen.add(chunk_id)
        chunks.append(
            Chunk(
                id=chunk_id,
                document_id=document.id,
                text=body,
                start=start,
                end=end,
                page=document.page_at(start),
                flagged=reads_like_instructions(body),
                sentences=[(s - start, e - start) for s, e in group],
            )
        )
    return chunks
