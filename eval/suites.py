"""The suites of `python -m eval`: which questions are asked over which documents, and which table
row each is counted in.

(a) own: `eval/qa.jsonl` over the seed and `eval/documents/`.
(b) covidqa: the 479 COVID-QA development questions over all 98 papers.
(c) covidqa-small: each development paper with its four nearest development papers, in a fresh
    store each, asked that paper's questions.
(d) general: NQ-Open search-engine questions over the home corpus (`corpus/`) and over the
    papers, all to be declined.
(e) unrelated: the unrelated PubMedQA questions over the papers, to be declined.
(f) pubmedqa: each PubMedQA abstract with its four nearest abstracts, asked its own question,
    expecting its conclusions.
(g) reader: `eval/reader.jsonl`, plain reader questions over the seed and `eval/documents/`.
(h) alone: each home document alone in a fresh store (the product as shipped holds the seed
    alone; "Search in" one document searches one), asked the questions of (a) and (g) it answers;
    the seed alone is also asked their questions to decline, and every document alone a fixed
    sample of `GENERAL_ALONE` of the general questions the answer model is fitted on.

"Nearest" is by the bundled model's mean document vector (`eval.neighbours`). `sample` (a fixed
seed) keeps a few questions of each for a quick run: N questions each; for the papers the first
3N - 2 (N development papers); for (f) N abstracts among the first 5N.

Held out: the answer model (`chat/models/answer.json`, fitted by `eval.fit_answer`) was fitted on
every suite but (h) (`eval.fit_answer.MEASURED_ONLY`: a corpus kind it never sees, though its
questions are asked in other suites) and the general questions outside its fixed sample of
`GENERAL_FITTED`: those rows are marked IN-SAMPLE, and their held-out figures are the
cross-validated ones `python -m eval.fit_answer` prints and records. The general questions it
never saw have rows of their own. The passage model (`eval.fit`) was fitted on (a) and (b). The
901 held-out COVID-QA questions are not in `../shared`.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from eval.counting import Expected
from eval.harness import Asked, Corpus
from eval.neighbours import small_corpora
from eval.run import SEED, build_corpus, load_cases
from ingest.pipeline import document_id
from studychat.embedder import Embedder
from studychat.settings import Settings

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BENCHMARKS = ROOT.parent / "shared" / "benchmarks"
READER = HERE / "reader.jsonl"
SEED_NUMBER = 7
NEAREST = 4
GENERAL_FITTED = 600  # general questions the answer model is fitted on; the rest are held out
GENERAL_ALONE = 60  # of those, asked over each home document alone

HOME, PAPERS, SMALL, ALONE = "home", "papers", "small", "alone"
KINDS = {
    HOME: "Home documents: the seed article and eval/documents/ ((d): corpus/ alone)",
    PAPERS: "The 98 COVID-QA papers in one store",
    SMALL: "Small corpora: a document with its four nearest, each in a fresh store",
    ALONE: "One document alone in a fresh store",
}
IN_SAMPLE_PART = f"IN-SAMPLE in part: the answer model was fitted on {GENERAL_FITTED} of these"
IN_SAMPLE_FIT = "IN-SAMPLE: the answer model was fitted on these (held out: python -m eval.fit_answer)"
IN_SAMPLE_QUESTIONS = (
    "IN-SAMPLE questions: the answer model was fitted on them over other corpora, never over one document "
    "alone (held out: python -m eval.fit_answer)"
)


@dataclass(frozen=True)
class Row:
    """One row of a table: a suite, or a part of one."""

    key: str
    label: str
    kind: str
    in_sample: str = ""  # why the row is in-sample for the current models; empty when held out


@dataclass
class Context:
    """What the suites are built from."""

    settings: Settings
    embedder: Embedder
    workdir: Path
    benchmarks: Path = BENCHMARKS
    sample: int | None = None

    def pick(self, items: list, n: int | None = None) -> list:
        """`items`, or a fixed-seed sample of `n` (default `sample`) of them in their order."""
        n = self.sample if n is None else n
        if n is None or n >= len(items):
            return list(items)
        chosen = sorted(random.Random(SEED_NUMBER).sample(range(len(items)), n))
        return [items[i] for i in chosen]


Plan = list[tuple[Corpus, list[Asked]]]


@dataclass(frozen=True)
class Suite:
    name: str
    letter: str
    rows: tuple[Row, ...]
    plan: Callable[[Context], Plan]


def read_jsonl(path: Path) -> list[dict]:
    """The records of a JSON-lines file; blank lines and `#` comment lines are left out."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip() and not line.lstrip().startswith("#")]


# ---- the corpora -------------------------------------------------------------------------------


def own_corpus(ctx: Context) -> Corpus:
    """The seed and `eval/documents/`, laid out as the own set's document ids expect."""
    folder = ctx.workdir / "own-corpus"
    if not folder.exists():
        build_corpus(folder)
    return Corpus(folder, [folder], name="own")


