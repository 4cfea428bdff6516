"""How a result is counted: the rule of `../shared/benchmarks/README.md`, written once.

Every suite of `python -m eval` judges its answers here, so that its figures compare:

- tokens are lower-cased runs of letters and digits (a decimal point or comma inside a number
  kept: "1.5", "20,000") without the README's stop words;
- **answer hit**: not a refusal, one citation from the question's document, and the answer text
  holds 60% of the expected answer's distinct tokens (a question with an expected regex instead,
  as the project's own sets have, needs the regex to match the answer text);
- **passage recall@5**: one of the five passages shown holds 80% of the expected answer's tokens
  (with a regex: a shown passage from the question's document matches it);
- **right document**: not a refusal, and one citation from the question's document;
- **declined**: the answer's `refused`; **tentative**: its `tentative`, which counts in answer hit
  like any answer;
- a **confident wrong answer** is neither declined nor tentative and does not hit; for a question
  that should be declined, any answer that is not tentative;
- **calibration**: over the answers given, `confidence` binned in tenths; the expected calibration
  error is the share-weighted mean of |mean confidence - hit rate| over the bins;
- the median length in characters of the answers given, since a longer answer covers more tokens.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

HIT_SHARE, PASSAGE_SHARE = 0.6, 0.8  # shares of the expected answer's distinct tokens
SHOWN = 5  # passages looked at for passage recall@5
STOP_WORDS = frozenset(
    "the a an of and or in on at to for with by from is are was were be been as that this these those it its which "
    "who what when where how than then into their there has have had not no but also such".split()
)
TOKEN = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)*")


def tokens(text: str) -> set[str]:
    """The distinct tokens of `text` by the benchmark's rule, stop words left out."""
    return {t for t in TOKEN.findall(text.lower()) if t not in STOP_WORDS}


def share(expected: set[str], text: str) -> float:
    """The share of the `expected` tokens that occur in `text` (0 when nothing is expected)."""
    return len(expected & tokens(text)) / len(expected) if expected else 0.0


def same_document(expected: str, cited: str) -> bool:
    """Whether the cited document id is the expected one; an id may carry its file's extension
    ("covidqa-003.txt" is the paper "covidqa-003")."""
    return bool(expected) and (cited == expected or cited.rsplit(".", 1)[0] == expected)


@dataclass
class Expected:
    """What a question expects: the document that answers it (empty: it should be declined), and
    the answer as an expert's text (`answer`, counted by tokens) or as a regex (`pattern`)."""

    document: str = ""
    answer: str = ""
    pattern: str = ""

    @property
    def answerable(self) -> bool:
        return bool(self.document)

    def holds(self, text: str, threshold: float) -> bool:
        """Whether `text` holds the expected answer: `threshold` of its tokens, or the regex."""
        if self.answer:
            return share(tokens(self.answer), text) >= threshold
        return bool(self.pattern) and re.search(self.pattern, text, re.IGNORECASE) is not None


@dataclass
class Outcome:
    """What the answerer did with one question, as the API reports it, and how it was counted."""

    id: str
    refused: bool
    answer: str
    cited: list[str]  # document ids of the citations, in order
    shown: list[tuple[str, str]]  # (document id, text) of the passages shown, best first
    ms: float
    tentative: bool = False
    confidence: float | None = None
    hit: bool = False
    right_document: bool = False
    passage_hit: bool | None = None  # None where passage recall is not defined (nothing to find)
    confident_wrong: bool = False
    extra: dict = field(default_factory=dict)  # what a suite keeps beside the counts (question, paper)


def judge(expected: Expected, outcome: Outcome) -> Outcome:
    """Count one outcome by the rule; sets and returns `outcome`."""
    if not expected.answerable:
        outcome.hit = outcome.right_document = False
        outcome.passage_hit = None
        outcome.confident_wrong = not outcome.refused and not outcome.tentative
        return outcome
    cites = any(same_document(expected.document, d) for d in outcome.cited)
    outcome.right_document = not outcome.refused and cites
    outcome.hit = outcome.right_document and expected.holds(outcome.answer, HIT_SHARE)
    if expected.answer:
        outcome.passage_hit = any(expected.holds(text, PASSAGE_SHARE) for _, text in outcome.shown[:SHOWN])
    else:
        outcome.passage_hit = any(
            same_document(expected.document, d) and expected.holds(text, PASSAGE_SHARE)
            for d, text in outcome.shown[:SHOWN]
        )
    outcome.confident_wrong = not outcome.refused and not outcome.tentative and not outcome.hit
    return outcome


def calibration_error(outcomes: Sequence[Outcome]) -> float | None:
    """The expected calibration error over the answers given that carry a `confidence`, binned in
    tenths; None when none carries one."""
    given = [o for o in outcomes if not o.refused and o.confidence is not None]
    if not given:
        return None
    bins: dict[int, list[Outcome]] = {}
    for o in given:
        bins.setdefault(min(int(float(o.confidence) * 10), 9), []).append(o)
    return sum(
        len(part)
        / len(given)
        * abs(statistics.fmean(o.confidence for o in part) - statistics.fmean(o.hit for o in part))
        for part in bins.values()
    )


def _share(values: Sequence[bool]) -> float | None:
    return sum(values) / len(values) if values else None


def summarize(expected: Sequence[Expected], outcomes: Sequence[Outcome]) -> dict:
    """The figures of one suite: shares over its answerable questions (answer hit, passage recall@5,
    right document, declined), the share of the others declined, counts, and over all questions
    the confident wrong answers, the tentative share, the answers' median length and p50 latency,
    the calibration error (when answers carry `confidence`) and the precision against coverage
    (the share answered confidently, neither declined nor tentative, and the hit rate among those)."""
    pairs = list(zip(expected, outcomes, strict=True))
    answerable = [o for e, o in pairs if e.answerable]
    to_decline = [o for e, o in pairs if not e.answerable]
    passages = [o.passage_hit for o in answerable if o.passage_hit is not None]
    given = [o for o in outcomes if not o.refused]
    confident = [o for o in given if not o.tentative]
    return {
        "questions": len(outcomes),
        "answerable": len(answerable),
        "to_decline": len(to_decline),
        "answer_hit": _share([o.hit for o in answerable]),
        "hits": sum(o.hit for o in answerable),
        "passage_recall@5": _share(passages),
        "right_document": _share([o.right_document for o in answerable]),
        "answerable_declined": _share([o.refused for o in answerable]),
        "declined": _share([o.refused for o in to_decline]),
        "confident_wrong": sum(o.confident_wrong for o in outcomes),
        "tentative": _share([o.tentative for o in outcomes]),
        "median_answer_chars": statistics.median(len(o.answer) for o in given) if given else None,
        "p50_ms": statistics.median(o.ms for o in outcomes) if outcomes else None,
        "ece": calibration_error(outcomes),
        "coverage": _share([not o.refused and not o.tentative for o in outcomes]),
        "precision": _share([o.hit for o in confident]),
    }
