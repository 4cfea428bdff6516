"""The offline answerer end to end: real store, real model, the seed plus a near-topic distractor."""

from __future__ import annotations

import re

import pytest
from seeded import SEED_ID, not_stated, right_or_not_stated, seeded_chain

from chat.chain import Chain, condense
from chat.kinds import asked_kind
from chat.retrieve import retrieve
from studychat.schema import TENTATIVE

DISTRACTOR = """\
BCMA-directed CAR T cells in relapsed multiple myeloma: two-year results

A phase 2 study at the University of Heidelberg treated 48 adults with relapsed multiple myeloma
with BCMA-directed CAR T cells. The median age of the participants was 61 years. Cytokine release
syndrome occurred in 40 of the 48 patients, mostly grade 1 or 2, and three patients needed
intensive care. After two years, 29 patients were alive without progression.

The cells were manufactured by Celltrix Therapeutics in Mannheim.

The trial was led by Dr. Hartmut Goldschmidt and published on March 3, 2023. The authors caution
that the cost of manufacturing each dose, about 400,000 euros, limits access to the therapy.
"""
FAQ = """# Questions patients ask before CAR T-cell therapy

Can I bring my own food to the ward?

Yes. Food from home is welcome if it is kept in the ward fridge with your name on it.

How many cells will I be given?

Most patients receive a single infusion of about 450 million CAR T cells.

Why do I have to live close to the hospital after I go home?

Confusion and seizures can begin suddenly in the first weeks. The team must be able to see you within
an hour when they do.
"""


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory, embedder) -> Chain:
    with seeded_chain(tmp_path_factory.mktemp("answer"), embedder, {"myeloma.txt": DISTRACTOR, "faq.md": FAQ}) as chain:
        yield chain


def quoted_sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"\s*\[\d+\]\s*", text.removeprefix(TENTATIVE)) if s.strip()]


def test_side_effects_are_answered_with_the_fever_sentence(chain: Chain) -> None:
    answer = chain.answer("What side effects did the patients have?")
    assert not answer.refused
    assert "fever" in answer.text
    assert any(c.document_id == SEED_ID and "fever" in c.quote for c in answer.citations)


def test_doi_question_is_answered_with_the_doi(chain: Chain) -> None:
    answer = chain.answer("What is the DOI of the paper?")
    assert right_or_not_stated(answer, "10.1038/s41591-022-02017-5"), answer.text
    if "10.1038/s41591-022-02017-5" in answer.text:
        assert answer.citations[0].source == "https://doi.org/10.1038/s41591-022-02017-5"


def test_every_answer_sentence_is_verbatim_from_a_cited_passage(chain: Chain) -> None:
    for question in ["How old were the patients on average?", "Why is B cell depletion an attractive strategy?"]:
        answer = chain.answer(question)
        assert not answer.refused
        passages = [" ".join(c.passage.split()) for c in answer.citations]  # line breaks show as spaces
        for sentence in quoted_sentences(answer.text):
            assert any(sentence in passage for passage in passages), sentence
        for n in map(int, re.findall(r"\[(\d+)\]", answer.text)):
            assert any(c.n == n for c in answer.citations)
        for citation in answer.citations:  # the quote is found in the passage, to be highlighted there
            assert citation.quote and citation.quote in citation.passage


def test_questions_the_documents_do_not_answer_are_declined(chain: Chain) -> None:
    for question in ["Who won the 2022 World Cup?", "What is the boiling point of ethanol?"]:
        answer = chain.answer(question)
        assert answer.refused, question
        assert "do not answer" in answer.text
        assert answer.citations, "related passages are shown as reading"
        assert "[1]" not in answer.text


def test_a_price_the_documents_never_state_is_not_stated_and_one_they_state_is_quoted(chain: Chain) -> None:
    answer = chain.answer("How much did the CAR T-cell treatment cost?", document_ids=[SEED_ID])
    assert not_stated(answer), answer.text
    answer = chain.answer("How much does manufacturing a dose of BCMA CAR T cells cost?")
    assert not answer.refused and "400,000 euros" in answer.text


def test_a_funder_no_document_names_is_declined(chain: Chain) -> None:
    answer = chain.answer("Who funded the lupus CAR-T study?")
    assert not_stated(answer), answer.text


def test_a_company_only_some_documents_name_is_found_in_them_and_declined_elsewhere(chain: Chain) -> None:
    answer = chain.answer("Which company made the CAR T cells for the lupus patients?", document_ids=[SEED_ID])
    assert not_stated(answer), answer.text
    answer = chain.answer("Which company manufactured the BCMA CAR T cells?")
    assert right_or_not_stated(answer, "Celltrix Therapeutics"), answer.text


def test_a_question_about_how_patients_did_is_answered_with_their_outcome(chain: Chain) -> None:
    answer = chain.answer("How did the lupus patients do after the CAR-T cells?", document_ids=[SEED_ID])
    assert not answer.refused
    # the outcome is quoted, or the answer does not claim to be one (the closest statement)
    said = quoted_sentences(answer.text)
    outcome = any(re.search(r"remission|improve|relief|recurrence|side effects", s) for s in said)
    assert outcome or not_stated(answer), answer.text


def test_a_dose_is_found_where_words_stand_between_the_amount_and_its_unit(chain: Chain) -> None:
    answer = chain.answer("What dose of CAR T cells will I receive?", document_ids=["faq.md"])
    assert not answer.refused
    assert "450 million CAR T cells" in quoted_sentences(answer.text)[0]


def test_a_dose_only_another_document_states_is_no_answer_for_this_one(chain: Chain) -> None:
    answer = chain.answer("What dose of CAR T cells did the lupus patients receive?")
    assert not_stated(answer), answer.text
    assert "450 million" not in answer.text or answer.tentative