def home_corpus(ctx: Context) -> Corpus:
    folder = SEED.parent
    return Corpus(folder, [folder], name="home")


def paper_paths(ctx: Context) -> list[Path]:
    """The papers: all 98, or for a sample of N the first 3N - 2 (N development papers, 000, 003 ...)."""
    paths = sorted((ctx.benchmarks / "covidqa" / "documents").glob("*.txt"))
    return paths[: 3 * ctx.sample - 2] if ctx.sample else paths


def papers_corpus(ctx: Context) -> Corpus:
    paths = paper_paths(ctx)
    return Corpus(paths[0].parent, paths, name="papers")


def covidqa_questions(ctx: Context, papers: set[str]) -> list[dict]:
    rows = read_jsonl(ctx.benchmarks / "covidqa" / "questions.jsonl")
    return [r for r in rows if r["document"] in papers]


def _covidqa_asked(row: dict, key: str) -> Asked:
    return Asked(row["id"], row["question"], Expected(document=row["document"], answer=row["answer"]), (key,))


def _declined(rows: list[dict], key: str) -> list[Asked]:
    return [Asked(r["id"], r["question"], Expected(), (key,)) for r in rows]


# ---- the suites --------------------------------------------------------------------------------


def own_asked(key: str, pick: Callable[[list], list] = list) -> list[Asked]:
    """The questions of `eval/qa.jsonl` (those `pick` keeps), counted in row `key`."""
    return [
        Asked(c.id, c.question, Expected(document=c.source if c.in_scope else "", pattern=c.expect), (key,), c.history)
        for c in pick(load_cases())
    ]


def reader_asked(key: str, pick: Callable[[list], list] = list) -> list[Asked]:
    """The questions of `eval/reader.jsonl` (those `pick` keeps), counted in row `key`."""
    return [
        Asked(r["id"], r["question"], Expected(document=r["document"], pattern=r["expect"]), (key,), r["history"])
        for r in pick(read_jsonl(READER))
    ]


def plan_own(ctx: Context) -> Plan:
    return [(own_corpus(ctx), own_asked("own", ctx.pick))]


def plan_reader(ctx: Context) -> Plan:
    return [(own_corpus(ctx), reader_asked("reader", ctx.pick))]


def plan_alone(ctx: Context) -> Plan:
    own = own_corpus(ctx)
    asked = own_asked("alone") + reader_asked("alone")
    general = ctx.pick(general_fitted(read_jsonl(ctx.benchmarks / "nq-open-general.jsonl")), GENERAL_ALONE)
    general_asked = [Asked(r["id"], r["question"], Expected(), ("alone-general",)) for r in general]
    paths = sorted(p for p in own.folder.rglob("*") if p.is_file())
    plan = []
    for path in [own.folder / SEED.name] if ctx.sample else paths:  # a sample asks over the seed alone
        document = document_id(path, own.folder)
        its = [
            q
            for q in asked
            if q.expected.document == document or (path.name == SEED.name and not q.expected.answerable)
        ]
        plan.append((Corpus(own.folder, [path]), ctx.pick(its) + ctx.pick(general_asked)))
    return plan


def plan_covidqa(ctx: Context) -> Plan:
    corpus = papers_corpus(ctx)
    rows = ctx.pick(covidqa_questions(ctx, {p.stem for p in corpus.files}))
    return [(corpus, [_covidqa_asked(r, "covidqa") for r in rows])]


def plan_covidqa_small(ctx: Context) -> Plan:
    papers = {p.stem: p for p in paper_paths(ctx)}
    questions = covidqa_questions(ctx, set(papers))
    development = [papers[name] for name in sorted({r["document"] for r in questions})]
    groups = small_corpora(development, list(range(len(development))), ctx.settings, ctx.embedder, NEAREST)
    plan = []
    for group in groups:
        own = [r for r in questions if r["document"] == group[0].stem]
        own = ctx.pick(own, 1) if ctx.sample else own  # a sample asks one question of each paper
        plan.append((Corpus(group[0].parent, group), [_covidqa_asked(r, "covidqa-small") for r in own]))
    return plan


def general_fitted(rows: list[dict]) -> list[dict]:
    """The general questions the answer model is fitted on (`eval.fit_answer`): a fixed sample of
    `GENERAL_FITTED`; the others are held out."""
    chosen = sorted(random.Random(SEED_NUMBER).sample(range(len(rows)), min(GENERAL_FITTED, len(rows))))
    return [rows[i] for i in chosen]


