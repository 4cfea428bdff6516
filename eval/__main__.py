"""`python -m eval [--json PATH] [--chain-only]`: print the metrics table and the chain's failures."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from eval.run import QUESTIONS, evaluate, failures, load_cases, table
from studychat.embedder import build_embedder
from studychat.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval", description=__doc__)
    parser.add_argument("--json", type=Path, help="also write the metrics and every answer to this file")
    parser.add_argument("--chain-only", action="store_true", help="skip the LangChain tutorial pipeline")
    parser.add_argument("--questions", type=Path, default=QUESTIONS, help="the question set (JSON lines)")
    args = parser.parse_args(argv)

    settings = Settings()
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


if __name__ == "__main__":
    sys.exit(main())
