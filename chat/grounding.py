"""Whether a quoted answer is about what the question asks about.

- the thing asked about (`subject_of`) is named by a quoted sentence, by the sentence it leans on,
  or by its document's title (`names_subject`): "What is the price of bananas?" is not answered
  with a company's share price (a feature of each candidate, `names_subject`);
- a sentence that reads like instructions to an assistant is never quoted as an answer
  (`instruction_sentences`);
- a sentence whose subject is a pronoun ("It costs 85 euros") is about what the sentence before
  it names (`leans_on_previous`).

Questions that ask a document about itself are `chat.document_questions`. All functions are pure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from chat.wording import one_edit_apart, other_forms, with_other_forms
from studychat.instructions import instruction_spans
from studychat.schema import Passage
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


def instruction_sentences(passage: Passage) -> set[tuple[int, int]]:
    """(start, end) of each of the passage's sentences that an instruction to an assistant covers,
    found by the fitted detector that flags chunks at ingest (`studychat.instructions`, one
    decision per sentence); a passage sentence that overlaps a flagged one is covered. Only a
    flagged passage is searched: its flag was set at ingest by the same detector."""
    if not passage.flagged:
        return set()
    spans = instruction_spans(passage.text)
    return {(s, e) for s, e in passage.sentences if any(s < end and start < e for start, end in spans)}