def plan_general(ctx: Context) -> Plan:
    everything = read_jsonl(ctx.benchmarks / "nq-open-general.jsonl")
    fitted = {r["id"] for r in general_fitted(everything)}
    plan = []
    for corpus, key in ((home_corpus(ctx), "general-home"), (papers_corpus(ctx), "general-papers")):
        asked = [
            Asked(r["id"], r["question"], Expected(), (key,) if r["id"] in fitted else (key, f"{key}-unseen"))
            for r in ctx.pick(everything)
        ]
        plan.append((corpus, asked))
    return plan


def plan_unrelated(ctx: Context) -> Plan:
    rows = ctx.pick(read_jsonl(ctx.benchmarks / "pubmedqa-unrelated.jsonl"))
    return [(papers_corpus(ctx), _declined(rows, "unrelated"))]


def abstract_files(ctx: Context, rows: list[dict]) -> list[Path]:
    """Each abstract as a text file of its own, named by its id, in the work folder."""
    folder = ctx.workdir / "pubmedqa"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for row in rows:
        path = folder / f"{row['id']}.txt"
        if not path.exists():
            path.write_text(row["document"], encoding="utf-8")
        paths.append(path)
    return paths


def plan_pubmedqa(ctx: Context) -> Plan:
    rows = read_jsonl(ctx.benchmarks / "pubmedqa-abstracts.jsonl")
    if ctx.sample:
        rows = rows[: 5 * ctx.sample]
    targets = list(range(len(rows)))
    targets = ctx.pick(targets)
    groups = small_corpora(abstract_files(ctx, rows), targets, ctx.settings, ctx.embedder, NEAREST)
    plan = []
    for i, group in zip(targets, groups, strict=True):
        row = rows[i]
        expected = Expected(document=row["id"], answer=row["answer"])
        plan.append((Corpus(group[0].parent, group), [Asked(row["id"], row["question"], expected, ("pubmedqa",))]))
    return plan


SUITES = {
    suite.name: suite
    for suite in (
        Suite("own", "a", (Row("own", "(a) own set, eval/qa.jsonl", HOME, IN_SAMPLE_FIT),), plan_own),
        Suite(
            "covidqa",
            "b",
            (
                Row(
                    "covidqa",
                    "(b) COVID-QA development questions",
                    PAPERS,
                    IN_SAMPLE_FIT + "; the 901 held-out questions are not in ../shared",
                ),
            ),
            plan_covidqa,
        ),
        Suite(
            "covidqa-small",
            "c",
            (
                Row(
                    "covidqa-small",
                    "(c) COVID-QA development questions, own paper + 4 nearest",
                    SMALL,
                    IN_SAMPLE_FIT + " questions and papers (in the whole corpus)",
                ),
            ),
            plan_covidqa_small,
        ),
        Suite(
            "general",
            "d",
            (
                Row("general-home", "(d) NQ-Open general questions over corpus/ (decline)", HOME, IN_SAMPLE_PART),
                Row("general-home-unseen", "(d) the same, questions the answer model never saw", HOME),
                Row(
                    "general-papers", "(d) NQ-Open general questions over the papers (decline)", PAPERS, IN_SAMPLE_PART
                ),
                Row("general-papers-unseen", "(d) the same, questions the answer model never saw", PAPERS),
            ),
            plan_general,
        ),
        Suite(
            "unrelated",
            "e",
            (
                Row(
                    "unrelated",
                    "(e) unrelated PubMedQA questions (decline)",
                    PAPERS,
                    IN_SAMPLE_FIT,
                ),
            ),
            plan_unrelated,
        ),
        Suite(
            "pubmedqa",
            "f",
            (Row("pubmedqa", "(f) PubMedQA abstract + 4 nearest, its own question", SMALL, IN_SAMPLE_FIT),),
            plan_pubmedqa,
        ),
        Suite(
            "reader", "g", (Row("reader", "(g) reader questions, eval/reader.jsonl", HOME, IN_SAMPLE_FIT),), plan_reader
        ),
        Suite(
            "alone",
            "h",
            (
                Row("alone", "(h) one home document alone, (a) and (g) questions", ALONE, IN_SAMPLE_QUESTIONS),
                Row("alone-general", "(h) the same, general questions (decline)", ALONE, IN_SAMPLE_QUESTIONS),
            ),
            plan_alone,
        ),
    )
}
ORDER = (
    "own",
    "reader",
    "covidqa",
    "unrelated",
    "general",
    "covidqa-small",
    "pubmedqa",
    "alone",
)  # shared stores first


def parse_names(text: str) -> list[str]:
    """Suite names from "a,b" (names or letters); raises ValueError naming an unknown one."""
    letters = {s.letter: s.name for s in SUITES.values()}
    names = []
    for part in filter(None, (p.strip() for p in re.split(r"[,\s]+", text))):
        name = letters.get(part, part)
        if name not in SUITES:
            raise ValueError(f"unknown suite {part!r}: choose from {', '.join(SUITES)} (or their letters a-h)")
        names.append(name)
    return sorted(set(names), key=ORDER.index)
