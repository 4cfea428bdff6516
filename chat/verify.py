"""A language model's reply -> an Answer whose every citation was checked against its passage.

1. Markers: every `[n]` must name a passage that was sent; others are removed and reported.
2. Sentences: each sentence that makes a claim is checked against the passages it cites (or,
   uncited, against all passages): its meaning must be close to a sentence of the passage, its
   words mostly found there, and every number in it must appear there. A sentence that fails is
   kept but marked "⚠ unsupported" in the text and `unsupported` in the API.
3. Quotes: each citation quotes, verbatim, the passage sentences that best support the claims
   citing it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from chat.compose import FLAG_WARNING, REFUSAL, quote, related_reading
from ingest.chunk import sentence_spans
from studychat.embedder import Embedder
from studychat.schema import Answer, CheckedSentence, Citation, Passage
from studychat.text import content_words, terms, terms_among

UNSUPPORTED_MARK = "⚠ unsupported"

# Support thresholds, set on 11 true paraphrases and 11 false claims about the seed article with
# the bundled all-MiniLM-L6-v2, comparing each claim with the best sentence, sentence pair or
# clause of the text. True claims scored 0.57-0.96 cosine and held 67-100% of their content words;
# false but on-topic ones ("approved by the FDA", "caused by a virus") reached 0.68 cosine, so
# cosine alone cannot separate them. The support score, the mean of cosine and word coverage, put
# the true claims at 0.70-0.96 and the false ones at 0.17-0.60: a claim needs support >=
# MIN_SUPPORT and cosine >= MIN_SIMILARITY (it is about something the passage says). Numbers are
# checked exactly on top, since embeddings barely see them. A negation ("most patients relapsed")
# passes both signals; the `eval/` set is the place to measure and tune this further.
MIN_SIMILARITY = 0.45
MIN_SUPPORT = 0.65
MIN_CLAIM_WORDS = 3  # shorter sentences without numbers ("In short:") claim nothing to check

# "[1]", "[1, 3]", "[1-2]", "[passage 2]"
MARKER = re.compile(r"\[\s*((?:passage\s*)?\d+(?:\s*[-–,;]\s*(?:passage\s*)?\d+)*)\s*\]", re.IGNORECASE)
# Markers written after the full stop ("... fever. [1]") belong to the sentence before it.
MARKERS_AFTER_STOP = re.compile(r"([.!?])((?:\s*\[\d+(?:,\s*\d+)*\])+)")
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
NUMBER_WORDS = {
    w: str(i)
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty".split()
    )
} | {"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80", "ninety": "90"}
# "one" too often means "a" ("one of the patients") to be checked as a number in a claim.
CLAIM_NUMBER_WORDS = {w: n for w, n in NUMBER_WORDS.items() if w not in ("zero", "one")}


CLAUSE = re.compile(r"[,;:]\s+")
MIN_CLAUSE_WORDS = 4


@dataclass
class _Window:
    """Passage text a claim is compared with; `start`/`end` is the span quoted when it fits best."""

    passage: int  # index into the passages
    start: int
    end: int
    text: str


def numbers_in(text: str, words: dict[str, str] = NUMBER_WORDS) -> set[str]:
    """The numbers written in `text`, normalised ("1,000" -> "1000", "05" -> "5", "five" -> "5")."""
    found = set()
    for match in NUMBER.finditer(text):
        value = match.group(0)
        if re.fullmatch(r"\d{1,3}(,\d{3})+", value):
            value = value.replace(",", "")
        value = value.replace(",", ".")  # a decimal comma
        if "." in value:
            whole, _, fraction = value.partition(".")
            value = (whole.lstrip("0") or "0") + ("." + fraction.rstrip("0") if fraction.rstrip("0") else "")
        else:
            value = value.lstrip("0") or "0"
        found.add(value)
    for word in re.findall(r"[a-z]+", text.lower()):
        if word in words:
            found.add(words[word])
    return found


def fix_markers(reply: str, count: int) -> tuple[str, list[int]]:
    """The reply with markers normalised to `[n]` and those naming no passage (1..count) removed,
    and the numbers removed."""
    removed: list[int] = []

    def rewrite(match: re.Match) -> str:
        numbers = []
        for item in re.split(r"[,;]", match.group(1)):
            bounds = [int(x) for x in re.findall(r"\d+", item)]
            span = range(bounds[0], bounds[-1] + 1) if len(bounds) == 2 and bounds[0] <= bounds[1] else bounds
            numbers.extend(span)
        kept = []
        for n in numbers:
            if 1 <= n <= count:
                kept.append(n)
            elif n not in removed:
                removed.append(n)
        return "".join(f"[{n}]" for n in dict.fromkeys(kept))

    text = MARKER.sub(rewrite, reply)
    text = re.sub(r"[ \t]+([.,;:!?])", r"\1", text)  # "fever [9]." -> "fever ." -> "fever."
    text = re.sub(r"[ \t]{2,}", " ", text)
    text = MARKERS_AFTER_STOP.sub(lambda m: f" {m.group(2).strip()}{m.group(1)}", text)
    text = re.sub(r"(\S)\[", r"\1 [", text).replace("] [", "][")
    return text.strip(), removed


def is_refusal(text: str) -> bool:
    """Whether the reply says, in the prompt's fixed words, that the passages do not answer."""
    phrase = REFUSAL.rstrip(".").lower()
    return phrase in " ".join(text.lower().split())


