"""Passages -> the candidate quotes an answer is chosen from, each with its features.

Read for a question: the shown passages, the reserve, and the main document's lead, conclusion
and passages stating the kind of thing asked. Their sentences and figures come from
`chat.sentences`; here each is also marked for whether it names what the question asks about
(`chat.grounding`), what the question names that no document mentions is found, and the
candidates and their rows are built (`chat.candidates`); `chat.compose` answers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from chat.candidates import (
    CONCLUSION_HEADING,
    WHOLE_STUDY,
    Candidate,
    QuestionFacts,
    Unit,
    bigrams,
    build,
    question_form,
    statement,
)
from chat.document_questions import DocumentQuestion, asks_about_document, document_meant, self_statement
from chat.grounding import Subject, instruction_sentences, leans_on_previous, names_subject, subject_of
from chat.kinds import ASKS, COUNTED, REQUIRED, asked_kind, without_asking
from chat.retrieve import stated_elsewhere
from chat.sentences import MIN_SENTENCE_WORDS, Sentence, quotable, score_sentences
from chat.wording import definitions, other_forms, spelled_out, with_other_forms
from studychat.marks import doc_marks
from studychat.schema import Passage
from studychat.store import Store
from studychat.text import content_words, terms

# What a question names: a word written with capitals or digits inside ("BLISS-LN", "CD19"), or a
# capitalised word after the first ("Schett", "Germany").
NAME = re.compile(r"(?<![\w-])(?:\w+[A-Z0-9][\w-]*|(?<=\s)[A-Z][\w-]+)")
MARKER = re.compile(r"\s*\[\d+\]")  # the citation mark after each quoted sentence of an answer
NAMING_CHUNKS = 1000  # a name found in more chunks than this picks out no document in particular
# A sentence that leans on the one before it ("This ...", "They ...") is quoted with it.
LEANS_BACK = re.compile(r"^(this|these|that|those|it|they|their|such|however)\b", re.I)


def quoted_document(answer: str, store: Store) -> str | None:
    """The document that holds the sentences an earlier answer quoted, if any still does."""
    for quote in MARKER.split(answer):
        quote = " ".join(quote.split())
        if len(quote.split()) < MIN_SENTENCE_WORDS:
            continue
        found = store.passages([chunk_id for chunk_id, _ in store.search_lexical(quote, 3)])
        for passage in found.values():
            if quote in doc_marks(" ".join(passage.text.split())):
                return passage.document_id
    return None


def rare_words(text: str, common: frozenset[str]) -> list[str]:
    """The words of `text` outside `common` (the embedding model's vocabulary of everyday English):
    the names of drugs, diseases and the like ("hydroxychloroquine", "myeloma")."""
    if not common:
        return []
    return [w for w in dict.fromkeys(content_words(text)) if len(w) > 3 and w.isalpha() and w not in common]


def naming_documents(
    question: str, kind: tuple[str, re.Pattern] | None, passages: list[Passage], store: Store
) -> list[str]:
    """The passages' documents that name everything the question names ("BLISS-LN", "NORCAR-2",
    "Schett", "hydroxychloroquine") besides what it asks for ("DOI"), best passage's first; all of
    them when the question names nothing. A name found in more than `NAMING_CHUNKS` chunks names
    no document in particular and is left out."""
    documents = list(dict.fromkeys(p.document_id for p in passages))
    names = question_names(question, kind, store)
    frequencies, _ = store.document_frequencies([t for name in names for t in terms(name)])
    naming = set(documents)
    for name in names:
        if min((frequencies.get(t, 0) for t in terms(name)), default=0) <= NAMING_CHUNKS:
            naming &= store.documents_with(name, sorted(naming))
    return [d for d in documents if d in naming]


def question_names(question: str, kind: tuple[str, re.Pattern] | None, store: Store) -> list[str]:
    """What the question names besides what it asks for: its words written as names ("BLISS-LN",
    "Schett") and its rare words ("hydroxychloroquine", "lupus")."""
    question = without_asking(question, kind)
    return list(dict.fromkeys([*NAME.findall(question), *rare_words(question, store.embedder.vocabulary)]))


def _previous(sentence: Sentence, sentences: list[Sentence]) -> Sentence | None:
    before = [s for s in sentences if s.passage == sentence.passage and s.end <= sentence.start]
    return max(before, key=lambda s: s.start) if before else None


def never_mentioned(question: str, passages: list[Passage], store: Store) -> list[str]:
    """What the question names that no document mentions: documents that never mention the FDA
    cannot say what the FDA approved, nor documents that never mention hydroxychloroquine what
    its side effects are. Those names are the question's acronyms, and its rare words (outside
    the embedding model's vocabulary of common English); an everyday word the documents lack is
    more likely a paraphrase. A name still counts as mentioned when the documents hold another
    word for it (`SAME_THING`) or the passages spell the acronym out. (A misspelt name was read
    as the documents' word before: `chat.spelling`.)
    (Capitalised words are left alone: "Nature Medicine" may be written "Nat Med".)"""
    acronyms = list(dict.fromkeys(w for w in re.findall(r"\b[A-Z][A-Z0-9-]*[A-Z][\w-]*", question) if terms(w)))
    rare = rare_words(question, store.embedder.vocabulary)
    names = acronyms + [w for w in rare if w not in {a.lower() for a in acronyms}]
    if not names:
        return []
    forms = {name: terms(with_other_forms(name, {})) for name in names}
    frequencies, _ = store.document_frequencies([t for found in forms.values() for t in found])
    absent = [name for name in names if not any(frequencies.get(t) for t in forms[name])]
    return [name for name in absent if name not in acronyms or not any(spelled_out(name, p.text) for p in passages)]


def about_subject(subject: Subject, sentences: list[Sentence], passages: list[Passage]) -> list[Sentence]:
    """The sentences that name what the question asks about (`chat.grounding.names_subject`), by
    themselves, with the sentence they lean on (quoted with them), or in their document's title."""
    if not subject:
        return sentences
    defined = {acronym: long for p in passages for acronym, long in definitions(p.text).items()}
    kept = []
    for s in sentences:
        texts = [s.text]
        if s.asked is not None:
            texts.append(s.asked.text)
        previous = _previous(s, sentences)
        if previous is not None and leans_back(s, previous):
            texts.append(previous.text)
        if names_subject(subject, texts, passages[s.passage].title, defined):
            kept.append(s)
    return kept


def leans_back(sentence: Sentence, previous: Sentence) -> bool:
    """Whether a sentence is quoted with the one before it: it points back ("This ...", "They ..."),
    it is too short to stand alone, or the one before introduces it ("as follows:")."""
    return not previous.heading and (
        bool(LEANS_BACK.match(sentence.text))
        or leans_on_previous(sentence.text)
        or len(sentence.text.split()) < 6
        or previous.text.endswith(":")
    )


def document_statement(
    asked: DocumentQuestion, passages: list[Passage], store: Store, followed: str | None
) -> tuple[Passage, int, int] | None:
    """Where a document states what a question asks of it ("What is the title of this report?",
    "Who wrote it?"): (passage, start, end) of the line of the document meant
    (`chat.grounding.document_meant`); None when there is no such line, or it reads like
    instructions."""
    document = document_meant(asked, passages, store, followed)
    record = store.document(document) if document else None
    if record is None:
        return None
    journal = next(answer for name, _, answer in ASKS if name == "journal")
    found = self_statement(asked.attribute, record, store.document_chunks(document), journal)
    if found is None:
        return None
    passage, start, end = found
    if any(s < end and start < e for s, e in instruction_sentences(passage)):
        return None
    return found


@dataclass
class Candidates:
    """What a question's answer is chosen from: the candidate quotes, the passages they quote
    (`read`: the shown passages first), the names no document uses, and the passages shown."""

    quotes: list[Candidate]
    read: list[Passage]
    unknown: list[str]


def candidate_quotes(
    question: str,
    passages: list[Passage],
    query_vectors: np.ndarray,
    store: Store,
    *,
    context: str = "",
    said: str = "",
    last_answer: str = "",
    reserve: Sequence[Passage] = (),
) -> Candidates:
    """Every quote an answer may make, each with its row of `chat.candidates.ANSWER_FEATURES`.

    Read for them: the shown `passages`, the `reserve`, the passages of the main document that
    state the kind of thing the question asks for (a date, a DOI: such facts often stand in a
    header or reference list), and that document's lead and conclusion (what a study says of
    itself as a whole). Every store read happens here, once."""
    kind = asked_kind(question)
    followed = quoted_document(last_answer, store) if context and last_answer else None
    read = [*passages, *reserve]
    naming = naming_documents(question, kind, read, store)
    main = followed or (naming[0] if naming else passages[0].document_id)
    extra = stated_elsewhere(kind[1], main, passages, query_vectors, store) if kind else []
    extra += whole_document(main, [*read, *extra], query_vectors, store)
    read = [*passages, *extra, *(p for p in reserve if p.chunk_id not in {e.chunk_id for e in extra})]
    unknown = never_mentioned(question, read, store)
    counted = COUNTED.search(question)
    counting = bool(kind and kind[0] == "number" and counted and "patient" not in other_forms(counted[1]))
    asked_about = Subject((), "") if context else subject_of(question, without_asking(question, kind), counting)
    sentences = quotable(score_sentences(question, kind, context, query_vectors, read, store), read)
    sentences.sort(key=lambda s: (s.passage, s.start))
    named = frozenset(naming) if len(naming) < len({p.document_id for p in read}) else frozenset()
    facts = QuestionFacts(
        asks_kind=kind is not None,
        required=kind is not None and kind[0] in REQUIRED,
        whole_study=bool(WHOLE_STUDY.search(question)),
        unknown_names=len(unknown),
        known_share=known_share(question, store),
        words=len(content_words(question)),
        named=named,
        followed=followed,
        bigrams=frozenset(bigrams(question)),
        form=question_form(question),
        terms=frozenset(terms(question)),
    )
    kept = {id(s) for s in about_subject(asked_about, sentences, read)}
    positions = chunk_positions(read, store)
    units = [
        Unit(
            passage=s.passage,
            start=s.start,
            end=s.end,
            text=s.text,
            dense=s.dense,
            topic=s.topic,
            lexical=s.lexical,
            kind=bool(s.kind),
            heading=s.heading,
            said=bool(said) and doc_marks(" ".join(s.text.split())) in " ".join(said.split()),
            names_subject=id(s) in kept,
            position=positions.get(read[s.passage].chunk_id, 0.5),
            conclusion=bool(CONCLUSION_HEADING.search(read[s.passage].text[: s.start + 1])),
        )
        for s in sentences
    ]
    leans = [i > 0 and leans_back(sentences[i], sentences[i - 1]) for i in range(len(sentences))]
    quotes = build(units, read, len(passages), facts, leans)
    about_itself = asks_about_document(question)
    stated = document_statement(about_itself, read, store, followed) if about_itself else None
    if stated is not None:
        passage, start, end = stated
        read.append(passage)
        best = max(quotes, key=lambda c: c.row[0], default=None)
        quotes.append(statement(len(read) - 1, start, end, passage, best))
    return Candidates(quotes, read, unknown)


def known_share(question: str, store: Store) -> float:
    """The share of the question's content words (as the index stems them) that some chunk holds."""
    wanted = list(dict.fromkeys(t for w in content_words(question) for t in terms(w)))
    if not wanted:
        return 1.0
    frequencies, _ = store.document_frequencies(wanted)
    return sum(bool(frequencies.get(t)) for t in wanted) / len(wanted)


def whole_document(document_id: str, read: list[Passage], query_vectors: np.ndarray, store: Store) -> list[Passage]:
    """The document's first chunk and the first chunk that opens its conclusion or summary, when
    not already `read`: where a study says what it is about and what it found."""
    chunks = store.document_chunks(document_id)
    seen = {p.chunk_id for p in read}
    wanted = chunks[:1] + [c for c in chunks if CONCLUSION_HEADING.search(c.text)][:1]
    found = list({c.chunk_id: c for c in wanted if c.chunk_id not in seen}.values())
    store.load_sentences(found)
    for passage in found:
        if passage.vectors is not None:
            passage.dense = float((passage.vectors @ query_vectors[0]).max())
        passage.score = read[-1].score if read else 0.0
    return found


def chunk_positions(passages: list[Passage], store: Store) -> dict[str, float]:
    """Where each passage's chunk stands in its document: 0 for the first chunk, 1 for the last."""
    out = {}
    for document_id in dict.fromkeys(p.document_id for p in passages):
        ids = store.chunk_ids(document_id)
        for i, chunk_id in enumerate(ids):
            out[chunk_id] = i / max(1, len(ids) - 1)
    return out
