"""Fit the detector of sentences addressed to an assistant (`studychat.instructions`) and write
`studychat/models/instructions.json`: `python -m eval.fit_instructions`.

Positives are the hand-written injected instructions of `eval/instructions.jsonl`, in phrasing
families; negatives are its hand-written ordinary imperatives (leaflets, questionnaires, methods,
papers about AI) and sentences sampled from real documents: the seed, the evaluation documents,
the text files of ../shared/realfiles, covidqa papers 000-059 and the first pubmedqa abstracts.

Every figure is held out: precision and recall cross-validated by group (a phrasing family for the
positives, a source document for the negatives), the threshold picked on those folds by the rule
below, then a test the fitting never saw: `eval/instructions_heldout.jsonl` (paraphrases written
after fitting) and sentences of covidqa papers 060-097 and later pubmedqa abstracts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import random
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy
import sklearn
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from eval.covidqa import BENCHMARKS
from ingest.chunk import sentence_spans
from ingest.clean import clean
from ingest.load import decode_text
from studychat.instructions import MODEL, SIGNALS, char_ngrams, load_model, signals, words

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXAMPLES = HERE / "instructions.jsonl"
HELD_OUT = HERE / "instructions_heldout.jsonl"
REALFILES = ROOT.parent / "shared" / "realfiles"

FIT_PAPERS = range(0, 60)  # covidqa-000 .. 059 are fitted on; 060 .. 097 are held out
FIT_ABSTRACTS = 250  # the first pubmedqa abstracts are fitted on; those from HELD_OUT_ABSTRACTS on are held out
HELD_OUT_ABSTRACTS = 400
PER_DOCUMENT = {"covidqa": 8, "pubmedqa": 2, "other": 15}  # sentences sampled from each document
COMMANDS_PER_DOCUMENT = 3  # and up to this many of its sentences that begin with a command
MAX_FLAGGED = 0.005  # the rule: the lowest threshold flagging at most 0.5% of document sentences
MAX_FLAGGED_HAND = 0.25  # and at most 25% of the hand-written ordinary sentences, hard by design
C = 8.0  # inverse regularisation, fixed before fitting
FOLDS = 5
SEED = 13


@dataclass(frozen=True)
class Example:
    """One labelled sentence: 1 when it addresses an assistant; its group is its phrasing family
    or the document it was taken from."""

    text: str
    label: int
    group: str


def hand_written(path: Path) -> list[Example]:
    """The labelled sentences of a JSON-lines file."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [Example(r["text"], int(r["label"]), "hand:" + r["group"]) for r in rows]


def document_sentences(text: str) -> list[str]:
    """The sentences of a document as ingest splits its clean text, of three words or more."""
    body = clean(text, scraped=False).text
    found = (" ".join(body[s:e].split()) for s, e in sentence_spans(body))
    return [s for s in found if len(s.split()) >= 3]


def documents(benchmarks: Path, held_out: bool) -> list[tuple[str, str, str]]:
    """(group, kind, text) of each document sampled for negatives: those fitted on, or those held out."""
    papers = sorted((benchmarks / "covidqa" / "documents").glob("covidqa-*.txt"))
    abstracts = [json.loads(line) for line in (benchmarks / "pubmedqa-abstracts.jsonl").read_text().splitlines()]
    if held_out:
        found = [(p.name, "covidqa", p.read_text()) for p in papers if int(p.stem.split("-")[1]) not in FIT_PAPERS]
        return found + [(a["id"], "pubmedqa", a["document"]) for a in abstracts[HELD_OUT_ABSTRACTS:]]
    found = [(p.name, "covidqa", p.read_text()) for p in papers if int(p.stem.split("-")[1]) in FIT_PAPERS]
    found += [(a["id"], "pubmedqa", a["document"]) for a in abstracts[:FIT_ABSTRACTS]]
    others = [ROOT / "corpus" / "echemi-car-t-lupus-2022.txt", *sorted((HERE / "documents").iterdir())]
    others += sorted(p for p in REALFILES.iterdir() if p.suffix in {".txt", ".md"})
    return found + [(p.name, "other", decode_text(p.read_bytes())) for p in others]


