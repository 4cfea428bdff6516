"""Candidate quotes and what the answer model weighs of each (`ANSWER_FEATURES`).

A candidate is what an answer may quote: one sentence of a passage read for the question, that
sentence with the one after it, or the one before it with it when it leans back ("This ...").
Each gets one row of features; the fitted answer model (`chat.fitted.AnswerModel`) turns a row
into the probability that quoting the candidate answers the question. What the features say is
meaning, never a decision: whether the question asks for a kind of thing (a number, a date) and
the candidate holds one, whether it names what the question asks about, whether its document is
the one the question names, where in its document it stands (a study says what it is about in its
lead and what it found in its conclusion). Figures that depend on the corpus are relative: ranks
and differences to the best candidate of the same question, computed over what was read for it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from studychat.schema import Passage
from studychat.text import WORD, content_words, terms_among

# A heading that opens what a document concludes or sums up ("Conclusions", "In summary")
CONCLUSION_HEADING = re.compile(r"(?im)^\W{0,3}(conclusions?|in conclusion|summary|in summary|interpretation)\b")
# A sentence that reports a finding ("These results suggest ...", "We found ...")
FINDING = re.compile(
    r"\b(suggest\w*|conclud\w*|indicat\w*|demonstrat\w*|show(s|ed|n)?|found|find|reveal\w*|support\w*|"
    r"associated with|led to|resulted in|effective|safe|improv\w*)\b",
    re.I,
)
# A question about a study as a whole: what it is about, found, concluded; whether it worked or was safe
WHOLE_STUDY = re.compile(
    r"\b(about|main (finding|result|point|message)s?|key (finding|result)s?|findings?|conclu\w*|summar\w*|"
    r"overview|results?|outcomes?|safe|safety|work(ed)?|effective|take-?away|purpose|aim|goal)\b",
    re.I,
)

ANSWER_FEATURES = (
    "dense",
    "dense_gap",
    "dense_rank",
    "topic",
    "lexical",
    "lexical_gap",
    "lexical_rank",
    "holds_kind",
    "lacks_kind",
    "lacks_required_kind",
    "passage_rank",
    "passage_dense",
    "passage_dense_gap",
    "reserve",
    "heading",
    "asking",
    "said",
    "short",
    "colon_end",
    "words",
    "pair",
    "leans_back",
    "names_subject",
    "named_document",
    "followed_document",
    "position",
    "lead",
    "conclusion",
    "finding",
    "finding_whole_study",
    "lead_whole_study",
    "self_statement",
    "unknown_names",
    "known_share",
    "asks_kind",
    "whole_study",
    "question_words",
    "best_dense",
    "best_lexical",
    "before_dense_gap",
    "after_dense_gap",
    "before_lexical",
    "after_lexical",
    "dense_lexical",
    "dense_z",
    "lexical_z",
    "topic_z",
    "passage_dense_z",
    "bigram_share",
    "question_form",
    "document_share",
    "document_share_gap",
)
# Figures standardised within the question (z-scores over its candidates): how a candidate stands
# among the others, whatever the corpus makes of the raw figure
WITHIN_QUESTION = ("dense", "lexical", "topic", "passage_dense")


# The question's form, as a code the model can split on: the first of these words it uses (1-7),
# or an opening auxiliary verb of a yes/no question (8), or neither (0)
QUESTION_FORMS = ("what", "which", "who", "when", "where", "why", "how")
YES_NO = frozenset("is are was were do does did can could has have had will would should may might".split())


def question_form(question: str) -> int:
    """The code of the question's form (`QUESTION_FORMS`)."""
    words = WORD.findall(question.lower())
    first = next((w for w in words if w in QUESTION_FORMS), None)
    if first is not None:
        return QUESTION_FORMS.index(first) + 1
    return len(QUESTION_FORMS) + 1 if words and words[0] in YES_NO else 0


def bigrams(text: str) -> set[tuple[str, str]]:
    """Pairs of consecutive content words of `text` (`studychat.text.content_words`)."""
    words = content_words(text)
    return set(zip(words, words[1:], strict=False))


