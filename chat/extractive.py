"""Passages -> an answer made only of sentences quoted from them, or a plain refusal.

No language model: every sentence of an answer is copied verbatim from a cited passage. A
sentence is chosen for how close its meaning is to the question (embeddings), how much of the
question's rarer words it holds (BM25-style weights from the whole index), whether it holds the
kind of thing the question asks for (a number, a date, a person, a reason, a DOI...), and how well
its passage ranked.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from ingest.chunk import sentence_spans
from studychat.embedder import Embedder
from studychat.schema import Answer, Citation, Passage
from studychat.store import Store
from studychat.text import terms

REFUSAL = "The documents do not answer this question."
RELATED = "The closest passages are shown as related reading."
FLAG_WARNING = (
    "Warning: a cited passage contains text that reads like instructions to an assistant. "
    "It is quoted as document text, not followed."
)

# What a question asks for, and what a sentence that answers it holds. The first question pattern
# that matches decides, so the more specific kinds (a duration, a dose) come before a plain number.
NUMBER = r"\b\d+(?:[.,]\d+)?\s*(?:%|percent|per cent)?"
NUMBER_WORDS = r"\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozen|hundred|thousand)\b"
TIME_UNIT = r"(seconds?|minutes?|hours?|days?|weeks?|months?|years?)"
ASKS = [
    (r"\b(doi|digital object identifier)\b", r"\b10\.\d{4,9}/\S+"),
    (r"\b(url|link|website|web address)\b", r"https?://\S+|www\.\S+"),
    (
        r"\b(how long|for how many (days|weeks|months|years)|what duration|how soon)\b",
        rf"(\b\d+(?:[.,]\d+)?|{NUMBER_WORDS})[ -]{TIME_UNIT}\b",
    ),
    (
        r"\b(dose|dosage|how much .* (given|receive|take))\b",
        r"\b\d[\d,.]*\s*(mg|g|µg|mcg|ml|mL|units?|IU|cells|mg/kg|mg/m2|per kilogram)\b",
    ),
    (
        r"\b(when|what year|which year|what date|which date|what month|how long ago)\b",
        r"\b(1[89]\d\d|20\d\d)\b|\b(January|February|March|April|May|June|July|August|September|October|"
        r"November|December)\b|\b\d{4}-\d{2}-\d{2}\b",
    ),
    (
        r"\b(how many|how much|how old|what age|average age|mean age|median age|what percentage|what proportion|"
        r"what fraction|how often|number of|what is the rate|how large|how big)\b",
        NUMBER + "|" + NUMBER_WORDS,
    ),
    (
        r"\b(who|whom|whose|which (professor|researcher|scientist|author|doctor|team|group))\b",
        r"\b(Professor|Prof\.|Dr\.|Mr\.|Ms\.|Mrs\.)\s|\b[A-Z][a-z]+ [A-Z][a-z]+\b|\bet al\b|\bteam\b",
    ),
    (
        r"\b(why|what reason|for what reason|what caused|what causes|how come|rationale)\b",
        r"\b(because|due to|since|as a result|therefore|thus|so that|caused by|leads? to|owing to|reasons?|"
        r"in order to)\b",
    ),
    (
        r"\b(where|which (country|countries|city|university|hospital|institution|center|centre))\b",
        r"\b(University|Hospital|Institute|Center|Centre|Clinic|College)\b|\b(in|at|from) [A-Z][a-z]+",
    ),
]
ASKS = [(re.compile(asks, re.I), re.compile(answer)) for asks, answer in ASKS]
# A sentence that leans on the one before it ("This ...", "They ...") is quoted with it.
LEANS_BACK = re.compile(r"^(this|these|that|those|it|they|their|such|however|moreover|also|in addition)\b", re.I)

# Weights of the sentence score, set on the evaluation set (see README: evaluation).
W_DENSE, W_LEXICAL, W_KIND, W_PASSAGE = 0.40, 0.30, 0.30, 0.15
HEADING = 0.5  # a title or heading names a topic; it rarely answers a question about it
MIN_SENTENCE_WORDS = 3
SHORTLIST = 8  # sentences embedded per question; at 6 or fewer the evaluation hit rate drops (0.86 -> 0.84)
SECOND_SENTENCE = 0.88  # a further sentence is quoted when it scores this close to the best


@dataclass
class Sentence:
    passage: int
    start: int  # offset in the passage text
    end: int
    text: str
    dense: float = 0.0
    lexical: float = 0.0
    kind: float = 0.0
    weight: float = 1.0  # less for headings and fragments
    score: float = 0.0


def asked_kind(question: str) -> re.Pattern | None:
    """The pattern of what the question asks for, or None when it asks for nothing specific."""
    return next((answer for asks, answer in ASKS if asks.search(question)), None)


def idf_weights(question: str, store: Store) -> dict[str, float]:
    """BM25's inverse document frequency of each question term over the whole index."""
    wanted = list(dict.fromkeys(terms(question)))
    frequencies, total = store.document_frequencies(wanted)
    total = max(total, 1)
    return {t: math.log(1 + (total - frequencies.get(t, 0) + 0.5) / (frequencies.get(t, 0) + 0.5)) for t in wanted}


def split_sentences(passages: list[Passage]) -> list[Sentence]:
    """The sentences of the passages, each once even where chunks overlap."""
    seen: set[tuple[str, int]] = set()
    out = []
    for index, passage in enumerate(passages):
        for start, end in sentence_spans(passage.text):
            key = (passage.document_id, passage.start + start)
            if key in seen:
                continue
            seen.add(key)
            out.append(Sentence(index, start, end, passage.text[start:end]))
    return out


