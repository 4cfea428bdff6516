"""`python -m eval [--suite own|covidqa] [--json PATH] [--chain-only]`: print the metrics table.

`own` (the default) is the project's evaluation set, with the chain's failures listed; `covidqa`
is the public benchmark of real papers (`eval/covidqa.py`), with `--sample` for a quick run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from eval import covidqa
from eval.run import QUESTIONS, evaluate, failures, load_cases, table
from studychat.embedder import build_embedder
from studychat.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval", description=__doc__)
    parser.add_argument("--json", type=Path, help="also write the metrics and every answer to this file")
    parser.add_argument("--chain-only", action="store_true", help="skip the LangChain tutorial pipeline")
    parser.add_argument("--questions", type=Path, default=QUESTIONS, help="the question set (JSON lines)")
    parser.add_argument("--suite", choices=("own", "covidqa"), default="own", help="which question set to run")
    parser.add_argument("--benchmarks", type=Path, default=covidqa.BENCHMARKS, help="the public benchmarks folder")
    parser.add_argument("--sample", type=int, metavar="PAPERS", help="covidqa: only the first PAPERS papers")
    parser.add_argument("--keep", type=Path, help="covidqa: keep the chain's store here and reuse it next time")
    args = parser.parse_args(argv)

    settings = Settings()
    if args.suite == "covidqa":
        return run_covidqa(settings, args)
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
