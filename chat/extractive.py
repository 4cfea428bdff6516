"""Passages -> an answer made only of sentences quoted from them, or a plain refusal.

No language model: every sentence of an answer is copied verbatim from a cited passage. A
sentence is chosen for how close its meaning is to the question (its vector, embedded at ingest,
against the question's), how much of the question's rarer words it holds (BM25-style weights from
the whole index), whether it holds the kind of thing the question asks for (a number, a date, a
person, a reason, a DOI...), and how well its passage ranked. A question is declined when the
best sentence has too little support, when it asks for a kind of thing no passage holds, or when
it names an acronym no document uses.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from chat.fitted import Models
from chat.grounding import (
    DocumentQuestion,
    Subject,
    asks_about_document,
    document_meant,
    documents_about,
    instruction_sentences,
    leans_on_previous,
    names_subject,
    never_named,
    self_statement,
    subject_of,
)
from chat.retrieve import PASSAGE_FEATURES, idf_weights, stated_elsewhere
from chat.wording import definitions, one_edit_apart, other_forms, spelled_out, with_other_forms
from studychat.marks import doc_marks
from studychat.schema import Answer, Citation, Passage
from studychat.store import Store
from studychat.text import STOP_WORDS, content_words, stem, terms, terms_among

REFUSAL = "The documents do not answer this question."
RELATED = "The closest passages are shown as related reading."
FLAG_WARNING = (
    "Warning: a cited passage contains text that reads like instructions to an assistant. "
    "It is quoted as document text, not followed."
)

# What a question asks for, and what a sentence that answers it holds. The first question pattern
# that matches decides, so the more specific kinds (a duration, a dose) come before a plain number.
# A kind marked required is one no other sentence can stand in for: documents that state no price
# do not answer "how much did it cost?", however much they say about the treatment.
MONTH = r"(January|February|March|April|May|June|July|August|September|October|November|December)"
# A number that is not part of a name ("NORCAR-2"), a year, or the day of a date ("August 5, 2021",
# "5 August"): an amount.
AMOUNT = rf"(?<![\w-])(?!(1[89]|20)\d\d\b)\d+(?:[.,]\d+)*(?!\d|,? (1[89]|20)\d\d\b| {MONTH})"
NUMBER = rf"{AMOUNT}\s*(?:%|percent|per cent)?"
PERCENT = rf"{AMOUNT}\s*(?:%|percent\b|per cent\b)"
NUMBER_WORDS = r"\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozen|hundred|thousand)\b"
TIME_UNIT = r"(seconds?|minutes?|hours?|days?|weeks?|months?|years?)"
DURATION = rf"(\b\d+(?:[.,]\d+)?|{NUMBER_WORDS})[ -]{TIME_UNIT}\b(?!-old)"  # "20-year-old" is an age
REQUIRED = {
    "doi": "a DOI",
    "url": "a web address",
    "money": "a price or sum of money",
    "company": "a company",
    "funding": "who funded it",
    "journal": "a journal",
    "dose": "a dose",
}
ASKS = [
    ("doi", r"\b(doi|digital object identifier)\b", r"\b10\.\d{4,9}/\S+"),
    ("url", r"\b(url|link|website|web address)\b", r"https?://\S+|www\.\S+"),
    (
        "funding",
        r"\b(who (funded|paid for|sponsored|financed)|funding|funder|funders|sponsors?|grants?)\b",
        r"(?i)\b(fund(ed|ing|s)?|funders?|grants?|sponsor\w*|financ\w*|supported by)\b",
    ),
    (
        "money",
        r"\b(cost|costs|price|priced|pay|paid|expensive|cheap|afford|reimburs\w*)\b",
        r"[$€£¥]\s?\d|\b\d[\d,.]*\s*(USD|EUR|GBP|CHF|dollars?|euros?|pounds?|million|billion)\b|\b(USD|EUR|GBP)\s?\d",
    ),
    (
        "company",
        r"\b(which|what) (company|companies|firm|manufacturer|pharmaceutical company|drug ?maker)\b",
        r"\b(Inc|Ltd|LLC|GmbH|AG|SA|plc|Corp|Corporation|Company|Pharma\w*|Biotech\w*|Therapeutics|Biosciences)\b",
    ),
    (
        "journal",
        r"\b(which|what) (journal|publication)\b|\bjournal\b|\bwhere (was|were|is|are)\b.*\bpublished\b",
        r"\b(Journal|Nature|Nat [A-Z][a-z]+|Lancet|Science|Cell|NEJM|N Engl J Med|JAMA|BMJ|PLOS|Blood)\b"
        r"|\b[A-Z][a-z]+\.? [A-Z][a-z]+\.? \(?(19|20)\d\d\b"  # a citation: "Nat Med (2022)", "Ann Rheum Dis 2021"
        # where a paper came out: "The results appeared in the journal Arthritis & Rheumatology"
        r"|\b(published|appeared|reported) (online )?in (the )?(journal )?[A-Z]",
    ),
    (
        "author",
        r"\b(who (wrote|authored|is the author|are the authors)|authors?\b|written by)",
        r"\b(Authors?|authors?|written by|et al)\b|\b[Bb]y (Dr\.? |Prof\.? )?[A-Z][a-z]+",
    ),
    (
        "deadline",  # a date something must happen by: "paid before 1 May"
        r"\b(deadline|due date|closing date|by when|until when|last day)\b",
        rf"\b(before|by|until|till|no later than|due( on| by)?)\s+(the\s+)?(\d{{1,2}}(st|nd|rd|th)?\s+{MONTH}"
        rf"|{MONTH}\s+\d{{1,2}}|{MONTH}|\d{{4}}-\d\d-\d\d|(1[89]|20)\d\d\b|end of|\w+day\b)",
    ),
    ("duration", r"\b(how long|for how many (days|weeks|months|years)|what duration|how soon)\b", DURATION),
    (
        "dose",
        r"\b(dose|dosage|how much .* (given|receive|take))\b",
        # an amount and its unit, a few words apart at most: "8 mg/kg", "2 million CAR T cells per kilogram",
        # "one million (1 x 10^6) CAR T cells per kilogram"
        rf"(?:{AMOUNT}|{NUMBER_WORDS}\s+(?:hundred|thousand|million|billion)\b)(\s*[x×]\s*10\^?\d+)?"
        r"(\s*\([^()]{1,30}\))?"  # the amount said again in brackets
        r"(\s+\S+){0,4}?\s*(?<![A-Za-z])"
        r"(mg|g|µg|mcg|ml|mL|units?|IU|cells|/kg|mg/m2|per kilogram)\b",
    ),
    (
        "date",
        r"\b(when|what year|which year|what date|which date|what month|how long ago)\b",
        # "when?" -- "after 8 weeks" answers too
        rf"\b(1[89]\d\d|20\d\d)\b|\b{MONTH}\b|\b\d{{4}}-\d{{2}}-\d{{2}}\b|{DURATION}",
    ),
    (
        "number",
        r"\b(how many|how much|how old|what age|average age|mean age|median age|what percentage|what proportion|"
        r"what fraction|how often|number of|rates?|incidence|prevalence|how large|how big)\b",
        NUMBER + "|" + NUMBER_WORDS,
    ),
    (
        "person",
        r"\b(who|whom|whose|which (professor|researcher|scientist|author|doctor|team|group))\b",
        r"\b(Professor|Prof\.|Dr\.|Mr\.|Ms\.|Mrs\.)\s|\b[A-Z][a-z]+ [A-Z][a-z]+\b|\bet al\b|\bteam\b",
    ),
    (
        "outcome",
        r"\bhow (did|do|does|was|were|is|are)\b.*\b(do|doing|fare|fared|respond|go|turn out|work)\b|\boutcomes?\b",
        r"(?i)\b(improv\w*|relie\w*|remission|respon\w*|recover\w*|recurrence|relapse\w*|cured?|better|worse|"
        r"succe\w*|fail\w*|side effects|surviv\w*|died)\b",
    ),
    (
        "reason",
        r"\b(why|what reason|for what reason|what caused|what causes|how come|rationale)\b",
        r"(?i)\b(because|due to|since|as a result|therefore|thus|so that|caused by|leads? to|owing to|reasons?|"
        r"in order to|explanations?|explains?)\b"
        # a cause or a purpose: "Sunlight can make the rash worse, so wear a sunscreen", "it can harm the child"
        r"|,\s*so\b|\b(can|may|might|could|will) (make|cause|trigger|harm|damage|prevent|protect|reduce)\b",
    ),
    (
        "place",
        r"\b(where|which (country|countries|city|university|hospital|institution|center|centre))\b",
        r"\b(University|Hospital|Institute|Center|Centre|Clinic|College)\b|\b(in|at|from) [A-Z][a-z]+",
    ),
]
ASKS = [(name, re.compile(asks, re.I), re.compile(answer)) for name, asks, answer in ASKS]
COUNTED = re.compile(r"\bhow many (?:of (?:the |their |these |those )?)?([a-z]+)", re.I)  # "How many countries ...?"
# What a question names: a word written with capitals or digits inside ("BLISS-LN", "CD19"), or a
# capitalised word after the first ("Schett", "Germany").
NAME = re.compile(r"(?<![\w-])(?:\w+[A-Z0-9][\w-]*|(?<=\s)[A-Z][\w-]+)")
NAMING_CHUNKS = 1000  # a name found in more chunks than this picks out no document in particular
MARKER = re.compile(r"\s*\[\d+\]")  # the citation mark after each quoted sentence
DOCUMENT_FACTS = {"doi", "url", "journal", "author"}  # what a document states about itself
# A sentence that leans on the one before it ("This ...", "They ...") is quoted with it.
LEANS_BACK = re.compile(r"^(this|these|that|those|it|they|their|such|however)\b", re.I)

# Weights of the sentence score, set on the evaluation set (see README: evaluation).
W_DENSE, W_LEXICAL, W_KIND, W_PASSAGE = 0.40, 0.30, 0.30, 0.15
# A sentence of a document the question is about counts for more: for a follow-up, the document
# the last answer quoted (what "they" most likely means); else one that names everything the
# question names ("anifrolumab", "TULIP-KIDNEY"), weaker evidence: a name may be spelled otherwise
# in the document that answers ("base-64" for "base64").
W_FOLLOWED, W_NAMED = 0.2, 0.1
HEADING = 0.5  # a title or heading names a topic; it rarely answers a question about it
ASKING = 0.5  # nor does a sentence that is itself a question ("Why did the trials fail?")
SAID = 0.5  # a sentence an earlier answer quoted
ANSWERED_WITHIN = 3  # sentences after a question in the text that may be its answer
MIN_SENTENCE_WORDS = 3
INSIDE_BREAK = re.compile(r"[.;]\s|;")  # a sentence break or semicolon inside a line: not a heading
HEADING_WORDS = 8  # the most words a line without an end mark may have to be taken for a heading
SECOND_SENTENCE = 0.85  # a further sentence is quoted when it scores this close to the best
# A best sentence that adds at most this many content words to the question's announces what the
# next one says ("NDV has a number of appealing qualities as a vaccine vector." for "What are the
# appealing qualities of the NDV vector?"), which is quoted with it. Measured on the benchmark's
# development questions (`python -m eval --suite covidqa`): answer hits 276 without, 279 / 281 / 282
# with 2 / 4 / 6 words, the mean answer 2 / 4 / 7 characters longer; the own set unchanged.
ANNOUNCING_WORDS = 4


# What the fitted refusal model weighs about the best sentence and the passages (see `confidence`).
# and, as the passage model weighed them, the best sentence's passage's `PASSAGE_FEATURES`.
# The passage's figures the refusal model weighs: not how close its second-best sentence is, which
# holds against a short document or a table's one row that answers (measured on the benchmark:
# without them as many unrelated questions are declined, within 0.02, cross-validated).
REFUSAL_PASSAGE_COLUMNS = [i for i, name in enumerate(PASSAGE_FEATURES) if not name.endswith("second_sentence")]
REFUSAL_FEATURES = (
    "sentence",
    "passage",
    "dense",
    "topic",
    "lexical",
    "kind",
    "asks_kind",
    *(f"passage_{PASSAGE_FEATURES[i]}" for i in REFUSAL_PASSAGE_COLUMNS),
)


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
    weight: float = 1.0  # less for headings and fragments
    score: float = 0.0
    # a question in the text just before this sentence; or, for one whose subject is a pronoun
    # ("It costs 85 euros"), itself read with the sentence before: what this one is about
    asked: Sentence | None = None
    heading: bool = False  # a heading ("Side effects"): it names a topic, it rarely answers a question


def asked_kind(question: str) -> tuple[str, re.Pattern] | None:
    """(name, pattern) of what the question asks for, or None when it asks for nothing specific.

    "How many countries ...?" asks for a number of countries: a number followed, within a few
    words, by "countries" ("107 sites in 21 countries"), or by another word for the counted thing
    ("How many people ...?" is answered by "448 adults"), or for people a percentage. A bare
    number does not answer it: "a 20-year-old woman" is no count of patients."""
    kind = next(((name, answer) for name, asks, answer in ASKS if asks.search(question)), None)
    counted = COUNTED.search(question)
    if kind and kind[0] == "number" and counted and counted.group(1).lower() not in STOP_WORDS:
        nouns = other_forms(counted.group(1))
        things = "|".join(re.escape(n) for n in sorted(nouns, key=len, reverse=True))
        # a few words may stand between, within one phrase: "26 of the 64 patients", not "17 months, all patients"
        count = rf"(?:{NUMBER}|{NUMBER_WORDS})(?:\s+[^\s,;:.()]+){{0,3}}?\s+(?:{things})(?!\w)"
        of_people = "patient" in nouns  # a share of patients is given as a percentage too
        kind = ("number", re.compile(rf"{count}|{PERCENT}" if of_people else count, re.I))
    return kind


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
    said: str,
    query_vectors: np.ndarray,
    passages: list[Passage],
    store: Store,
    about: str | None = None,
    subject: dict[str, float] | None = None,
) -> list[Sentence]:
    """Every sentence of the passages, scored as an answer to the question, best first.

    `kind` is what the question asks for (`asked_kind`); when `about` names a document, only its
    sentences count as stating it. `context` is what the conversation was about (for follow-ups);
    it counts for less than the question itself. `said` is what the answers so far said: a
    sentence quoted there already is not the news the next question asks for. Sentences of the
    `subject` documents, those the question is about, score more by as much as it says.
    """
    sentences = split_sentences(passages, query_vectors, kind)
    said = " ".join(said.split())
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
        passage = passages[sentence.passage]
        sentence.lexical = lexical(sentence.text)
        if sentence.asked:
            # The sentences just after a question in the text answer it ("Why did the trials
            # fail? ... The more common explanation is ..."): they match the user's question as
            # well as that question does.
            sentence.dense = max(sentence.dense, sentence.asked.dense)
            sentence.topic = max(sentence.topic, sentence.asked.topic)
            sentence.lexical = max(sentence.lexical, lexical(sentence.asked.text))
        states = kind is not None and about in (None, passage.document_id)
        sentence.kind = float(states and bool(kind[1].search(sentence.text)))
        short = len(sentence.text.split()) < MIN_SENTENCE_WORDS and not sentence.kind
        sentence.weight = (
            (0.5 if short else 1.0)
            * (HEADING if sentence.heading else 1.0)
            * (ASKING if sentence.text.rstrip().endswith("?") else 1.0)
            * (SAID if said and doc_marks(" ".join(sentence.text.split())) in said else 1.0)
        )
        sentence.score = _score(sentence, passage) + (subject or {}).get(passage.document_id, 0.0)
    return sorted(sentences, key=lambda s: -s.score)


def _score(sentence: Sentence, passage: Passage) -> float:
    return sentence.weight * (
        W_DENSE * sentence.dense + W_LEXICAL * sentence.lexical + W_KIND * sentence.kind + W_PASSAGE * passage.score
    )


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


def without_asking(question: str, kind: tuple[str, re.Pattern] | None) -> str:
    """The question without the words that ask for its kind: "the DOI of the NORCAR-2 paper" is
    about "the NORCAR-2 paper"."""
    if kind is None:
        return question
    return next(asks for name, asks, _ in ASKS if name == kind[0]).sub(" ", question)


def gives_a_document_fact(
    question: str, kind: tuple[str, re.Pattern] | None, best: Sentence, passages: list[Passage], store: Store
) -> bool:
    """Whether the best sentence gives what a question asks of a document it describes only in the
    document's own words: "Who wrote the original paper?" is answered by the reference list's
    authors, though a citation shares little meaning with the question. A question naming
    anything the document never mentions ("Who wrote Hamlet?") is not."""
    if kind is None or kind[0] not in DOCUMENT_FACTS or not best.kind:
        return False
    document = [passages[best.passage].document_id]
    return all(store.search_lexical(word, 1, document) for word in content_words(without_asking(question, kind)))


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


def support(best: Sentence, passages: list[Passage]) -> float:
    """How well the documents support an answer: the best sentence's meaning, words and kind, and
    its passage's meaning (weights set on the evaluation set)."""
    return 0.7 * best.topic + 0.3 * best.lexical + 0.1 * best.kind + 0.3 * passages[best.passage].dense