def score_sentences(
    question: str,
    context: str,
    query_vector: np.ndarray,
    passages: list[Passage],
    embedder: Embedder,
    store: Store,
) -> list[Sentence]:
    """Every sentence of the passages, scored as an answer to the question, best first.

    `context` is what the conversation was about (for follow-ups); it counts for less than the
    question itself.
    """
    sentences = split_sentences(passages)
    if not sentences:
        return []
    idf = idf_weights(question, store)
    context_idf = {t: w * 0.5 for t, w in idf_weights(context, store).items() if t not in idf} if context else {}
    weights = {**context_idf, **idf}
    total = sum(weights.values()) or 1.0
    kind = asked_kind(question)
    for sentence in sentences:
        passage = passages[sentence.passage]
        words = set(terms(sentence.text))
        sentence.lexical = sum(w for t, w in weights.items() if t in words) / total
        sentence.kind = float(bool(kind.search(sentence.text))) if kind else 0.0
        short = len(sentence.text.split()) < MIN_SENTENCE_WORDS and not sentence.kind
        sentence.dense = passage.dense  # until the sentence itself is embedded
        sentence.weight = (0.5 if short else 1.0) * (HEADING if is_heading(sentence.text, passage) else 1.0)
        sentence.score = _score(sentence, passage)
    # Embedding is the costly part: only the sentences that already look best are embedded, and
    # the rest stay behind them (still there as neighbours a chosen sentence may lean on).
    ranked = sorted(sentences, key=lambda s: -s.score)
    shortlist, rest = ranked[:SHORTLIST], ranked[SHORTLIST:]
    vectors = embedder.encode_recent([s.text for s in shortlist])  # quoted sentences recur across questions
    for sentence, similarity in zip(shortlist, vectors @ query_vector, strict=True):
        sentence.dense = float(similarity)
        sentence.score = _score(sentence, passages[sentence.passage])
    for sentence in rest:
        sentence.score = -1.0
    return sorted(sentences, key=lambda s: -s.score)


def _score(sentence: Sentence, passage: Passage) -> float:
    return sentence.weight * (
        W_DENSE * sentence.dense + W_LEXICAL * sentence.lexical + W_KIND * sentence.kind + W_PASSAGE * passage.score
    )


def is_heading(text: str, passage: Passage) -> bool:
    """A Markdown heading, or the document's title (or the start of it) repeated in its text."""
    text = text.strip().rstrip(".:")
    title = passage.title.strip().lower()
    return text.startswith("#") or (bool(title) and title.startswith(text.lower()))


def support(best: Sentence, passages: list[Passage]) -> float:
    """How well the documents support an answer: the best sentence's meaning, words and kind, and
    its passage's meaning (weights set on the evaluation set)."""
    return 0.7 * best.dense + 0.3 * best.lexical + 0.1 * best.kind + 0.3 * passages[best.passage].dense


def choose(sentences: list[Sentence], limit: int) -> list[Sentence]:
    """The best sentence, any that score nearly as well, and a neighbour that the best leans on."""
    best = sentences[0]
    chosen = [best]
    previous = _previous(best, sentences)
    if previous and (LEANS_BACK.match(best.text) or len(best.text.split()) < 6 or previous.text.endswith(":")):
        chosen.insert(0, previous)
    for s in sentences[1:]:
        if len(chosen) >= limit:
            break
        if s.score >= SECOND_SENTENCE * best.score and all(s.text != c.text for c in chosen):
            chosen.append(s)
    return chosen[:limit]


def _previous(sentence: Sentence, sentences: list[Sentence]) -> Sentence | None:
    before = [s for s in sentences if s.passage == sentence.passage and s.end <= sentence.start]
    return max(before, key=lambda s: s.start) if before else None


def answer_from_passages(
    question: str,
    passages: list[Passage],
    query_vector: np.ndarray,
    embedder: Embedder,
    store: Store,
    *,
    threshold: float,
    max_sentences: int,
    context: str = "",
) -> Answer:
    """A verbatim, cited answer from the passages, or a refusal showing them as related reading."""
    if not passages:
        return Answer(text=f"{REFUSAL} There are no documents to search yet.", refused=True)
    sentences = score_sentences(question, context, query_vector, passages, embedder, store)
    if not sentences or support(sentences[0], passages) < threshold:
        best_quote: dict[int, str] = {}
        for s in sentences:
            best_quote.setdefault(s.passage, s.text)
        citations = [Citation.of(i + 1, p, best_quote.get(i, "")) for i, p in enumerate(passages[:3])]
        return Answer(text=f"{REFUSAL} {RELATED}", citations=citations, refused=True)

    chosen = choose(sentences, max_sentences)  # best first; a sentence it leans on just before it
    numbers: dict[int, int] = {}
    quotes: dict[int, list[str]] = {}
    parts = []
    for s in chosen:
        n = numbers.setdefault(s.passage, len(numbers) + 1)
        quotes.setdefault(s.passage, []).append(s.text)
        parts.append(f"{s.text} [{n}]")
    citations = [Citation.of(n, passages[i], " ".join(quotes[i])) for i, n in numbers.items()]
    text = " ".join(parts)
    notes = []
    if any(c.flagged for c in citations):
        text = f"{FLAG_WARNING}\n\n{text}"
        notes.append(FLAG_WARNING)
    return Answer(text=text, citations=citations, notes=notes)