def test_a_journal_named_only_in_the_reference_list_is_found_there(chain: Chain) -> None:
    answer = chain.answer("Which journal were the lupus CAR-T results published in?")
    assert right_or_not_stated(answer, "Nat Med"), answer.text


def test_who_wrote_the_paper_is_answered_from_its_reference_list(chain: Chain) -> None:
    answer = chain.answer("Who wrote the original paper?")
    assert right_or_not_stated(answer, "Mackensen"), answer.text
    assert not_stated(chain.answer("Who wrote Hamlet?"))  # a work the documents never mention


def test_a_date_or_a_name_with_a_number_is_no_answer_to_how_many() -> None:
    kind = asked_kind("How many people in Germany have lupus?")
    assert kind is not None
    for other in ("On August 5, 2021, the team published", "published on 5 August 2021", "in 2022", "NORCAR-2"):
        assert not kind[1].search(other), other
    for count in ("five patients", "48 adults", "about 2,000 people", "34% of them"):
        assert kind[1].search(count), count


def test_an_acronym_no_document_uses_is_named_in_the_refusal(chain: Chain) -> None:
    answer = chain.answer("Has the FDA approved CAR T cells for lupus?")
    assert not_stated(answer), answer.text
    assert not answer.refused or "They never mention FDA." in answer.text
    assert not chain.answer("What did the CAR T cells target in lupus?").refused  # acronyms they use are fine


def test_a_question_asked_in_a_document_is_answered_by_the_text_after_it(chain: Chain) -> None:
    answer = chain.answer("Why must patients live near the hospital once they are home?")
    assert right_or_not_stated(answer, "Confusion and seizures can begin suddenly"), answer.text
    if not not_stated(answer):
        assert answer.citations[0].document_id == "faq.md"


def test_the_right_document_answers_among_near_topic_documents(chain: Chain) -> None:
    answer = chain.answer("How many myeloma patients were treated with BCMA CAR T cells?")
    assert "48" in answer.text
    assert answer.citations[0].document_id == "myeloma.txt"
    lupus = chain.answer("What was the average age of the lupus patients?")
    assert "22 years" in lupus.text
    assert lupus.citations[0].document_id == SEED_ID


def test_follow_up_is_understood_from_the_history(chain: Chain) -> None:
    history = [
        {"role": "user", "content": "How many patients with lupus were in the Erlangen trial?"},
        {"role": "assistant", "content": "In this clinical trial, five patients were enrolled [1]"},
    ]
    search, context = condense("What side effects did they have?", history)
    assert "lupus" in search and context
    assert "five patients were enrolled" in search and "[1]" not in search  # "they" may be in the answer
    answer = chain.answer("What side effects did they have?", history)
    assert right_or_not_stated(answer, "fever"), answer.text
    assert all(c.document_id == SEED_ID for c in answer.citations[:1])


def test_a_question_that_stands_alone_ignores_the_history(chain: Chain) -> None:
    history = [{"role": "user", "content": "What side effects did the lupus patients have?"}]
    assert condense("What is the boiling point of ethanol?", history) == ("What is the boiling point of ethanol?", "")


def test_a_short_question_that_names_what_it_asks_is_answered_as_if_asked_alone(chain: Chain) -> None:
    history = [
        {"role": "user", "content": "What was this study about?"},
        {"role": "assistant", "content": "Five patients with refractory lupus improved after CAR-T cells [1]"},
    ]
    for question in ("How many patients were treated?", "How old were the patients?"):
        assert condense(question, history) == (question, "")
        assert chain.answer(question, history).text == chain.answer(question).text
    assert condense("How long?", history)[1]  # a bare question still leans on the conversation


def test_retrieval_can_be_limited_to_chosen_documents(chain: Chain) -> None:
    found = retrieve("side effects of CAR T cells", chain.store, chain.embedder, 5, 30, ["myeloma.txt"])
    assert found.passages
    assert {p.document_id for p in found.passages} == {"myeloma.txt"}
    answer = chain.answer("What side effects occurred?", document_ids=["myeloma.txt"])
    assert all(c.document_id == "myeloma.txt" for c in answer.citations)


def test_retrieval_is_diverse_and_free_of_near_duplicates(chain: Chain) -> None:
    found = retrieve("CAR T cell therapy patients", chain.store, chain.embedder, 5, 30)
    assert {SEED_ID, "myeloma.txt"} <= {p.document_id for p in found.passages}
    texts = [p.text for p in found.passages]
    assert len(texts) == len(set(texts))


def test_stream_yields_the_text_then_the_answer(chain: Chain) -> None:
    pieces = list(chain.stream("What side effects did the patients have?"))
    answer = pieces[-1]
    assert "".join(pieces[:-1]).strip() == answer.text


VECTORS = """# Carriers for vaccines

Many viruses have been tried as carriers of vaccine antigens, with mixed results in animals.
Orvavirus has a number of appealing qualities as a vaccine vector. Humans carry no antibodies against
it, and it grows to high titres in duck eggs. Trials in mice began in 2019 at three universities.
Other carriers, such as measles, meet immunity that many adults already have from childhood.
"""


def test_a_sentence_that_only_announces_is_quoted_with_the_one_that_says_it(tmp_path, embedder) -> None:
    """ "Orvavirus has a number of appealing qualities" restates the question: the qualities
    stand in the sentence after it, which the answer must quote too."""
    with seeded_chain(tmp_path, embedder, {"vectors.md": VECTORS}) as chain:
        answer = chain.answer("What are the appealing qualities of the Orvavirus vector?")
    assert not answer.refused
    assert right_or_not_stated(answer, "Humans carry no antibodies against it"), answer.text
    assert all(c.document_id == "vectors.md" for c in answer.citations)