@dataclass
class Unit:
    """One sentence as the candidates see it: where it is, and its figures (`chat.extractive.Sentence`
    supplies them)."""

    passage: int
    start: int
    end: int
    text: str
    dense: float
    topic: float
    lexical: float
    kind: bool
    heading: bool
    said: bool
    names_subject: bool
    position: float  # 0 at the document's first chunk, 1 at its last
    conclusion: bool  # in a passage that opens a conclusion or summary


@dataclass
class QuestionFacts:
    """What the question brings to every candidate's row."""

    asks_kind: bool
    required: bool
    whole_study: bool
    unknown_names: int
    known_share: float  # the share of the question's content words that some document of the index holds
    words: int
    named: frozenset[str] = frozenset()  # documents the question names, when it names some but not all
    followed: str | None = None  # the document the last answer quoted
    bigrams: frozenset[tuple[str, str]] = frozenset()  # the question's pairs of consecutive content words
    form: int = 0  # `question_form`
    terms: frozenset[str] = frozenset()  # the question's content-word stems (`studychat.text.terms`)


@dataclass
class Candidate:
    """A quote: its sentences' spans (passage index, start, end) in reading order, its text, and its row."""

    spans: list[tuple[int, int, int]]
    text: str
    document_id: str
    row: np.ndarray = field(default_factory=lambda: np.zeros(len(ANSWER_FEATURES)))
    self_statement: bool = False


def document_shares(passages: list[Passage], wanted: frozenset[str]) -> dict[str, float]:
    """For each document of `passages`, the share of the `wanted` terms that its passages read
    for the question hold together: which of the documents searched speaks of all the question
    names ("the molecule" and "CAR T" and "lupus"), not of one of them."""
    held: dict[str, set[str]] = {}
    for passage in passages:
        held.setdefault(passage.document_id, set()).update(terms_among(passage.text, wanted) if wanted else ())
    return {document: len(found) / max(1, len(wanted)) for document, found in held.items()}


def _beside(units: list[Unit], index: int) -> Unit | None:
    """The unit at `index` when it exists (0 <= index < len(units)), else None."""
    return units[index] if 0 <= index < len(units) else None