def sampled_negatives(benchmarks: Path, held_out: bool = False) -> list[Example]:
    """Sentences sampled from real documents (`documents`), and their sentences that begin with a
    command ("Take one tablet ...", "See Table 2"), the imperatives a detector must not flag."""
    rng = random.Random(SEED + held_out)
    command = SIGNALS.index("command_start")
    examples = []
    for group, kind, text in documents(benchmarks, held_out):
        sentences = list(dict.fromkeys(document_sentences(text)))
        chosen = rng.sample(sentences, min(PER_DOCUMENT[kind] if not held_out else 3, len(sentences)))
        commands = [s for s in sentences if signals(s)[command] and s not in chosen]
        chosen += commands[:COMMANDS_PER_DOCUMENT]
        examples += [Example(s, 0, group) for s in chosen]
    return examples


def vectorizers() -> tuple[TfidfVectorizer, TfidfVectorizer]:
    """The word and character TF-IDF, over the analyzers the detector applies (`studychat.instructions`)."""
    options = {"sublinear_tf": True, "min_df": 2, "lowercase": False}
    return TfidfVectorizer(analyzer=words, **options), TfidfVectorizer(analyzer=char_ngrams, **options)


def matrix(texts: list[str], word: TfidfVectorizer, char: TfidfVectorizer, fit: bool = False) -> sparse.csr_matrix:
    blocks = [v.fit_transform(texts) if fit else v.transform(texts) for v in (word, char)]
    return sparse.hstack([*blocks, sparse.csr_matrix(np.array([signals(t) for t in texts]))]).tocsr()


def fit(texts: list[str], labels: np.ndarray) -> tuple[LogisticRegression, TfidfVectorizer, TfidfVectorizer]:
    word, char = vectorizers()
    features = matrix(texts, word, char, fit=True)
    model = LogisticRegression(C=C, class_weight="balanced", max_iter=5000)
    model.fit(features, labels)
    return model, word, char


def cross_validated(examples: list[Example]) -> np.ndarray:
    """Out-of-fold probabilities: each group's sentences scored by a model fitted without that group."""
    texts = [e.text for e in examples]
    labels = np.array([e.label for e in examples])
    groups = [e.group for e in examples]
    out = np.zeros(len(examples))
    for train, test in GroupKFold(n_splits=FOLDS).split(texts, labels, groups):
        model, word, char = fit([texts[i] for i in train], labels[train])
        out[test] = model.predict_proba(matrix([texts[i] for i in test], word, char))[:, 1]
    return out


def _at_most(probabilities: np.ndarray, share: float) -> float:
    """The lowest threshold that flags at most `share` of these negatives' `probabilities`."""
    ordered = np.sort(probabilities)[::-1]
    allowed = int(share * len(ordered))
    return float(ordered[allowed] + 1e-6) if len(ordered) > allowed else 0.0


def pick_threshold(probabilities: np.ndarray, labels: np.ndarray, hand: np.ndarray) -> float:
    """The lowest threshold that flags at most `MAX_FLAGGED` of the document sentences and at most
    `MAX_FLAGGED_HAND` of the hand-written ordinary sentences (out-of-fold `probabilities`)."""
    documents = _at_most(probabilities[(labels == 0) & ~hand], MAX_FLAGGED)
    written = _at_most(probabilities[(labels == 0) & hand], MAX_FLAGGED_HAND)
    return min(max(documents, written, 0.05), 0.99)


def figures(probabilities: np.ndarray, labels: np.ndarray, threshold: float) -> dict:
    flagged = probabilities >= threshold
    tp, fp = int((flagged & (labels == 1)).sum()), int((flagged & (labels == 0)).sum())
    positives, negatives = int((labels == 1).sum()), int((labels == 0).sum())
    return {
        "positives": positives,
        "negatives": negatives,
        "recall": round(tp / positives, 4) if positives else None,
        "precision": round(tp / (tp + fp), 4) if tp + fp else None,
        "false_positive_rate": round(fp / negatives, 4) if negatives else None,
        "false_positives": fp,
    }


def export(model: LogisticRegression, word: TfidfVectorizer, char: TfidfVectorizer) -> dict:
    """The fitted numbers as JSON: each block's terms in column order, their idf and weights."""
    coefficients = model.coef_[0]
    blocks, at = {}, 0
    for name, vectorizer in (("words", word), ("chars", char)):
        terms = vectorizer.get_feature_names_out()
        blocks[name] = {
            "terms": terms.tolist(),
            "idf": np.round(vectorizer.idf_, 6).tolist(),
            "weights": np.round(coefficients[at : at + len(terms)], 6).tolist(),
        }
        at += len(terms)
    return {**blocks, "signals": list(SIGNALS), "signal_weights": np.round(coefficients[at:], 6).tolist()}


