"""The answer the user sees, from the answer model's choice among the candidate quotes.

No language model: every sentence of an answer is copied verbatim from a cited passage. The
fitted answer model (`chat.fitted.AnswerModel`) gives each candidate quote (`chat.extractive`)
the probability that quoting it answers the question; its calibrated confidence in the best one
decides the outcome: stated, tentative (shown as the closest statement the documents hold), or
declined with the nearest passages as related reading.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from chat.candidates import ANSWER_FEATURES, WHOLE_STUDY, Candidate
from chat.extractive import candidate_quotes
from chat.fitted import Models, relevance_row
from chat.grounding import DOCUMENT_WORDS
from chat.sentences import MIN_SENTENCE_WORDS, Sentence, quotable, split_sentences
from studychat.marks import doc_marks
from studychat.schema import TENTATIVE, Answer, Citation, Passage
from studychat.store import Store
from studychat.text import END_MARKS, content_words

REFUSAL = "The documents do not answer this question."
RELATED = "The closest passages are shown as related reading."
FLAG_WARNING = (
    "Warning: a cited passage contains text that reads like instructions to an assistant. "
    "It is quoted as document text, not followed."
)


def answer_from_passages(
    question: str,
    passages: list[Passage],
    query_vectors: np.ndarray,
    store: Store,
    *,
    max_quote_chars: int,
    context: str = "",
    said: str = "",
    last_answer: str = "",
    reserve: Sequence[Passage] = (),
    models: Models | None = None,
) -> Answer:
    """A verbatim, cited answer from the passages: stated, tentative (the closest statement, shown
    as such) or declined with the passages as related reading, as the fitted answer model decides
    (`chat.fitted.AnswerModel`): declined when its relevance model says the documents are not
    about the question, else stated or tentative by its calibrated confidence in its best quote.

    When the question names no document and the best quote of another document is stated with
    confidence too, the answer quotes each document under its title instead of choosing one."""
    model = (models or Models()).answer
    if not passages:
        return Answer(text=f"{REFUSAL} There are no documents to search yet.", refused=True, confidence=0.0)
    found = candidate_quotes(
        question, passages, query_vectors, store, context=context, said=said, last_answer=last_answer, reserve=reserve
    )
    if not found.quotes or model is None:
        return related_reading(passages, query_vectors)
    rows = np.array([c.row for c in found.quotes])
    scores = model.ranker.scores(rows)
    order = np.argsort(-scores, kind="stable")
    index = chosen(rows, scores)
    best, best_score = found.quotes[index], float(scores[index])
    relevance = float(model.relevance.probability(relevance_row(rows, scores))[0])
    confidence = model.confidence(best_score, relevance)
    signals = {"score": best_score, "relevance": relevance, "confidence": confidence}
    if relevance < model.relevance.threshold and not about_documents(question, best.row):
        reason = f"They never mention {', '.join(found.unknown)}." if found.unknown else ""
        refusal = related_reading(passages, query_vectors, reason=reason)
        refusal.confidence, refusal.signals = confidence, signals
        return refusal
    tentative = confidence < model.confident
    quotes = [best]
    named = any(c.row[NAMED] or c.row[FOLLOWED] for c in found.quotes)
    if not tentative and not named and not best.row[SELF]:
        other = next((i for i in order if found.quotes[i].document_id != best.document_id), None)
        if other is not None and model.confidence(float(scores[other]), relevance) >= model.confident:
            quotes.append(found.quotes[other])
    answer = quoted(quotes, found.read, max_quote_chars, titled=len(quotes) > 1, tentative=tentative)
    answer.confidence, answer.signals = confidence, signals
    return answer


NAMED, FOLLOWED = ANSWER_FEATURES.index("named_document"), ANSWER_FEATURES.index("followed_document")
SELF = ANSWER_FEATURES.index("self_statement")


def chosen(rows: np.ndarray, scores: np.ndarray) -> int:
    """The candidate an answer quotes, of `rows` (n, len(ANSWER_FEATURES)) and the ranker's
    `scores` (n,): a line where a document states what the question asks of it (its title,
    authors, date), else the best by the ranker."""
    statements = np.flatnonzero(rows[:, SELF] > 0)
    return int(statements[0]) if len(statements) else int(np.argmax(scores))


def about_documents(question: str, row: np.ndarray) -> bool:
    """Whether a question is about the documents by construction, and so never declined: it asks
    a document about itself and the quote (its `row`) is where the document states it, or it asks
    about the study as a whole (`about_the_study`)."""
    return bool(row[SELF]) or about_the_study(question)


# Words that name the study a question is asked of, not a subject: "the treatment", "the main result"
STUDY_WORDS = frozenset("treatment treatments therapy intervention main key overall primary".split())


def about_the_study(question: str) -> bool:
    """Whether `question` asks about the documents' study as a whole and names nothing else: each
    of its content words points at a document ("study", "paper": `chat.grounding.DOCUMENT_WORDS`),
    at the study itself (`STUDY_WORDS`) or at what a study is about or found
    (`chat.candidates.WHOLE_STUDY`). "What was this study about?", "What is the main finding?",
    "Was the treatment safe?" are about the documents by construction: they are answered from the
    closest statement, tentatively unless the answer model is confident, never declined as if
    the documents were about something else."""
    words = content_words(question)
    return bool(WHOLE_STUDY.search(question)) and all(
        w in DOCUMENT_WORDS or w in STUDY_WORDS or WHOLE_STUDY.fullmatch(w) for w in words
    )


def quoted(
    chosen: list[Candidate], read: list[Passage], max_chars: int, titled: bool = False, tentative: bool = False
) -> Answer:
    """The answer that quotes the `chosen` candidates in turn, each under its document's title
    when `titled`, opening with `TENTATIVE` when `tentative`: each verbatim run of a passage cited
    on its own, a quote starting at its first word (no run of reference marks before it) and cut
    at a word with "…" past `max_chars`."""
    citations: list[Citation] = []
    parts = []
    for candidate in chosen:
        spans: dict[int, list[tuple[int, int]]] = {}
        for index, start, end in candidate.spans:
            spans.setdefault(index, []).append((start + leading_marks(read[index].text[start:end]), end))
        if titled:
            parts.append(f"In “{read[candidate.spans[0][0]].title}”:")
        for index, found in spans.items():
            for a, b in runs(read[index], found, lines=True):  # each run is written on one line
                n = len(citations) + 1
                text = read[index].text[a:b].strip()
                citations.append(Citation.of(n, read[index], text))
                parts.append(f"{shortened(doc_marks(' '.join(text.split())), max_chars)} [{n}]")
    text, notes = warned(" ".join([TENTATIVE, *parts] if tentative else parts), citations)
    return Answer(text=text, citations=citations, notes=notes, tentative=tentative)


def shortened(text: str, limit: int) -> str:
    """`text`, or its first `limit` characters cut at a word and ended with "…"."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    return (cut[: cut.rfind(" ")] if " " in cut else cut).rstrip(" ,;:") + "…"