def _ranks(values: np.ndarray) -> np.ndarray:
    """log(1 + rank) of each value, rank 0 the highest."""
    order = np.argsort(-values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(len(values))
    return np.log1p(ranks)


def build(
    units: list[Unit], passages: list[Passage], shown: int, facts: QuestionFacts, leans: list[bool]
) -> list[Candidate]:
    """The candidates of one question with their rows: each unit alone, and with the next unit of
    its passage (so a unit that leans back, `leans[i]`, is also quoted with the one it leans on). `shown` is how
    many of `passages` were shown (the rest are the reserve and passages read for the kind asked)."""
    if not units:
        return []
    out: list[tuple[list[int], bool]] = []
    for i, unit in enumerate(units):
        out.append(([i], False))
        if i + 1 < len(units) and units[i + 1].passage == unit.passage:  # with the next: also the one a leaner leans on
            out.append(([i, i + 1], True))
    pairs = [bigrams(u.text) & facts.bigrams for u in units] if facts.bigrams else [set() for _ in units]
    dense = np.array([u.dense for u in units])
    lexical = np.array([u.lexical for u in units])
    dense_rank, lexical_rank = _ranks(dense), _ranks(lexical)
    passage_dense = np.array([p.dense for p in passages])
    best_dense, best_lexical, best_passage = dense.max(), lexical.max(), passage_dense.max(initial=0.0)
    shares = document_shares(passages, facts.terms)
    best_share = max(shares.values())
    candidates = []
    for members, pair in out:
        first = units[members[0]]
        best = max(members, key=lambda m: (units[m].dense, units[m].lexical))
        unit = units[best]
        passage = passages[first.passage]
        holds = any(units[m].kind for m in members)
        whole = facts.whole_study
        finding = bool(FINDING.search(" ".join(units[m].text for m in members)))
        # the sentences just before and after it in its passage
        before, after = (
            u if u is not None and u.passage == first.passage else None
            for u in (_beside(units, members[0] - 1), _beside(units, members[-1] + 1))
        )
        values = {
            "dense": unit.dense,
            "dense_gap": best_dense - unit.dense,
            "dense_rank": dense_rank[best],
            "topic": max(units[m].topic for m in members),
            "lexical": max(units[m].lexical for m in members),
            "lexical_gap": best_lexical - max(units[m].lexical for m in members),
            "lexical_rank": min(lexical_rank[m] for m in members),
            "holds_kind": float(facts.asks_kind and holds),
            "lacks_kind": float(facts.asks_kind and not holds),
            "lacks_required_kind": float(facts.required and not holds),
            "passage_rank": math.log1p(first.passage),
            "passage_dense": passage.dense,
            "passage_dense_gap": best_passage - passage.dense,
            "reserve": float(first.passage >= shown),
            "heading": float(all(units[m].heading for m in members)),
            "asking": float(unit.text.rstrip().endswith("?")),
            "said": float(all(units[m].said for m in members)),
            "short": float(sum(len(units[m].text.split()) for m in members) < 3),
            "colon_end": float(units[members[-1]].text.rstrip().endswith(":")),
            "words": math.log1p(sum(len(units[m].text.split()) for m in members)),
            "pair": float(pair),
            "leans_back": float(not pair and leans[members[0]]),
            "names_subject": float(any(units[m].names_subject for m in members)),
            "named_document": float(passage.document_id in facts.named),
            "followed_document": float(passage.document_id == facts.followed),
            "position": first.position,
            "lead": float(first.position == 0.0),
            "conclusion": float(any(units[m].conclusion for m in members)),
            "finding": float(finding),
            "finding_whole_study": float(finding and whole),
            "lead_whole_study": float(first.position == 0.0 and whole),
            "self_statement": 0.0,
            "unknown_names": float(facts.unknown_names),
            "known_share": facts.known_share,
            "asks_kind": float(facts.asks_kind),
            "whole_study": float(whole),
            "question_words": math.log1p(facts.words),
            "best_dense": best_dense,
            "best_lexical": best_lexical,
            # the sentences around it: an answer often stands next to the sentence that matches the question best
            "before_dense_gap": best_dense - (before.dense if before else 0.0),
            "after_dense_gap": best_dense - (after.dense if after else 0.0),
            "before_lexical": before.lexical if before else 0.0,
            "after_lexical": after.lexical if after else 0.0,
            "dense_lexical": unit.dense * max(units[m].lexical for m in members),
            "bigram_share": len(set().union(*(pairs[m] for m in members))) / max(1, len(facts.bigrams)),
            "question_form": facts.form,
            "document_share": shares[passage.document_id],
            "document_share_gap": best_share - shares[passage.document_id],
            **{f"{name}_z": 0.0 for name in WITHIN_QUESTION},  # filled in by _standardise, over all candidates
        }
        row = [float(values[name]) for name in ANSWER_FEATURES]
        text = _joined([units[m] for m in members], passage)
        candidates.append(
            Candidate(
                [(units[m].passage, units[m].start, units[m].end) for m in members],
                text,
                passage.document_id,
                np.array(row),
            )
        )
    _standardise(candidates)
    return candidates


def _standardise(candidates: list[Candidate]) -> None:
    """Fill the `WITHIN_QUESTION` z-scores of the candidates of one question, over all of them."""
    rows = np.array([c.row for c in candidates])
    for name in WITHIN_QUESTION:
        values = rows[:, ANSWER_FEATURES.index(name)]
        rows[:, ANSWER_FEATURES.index(f"{name}_z")] = (values - values.mean()) / (values.std() + 1e-6)
    for candidate, row in zip(candidates, rows, strict=True):
        candidate.row = row


def statement(passage_index: int, start: int, end: int, passage: Passage, base: Candidate | None) -> Candidate:
    """The line where a document states what the question asks of it (its title, authors, date),
    as a candidate: the row of the question's best candidate with `self_statement` set."""
    row = base.row.copy() if base is not None else np.zeros(len(ANSWER_FEATURES))
    row[ANSWER_FEATURES.index("self_statement")] = 1.0
    return Candidate([(passage_index, start, end)], passage.text[start:end], passage.document_id, row, True)


def _joined(units: list[Unit], passage: Passage) -> str:
    """The units' text as one verbatim run of the passage when they are next to each other."""
    start, end = units[0].start, units[-1].end
    between = passage.text[start:end]
    return between if len(units) > 1 else units[0].text
