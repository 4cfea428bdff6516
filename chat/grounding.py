"""Whether a quoted answer is about what the question asks about, and from where it may be quoted.

The answerer scores sentences by meaning, words and kind; these rules keep it from a confident
wrong answer that such scores allow:

- the thing asked about (`subject_of`) must be named by a quoted sentence, by the sentence it
  leans on, or by its document's title (`names_subject`): "What is the price of bananas?" is not
  answered with a company's share price;
- a fact only one document can give (a dose, a price) comes from a document about the question's
  words (`documents_about`), not from one that names them once;
- a sentence that reads like instructions to an assistant is never quoted as an answer
  (`instruction_sentences`);
- a question about a document itself ("What is the title of this report?") is answered from the
  line of that document that states it (`asks_about_document`, `document_meant`, `self_statement`);
- a sentence whose subject is a pronoun ("It costs 85 euros") is about what the sentence before
  it names (`leans_on_previous`).

All functions are pure, apart from those that take the store and read it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from chat.wording import one_edit_apart, other_forms, with_other_forms
from studychat.instructions import instruction_spans
from studychat.schema import Passage
from studychat.store import DocumentRecord, Store
from studychat.text import STOP_WORDS, WORD, content_words, stems, terms

# A sentence whose subject is a pronoun or a phrase pointing back ("It costs 85 euros", "This
# study enrolled ...") is about what the sentence before it names.
PRONOUN_SUBJECT = re.compile(
    r"^\W*((it|its|this|these|that|those|they|their|he|she|his|her|such)|(each|both|all|most|some|none) of them)\b",
    re.I,
)

# Words of a question, hyphens and apostrophes inside kept: "HIV-1", "Schett's".
TOKEN = re.compile(r"[^\W_](?:[\w'’-]*[^\W_])?")
# Small words that join the words of one noun phrase: "the price *of* bananas", "men *and* women".
JOINERS = frozenset("of for in on to the a an and or".split())
# Words that point at a document rather than name a subject: "the study", "this report".
DOCUMENT_WORDS = frozenset(
    "study studies paper papers article articles report reports document documents text texts page pages "
    "file files pdf trial trials research review publication source book chapter guide guideline note minutes "
    "memo letter handbook manual leaflet brochure booklet newsletter essay authors".split()
)
# Verbs a question wraps its subject in ("given to", "did they receive", "is used for"): they name
# no subject and say nothing of what a document is about.
FRAME_WORDS = frozenset(
    "give gives gave given get gets got receive receives received take takes took taken use uses used "
    "need needs needed make makes made".split()
)
# "this review", "the study": a question about the document it is asked of
THIS_DOCUMENT = re.compile(rf"\b(this|the) ({'|'.join(sorted(DOCUMENT_WORDS))})\b", re.I)
SENTENCE_END = re.compile(r"[.!?:;]['\"”’)\]]*$")


@dataclass(frozen=True)
class Subject:
    """What a question asks about: groups of words, any one of which an answer must name.

    Each group is a tuple of (word, common): all words of a group must be present; `common` marks
    a word the question writes in lower case, which a capitalised name in the middle of a sentence
    does not match ("apples" is not "Apple Inc."). `phrase` is the subject as the question words it.
    """

    groups: tuple[tuple[tuple[str, bool], ...], ...]
    phrase: str

    def __bool__(self) -> bool:
        return bool(self.groups)


def leans_on_previous(text: str) -> bool:
    """Whether a sentence's subject is a pronoun or a phrase pointing back ("It", "This study")."""
    return bool(PRONOUN_SUBJECT.match(text))