def runs(passage: Passage, spans: list[tuple[int, int]], lines: bool = False) -> list[tuple[int, int]]:
    """The quoted sentences of one passage as verbatim runs of its text, in passage order: sentences
    next to each other (only white space between) make one run. With `lines`, a line of its own
    with no end mark (a heading, a line of a scraped page without full stops) ends its run: written
    on one line with the next, it would read as one run-on sentence ("... strategy Theoretically, ...")."""
    found: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if found and _reads_on(passage.text[found[-1][0] : found[-1][1]], passage.text[found[-1][1] : start], lines):
            found[-1] = (found[-1][0], max(found[-1][1], end))
        else:
            found.append((start, end))
    return found


def _reads_on(run: str, gap: str, lines: bool) -> bool:
    """Whether a sentence `gap` after `run` reads on in the same run: only white space between,
    and (with `lines`) no line break after a line that has no end mark."""
    return not gap.strip() and not (lines and "\n" in gap and not run.rstrip().endswith(END_MARKS))


def quote(passage: Passage, spans: list[tuple[int, int]]) -> str:
    """The quoted sentences of one passage in passage order, each once: sentences next to each
    other as one verbatim run of the passage, separate runs joined by a space."""
    return " ".join(passage.text[s:e].strip() for s, e in runs(passage, spans))


def related_reading(
    passages: list[Passage], query_vectors: np.ndarray, notes: list[str] | None = None, reason: str = ""
) -> Answer:
    """A refusal that shows the three best passages that do not overlap (`apart`) as related
    reading, each quoted for its sentence nearest the question, of at least `MIN_SENTENCE_WORDS`
    words where it has one (a bare label such as "Original Source:" is near everything and says
    nothing); `reason` says why, when it is known."""

    def nearness(s: Sentence) -> tuple[bool, float]:
        return len(s.text.split()) >= MIN_SENTENCE_WORDS, s.topic

    shown = apart(passages, 3)
    nearest: dict[int, Sentence] = {}
    for s in quotable(split_sentences(shown, query_vectors), shown):
        if s.passage not in nearest or nearness(s) > nearness(nearest[s.passage]):
            nearest[s.passage] = s
    citations = [Citation.of(i + 1, p, nearest[i].text if i in nearest else "") for i, p in enumerate(shown)]
    text, notes = warned(" ".join(t for t in (REFUSAL, reason, RELATED) if t), citations, notes or [])
    return Answer(text=text, citations=citations, refused=True, notes=notes)


def apart(passages: list[Passage], n: int) -> list[Passage]:
    """The first `n` of `passages` (best first) that share no text with a better one: a passage
    read with the chunks either side of it overlaps its neighbours', and related reading that
    shows the same paragraphs twice shows less. (`chat.retrieve.drop_overlapping` is its twin at
    half the text; merging them changes feature code, `eval.fit_answer.FEATURE_CODE`, so waits for
    the next refit.)"""
    kept: list[Passage] = []
    for p in passages:
        if len(kept) == n:
            break
        end = p.start + len(p.text)
        if not any(k.document_id == p.document_id and k.start < end and p.start < k.start + len(k.text) for k in kept):
            kept.append(p)
    return kept


def warned(text: str, citations: list[Citation], notes: Sequence[str] = ()) -> tuple[str, list[str]]:
    """(text, notes) of an answer, the warning first in both when a cited passage reads like
    instructions to an assistant."""
    if any(c.flagged for c in citations):
        return f"{FLAG_WARNING}\n\n{text}", [*notes, FLAG_WARNING]
    return text, list(notes)


# Reference marks, footnote numbers and bracketed citations before a sentence's first word
LEADING_MARKS = re.compile(
    r"^(?:\s*(?:\[\d+(?:[-–,]\s*\d+)*\]|\(\d+(?:[-–,]\s*\d+)*\)|⁽[⁰¹²³⁴-⁹]+⁾|[⁰¹²³⁴-⁹]+|\d{1,3}(?=\s+[A-Z])))+\s*"
)


def leading_marks(text: str) -> int:
    """How many characters of reference marks open `text` ("[8] [9] 14 Additionally ..." -> up to "Additionally")."""
    found = LEADING_MARKS.match(text)
    return found.end() if found and found.end() < len(text) else 0
