"""Questions that ask a document about itself, and the lines where it says so.

"What is the title of this report?", "Who wrote it?", "When was this paper published?", "Which
journal published it?": such a question is answered from the line of the document meant that
states it (its title line, its byline, its date line), not from a sentence that merely resembles
the question (`asks_about_document`, `document_meant`, `self_statement`).

All functions are pure, apart from those that take the store and read it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from chat.grounding import DOCUMENT_WORDS
from studychat.schema import Passage
from studychat.store import DocumentRecord, Store
from studychat.text import WORD, content_words, terms

# What a question may ask of a document itself, and the words that ask it.
ATTRIBUTES = [
    ("title", r"\btitle\b|\btitled\b|\bwhat is (this|the) \w+ called\b"),
    ("author", r"\bwho (wrote|authored|is the author|are the authors|prepared)\b|\bauthors?\b|\bwritten by\b"),
    ("date", r"\bwhen\b.*\b(written|published|dated|released|issued|prepared)\b|\bdate\b"),
    ("journal", r"\b(which|what) (journal|publication)\b|\bjournal\b|\bwhere\b.*\bpublished\b"),
]
ATTRIBUTES = [(name, re.compile(pattern, re.I)) for name, pattern in ATTRIBUTES]
DOCUMENT_REFERENCE = re.compile(
    rf"\b(this|the|that|your|our)\s+([\w-]+\s+){{0,3}}?(?P<noun>{'|'.join(sorted(DOCUMENT_WORDS))})\b"
    r"|\b(?P<pronoun>it|its)\b",
    re.I,
)
ATTRIBUTE_WORDS = frozenset(
    "title titled called wrote written authored author authors prepared published released issued "
    "dated date journal publication".split()
)


@dataclass(frozen=True)
class DocumentQuestion:
    """A question about a document itself: what it asks (`attribute`), the word it calls the
    document by ("report"; empty for "it"), and any other words, which must be in the title of the
    document meant ("Who wrote the *nitrate* report?")."""

    attribute: str
    noun: str
    words: tuple[str, ...]


def asks_about_document(question: str) -> DocumentQuestion | None:
    """The question's `DocumentQuestion` when it asks a document's title, authors, date or journal
    ("What is the title of this report?", "Who wrote it?", "When was this paper published?");
    None for a question about anything else ("Who wrote Hamlet?", "When was the study
    conducted?"). "It" stands for a document only when asked who wrote it or when it was
    published: "What is it called?" asks about a thing the conversation named."""
    reference = DOCUMENT_REFERENCE.search(question)
    if reference is None:
        return None
    attribute = next((name for name, pattern in ATTRIBUTES if pattern.search(question)), None)
    if attribute is None or (attribute == "title" and (reference["pronoun"] or "").lower() == "it"):
        return None
    words = tuple(w for w in content_words(question) if w not in ATTRIBUTE_WORDS and w not in DOCUMENT_WORDS)
    return DocumentQuestion(attribute, (reference["noun"] or "").lower(), words)


def names_document(words: Iterable[str], title: str) -> bool:
    """Whether a document's title holds every one of `words` (in any form the index stems alike)."""
    return set(terms(" ".join(words))) <= set(terms(title))


def document_meant(
    asked: DocumentQuestion, passages: Sequence[Passage], store: Store, followed: str | None
) -> str | None:
    """The document a question about a document itself means: the only one in the index; else the
    one of the passages whose title holds the question's other words ("the nitrate report"), or
    None when no title does; else the one a follow-up is about (`followed`); else the first, in
    the passages' order, that says "this report" of itself at its beginning, or calls itself a
    report there at all; else the best passage's."""
    documents = list(dict.fromkeys(p.document_id for p in passages))
    if not documents:
        return None
    if store.counts()[0] == 1:
        return documents[0]
    if asked.words:
        titles = {p.document_id: p.title for p in passages}
        return next((d for d in documents if names_document(asked.words, titles[d])), None)
    if followed:
        return followed
    if asked.noun:
        beginnings = {d: " ".join(f"{p.title} {p.text}" for p in store.document_chunks(d)[:1]) for d in documents}
        itself = re.compile(rf"\bthis {asked.noun}\b", re.I)
        calls = [d for d in documents if itself.search(beginnings[d])]
        calls += [d for d in documents if names_document([asked.noun], beginnings[d])]
        if calls:
            return calls[0]
    return documents[0]


BYLINE = re.compile(r"^\s*(authors?|written by|prepared by|by)\b", re.I)
DATE = re.compile(
    r"\b(1[89]\d\d|20\d\d)-\d\d-\d\d\b|\b(January|February|March|April|May|June|July|August|September|October|"
    r"November|December)\b[^.\n]{0,12}\b(1[89]\d\d|20\d\d)\b|\b\d{1,2}[./]\d{1,2}[./](1[89]\d\d|20\d\d)\b"
)
FIRST_LINES = 8  # lines of a document's beginning searched for what it states about itself


def self_statement(
    attribute: str, record: DocumentRecord, passages: Sequence[Passage], journal: re.Pattern | None = None
) -> tuple[Passage, int, int] | None:
    """(passage, start, end) of the line of a document that states its `attribute`: the line of
    its first chunks that holds its stored title, or failing that its first line; the line naming
    a stored author (or a byline, "Authors: ..."); the first line with a date; the first line
    naming a journal (`journal`, the answerer's pattern for one). `passages` are the document's
    chunks in reading order. None when its text states no such thing."""
    # a line holding the title and more (a PDF's title and byline run together) is two lines
    title_words = WORD.findall(record.title)
    title_at = re.compile(r"\W*".join(map(re.escape, title_words)), re.I) if title_words else None
    lines = []
    for p in passages[:2]:
        for s, e in _lines(p.text):
            found = title_at.search(p.text, s, e) if title_at else None
            cuts = [s, found.start(), found.end(), e] if found else [s, e]
            lines += [(p, a, b) for a, b in _trimmed(p.text, cuts)]
    lines = lines[:FIRST_LINES]
    if not lines:
        return None

    def text(line: tuple[Passage, int, int]) -> str:
        passage, start, end = line
        return passage.text[start:end]

    def flat(value: str) -> str:
        return " ".join(value.lower().split())

    if attribute == "title":
        title = flat(record.title)
        found = [line for line in lines if title and title in flat(text(line))]
        return found[0] if found else lines[0]
    if attribute == "author":
        surnames = surnames_of(record.authors)

        def names_authors(value: str) -> bool:  # most of them: a caption naming one is no byline
            named = surnames & {w.lower() for w in WORD.findall(value)}
            return len(named) * 2 > len(surnames)

        for line in lines:
            if names_authors(text(line)) or BYLINE.match(text(line)):
                return line
        for passage in passages:  # authors named only in a reference at the end
            for start, end in _lines(passage.text):
                if names_authors(passage.text[start:end]):
                    return passage, start, end
        return None
    if attribute == "date":
        return next((line for line in lines if DATE.search(text(line))), None)
    if attribute == "journal" and journal is not None:
        return next((line for line in lines if journal.search(text(line))), None)
    return None


INITIALS = re.compile(r"^\s*([A-Z]\.\s*-?)+\s*$")


def surnames_of(authors: Iterable[str]) -> set[str]:
    """The family names, lower-cased, in a document's stored authors, however they are listed:
    ["Holm, I.", "Berg, T."], ["Ingrid Holm", "Tomas Berg"], or one string "Ingrid Holm, Tomas
    Berg" or "Ingrid Holm; Tomas Berg and Ann Lee"."""
    found = set()
    for author in authors:
        pieces = [p.strip() for p in re.split(r";|\band\b|&", author) if p.strip()]
        for piece in pieces:
            parts = [p.strip() for p in piece.split(",") if p.strip()]
            if len(parts) == 2 and INITIALS.match(parts[1]):  # "Holm, I."
                parts = [parts[0].split()[-1]]
            for name in parts:
                words = WORD.findall(name)
                if words:
                    found.add(words[-1].lower())
    return found


def _trimmed(text: str, cuts: list[int]) -> list[tuple[int, int]]:
    """The non-blank pieces of `text` between consecutive `cuts`, without the spaces and commas
    around them."""
    pieces = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        while a < b and (text[a].isspace() or text[a] in ",;:-–|"):
            a += 1
        while b > a and (text[b - 1].isspace() or text[b - 1] in ",;:-–|"):
            b -= 1
        if a < b:
            pieces.append((a, b))
    return pieces


def _lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of each non-blank line of `text`, its surrounding spaces left out."""
    spans = []
    for match in re.finditer(r"[^\n]+", text):
        line = match.group(0)
        if line.strip():
            lead = len(line) - len(line.lstrip())
            spans.append((match.start() + lead, match.start() + len(line.rstrip())))
    return spans
