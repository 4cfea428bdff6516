"""The public test files of `../shared/realfiles/` and what a user should get from each (its
README's table), checked through the real pipeline, store and chain.

`python -m tests.ingest.realfiles` ingests every file into a temporary store and prints one line
per file: ingested or skipped (with the reason), each expected text found or missing in the stored
text, and whether a question about it is answered with a quote holding it.
"""

from __future__ import annotations

import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from chat.chain import Chain
from ingest.pipeline import FileResult, ingest_paths
from studychat.embedder import Embedder
from studychat.settings import Settings
from studychat.store import Store, open_store

FOLDER = Path(__file__).resolve().parents[2] / ".." / "shared" / "realfiles"


@dataclass
class Expected:
    """One file's expectation. `facts` must be in the stored text; `absent` must not be; with
    `once`, each fact is stored once; with `sentence`, each fact lies inside one sentence (and
    starts one, with `starts`); `question` asked of this document must quote `answer`, or with
    `shown` only show it in a cited or related passage (a lone heading answers no question, and in
    a document of two lines the answer model may quote the other one, tentatively)."""

    name: str
    ingested: bool = True
    facts: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    once: bool = False
    sentence: bool = False
    starts: bool = False
    question: str = ""
    answer: str = ""
    shown: bool = False
    reason: str = ""  # for a skipped file: words its reason must hold


LAYOUT_PARSER = "LayoutParser: A Unified Toolkit for Deep Learning Based Document Image Analysis"
EXPECTED = [
    Expected(
        "layout-parser-paper-fast.pdf",
        facts=[
            LAYOUT_PARSER,
            "an open-source library for streamlining the usage of DL in DIA research and applications",
        ],
        absent=["ﬁ"],
        question="Which library does the paper introduce?",
        answer="open-source library for streamlining the usage of DL in DIA research",
    ),
    Expected(
        "copy-protected.pdf",
        facts=["A Unified Toolkit for Deep"],
        question="Which library does the paper introduce?",  # read as its unprotected copy is
        answer="open-source library for streamlining the usage of DL in DIA research",
    ),
    Expected("password.pdf", ingested=False, reason="password"),
    Expected(
        "multi-column-2p.pdf",
        facts=["Open-domain question answering relies on efficient passage retrieval"],
        sentence=True,
        starts=True,
        question="What does open-domain question answering rely on?",
        answer="Open-domain question answering relies on efficient passage retrieval",
    ),
    Expected(
        "fake-memo-with-duplicate-page.pdf",
        facts=["There were 20,000 bottles of water, 10,000 blankets, and 200 laptops delivered on January 23, 2023."],
        once=True,
        sentence=True,
        question="How many blankets were delivered?",
        answer="10,000 blankets",
    ),
    Expected(
        "header-test-doc.pdf",
        facts=["Here is a lovely sentences."],
        sentence=True,
        question="What is lovely?",
        answer="Here is a lovely sentences.",
        # a document of two or three lines: the answer model may quote another, tentatively
        shown=True,
    ),
    Expected(
        "embedded-images-tables.pdf",
        facts=["egg shell adsorption on stainless surface in 0.5 M H2SO4 follow Langmuir adsorption isotherm"],
        question="Which adsorption isotherm does egg shell adsorption follow?",
        answer="Langmuir adsorption isotherm",
    ),
    Expected(
        "a1977-backus-p21.pdf",
        facts=["It also permits one to write recursive functions without a definition."],
        question="What does it permit one to write without a definition?",
        answer="recursive functions without a definition",
    ),
    Expected(
        "fake-text-utf-16.txt",
        facts=["Hamburgers are delicious"],
        question="What is delicious?",
        answer="Hamburgers are delicious",
    ),
    Expected(
        "fake-text-utf-16-le.txt",
        facts=["Hamburgers are delicious"],
        question="What is delicious?",
        answer="Hamburgers are delicious",
    ),
    Expected(
        "fake-text-utf-16-be.txt",
        facts=["Doylestown, PA 18901"],
        question="What is the zip code of Doylestown?",
        answer="Doylestown, PA 18901",
        # the file never says "zip code": the refusal model declines and shows the line as related reading
        shown=True,
    ),
    Expected(
        "fake-text-utf-32.txt",
        facts=["Hamburgers are delicious"],
        question="What is delicious?",
        answer="Hamburgers are delicious",
    ),
    Expected(
        "example-steelJIS-datasheet-utf-16.html",
        facts=["JIS G 4108"],
        absent=["adsbygoogle", "{", "font-family"],
        question="Which JIS standard covers alloy steel bars for bolting?",
        answer="JIS G 4108",
    ),
    Expected(
        "fake-html-cp1252.html",
        facts=["Der Preis betrug 15,50 €."],
        question="Wie viel betrug der Preis?",
        answer="15,50 €",
    ),
    Expected("umlauts-non-utf8.md", facts=["können"], question="können", answer="können", shown=True),
    Expected(
        "simple-table.md",
        facts=["Bananas", "1.89"],
        question="How much are the bananas?",
        answer="1.89",
    ),
    Expected(
        "docx-tables.docx",
        facts=["Header Col 1", "Lorem ipsum"],
        question="What is in Header Col 1?",
        answer="Lorem ipsum",
        # a document of two or three lines: the answer model may quote another, tentatively
        shown=True,
    ),
    Expected(
        "tables-with-incomplete-rows.docx",
        facts=["Example of DOCX table where one or more rows is missing cells"],
        question="What is this an example of?",
        answer="Example of DOCX table where one or more rows is missing cells",
    ),
    Expected(
        "docx-hdrftr.docx",
        facts=["First header para", "Main document", "para1"],
        question="What does the header say?",
        answer="First header para",
        # a document of two or three lines: the answer model may quote another, tentatively
        shown=True,
    ),
    Expected(
        "norwich-city.txt",
        facts=["1986–1990 Watford"],
        absent=["â"],  # the infobox row is stored, but the offline answerer quotes prose, not it
    ),
    Expected(
        "example-10k-1p.html",
        facts=["Commission file number: 000-30653", "Galaxy Gaming, Inc."],
        question="What is the commission file number?",
        answer="000-30653",
    ),
    Expected(
        "codeblock.md",
        facts=["This is a simple HTML example."],
        question="What is the HTML example?",
        answer="This is a simple HTML example.",
    ),
]


