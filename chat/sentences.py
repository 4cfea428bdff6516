"""Passages -> their sentences, each with its figures as an answer to a question.

Every sentence of the passages read for a question gets how close its meaning is to the question
(its vector, embedded at ingest, against the question's), how much of the question's rarer words
it holds (BM25-style weights from the whole index), whether it holds the kind of thing the question
asks for (`chat.kinds`), and whether it is a heading. Sentences that read like instructions to an
assistant are never quotable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from chat.grounding import instruction_sentences, leans_on_previous
from chat.retrieve import idf_weights
from chat.wording import definitions, with_other_forms
from studychat.schema import Passage
from studychat.store import Store
from studychat.text import terms_among

ANSWERED_WITHIN = 3  # sentences after a question in the text that may be its answer
MIN_SENTENCE_WORDS = 3
INSIDE_BREAK = re.compile(r"[.;]\s|;")  # a sentence break or semicolon inside a line: not a heading
HEADING_WORDS = 8  # the most words a line without an end mark may have to be taken for a heading


@dataclass
class Sentence:
    passage: int
    start: int  # offset in the passage text
    end: int
    text: str
    dense: float = 0.0  # cosine similarity of the question and the sentence
    topic: float = 0.0  # the same, or of the conversation and the sentence for a follow-up, if higher
    lexical: float = 0.0
    kind: float = 0.0
    # a question in the text just before this sentence; or, for one whose subject is a pronoun
    # ("It costs 85 euros"), itself read with the sentence before: what this one is about
    asked: Sentence | None = None
    heading: bool = False  # a heading ("Side effects"): it names a topic, it rarely answers a question


def split_sentences(
    passages: list[Passage], query_vectors: np.ndarray, kind: tuple[str, re.Pattern] | None = None
) -> list[Sentence]:
    """The sentences of the passages, each once even where chunks overlap, with their similarity
    to the question, and to the question or (for a follow-up) the conversation, whichever is closer.
    A sentence whose subject is a pronoun and that holds the `kind` the question asks for ("It costs
    85 euros and must be paid before 1 May") is read with the sentence before it for its words."""
    seen: set[tuple[str, int]] = set()
    out = []
    alone = len(query_vectors) == 1  # a question that stands alone, not a follow-up
    for index, passage in enumerate(passages):
        if passage.vectors is None:  # not from the store (no sentence vectors): nothing to quote
            continue
        similarities = passage.vectors @ query_vectors.T
        heads = headings(passage)
        asked, after = None, 0  # the last question in the text, and how many sentences ago
        before = None  # the sentence before, which one whose subject is "It" or "They" is about
        for i, (start, end) in enumerate(passage.sentences):
            text = passage.text[start:end]
            dense, topic = float(similarities[i, 0]), float(similarities[i].max())
            after += 1
            asked_before = asked if after <= ANSWERED_WITHIN else None
            if (
                alone
                and asked_before is None
                and before
                and not before.heading
                and leans_on_previous(text)
                and kind is not None
                and kind[1].search(text)
            ):
                # "It costs 85 euros" is about the field course the sentence before names: its words
                # count with those of that sentence, its meaning stays its own. (In a follow-up the
                # conversation's words already count for every sentence, and "it" is what it was about.)
                leaned = f"{before.text} {text}"
                asked_before = Sentence(index, before.start, end, leaned, dense, topic, heading=False)
            sentence = Sentence(index, start, end, text, dense, topic, asked=asked_before, heading=i in heads)
            before = sentence
            if text.rstrip().endswith("?"):
                asked, after = sentence, 0
            key = (passage.document_id, passage.start + start)
            if key not in seen:
                seen.add(key)
                out.append(sentence)
    return out


def score_sentences(
    question: str,
    kind: tuple[str, re.Pattern] | None,
    context: str,
    query_vectors: np.ndarray,
    passages: list[Passage],
    store: Store,
) -> list[Sentence]:
    """Every sentence of the passages with its figures as an answer to the question: meaning
    (`dense`, `topic`), the share of the question's rarer words it holds (`lexical`, BM25-style
    weights from the whole index, a follow-up's conversation counting half) and whether it holds
    the `kind` of thing the question asks for (`asked_kind`)."""
    sentences = split_sentences(passages, query_vectors, kind)
    if not sentences:
        return []
    idf = idf_weights(question, store)
    context_idf = {t: w * 0.5 for t, w in idf_weights(context, store).items() if t not in idf} if context else {}
    weights = {**context_idf, **idf}
    total = sum(weights.values()) or 1.0

    defined = {acronym: long for p in passages for acronym, long in definitions(p.text).items()}

    def lexical(text: str) -> float:
        return sum(weights[t] for t in terms_among(with_other_forms(text, defined), weights)) / total

    for sentence in sentences:
        sentence.lexical = lexical(sentence.text)
        if sentence.asked:
            # The sentences just after a question in the text answer it ("Why did the trials
            # fail? ... The more common explanation is ..."): they match the user's question as
            # well as that question does.
            sentence.dense = max(sentence.dense, sentence.asked.dense)
            sentence.topic = max(sentence.topic, sentence.asked.topic)
            sentence.lexical = max(sentence.lexical, lexical(sentence.asked.text))
        sentence.kind = float(kind is not None and bool(kind[1].search(sentence.text)))
    return sentences


def headings(passage: Passage) -> set[int]:
    """Indexes of the passage's sentences that are headings: a Markdown heading, the document's
    title (or the start of it) repeated in its text, or in a punctuated text a short line of its
    own without an end mark ("Side effects") between sentences that have one. (A scraped page
    whose sentences all lack end marks has no such headings.)"""
    lines = [passage.text[s:e].strip() for s, e in passage.sentences]
    title = passage.title.strip().lower()

    def punctuated(i: int) -> bool:
        return 0 <= i < len(lines) and lines[i].endswith((".", "!", "?", ":", '"', "”", ")"))

    found = set()
    for i, line in enumerate(lines):
        bare = line.rstrip(".:").lower()
        # A heading is one phrase: a line with a sentence break or a semicolon inside is a fragment
        # of a reference or a list ("2020;383:1117-28. doi:10.1056/...").
        short = (
            "\n" not in line
            and len(line.split()) <= HEADING_WORDS
            and not punctuated(i)
            and not INSIDE_BREAK.search(line)
        )
        between = (i == 0 or punctuated(i - 1)) and punctuated(i + 1)
        if line.startswith("#") or (title and title.startswith(bare)) or (short and between):
            found.add(i)
    return found


def quotable(sentences: list[Sentence], passages: list[Passage]) -> list[Sentence]:
    """The sentences that may be quoted: none that reads like instructions to an assistant, though
    its passage may still be shown (with the warning)."""
    covered = {i: instruction_sentences(p) for i, p in enumerate(passages) if p.flagged}
    return [s for s in sentences if (s.start, s.end) not in covered.get(s.passage, ())]
