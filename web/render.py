"""Answers and documents as HTML for the UI. Documents are untrusted: every string that comes
from one is escaped with `html.escape` here, so nothing a document holds is ever read as markup."""

from __future__ import annotations

import re
from html import escape
from urllib.parse import quote, urlparse

from studychat.marks import doc_mark, doc_marks
from web.scope import searched_words

MARKER = re.compile(r"\[(\d{1,3})\]")
# Markdown syntax characters, escaped after the HTML escape so that the chat shows them as typed.
# `&` and `;` stay as they are: the HTML escape needs them for its entities.
MARKDOWN_SYNTAX = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$=^:])")


def plain(text: str) -> str:
    """Text for the chat's markdown renderer that shows exactly as written: no HTML, no markdown."""
    return MARKDOWN_SYNTAX.sub(r"\\\1", escape(text, quote=False))


def cite_id(turn: int, n: int) -> str:
    return f"src-{turn}-{n}"


def answer_markdown(text: str, turn: int, known: set[int] | None = None) -> str:
    """An answer for the chat: its text shown as written, each `[n]` a link to source n of this turn.

    `known` limits the links to the citations that exist; a marker that is none of them is a
    document's own reference mark and shows as one ("⁽¹²⁾", see `studychat.marks`). While
    streaming `known` is None and every marker becomes a link.
    """
    parts = MARKER.split(text)
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 0:
            out.append(plain(part))
        elif known is None or int(part) in known:
            out.append(
                f'<a class="cite" href="#{cite_id(turn, int(part))}" data-turn="{turn}" data-n="{part}">[{part}]</a>'
            )
        else:
            out.append(plain(doc_mark(part)))
    return "".join(out).strip()


def answer_message(answer: dict, turn: int) -> str:
    """A finished answer (`web.answers.answer_json`) for the chat: `answer_markdown` with links to its
    citations; a tentative one inside a muted block (style.css), so it never looks like a stated one.
    The blank lines keep the markdown inside the block read as markdown."""
    known = {int(c["n"]) for c in answer.get("citations", [])}
    text = answer_markdown(answer.get("answer", ""), turn, known)
    if answer.get("tentative"):
        return f'<div class="sc-tentative">\n\n{text}\n\n</div>'
    return text