def subject_of(question: str, asked: str, counting: bool = False) -> Subject:
    """The thing `question` asks about, read from `asked` (the question without the words that ask
    for its kind: "What is the  of bananas?" for "What is the price of bananas?").

    It is the question's content words, any one of which an answer may name (questions paraphrase:
    "What is the main cause of HIV-1 infection in children?" is answered by a sentence on "HIV-1
    infection in children"). Capitalised words in a row form one name whose words must all be
    present ("Juicy Apples" is not "Apple Inc."). When the question counts something (`counting`,
    "How many Juicy Apples are in stock?"), what it counts is its subject: the phrase after "how
    many", with the phrases joined to it by "of", "and" ... ("cases of tuberculosis", "men and
    women"), not the rest ("in stock"). Words pointing at a document ("the study", "this report")
    name no subject, and neither do plain numbers. An empty subject asks for no check.
    """
    tokens = TOKEN.findall(asked)
    first = (TOKEN.findall(question) or [""])[0]
    words = [re.sub(r"['’]s$", "", t) for t in tokens]
    title_case = _title_case(question)
    start = next((i for i, w in enumerate(words) if w.lower() not in STOP_WORDS), len(words))
    runs: list[list[str]] = [[]]
    between: list[list[str]] = [[]]  # the small words before each run
    for word in words[start:]:
        lower = word.lower()
        if lower in STOP_WORDS and not (len(word) == 1 and word.isupper()):  # the T of "CAR T cells"
            if runs[-1]:
                runs.append([])
                between.append([])
            if counting and lower not in JOINERS:
                break  # the counted phrase ends at its verb: "Juicy Apples | are in stock"
            between[-1].append(lower)
            continue
        runs[-1].append(word)
    # a phrase that ends in a document word names a document ("the original paper"), and such a
    # word inside another phrase names no subject either ("when was the study conducted?")
    # A phrase that ends in a document word names a document ("the original paper", "the BLISS-LN
    # trial": its names tell which, and `documents_about` weighs them); the phrase joined to it by
    # "of" is something of the document ("the focus of this review"); and a document word
    # elsewhere names no subject ("when was the study conducted?").
    document_run = [bool(r) and r[-1].lower() in DOCUMENT_WORDS for r in runs]
    for i in range(len(runs)):
        if document_run[i] or (i + 1 < len(runs) and document_run[i + 1] and between[i + 1][:1] == ["of"]):
            runs[i] = []
    kept_runs = [i for i, r in enumerate(runs) if r]
    phrase = _phrase([runs[i] for i in kept_runs], [between[i] for i in kept_runs])
    runs = [kept for kept in ([w for w in runs[i] if w.lower() not in DOCUMENT_WORDS] for i in kept_runs) if kept]
    if THIS_DOCUMENT.search(question) and not any(_name_cased(w, w == first) for r in runs for w in r):
        runs = []  # "What will the review focus on?" is about the document, whatever words it uses
    groups: list[tuple[tuple[str, bool], ...]] = []
    for run in runs:
        name: list[str] = []
        for i, word in enumerate([*run, ""]):
            if len(word) == 1 and word.isupper() and not name and i and groups and groups[-1][-1][0] == run[i - 1]:
                groups[-1] = (*groups[-1], (word, False))  # "hepatitis C", "vitamin D": one name
                continue
            named = bool(word) and not title_case and _name_cased(word, word == first)
            if named:
                name.append(word)
                continue
            if name:
                groups.append(tuple((w, False) for w in name))
                name = []
            # people ("patients", "a study participant") are who a study's sentences are about
            # without naming them: "The average age was 46 years"
            people = "patient" in other_forms(word.lower()) if word else False
            if word and not word.isdigit() and word.lower() not in FRAME_WORDS and not people and terms(word):
                groups.append(((word, not title_case and word.islower()),))
    # a letter alone ("C", "T") is in too many words to name anything: only as part of a name
    groups = [g for g in groups if any(terms(w) for w, _ in g) and not (len(g) == 1 and len(g[0][0]) == 1)]
    return Subject(tuple(dict.fromkeys(groups)), phrase)


def _phrase(runs: list[list[str]], between: list[list[str]]) -> str:
    """The subject as the question words it, for a refusal: "kilo of saffron", "men and women";
    phrases the question keeps apart are listed ("organs, lupus trial")."""
    out = ""
    for i, run in enumerate(runs):
        if i:
            small = [w for w in between[i] if w not in {"the", "a", "an"}]
            out += f" {' '.join(small)} " if small and set(small) <= {"of", "and", "or"} else ", "
        out += " ".join(run)
    return out


def _title_case(question: str) -> bool:
    """Whether the question capitalises nearly every longer word ("What Is The Price Of Bananas?"),
    so that its capitals tell no names apart."""
    longer = [w for w in TOKEN.findall(question) if len(w) > 3]
    return len(longer) >= 3 and sum(w[0].isupper() for w in longer) >= 0.8 * len(longer)


def _name_cased(word: str, first: bool) -> bool:
    """A word written as a name: capitals or digits after its first letter ("CD19", "HIV-1"), or a
    capital first letter where the question does not simply begin."""
    if re.search(r"\w[A-Z0-9]", word):
        return True
    return word[0].isupper() and not first


def names_subject(
    subject: Subject, texts: Sequence[str], title: str = "", defined: dict[str, str] | None = None
) -> bool:
    """Whether the sentences `texts` (a quoted sentence, then the ones it leans on) or the document
    `title` name the subject: all words of one of its groups, each in any form the index stems
    alike ("bananas", "banana"), spelled with one letter off, or as the other form of an acronym or
    lay term (`chat.wording`). A lower-case word of the question is not matched by a capitalised
    word inside a sentence, which names something else ("apples" and "Apple's share price").
    True when the subject is empty."""
    if not subject:
        return True
    common, named = _stems_by_case(texts, title, defined or {})
    for group in subject.groups:
        if all(_held(word, is_common, common, named) for word, is_common in group):
            return True
    return False


def _held(word: str, is_common: bool, common: set[str], named: set[str]) -> bool:
    found = common if is_common else common | named
    wanted = terms(word)  # none for a letter like the T of "CAR T": the rest of the name decides
    return all(
        t in found or (len(t) >= 5 and any(one_edit_apart(t, f) for f in found if abs(len(f) - len(t)) <= 1))
        for t in wanted
    )