def refusal_features(best: Sentence, passages: list[Passage], kind: object, confidence: float) -> tuple[float, ...]:
    """`REFUSAL_FEATURES` for the best sentence: its score, the passage model's confidence, its
    meaning, words and kind, whether the question asks for a kind, and its passage's features as
    the passage model weighed them (zeros for a passage it did not rank)."""
    passage = passages[best.passage]
    ranked = (
        passage.features[REFUSAL_PASSAGE_COLUMNS]
        if passage.features is not None
        else np.zeros(len(REFUSAL_PASSAGE_COLUMNS))
    )
    return (
        best.score,
        confidence,
        best.dense,
        best.topic,
        best.lexical,
        best.kind,
        float(kind is not None),
        *map(float, ranked),
    )


def choose(
    sentences: list[Sentence], limit: int, among: list[Sentence] | None = None, question: str = ""
) -> list[Sentence]:
    """The best sentence, any that score nearly as well, a neighbour that the best leans on, and
    the next one when the best only announces it (`announces`); neighbours are found `among`
    these, when given: the sentences that may be quoted, not only those chosen from."""
    best = sentences[0]
    chosen = [best]
    quotable = among if among is not None else sentences
    previous = _previous(best, quotable)
    if previous and leans_back(best, previous):
        chosen.insert(0, previous)
    following = _next(best, quotable)
    if following and announces(best, question):
        chosen.append(following)
    for s in sentences[1:]:
        if len(chosen) >= limit:
            break
        if s.score >= SECOND_SENTENCE * best.score and all(s.text != c.text for c in chosen):
            chosen.append(s)
    return chosen[:limit]


