"""`python -m eval.fit [--store PATH]`: fit the answerer's decisions to data and write `chat/models/`.

The passage model (scikit-learn): a logistic regression that orders retrieval's candidates by the
probability that a passage holds the answer, over `chat.retrieve.PASSAGE_FEATURES`; one row per
candidate passage of each answerable question. (The answer model that chooses among the
candidate quotes is fitted by `python -m eval.fit_answer`.)

The data: the public benchmark's development questions (`../shared/benchmarks/covidqa`, a passage
labelled 1 when it comes from the question's paper and holds 80% of the expert answer's tokens,
the benchmark's rule), and the project's own set
(`eval/qa.jsonl`: a passage labelled by its expected fact and source document; in scope or not).
The own set's questions weigh `OWN_WEIGHT` each, so that its 113 count about as much as the
benchmark's 479. Thresholds and figures come from cross-validated
probabilities (5 folds by paper or document: nothing in both the fitting and the scoring part).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chat.chain import Chain, condense
from chat.fitted import MODELS, LinearModel, Models
from chat.retrieve import PASSAGE_FEATURES, retrieve
from eval import covidqa
from eval.run import build_corpus, load_cases
from ingest.pipeline import ingest_paths
from studychat.embedder import build_embedder
from studychat.settings import Settings
from studychat.store import open_store

FOLDS = 5
SHOWN = covidqa.SHOWN
OWN_WEIGHT = 5.0


@dataclass
class Item:
    """One question to fit on: where it is asked, whether the documents answer it, and which text
    holds its answer (`holds(passage text, document id)`)."""

    question: str
    history: list[dict]
    answerable: bool
    group: str  # the cross-validation group: the paper or document the answer is in
    corpus: str  # "covidqa" or "own"
    weight: float = 1.0
    holds: Callable[[str, str], bool] | None = None


def covidqa_items(dev: list[covidqa.Question], unrelated: list[covidqa.Question]) -> list[Item]:
    def item(q: covidqa.Question) -> Item:
        expected = covidqa.tokens(q.answer)

        def holds(text: str, doc_id: str) -> bool:
            return covidqa.paper_of(doc_id) == q.document and covidqa.share(expected, text) >= covidqa.PASSAGE_SHARE

        return Item(q.question, [], True, q.document, "covidqa", holds=holds)

    return [item(q) for q in dev] + [
        Item(q.question, [], False, f"unrelated-{i % FOLDS}", "covidqa") for i, q in enumerate(unrelated)
    ]


def own_items() -> list[Item]:
    def item(case) -> Item:
        def holds(text: str, doc_id: str) -> bool:
            return doc_id == case.source and re.search(case.expect, text, re.IGNORECASE) is not None

        group = case.source if case.in_scope else f"own-out-{case.id}"
        return Item(
            case.question, case.history, case.in_scope, group, "own", OWN_WEIGHT, holds if case.in_scope else None
        )

    return [item(case) for case in load_cases()]


FUSED_ONLY = LinearModel(  # orders candidates by the fused score alone, as retrieval did before the model
    PASSAGE_FEATURES,
    np.zeros(len(PASSAGE_FEATURES)),
    np.ones(len(PASSAGE_FEATURES)),
    np.eye(len(PASSAGE_FEATURES))[0] * 50.0,
    0.0,
)


@dataclass
class Rows:
    features: list
    labels: list
    questions: list  # index of the item each row belongs to
    weights: list

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return (
            np.asarray(self.features, dtype=np.float64),
            np.asarray(self.labels, dtype=int),
            np.asarray(self.questions),
            np.asarray(self.weights, dtype=np.float64),
        )


def passage_rows(chains: dict[str, Chain], items: list[Item]) -> Rows:
    rows = Rows([], [], [], [])
    for i, item in enumerate(items):
        if not item.answerable:
            continue
        chain = chains[item.corpus]
        search, _ = condense(item.question, item.history)
        found = retrieve(
            search,
            chain.store,
            chain.embedder,
            SHOWN,
            chain.settings.candidates,
            question=item.question,
            ranker=FUSED_ONLY,
        )
        for passage in found.pool:
            rows.features.append(passage.features)
            rows.labels.append(item.holds(passage.text, passage.document_id))
            rows.questions.append(i)
            rows.weights.append(item.weight)
    return rows


def fit_logistic(features: np.ndarray, labels: np.ndarray, weights: np.ndarray, names: tuple[str, ...]) -> LinearModel:
    """A logistic regression on standardised `features`, as the answerer's `LinearModel`."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(features)
    model = LogisticRegression(C=1.0, max_iter=2000).fit(scaler.transform(features), labels, sample_weight=weights)
    return LinearModel(names, scaler.mean_, scaler.scale_, model.coef_[0], float(model.intercept_[0]))