def answer_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of the sentences of a reply; every line break also ends one (lists, paragraphs)."""
    spans = []
    for line in re.finditer(r"[^\n]+", text):
        for start, end in sentence_spans(line.group(0)):
            spans.append((line.start() + start, line.start() + end))
    return spans


def check_answer(
    reply: str,
    passages: list[Passage],
    embedder: Embedder,
    query_vectors: np.ndarray,
) -> Answer | None:
    """The checked Answer for a model's reply over `passages` (numbered from 1 as sent).

    None when the reply cites no passage at all and does not decline: such an answer cannot be
    checked, and the caller shows the offline answer instead.
    """
    text, removed = fix_markers(reply, len(passages))
    notes = [f"Removed citation [{n}]: no passage {n} was given to the model." for n in removed]
    spans = answer_sentences(text)
    cited_anywhere = any(MARKER.search(text[s:e]) for s, e in spans)
    if is_refusal(text) and not cited_anywhere:
        return related_reading(passages, query_vectors, notes)
    if not cited_anywhere:
        return None

    windows = _windows(passages)
    claims: list[tuple[int, int, list[int], str]] = []  # span, cited passage numbers, claim text
    for start, end in spans:
        sentence = text[start:end]
        cited = [int(n) for n in re.findall(r"\[(\d+)\]", sentence)]
        claim = re.sub(r"\s+([.,;:!?])", r"\1", " ".join(MARKER.sub(" ", sentence).split()))
        if cited or len(content_words(claim)) >= MIN_CLAIM_WORDS or numbers_in(claim, CLAIM_NUMBER_WORDS):
            claims.append((start, end, list(dict.fromkeys(cited)), claim))
    vectors = embedder.encode([c[3] for c in claims] + [w.text for w in windows])
    claim_vectors, window_vectors = vectors[: len(claims)], vectors[len(claims) :]

    checked: list[CheckedSentence] = []
    quotes: dict[int, list[tuple[int, int]]] = {}  # passage number -> spans of its supporting text
    unsupported_cited: set[int] = set()
    flagged_ends = []
    for (_, end, cited, claim), vector in zip(claims, claim_vectors, strict=True):
        pool = [i for i, w in enumerate(windows) if not cited or w.passage + 1 in cited]
        similarity, best = 0.0, None
        if pool:
            scores = window_vectors[pool] @ vector
            similarity, best = float(scores.max()), windows[pool[int(scores.argmax())]]
        if cited:
            source_text = " ".join(passages[n - 1].text for n in cited)
        else:  # an uncited claim must still be supported by some passage that was sent
            source_text = passages[best.passage].text if best is not None else ""
        coverage = _coverage(claim, source_text)
        missing = sorted(numbers_in(claim, CLAIM_NUMBER_WORDS) - numbers_in(source_text))
        supported = (
            best is not None
            and similarity >= MIN_SIMILARITY
            and (similarity + coverage) / 2 >= MIN_SUPPORT
            and not missing
        )
        checked.append(CheckedSentence(claim, cited, not supported, round(similarity, 4), missing))
        if not supported:
            flagged_ends.append(end)
            unsupported_cited.update(cited)
        for n in cited:  # the best supporting text of each cited passage becomes its quote
            own = [i for i in pool if windows[i].passage == n - 1]
            if own:
                window = windows[max(own, key=lambda i: float(window_vectors[i] @ vector))]
                quotes.setdefault(n, []).append((window.start, window.end))

    for end in sorted(flagged_ends, reverse=True):
        text = f"{text[:end]} ({UNSUPPORTED_MARK}){text[end:]}"
    citations = [
        Citation.of(
            n,
            passages[n - 1],
            quote(passages[n - 1], quotes[n]),
            unsupported=n in unsupported_cited,
        )
        for n in quotes
    ]
    if flagged_ends:
        count = len(flagged_ends)
        notes.append(
            f"{count} sentence{'s' if count > 1 else ''} not supported by the cited passages "
            f"{'are' if count > 1 else 'is'} marked '{UNSUPPORTED_MARK}'."
        )
    if any(c.flagged for c in citations):
        text = f"{FLAG_WARNING}\n\n{text}"
        notes.append(FLAG_WARNING)
    return Answer(text=text, citations=citations, notes=notes, sentences=checked)


def _windows(passages: list[Passage]) -> list[_Window]:
    """Each sentence of each passage, each pair of adjacent sentences (a claim may join two), and
    each longer clause of a sentence (a claim may restate one clause of a long sentence, whose
    embedding the rest would dilute); a clause is quoted as its whole sentence."""
    windows = []
    for index, passage in enumerate(passages):
        text = passage.text
        spans = sentence_spans(text) or [(0, len(text))]
        for i, (start, end) in enumerate(spans):
            windows.append(_Window(index, start, end, text[start:end]))
            if i + 1 < len(spans):
                windows.append(_Window(index, start, spans[i + 1][1], text[start : spans[i + 1][1]]))
            clauses = [c for c in CLAUSE.split(text[start:end]) if len(c.split()) >= MIN_CLAUSE_WORDS]
            if len(clauses) > 1:
                windows.extend(_Window(index, start, end, clause) for clause in clauses)
    return windows


def _coverage(claim: str, source: str) -> float:
    """The share of the claim's content-word stems that the source text holds."""
    wanted = terms(claim)
    if not wanted:
        return 1.0
    have = terms_among(source, wanted)
    return sum(1 for t in wanted if t in have) / len(wanted)