def announces(sentence: Sentence, question: str) -> bool:
    """Whether a sentence says little the question does not (at most `ANNOUNCING_WORDS` content
    words of its own) and lacks the kind of thing it asks for: it restates the subject
    ("Baculoviruses have a number of advantages as vaccine vectors."), and what the question asks
    stands in the sentence after it. ("It must be registered for by 15 October." answers a
    question on a deadline in three words of its own.)"""
    own_words = set(terms(sentence.text)) - set(terms(question))
    return bool(question) and not sentence.kind and len(own_words) <= ANNOUNCING_WORDS


def _next(sentence: Sentence, sentences: list[Sentence]) -> Sentence | None:
    after = [s for s in sentences if s.passage == sentence.passage and s.start >= sentence.end]
    return min(after, key=lambda s: s.start) if after else None


def _previous(sentence: Sentence, sentences: list[Sentence]) -> Sentence | None:
    before = [s for s in sentences if s.passage == sentence.passage and s.end <= sentence.start]
    return max(before, key=lambda s: s.start) if before else None


def runs(passage: Passage, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The quoted sentences of one passage as verbatim runs of its text, in passage order: sentences
    next to each other (only white space between) make one run."""
    found: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if found and not passage.text[found[-1][1] : start].strip():
            found[-1] = (found[-1][0], max(found[-1][1], end))
        else:
            found.append((start, end))
    return found


def quote(passage: Passage, spans: list[tuple[int, int]]) -> str:
    """The quoted sentences of one passage in passage order, each once: sentences next to each
    other as one verbatim run of the passage, separate runs joined by a space."""
    return " ".join(passage.text[s:e].strip() for s, e in runs(passage, spans))


def never_mentioned(question: str, passages: list[Passage], store: Store) -> list[str]:
    """What the question names that no document mentions: documents that never mention the FDA
    cannot say what the FDA approved, nor documents that never mention hydroxychloroquine what
    its side effects are. Those names are the question's acronyms, and its rare words (outside
    the embedding model's vocabulary of common English); an everyday word the documents lack is
    more likely a paraphrase. A name still counts as mentioned when the documents hold another
    word for it (`SAME_THING`), the passages spell the acronym out, or it misspells an indexed word.
    (Capitalised words are left alone: "Nature Medicine" may be written "Nat Med".)"""
    acronyms = list(dict.fromkeys(w for w in re.findall(r"\b[A-Z][A-Z0-9-]*[A-Z][\w-]*", question) if terms(w)))
    rare = rare_words(question, store.embedder.vocabulary)
    names = acronyms + [w for w in rare if w not in {a.lower() for a in acronyms}]
    if not names:
        return []
    forms = {name: terms(with_other_forms(name, {})) for name in names}
    frequencies, _ = store.document_frequencies([t for found in forms.values() for t in found])
    absent = [name for name in names if not any(frequencies.get(t) for t in forms[name])]
    return [
        name
        for name in absent
        if not (
            any(spelled_out(name, p.text) for p in passages)
            if name in acronyms
            else any(one_edit_apart(stem(name), t) for t in store.terms_like(stem(name)))
        )
    ]


def related_reading(
    passages: list[Passage], query_vectors: np.ndarray, notes: list[str] | None = None, reason: str = ""
) -> Answer:
    """A refusal that shows the three best passages as related reading, each quoted for its
    sentence nearest the question, of at least `MIN_SENTENCE_WORDS` words where it has one (a bare
    label such as "Original Source:" is near everything and says nothing); `reason` says why,
    when it is known."""

    def nearness(s: Sentence) -> tuple[bool, float]:
        return len(s.text.split()) >= MIN_SENTENCE_WORDS, s.topic

    nearest: dict[int, Sentence] = {}
    for s in quotable(split_sentences(passages[:3], query_vectors), passages):
        if s.passage not in nearest or nearness(s) > nearness(nearest[s.passage]):
            nearest[s.passage] = s
    citations = [Citation.of(i + 1, p, nearest[i].text if i in nearest else "") for i, p in enumerate(passages[:3])]
    text, notes = warned(" ".join(t for t in (REFUSAL, reason, RELATED) if t), citations, notes or [])
    return Answer(text=text, citations=citations, refused=True, notes=notes)


def quotable(sentences: list[Sentence], passages: list[Passage]) -> list[Sentence]:
    """The sentences that may be quoted: none that reads like instructions to an assistant, though
    its passage may still be shown (with the warning)."""
    covered = {i: instruction_sentences(p) for i, p in enumerate(passages) if p.flagged}
    return [s for s in sentences if (s.start, s.end) not in covered.get(s.passage, ())]


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
) -> Answer | None:
    """The answer to a question about a document itself ("What is the title of this report?", "Who
    wrote it?"): the line of the document meant (`chat.grounding.document_meant`) that states it,
    quoted and cited; None when there is no such line, or it reads like instructions."""
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
    line = passage.text[start:end]
    citations = [Citation.of(1, passage, line)]
    text, notes = warned(f"{doc_marks(line)} [1]", citations)
    return Answer(text=text, citations=citations, notes=notes)


def warned(text: str, citations: list[Citation], notes: Sequence[str] = ()) -> tuple[str, list[str]]:
    """(text, notes) of an answer, the warning first in both when a cited passage reads like
    instructions to an assistant."""
    if any(c.flagged for c in citations):
        return f"{FLAG_WARNING}\n\n{text}", [*notes, FLAG_WARNING]
    return text, list(notes)


def answer_from_passages(
    question: str,
    passages: list[Passage],
    query_vectors: np.ndarray,
    store: Store,
    *,
    threshold: float,
    max_sentences: int,
    context: str = "",
    said: str = "",
    last_answer: str = "",
    reserve: Sequence[Passage] = (),
    models: Models | None = None,
    confidence: float = 0.0,
) -> Answer:
    """A verbatim, cited answer from the passages, or a refusal showing them as related reading.
    Sentences of the `reserve` passages (ranked just below, their scores discounted) may be quoted
    too; they are cited only when they are. With a fitted refusal model (`models.refusal`), it
    decides whether the best sentence answers; `confidence` is the passage model's probability for
    the best passage."""
    models = models or Models()
    if not passages:
        return Answer(text=f"{REFUSAL} There are no documents to search yet.", refused=True)
    read = [*passages, *reserve]  # what the sentences are chosen from; `passages` stay first
    unknown = never_mentioned(question, read, store)
    if unknown:
        return related_reading(passages, query_vectors, reason=f"They never mention {', '.join(unknown)}.")
    kind = asked_kind(question)
    followed = quoted_document(last_answer, store) if context and last_answer else None
    about_itself = asks_about_document(question)
    stated = document_statement(about_itself, read, store, followed) if about_itself else None
    if stated:
        return stated
    # The document the question is about: for a follow-up the one the last answer quoted, else
    # the best one that names what the question names. Its sentences count for more.
    naming = naming_documents(question, kind, read, store)
    main = followed or (naming[0] if naming else passages[0].document_id)
    if followed:
        subject = {followed: W_FOLLOWED}
    else:  # naming all of them (or the question names nothing) tells them apart no more
        subject = dict.fromkeys(naming, W_NAMED) if len(naming) < len({p.document_id for p in read}) else {}
    # A thing no other sentence can stand in for must come from that document: the dose another
    # trial gave is no answer to "what dose did the lupus patients get?"
    required = kind is not None and kind[0] in REQUIRED
    # what a count is of is its subject ("How many Juicy Apples are in stock?"), unless it counts
    # people: a share of the patients answers too, without naming them
    counted = COUNTED.search(question)
    counting = bool(kind and kind[0] == "number" and counted and "patient" not in other_forms(counted[1]))
    asked_about = Subject((), "") if context else subject_of(question, without_asking(question, kind), counting)
    if required and not followed and len(naming) > 1:
        # of the documents that name what the question names, one about it that states what is
        # asked: a note that names lupus once is not what "the lupus patients" are about
        words = [*question_names(question, kind, store), *(w for group in asked_about.groups for w, _ in group)]
        main = next(iter(documents_about(words, naming, store, kind[1])), main)
    about = main if required else None
    sentences = score_sentences(question, kind, context, said, query_vectors, read, store, about, subject)
    best_shown = next((s for s in sentences if s.passage < len(passages)), None)
    # What the question asks for may stand elsewhere in the document: look there when the best
    # sentence lacks it, holds it with too little support to be the answer, or is from another
    # document than the one the question is about.
    if (
        kind
        and best_shown
        and (
            not best_shown.kind
            or support(best_shown, read) < threshold
            or (subject and read[best_shown.passage].document_id not in subject)
        )
    ):
        extra = stated_elsewhere(kind[1], main, passages, query_vectors, store)
        if extra:
            added = {p.chunk_id for p in extra}
            read = [*passages, *extra, *(p for p in reserve if p.chunk_id not in added)]
            sentences = score_sentences(question, kind, context, said, query_vectors, read, store, about, subject)
    sentences = among = quotable(sentences, read)
    # What the question asks about must be named where the answer is quoted from (a follow-up's
    # subject is the conversation's, so its own words are not checked)
    sentences = about_subject(asked_about, sentences, read)
    if not sentences and asked_about:
        return related_reading(passages, query_vectors, reason=never_named(asked_about, store))
    if required and any(s.kind for s in sentences):
        sentences = [s for s in sentences if s.kind]  # a dose is answered by a dose, not by talk of one
    if required and not any(s.kind for s in sentences):
        elsewhere = any(kind[1].search(p.text) for p in read if p.document_id != about)
        title = next((p.title for p in read if p.document_id == about), about)
        reason = (
            f"The document the question is about, “{title}”, does not state {REQUIRED[kind[0]]}."
            if elsewhere
            else f"None of the passages found states {REQUIRED[kind[0]]}."
        )
        # the document the refusal names is read first
        ordered = sorted(passages, key=lambda p: p.document_id != about)
        return related_reading(ordered, query_vectors, reason=reason)
    if not sentences:
        return related_reading(passages, query_vectors)
    best = sentences[0]
    signals = {
        "refusal": refusal_features(best, read, kind, confidence),
    }
    if models.refusal is not None:
        declined = models.refusal.probability(np.array(signals["refusal"]))[0] < models.refusal.threshold
    else:
        declined = support(best, read) < threshold
    if declined and not gives_a_document_fact(question, kind, best, read, store):
        refusal = related_reading(passages, query_vectors)
        refusal.signals = signals
        return refusal

    chosen = choose(sentences, max_sentences, among, question)  # best first; one it leans on just before it
    spans: dict[int, list[tuple[int, int]]] = {}
    for s in chosen:
        spans.setdefault(s.passage, []).append((s.start, s.end))
    # Each verbatim run is cited on its own, so that every quote can be found in its passage as it
    # stands: two sentences far apart in one passage are two citations of it.
    verbatim = {i: runs(read[i], found) for i, found in spans.items()}
    numbers: dict[tuple[int, tuple[int, int]], int] = {}
    parts = []
    for s in chosen:
        run = next(r for r in verbatim[s.passage] if r[0] <= s.start < r[1])
        n = numbers.setdefault((s.passage, run), len(numbers) + 1)
        parts.append(f"{doc_marks(s.text)} [{n}]")
    citations = [Citation.of(n, read[i], read[i].text[a:b].strip()) for (i, (a, b)), n in numbers.items()]
    text, notes = warned(" ".join(parts), citations)
    return Answer(text=text, citations=citations, notes=notes, signals=signals)
