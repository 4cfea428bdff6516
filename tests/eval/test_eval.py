"""The evaluation set is sound, and the chain stays above its floor on it (see `python -m eval`)."""

from __future__ import annotations

import re

import pytest

from chat.chain import Chain
from eval.run import SEED, build_corpus, evaluate, failures, load_cases
from ingest.clean import clean
from ingest.pipeline import discover, document_id, ingest_paths
from studychat.settings import Settings
from studychat.store import open_store

# What the chain reaches now with the answer model, less a margin of about two questions: answer
# hit rate 0.63 (57 of 90, tentative answers counted), refusal recall 0.43 (10 of 23 declined; the
# rest are tentative: none is stated), 7 in scope declined. In-sample (the answer model was fitted
# on this set; its held-out figures are in chat/models/answer.json): a guard against regressions.
# Every question the documents cannot hold (no price, no company, a dose only another trial states,
# a drug, disease or acronym they never mention) must never be stated as an answer.
FLOOR = 0.60
REFUSAL_FLOOR = 0.35
IN_SCOPE_DECLINED = 9
MUST_DECLINE = {
    "oos-world-cup",
    "oos-ethanol",
    "oos-capital",
    "oos-banana-bread",
    "oos-marathon",
    "oos-insulin",
    "oos-cost",
    "oos-fu-cost",
    "oos-benlysta-price",
    "oos-manufacturer",
    "oos-lupus-dose",
    "oos-anifrolumab-dose",
    "oos-voclosporin",
    "oos-rheumatoid",
    "oos-dialysis",
    "oos-sclerosis",
}


def test_every_expected_fact_is_in_its_source(tmp_path):
    corpus = build_corpus(tmp_path / "corpus")
    files, _ = discover([corpus])
    texts = {document_id(f, corpus): clean(f.read_text()).text for f in files}
    cases = load_cases()
    assert len({c.id for c in cases}) == len(cases)
    assert sum(not c.in_scope for c in cases) >= 8
    assert sum(bool(c.history) for c in cases) >= 5
    for case in cases:
        if case.in_scope:
            assert case.source in texts, case.id
            assert re.search(case.expect, texts[case.source], re.IGNORECASE), case.id


@pytest.mark.slow
def test_chain_meets_the_floor_and_declines_unrelated_questions(embedder):
    results = evaluate(Settings(llm=None), embedder, pipelines=("chain",))
    scores = results["chain"]["metrics"]
    report = "\n".join(failures(results))
    assert scores["answer_hit_rate"] >= FLOOR, f"answer hit rate {scores['answer_hit_rate']:.2f} < {FLOOR}\n{report}"
    assert scores["refusal_recall"] >= REFUSAL_FLOOR, f"refusal recall fell:\n{report}"
    assert scores["in_scope_declined"] <= IN_SCOPE_DECLINED, f"questions the documents answer were declined:\n{report}"
    stated = {
        o["id"]
        for o in results["chain"]["outcomes"]
        if o["id"] in MUST_DECLINE and not (o["refused"] or o["tentative"])
    }
    assert not stated, f"questions the documents cannot answer were stated as answered: {stated}\n{report}"


@pytest.mark.slow
def test_the_fever_sentence_answers_side_effects_among_near_topic_documents(embedder, tmp_path):
    # The lymphoma trial's passages outrank the seed's fever passage here; the answerer finds the
    # sentence in the passages ranked just below the five it shows. (The belimumab trial and the
    # patient leaflet are left out: "the patients" could be theirs, whose side effects they state.)
    corpus = build_corpus(tmp_path / "corpus")
    for other in ("belimumab-lupus-nephritis-news.txt", "lupus-patient-guide.md"):
        (corpus / "eval-documents" / other).unlink()
    settings = Settings(corpus=corpus, db=tmp_path / "db", llm=None, _env_file=None)
    store = open_store(settings, embedder, writer="tests")
    try:
        ingest_paths(store, settings, [corpus])
        answer = Chain(settings, store, embedder).answer("What side effects did the patients have?")
    finally:
        store.close()
    assert not answer.refused
    # the fever sentence, or an answer that says it is only the closest statement
    fever = any(c.document_id == SEED.name and "fever" in c.quote for c in answer.citations)
    assert fever or answer.tentative, answer.text
