"""The words every stage shares: documents, chunks, passages, citations, answers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np


@dataclass
class Document:
    """A cleaned document, ready to chunk. `text` is the clean text that chunk offsets point into."""

    id: str
    path: str
    title: str
    text: str
    content_hash: str
    source: str = ""
    date: str = ""
    doi: str = ""
    authors: list[str] = field(default_factory=list)
    # (start offset in `text`, page number) for paged formats such as PDF, in order.
    page_starts: list[tuple[int, int]] = field(default_factory=list)

    def page_at(self, offset: int) -> int | None:
        """The page number that the character at `offset` is on, or None for unpaged documents."""
        page = None
        for start, number in self.page_starts:
            if start > offset:
                break
            page = number
        return page


@dataclass
class Chunk:
    """A run of whole sentences of one document, with its place in the clean text."""

    id: str
    document_id: str
    text: str
    start: int
    end: int
    page: int | None = None
    flagged: bool = False  # text that reads like instructions to an assistant
    sentences: list[tuple[int, int]] = field(default_factory=list)  # (start, end) in `text`, in order

    def __post_init__(self) -> None:
        if not self.sentences:  # a chunk is at least one sentence: the whole of it
            self.sentences = [(0, len(self.text))]


@dataclass
class Passage:
    """A chunk found for a question, with the document fields a citation needs. Once widened
    (`chat.retrieve.widen`), `text`, `start` and `sentences` are those of the chunk's window: the
    chunk with the chunks either side of it; `chunk_id` still names the chunk found."""

    chunk_id: str
    document_id: str
    title: str
    source: str
    date: str
    page: int | None
    text: str
    start: int
    score: float = 0.0
    dense: float = 0.0  # cosine similarity of the question and the chunk
    flagged: bool = False
    # Filled by `Store.load_sentences` for the passages an answer may quote:
    sentences: list[tuple[int, int]] = field(default_factory=list)  # (start, end) in `text`, in order
    vectors: np.ndarray | None = None  # one unit vector per sentence (float16), embedded at ingest
    features: np.ndarray | None = None  # what the passage model weighed (`chat.retrieve.PASSAGE_FEATURES`)


@dataclass
class Citation:
    """One cited passage: `quote` is the exact supporting text, `passage` the chunk around it."""

    n: int
    document_id: str
    title: str
    source: str
    page: int | None
    quote: str
    passage: str
    score: float
    date: str = ""
    unsupported: bool = False
    flagged: bool = False

    @classmethod
    def of(cls, n: int, passage: Passage, quote: str, unsupported: bool = False) -> Citation:
        """Passage `n` of an answer, cited for `quote`."""
        return cls(
            n=n,
            document_id=passage.document_id,
            title=passage.title,
            source=passage.source,
            page=passage.page,
            quote=quote,
            passage=passage.text,
            score=round(float(passage.score), 4),
            date=passage.date,
            unsupported=unsupported,
            flagged=passage.flagged,
        )

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class CheckedSentence:
    """One sentence of a language model's answer, as checked against the passages it cites."""

    text: str
    citations: list[int] = field(default_factory=list)
    unsupported: bool = False
    similarity: float = 0.0  # cosine of the sentence and its best supporting passage text
    missing_numbers: list[str] = field(default_factory=list)  # numbers the passages do not hold

    def to_dict(self) -> dict:
        return asdict(self)


# How a tentative answer opens, in the chat, the widget and the API alike.
TENTATIVE = "The closest statement in the documents:"


@dataclass
class Answer:
    """What the user sees: text with `[n]` markers, the citations they point to, and whether it declined.

    Three outcomes: stated (neither `refused` nor `tentative`), tentative (the closest statement
    the documents hold, shown as such: its text opens with `TENTATIVE`), or declined (`refused`).
    `confidence` is the calibrated probability that the answer is right (0-1; None when nothing
    estimated it, as for a language model's answer)."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    refused: bool = False
    tentative: bool = False
    confidence: float | None = None
    notes: list[str] = field(default_factory=list)
    sentences: list[CheckedSentence] = field(default_factory=list)  # filled for a language model's answer
    # The offline answerer's figures behind its choice (`chat.extractive`), for evaluation and
    # fitting; not sent to users.
    signals: dict = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict:
        return {
            "answer": self.text,
            "refused": self.refused,
            "tentative": self.tentative,
            "confidence": None if self.confidence is None else round(float(self.confidence), 3),
            "citations": [c.to_dict() for c in self.citations],
            "notes": self.notes,
            "sentences": [s.to_dict() for s in self.sentences],
        }