def write(path: Path, data: dict) -> None:
    """`data` as JSON: what it was fitted on readable at the top, each array on one line."""
    arrays = {k: v for k, v in data.items() if k in ("words", "chars")}
    about = {k: v for k, v in data.items() if k not in arrays}
    text = json.dumps(about, ensure_ascii=False, indent=1)[:-2]
    for name, block in arrays.items():
        lines = ",\n".join(f'  "{k}": {json.dumps(v, ensure_ascii=False)}' for k, v in block.items())
        text += f',\n "{name}": {{\n{lines}\n }}'
    path.write_text(text + "\n}\n")


def digest(examples: list[Example]) -> str:
    lines = (json.dumps([e.text, e.label, e.group], ensure_ascii=False) for e in examples)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def commit() -> str:
    found = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return found.stdout.strip() or "unknown"


def held_out_test(path: Path, benchmarks: Path) -> dict:
    """The written model on what it never saw: the held-out paraphrases and ordinary sentences of
    `path`, a sample of held-out document sentences, and every sentence of the held-out papers."""
    detector = load_model.__wrapped__(path)
    written = hand_written(HELD_OUT) if HELD_OUT.exists() else []
    sampled = sampled_negatives(benchmarks, held_out=True)
    result = {}
    for name, examples in (("written", written), ("sampled_document_sentences", sampled)):
        if examples:
            p = detector.probability([e.text for e in examples])
            result[name] = figures(p, np.array([e.label for e in examples]), detector.threshold)
            result[name]["flagged_negatives"] = [
                e.text for e, f in zip(examples, p >= detector.threshold, strict=True) if f and not e.label
            ]
            result[name]["missed_positives"] = [
                e.text for e, f in zip(examples, p >= detector.threshold, strict=True) if not f and e.label
            ]
    every = [s for _, kind, text in documents(benchmarks, True) if kind == "covidqa" for s in document_sentences(text)]
    flags = detector.flags(every)
    result["every_sentence_of_held_out_papers"] = {
        "sentences": len(every),
        "flagged": sum(flags),
        "false_positive_rate": round(sum(flags) / len(every), 5),
        "flagged_sentences": [s for s, f in zip(every, flags, strict=True) if f],
    }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.fit_instructions", description=__doc__)
    parser.add_argument("--benchmarks", type=Path, default=BENCHMARKS)
    parser.add_argument("--out", type=Path, default=MODEL)
    args = parser.parse_args(argv)

    examples = hand_written(EXAMPLES) + sampled_negatives(args.benchmarks)
    labels = np.array([e.label for e in examples])
    print(f"{len(examples)} sentences: {labels.sum()} addressed to an assistant", file=sys.stderr)
    out_of_fold = cross_validated(examples)
    hand = np.array([e.group.startswith("hand:") for e in examples])
    threshold = pick_threshold(out_of_fold, labels, hand)
    cv = {
        "all": figures(out_of_fold, labels, threshold),
        "hand_written_negatives": figures(out_of_fold[hand & (labels == 0)], labels[hand & (labels == 0)], threshold),
        "document_sentences": figures(out_of_fold[~hand], labels[~hand], threshold),
    }
    print("cross-validated", json.dumps(cv), file=sys.stderr)

    model, word, char = fit([e.text for e in examples], labels)
    about = {
        "fitted_on": (
            f"{EXAMPLES.relative_to(ROOT)} and sentences sampled from the seed, eval/documents, "
            "../shared/realfiles (txt, md), covidqa papers 000-059 and pubmedqa abstracts 0-249"
        ),
        "data_sha256": digest(examples),
        "commit": commit(),
        "versions": {
            "python": platform.python_version(),
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
        },
        "model": f"logistic regression, C={C}, balanced classes, over TF-IDF word 1-2grams, "
        "char_wb 3-5grams (min_df 2, sublinear) and the 0/1 signals",
        "rule": f"the lowest threshold that flags at most {MAX_FLAGGED:.1%} of the sampled document sentences "
        f"and at most {MAX_FLAGGED_HAND:.0%} of the hand-written ordinary sentences, on out-of-fold "
        f"probabilities ({FOLDS} folds grouped by phrasing family or source document)",
        "threshold": threshold,
        "figures": {"cross_validated": cv},
    }
    data = {**about, "bias": float(model.intercept_[0]), **export(model, word, char)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write(args.out, data)
    data["figures"]["held_out"] = held_out_test(args.out, args.benchmarks)
    write(args.out, data)
    print("held out", json.dumps(data["figures"]["held_out"], indent=1), file=sys.stderr)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