def _stems_by_case(texts: Sequence[str], title: str, defined: dict[str, str]) -> tuple[set[str], set[str]]:
    """(stems of words used as common words, stems of words used only as names) in the texts; the
    title's words and every other form of a term count as common words."""
    common_words: list[str] = []
    named_words: list[str] = []
    if title and _title_case(title):  # "Living With Lupus": its capitals tell no names apart
        common_words += content_words(with_other_forms(title, defined))
        title = ""
    for text in [*texts, title]:
        words = [w for piece in re.finditer(r"\S+", text) for w in _words_with_ends(piece.group(0))]
        sentence_start = True
        for i, (word, ends) in enumerate(words):
            lower = word.lower()
            if lower not in STOP_WORDS:
                capitalised = word[0].isupper() and not word.isupper()
                following = words[i + 1][0] if i + 1 < len(words) and not ends else ""
                # a capital inside a sentence is a name, and so is one that begins it when the next
                # word has one too ("Kestrel Airlines carried ..."); "Apples are ..." is no name
                name = capitalised and (
                    not sentence_start or (following[:1].isupper() and following.lower() not in STOP_WORDS)
                )
                (named_words if name else common_words).append(lower)
            sentence_start = ends
        extra = with_other_forms(text, defined)[len(text) :]
        common_words += content_words(extra)
    common = set(stems(common_words))
    return common, set(stems(named_words)) - common


def _words_with_ends(piece: str) -> list[tuple[str, bool]]:
    """The words of one space-free piece of text, the last marked when the piece ends a sentence."""
    words = WORD.findall(piece)
    return [(w, i == len(words) - 1 and bool(SENTENCE_END.search(piece))) for i, w in enumerate(words)]


ABOUT_SHARE = 0.75  # a document this nearly as much about the question's words as the most is about them too
ABOUT_FLOOR = 0.1  # a word a document never names counts as this much: questions hold words no document uses


def documents_about(
    words: Iterable[str], documents: Sequence[str], store: Store, states: re.Pattern | None = None, scanned: int = 200
) -> list[str]:
    """Of `documents`, those about `words` (what the question names), in the order given, those
    whose text `states` what the question asks for first. How much a document is about a word is
    the share of its sentences (its title one of them) that name it, against the document that
    names it most often (`ABOUT_FLOOR` at least); about all the words, the geometric mean of those.
    The documents within
    `ABOUT_SHARE` of the most are kept. A note that names "lupus" once is not about lupus beside a cohort summary that
    names it throughout. Only the first `scanned` chunks of a document are read; empty when no
    document names any of the words."""
    wanted = list(dict.fromkeys(terms(" ".join(w for w in words if w.lower() not in FRAME_WORDS))))
    if not wanted or not documents:
        return []
    shares: dict[str, dict[str, float]] = {}
    stating: set[str] = set()
    for document in documents:
        chunks = store.document_chunks(document)[:scanned]
        if not chunks:
            continue
        sentences = list(dict.fromkeys([chunks[0].title, *(s for p in chunks for s in _rough_sentences(p.text))]))
        naming = dict.fromkeys(wanted, 0)
        for sentence in sentences:
            for t in set(terms(sentence)).intersection(wanted):
                naming[t] += 1
        shares[document] = {t: n / len(sentences) for t, n in naming.items()}
        if states is not None and any(states.search(p.text) for p in chunks):
            stating.add(document)
    most = {t: max(share[t] for share in shares.values()) for t in wanted} if shares else {}
    named = [t for t in wanted if most.get(t)]
    # the geometric mean: a document must be about every word, not much about one of them
    score = {
        d: math.prod(max(share[t] / most[t], ABOUT_FLOOR) for t in named) ** (1 / max(len(named), 1))
        for d, share in shares.items()
    }
    top = max(score.values(), default=0.0)
    if top <= 0:
        return []
    about = [d for d in documents if d in score and score[d] >= ABOUT_SHARE * top]
    return [d for d in about if d in stating] + [d for d in about if d not in stating]


def _rough_sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+|\n\s*\n", text) if s.strip()]


def instruction_sentences(passage: Passage) -> set[tuple[int, int]]:
    """(start, end) of each of the passage's sentences that an instruction to an assistant covers,
    found by the fitted detector that flags chunks at ingest (`studychat.instructions`, one
    decision per sentence); a passage sentence that overlaps a flagged one is covered. Only a
    flagged passage is searched: its flag was set at ingest by the same detector."""
    if not passage.flagged:
        return set()
    spans = instruction_spans(passage.text)
    return {(s, e) for s, e in passage.sentences if any(s < end and start < e for start, end in spans)}


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


def never_named(subject: Subject, store: Store) -> str:
    """Why a question is declined when no passage found names what it asks about: the index holds
    none of it, named as the subject's groups ("They never mention river, flows or Budapest.",
    not the question's other words), or only passages not found for the question do."""
    found = {w: terms(w) for group in subject.groups for w, _ in group}
    frequencies, _ = store.document_frequencies([t for stems_ in found.values() for t in stems_])
    if any(all(frequencies.get(t) for w, _ in group for t in found[w]) for group in subject.groups):
        return f"None of the passages found mentions {subject.phrase}."
    names = [" ".join(w for w, _ in group) for group in subject.groups]
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    return f"They never mention {listed}."


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