@dataclass
class Outcome:
    """What one file got: its ingest result and, per check, whether it held."""

    expected: Expected
    result: FileResult
    stored: str = ""
    checks: dict[str, bool] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        status_ok = (self.result.status in ("added", "updated")) == self.expected.ingested
        if not self.expected.ingested:
            status_ok = status_ok and all(w in self.result.reason.lower() for w in self.expected.reason.split())
        return status_ok and all(self.checks.values())


def squash(text: str) -> str:
    return " ".join(text.split())


def stored_text(store: Store, document_id: str) -> tuple[str, list[str]]:
    """The stored text of a document, rebuilt from its chunks' offsets, and its sentences."""
    passages = store.document_chunks(document_id)
    store.load_sentences(passages)
    text: list[str] = []
    sentences: dict[int, str] = {}
    for passage in passages:
        end = passage.start + len(passage.text)
        if len(text) < end:
            text.extend(" " * (end - len(text)))
        text[passage.start : end] = passage.text
        for s, e in passage.sentences:
            sentences[passage.start + s] = passage.text[s:e]
    return "".join(text), list(sentences.values())


def whole_sentence(fact: str, sentence: str, starts: bool) -> bool:
    """Whether `sentence` is the sentence `fact` (a whole sentence, ending in a full stop) or, for
    the beginning of one, starts with it: nothing glued in front of it or after it."""
    if fact.endswith("."):
        return sentence == fact
    return sentence.startswith(fact) if starts else fact in sentence


def check(outcome: Outcome, store: Store, chain: Chain) -> None:
    expected, result = outcome.expected, outcome.result
    if not expected.ingested or result.status not in ("added", "updated"):
        return
    text, sentences = stored_text(store, result.document_id)
    outcome.stored = text
    flat, flat_sentences = squash(text), [squash(s) for s in sentences]
    for fact in expected.facts:
        outcome.checks[f"found {fact!r}"] = fact in flat
        if expected.once:
            outcome.checks[f"once {fact!r}"] = flat.count(fact) == 1
        if expected.sentence:
            outcome.checks[f"one sentence {fact!r}"] = any(
                whole_sentence(fact, s, expected.starts) for s in flat_sentences
            )
    for gone in expected.absent:
        outcome.checks[f"absent {gone!r}"] = gone not in text
    if expected.question:
        answer = chain.answer(expected.question, document_ids=[result.document_id])
        # quoted; or, with `shown`, in a passage the answer cites or shows as related reading
        quoted = [squash(c.passage if expected.shown else c.quote) for c in answer.citations]
        held = (expected.shown or not answer.refused) and any(expected.answer in q for q in quoted)
        outcome.checks[f"answered {expected.question!r}"] = held


def run(root: Path, embedder: Embedder, names: list[str] | None = None) -> list[Outcome]:
    """Ingest the real files (all, or `names`) into a store under `root` and check each."""
    settings = Settings(corpus=root / "corpus", db=root / "db", _env_file=None)
    (root / "corpus").mkdir(exist_ok=True)
    chosen = [e for e in EXPECTED if names is None or e.name in names]
    store = open_store(settings, embedder, writer="tests")
    try:
        report = ingest_paths(store, settings, [FOLDER / e.name for e in chosen])
        by_name = {Path(r.path).name: r for r in report.results}
        chain = Chain(settings, store, embedder)
        outcomes = []
        for expected in chosen:
            outcome = Outcome(expected, by_name[expected.name])
            check(outcome, store, chain)
            outcomes.append(outcome)
        return outcomes
    finally:
        store.close()


def table(outcomes: list[Outcome]) -> str:
    """A Markdown table: file, what happened, and each failed check."""
    lines = ["| File | Result | Checks | Failed |", "|---|---|---|---|"]
    for o in outcomes:
        r = o.result
        what = f"ingested ({r.chunks} chunks)" if r.status in ("added", "updated") else f"skipped: {r.reason}"
        passed = sum(o.checks.values())
        failed = "; ".join(name for name, held in o.checks.items() if not held)
        if not o.ok and not failed:
            failed = "expected " + ("ingested" if o.expected.ingested else f"skipped ({o.expected.reason})")
        mark = "ok" if o.ok else "FAIL"
        lines.append(f"| {o.expected.name} | {what} | {mark} {passed}/{len(o.checks)} | {failed} |")
    good = sum(o.ok for o in outcomes)
    lines.append(f"\n{good} of {len(outcomes)} files as expected")
    return "\n".join(re.sub(r"\s*\n\s*", " ", line) if line.startswith("|") else line for line in lines)


def main(argv: list[str]) -> int:
    embedder = Embedder()
    with tempfile.TemporaryDirectory() as tmp:
        outcomes = run(Path(tmp), embedder, argv or None)
    print(table(outcomes))
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
