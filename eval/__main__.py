"""`python -m eval`: run the evaluation suites and print one table per corpus kind.

`--suite NAME[,NAME]` picks suites (own, reader, covidqa, unrelated, general, covidqa-small,
pubmedqa, alone, or their letters a-h; all by default), `--sample N` keeps a fixed few questions of each
for a quick run. `--compare own|covidqa` runs the older comparison with the LangChain tutorial
pipeline (and, on the papers, plain dense sentence search) instead.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from eval import covidqa
from eval.report import run_suites, tables, timing
from eval.run import QUESTIONS, evaluate, failures, load_cases, table
from eval.suites import BENCHMARKS, ORDER, parse_names
from studychat.embedder import build_embedder
from studychat.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval", description=__doc__)
    parser.add_argument("--suite", default=",".join(ORDER), help="suites to run, comma-separated (default: all)")
    parser.add_argument("--sample", type=int, metavar="N", help="a fixed sample of N questions of each suite")
    parser.add_argument("--json", type=Path, help="also write the figures and every answer to this file")
    parser.add_argument("--benchmarks", type=Path, default=BENCHMARKS, help="the public benchmarks folder")
    parser.add_argument("--compare", choices=("own", "covidqa"), help="the comparison with the tutorial pipeline")
    parser.add_argument("--chain-only", action="store_true", help="--compare: skip the peers")
    parser.add_argument("--questions", type=Path, default=QUESTIONS, help="--compare own: the question set")
    parser.add_argument("--keep", type=Path, help="--compare covidqa: keep the chain's store here and reuse it")
    args = parser.parse_args(argv)
    if args.sample is not None and args.sample < 1:
        parser.error("--sample must be at least 1")

    settings = Settings()
    if args.compare == "covidqa":
        return run_covidqa(settings, args)
    if args.compare == "own":
        return run_own(settings, args)
    try:
        names = parse_names(args.suite)
    except ValueError as error:
        parser.error(str(error))
    needs_benchmarks = set(names) - {"own", "reader"}
    if needs_benchmarks and not (args.benchmarks / "covidqa" / "questions.jsonl").exists():
        parser.error(
            f"suites {', '.join(sorted(needs_benchmarks))} need the benchmarks at {args.benchmarks}: not found"
        )
    started = time.perf_counter()
    print(
        f"Running {', '.join(names)}" + (f", a sample of {args.sample} each" if args.sample else "") + " ...",
        file=sys.stderr,
    )
    log = lambda line: print(line, file=sys.stderr)  # noqa: E731

    def keep(so_far: dict) -> None:  # a long run keeps each suite's figures as it ends
        if args.json:
            args.json.write_text(json.dumps(so_far, indent=2, ensure_ascii=False))

    results = run_suites(names, settings, build_embedder(settings), args.benchmarks, args.sample, log, keep)
    print(tables(results))
    print("\n" + timing(results))
    if args.json:
        print(f"\nWrote {args.json}")
    hits = {k: r["figures"]["answer_hit"] for k, r in results["rows"].items() if r["figures"]["answer_hit"] is not None}
    summary = ", ".join(f"{k} {v:.2f}" for k, v in hits.items()) or "no answerable questions"
    print(f"\nDone in {time.perf_counter() - started:.0f} s: answer hit {summary}.", file=sys.stderr)
    return 0


def run_own(settings: Settings, args: argparse.Namespace) -> int:
    """The own set through the chain and the LangChain tutorial pipeline, with the chain's failures."""
    cases = load_cases(args.questions)
    pipelines = ("chain",) if args.chain_only else ("chain", "tutorial")
    print(f"Evaluating {', '.join(pipelines)} on {len(cases)} questions ...", file=sys.stderr)
    started = time.perf_counter()
    results = evaluate(settings, build_embedder(settings), pipelines, args.questions)

    inside = sum(c.in_scope for c in cases)
    print(f"\n{len(cases)} questions: {inside} answerable from the documents, {len(cases) - inside} not.\n")
    print(table(results))
    if "tutorial" in results:
        print(
            "\nTutorial pipeline: raw (uncleaned) text, question without history; it declines only under an "
            "oracle similarity threshold chosen on this set."
        )
    wrong = failures(results, "chain", args.questions)
    print(f"\nChain failures ({len(wrong)}):" if wrong else "\nChain failures: none")
    print("\n".join(wrong))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False))
        print(f"\nWrote {args.json}")
    hit = results["chain"]["metrics"]["answer_hit_rate"]
    print(f"\nDone in {time.perf_counter() - started:.0f} s: chain answer hit rate {hit:.2f}.", file=sys.stderr)
    return 0


def run_covidqa(settings: Settings, args: argparse.Namespace) -> int:
    if args.sample:
        papers, dev, unrelated = covidqa.sample(args.benchmarks, args.sample, unrelated=4 * args.sample)
    else:
        papers = covidqa.all_papers(args.benchmarks)
        dev, unrelated = covidqa.load_questions(args.benchmarks)
    pipelines = ("chain",) if args.chain_only else ("chain", "tutorial", "sentences")
    print(
        f"covidqa: {len(papers)} papers, {len(dev)} development and {len(unrelated)} unrelated questions, "
        f"pipelines {', '.join(pipelines)} ...",
        file=sys.stderr,
    )
    started = time.perf_counter()
    log = lambda line: print(line, file=sys.stderr)  # noqa: E731
    results = covidqa.evaluate(
        settings, build_embedder(settings), papers, dev, unrelated, pipelines, keep=args.keep, log=log
    )
    print(covidqa.table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False))
        print(f"\nWrote {args.json}")
    print(f"\nDone in {time.perf_counter() - started:.0f} s.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