def cross_validated(rows: Rows, items: list[Item], names: tuple[str, ...], fit: Callable = fit_logistic) -> np.ndarray:
    """Each row's probability from a model (`fit`) fitted without its item's group (`FOLDS` folds)."""
    from sklearn.model_selection import GroupKFold

    features, labels, questions, weights = rows.arrays()
    groups = np.asarray([items[q].group for q in questions])
    held_out = np.zeros(len(labels))
    for train, test in GroupKFold(n_splits=FOLDS).split(features, labels, groups):
        model = fit(features[train], labels[train], weights[train], names)
        held_out[test] = model.probability(features[test])
    return held_out


def top_k_recall(scores: np.ndarray, labels: np.ndarray, questions: np.ndarray, k: int = SHOWN) -> float:
    """The share of questions with a labelled row among their `k` best-scored rows."""
    hits = []
    for q in np.unique(questions):
        rows = np.flatnonzero(questions == q)
        top = rows[np.argsort(-scores[rows], kind="stable")[:k]]
        hits.append(bool(labels[top].any()))
    return float(np.mean(hits)) if hits else 0.0


def by_corpus(items: list[Item], questions: np.ndarray, figure: Callable[[np.ndarray], float]) -> dict:
    """`figure(mask)` for the rows of each corpus's questions."""
    corpora = np.asarray([items[q].corpus for q in questions])
    return {corpus: round(figure(corpora == corpus), 4) for corpus in ("covidqa", "own")}


def fit_passages(chains: dict[str, Chain], items: list[Item]) -> tuple[LinearModel, dict]:
    rows = passage_rows(chains, items)
    features, labels, questions, weights = rows.arrays()
    held_out = cross_validated(rows, items, PASSAGE_FEATURES)
    fused = features[:, PASSAGE_FEATURES.index("fused")]
    figures = {
        "candidate_recall": by_corpus(
            items, questions, lambda m: top_k_recall(fused[m], labels[m], questions[m], 10**6)
        ),
        "recall@5_fused": by_corpus(items, questions, lambda m: top_k_recall(fused[m], labels[m], questions[m])),
        "recall@5_cross_validated": by_corpus(
            items, questions, lambda m: top_k_recall(held_out[m], labels[m], questions[m])
        ),
    }
    return fit_logistic(features, labels, weights, PASSAGE_FEATURES), figures


def save(name: str, model: LinearModel, about: dict) -> Path:
    """Write `model` to `chat/models/<name>.json` with what it was fitted on and its figures."""
    path = MODELS / f"{name}.json"
    MODELS.mkdir(exist_ok=True)
    numbers = {k: np.round(getattr(model, k), 6).tolist() for k in ("mean", "scale", "weights")}
    data = {"features": list(model.features), **numbers, "bias": model.bias, "threshold": model.threshold, **about}
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.fit", description=__doc__)
    parser.add_argument("--benchmarks", type=Path, default=covidqa.BENCHMARKS)
    parser.add_argument("--store", type=Path, help="a store of the benchmark's papers to reuse (else a temp one)")
    args = parser.parse_args(argv)

    settings = Settings()
    embedder = build_embedder(settings)
    papers = covidqa.all_papers(args.benchmarks)
    dev, unrelated = covidqa.load_questions(args.benchmarks)
    items = covidqa_items(dev, unrelated) + own_items()
    with tempfile.TemporaryDirectory(prefix="studychat-fit-") as tmp:
        corpora = {
            "covidqa": settings.model_copy(
                update={"corpus": papers[0].parent, "db": args.store or Path(tmp) / "covidqa", "chroma_url": None}
            ),
            "own": settings.model_copy(
                update={"corpus": build_corpus(Path(tmp) / "own"), "db": Path(tmp) / "own-db", "chroma_url": None}
            ),
        }
        stores = {name: open_store(s, embedder, writer="fit") for name, s in corpora.items()}
        try:
            for name, store in stores.items():
                paths = papers if name == "covidqa" else [corpora[name].corpus]
                ingest_paths(store, corpora[name], paths)

            def chains(models: Models) -> dict[str, Chain]:
                return {name: Chain(corpora[name], stores[name], embedder, models=models) for name in stores}

            passage, passage_figures = fit_passages(chains(Models()), items)
            print("passage", json.dumps(passage_figures), file=sys.stderr)
        finally:
            for store in stores.values():
                store.close()
    data = f"covidqa development questions (../shared/benchmarks) and eval/qa.jsonl (weight {OWN_WEIGHT:g})"
    save("passage", passage, {"fitted_on": data + ", every candidate passage", "figures": passage_figures})
    print(f"wrote {MODELS}/passage.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