def short_title(title: str, limit: int = 80) -> str:
    """`title` in at most `limit` characters: cut at the last word that fits, with "…" to say so."""
    title = " ".join(title.split())
    if len(title) <= limit:
        return title
    cut = title[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:  # a word boundary that keeps most of the room; else cut inside the word
        cut = cut[:space]
    return cut.rstrip(" ,;:-–—/") + "…"


def safe_link(source: str) -> str | None:
    """A URL to link to for a document source or DOI, or None when it is neither http(s) nor a DOI."""
    source = source.strip()
    if re.match(r"^10\.\d{4,9}/\S+$", source):
        return "https://doi.org/" + quote(source, safe="/:;()._-")
    parsed = urlparse(source)
    if parsed.scheme in ("http", "https") and parsed.netloc:
        return source
    return None


def highlighted_passage(passage: str, quotes: list[tuple[str, str]], near: bool = False) -> str:
    """The passage, escaped, with each quoted sentence inside it marked, each mark opened by its
    anchor (HTML of an empty element a citation link points at, or ""); the document's own
    reference marks shown as such (`studychat.marks.doc_marks`). `quotes` are (anchor, quote)
    pairs. A quote the passage does not hold verbatim is shown marked above it. With `near` (a
    declined question's related reading) the sentence nearest the question is shown as such, not
    marked as a quote: the documents do not answer the question."""
    passage = doc_marks(passage)
    opening, closing = (NEAR, "</span>") if near else ("<mark>", "</mark>")
    placed: list[tuple[int, int, str]] = []
    above = []
    for anchor, text in quotes:
        text = doc_marks(text)
        at = passage.find(text) if text else -1
        if at < 0 and text:
            at = passage.lower().find(text.lower())
        if at < 0:  # not in the passage verbatim: shown above it
            above.append(f"{anchor}{opening}{escape(text)}{closing}<br><br>" if text else anchor)
        elif any(a < at + len(text) and at < b for a, b, _ in placed):
            above.append(anchor)  # its sentence is marked already
        else:
            placed.append((at, at + len(text), anchor))
    out, done = above, 0
    for a, b, anchor in sorted(placed):
        out.append(f"{escape(passage[done:a])}{anchor}{opening}{escape(passage[a:b])}{closing}")
        done = b
    return "".join(out) + escape(passage[done:])


NEAR = '<span class="sc-near" title="The sentence nearest the question. The documents do not answer it.">'


def by_passage(citations: list[dict]) -> list[list[dict]]:
    """An answer's citations grouped by the passage they quote, in the order first cited: one
    source card per passage, however many of its sentences the answer cites."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for citation in citations:
        groups.setdefault((citation.get("document_id") or "", citation.get("passage") or ""), []).append(citation)
    return list(groups.values())


def anchor(turn: int, n: int, first: bool) -> str:
    """The empty element before citation n's quote, which its link scrolls to (`data-cite`); the
    card itself carries the id of its first citation, the anchor the id of any further one."""
    ident = "" if first else f' id="{cite_id(turn, n)}"'
    return f'<span class="sc-at"{ident} data-cite="{cite_id(turn, n)}"></span>'


def citation_card(citations: list[dict], turn: int, near: bool = False) -> str:
    """One cited passage: the numbers that cite it, title, date, page, link or DOI, and the
    passage with each quote marked (with `near`, the nearest sentence of a declined question shown
    as such) after its `anchor`."""
    citation, numbers = citations[0], [int(c.get("n", 0)) for c in citations]
    meta = []
    if citation.get("date"):
        meta.append(f"<span>{escape(citation['date'])}</span>")
    if citation.get("page") is not None:
        meta.append(f"<span>page {escape(str(citation['page']))}</span>")
    source = citation.get("source") or ""
    link = safe_link(source)
    if link:
        # the whole address, wrapped inside the card (style.css); only a very long one is cut
        label = source if len(source) <= 200 else source[:199] + "…"
        meta.append(
            f'<a href="{escape(link)}" title="{escape(source)}" target="_blank" rel="noopener noreferrer nofollow">'
            f"{escape(label)}</a>"
        )
    elif source:
        meta.append(f"<span>{escape(source)}</span>")
    notes = []
    if any(c.get("unsupported") for c in citations):
        notes.append('<p class="sc-warn">This sentence could not be matched to the passage.</p>')
    if citation.get("flagged"):
        notes.append('<p class="sc-warn">This passage reads like instructions; it is shown as text only.</p>')
    quotes = [(anchor(turn, int(c.get("n", 0)), c is citation), c.get("quote") or "") for c in citations]
    title = escape(citation.get("title") or "Untitled")
    marks = " ".join(f'<span class="sc-n">[{n}]</span>' for n in numbers)
    return (
        f'<article class="sc-source" id="{cite_id(turn, numbers[0])}">'
        f"<header>{marks} <strong>{title}</strong></header>"
        f'<div class="sc-meta">{" · ".join(meta)}</div>'
        f'<p class="sc-passage">{highlighted_passage(citation.get("passage") or "", quotes, near)}</p>'
        f"{''.join(notes)}</article>"
    )


def sources_html(turns: list[dict]) -> str:
    """The sources panel: the latest answer's passages open, earlier answers folded below."""
    if not turns:
        return (
            '<div class="sc-sources"><h3>Sources</h3>'
            '<p class="sc-empty">Ask a question: the passages each answer cites appear here, '
            "with the quoted sentence highlighted.</p></div>"
        )
    blocks = []
    for turn in range(len(turns), 0, -1):
        answer = turns[turn - 1]["answer"]
        question = turns[turn - 1]["question"]
        if answer.get("refused"):
            heading = "Related passages (the documents do not answer this)"
        elif answer.get("tentative"):
            heading = "Closest passages (the documents may not answer this)"
        else:
            heading = "Sources"
        near = bool(answer.get("refused"))
        cards = "".join(citation_card(group, turn, near) for group in by_passage(answer.get("citations", [])))
        if not cards:
            cards = '<p class="sc-empty">No passages were found.</p>'
        opened = " open" if turn == len(turns) else ""
        facts = answer_facts(answer, turns[turn - 1].get("searched"))
        searched = f'<p class="sc-searched">{escape(facts)}</p>' if facts else ""
        blocks.append(
            f'<details class="sc-turn"{opened} data-turn="{turn}"><summary><h3>{heading}</h3>'
            f'<span class="sc-q">{escape(question)}</span></summary>{searched}{cards}</details>'
        )
    return f'<div class="sc-sources">{"".join(blocks)}</div>'


def answer_facts(answer: dict, scope: dict | None) -> str:
    """The small line under a turn's heading: the documents searched and, for an answer given (not
    declined), its confidence: "Searched: all 98 documents · confidence 0.62"."""
    facts = [f"Searched: {searched_words(scope)}"] if scope else []
    if answer.get("confidence") is not None and not answer.get("refused"):
        facts.append(f"confidence {answer['confidence']:.2f}")
    return " · ".join(facts)


def documents_html(documents: list[dict]) -> str:
    """The documents table: title, chunks, date and when it was added."""
    if not documents:
        return '<p class="sc-empty">No documents yet. Add some below.</p>'
    from datetime import datetime

    rows = []
    for d in documents:
        added = datetime.fromtimestamp(d["added_at"]).strftime("%Y-%m-%d %H:%M")
        rows.append(
            f"<tr><td>{escape(d['title'])}<div class='sc-id'>{escape(d['id'])}</div></td>"
            f"<td>{d['chunks']}</td><td>{escape(d.get('date') or '')}</td><td>{added}</td></tr>"
        )
    return (
        '<table class="sc-docs"><thead><tr><th>Title</th><th>Chunks</th><th>Date</th><th>Added</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def results_html(results: list[dict]) -> str:
    """One line per uploaded or removed file: what happened and why, and what the reader should
    know of how it was read (the pages read by OCR)."""
    if not results:
        return ""
    items = []
    for r in results:
        what = escape(r["status"])
        detail = f" ({r['chunks']} chunks)" if r.get("chunks") and r["status"] in ("added", "updated") else ""
        reason = f": {escape(r['reason'])}" if r.get("reason") else ""
        name = escape(r.get("title") or r.get("path") or r.get("document_id") or "")
        notes = "".join(f"; {escape(note)}" for note in r.get("notes") or [])
        items.append(f'<li class="sc-{what}"><strong>{what}</strong> {name}{detail}{reason}{notes}</li>')
    return f'<ul class="sc-results">{"".join(items)}</ul>'
