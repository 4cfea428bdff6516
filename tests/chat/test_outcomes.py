"""The three outcomes a reader sees: stated, tentative (the closest statement, shown as such) and
declined, with a calibrated confidence; and quotes without litter. Real store, real model, the
fitted answer model as shipped."""

from __future__ import annotations

import pytest
from seeded import SEED_ID, not_stated, seeded_chain

from chat.chain import Chain
from chat.compose import leading_marks, quoted
from studychat.schema import TENTATIVE
from studychat.text import END_MARKS

# A paper's paragraph as text extraction leaves it: reference marks before the sentence, and one
# sentence far longer than a reader wants quoted.
PAPER = """Ferritin in children with hemophagocytic lymphohistiocytosis

[8] [9] [10] 14 Additionally, serum ferritin above 10,000 ng/mL was found in 41 of the 52 children \
with hemophagocytic lymphohistiocytosis and in none of the children with sepsis alone.

The ward recorded ferritin, triglycerides, fibrinogen, soluble CD25, natural killer cell activity, \
spleen size, bone marrow findings, liver enzymes, bilirubin, lactate dehydrogenase, D-dimer, \
albumin, sodium, C-reactive protein, procalcitonin, the white cell count, the neutrophil count, the \
lymphocyte count, the platelet count, haemoglobin, the reticulocyte count, blood cultures, viral \
serology for Epstein-Barr virus, cytomegalovirus, herpes simplex virus, adenovirus, parvovirus B19 \
and human herpesvirus 6, chest radiographs, abdominal ultrasound, echocardiography, cerebrospinal \
fluid cell counts and protein, magnetic resonance imaging of the brain where the child was \
confused, and the daily temperature curve for every child during the first fourteen days after \
admission to the paediatric intensive care unit of the hospital.
"""


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory, embedder) -> Chain:
    with seeded_chain(tmp_path_factory.mktemp("outcomes"), embedder, {"ferritin.txt": PAPER}) as chain:
        yield chain


@pytest.mark.parametrize(
    "question",
    ["What was this study about?", "Was the treatment safe?", "What side effects did the patients have?"],
)
def test_plain_questions_about_the_study_are_answered_from_it(chain: Chain, question: str) -> None:
    answer = chain.answer(question)
    assert not answer.refused, answer.text
    assert any(c.document_id == SEED_ID for c in answer.citations)


@pytest.mark.parametrize(
    "question",
    ["When did the subway open in New York?", "Who won the world cup in 1998?", "How tall is Mount Everest?"],
)
def test_a_question_the_documents_are_not_about_is_never_stated_as_an_answer(chain: Chain, question: str) -> None:
    answer = chain.answer(question)
    assert not_stated(answer), answer.text


def test_each_outcome_reads_as_what_it_is_and_carries_a_probability(chain: Chain) -> None:
    questions = [
        "What was this study about?",
        "How many patients were treated?",
        "What is the price of the therapy in Brazil?",
        "When did the subway open in New York?",
        "How was ferritin in children with hemophagocytic lymphohistiocytosis?",
    ]
    for question in questions:
        answer = chain.answer(question)
        assert answer.confidence is not None and 0.0 <= answer.confidence <= 1.0, question
        assert answer.text.startswith(TENTATIVE) == answer.tentative, answer.text
        assert not (answer.refused and answer.tentative)
        if not answer.refused:
            assert answer.citations and all(c.quote for c in answer.citations)


def test_a_quote_starts_at_its_sentence_s_first_word(chain: Chain) -> None:
    answer = chain.answer(
        "How many children with hemophagocytic lymphohistiocytosis had serum ferritin above 10,000 ng/mL?"
    )
    assert not answer.refused, answer.text
    quote = answer.text.removeprefix(TENTATIVE).strip()
    assert quote.startswith("Additionally, serum ferritin"), quote


def test_reference_marks_before_a_sentence_are_not_part_of_its_quote() -> None:
    assert "[8] [9] 14 Additionally, ferritin rose."[leading_marks("[8] [9] 14 Additionally, ferritin rose.") :] == (
        "Additionally, ferritin rose."
    )
    assert leading_marks("⁽³⁾ The cells were infused.") == len("⁽³⁾ ")
    assert leading_marks("14 patients were treated.") == 0  # a count is not a mark


def test_a_long_quote_is_cut_at_a_word_with_an_ellipsis(chain: Chain) -> None:
    found = chain.candidates("Which measurements did the ward record for every child in the intensive care unit?")
    limit = chain.settings.max_quote_chars
    long = next(c for c in found.quotes if len(c.text) > limit)  # the ward's one long sentence
    answer = quoted([long], found.read, limit, tentative=True)
    quote = answer.text.removeprefix(TENTATIVE).split(" [")[0].strip()
    assert quote.endswith("…") and len(quote) <= limit
    assert long.text.startswith(quote.removesuffix("…").rstrip())  # cut at a word, not inside one
    assert long.text[len(quote.removesuffix("…").rstrip())] == " "
    assert any(len(c.quote) > limit for c in answer.citations)  # the source keeps the whole sentence


def test_quotes_of_two_documents_are_each_told_under_their_title(chain: Chain) -> None:
    found = chain.candidates("How many patients were treated?")
    first = next(c for c in found.quotes if c.document_id == SEED_ID)
    second = next(c for c in found.quotes if c.document_id == "ferritin.txt")
    answer = quoted([first, second], found.read, chain.settings.max_quote_chars, titled=True)
    titles = [found.read[c.spans[0][0]].title for c in (first, second)]
    assert answer.text.startswith(f"In “{titles[0]}”:")
    assert f"[1] In “{titles[1]}”:" in answer.text and answer.text.endswith("[2]")
    assert [c.document_id for c in answer.citations] == [SEED_ID, "ferritin.txt"]


def test_two_lines_without_full_stops_are_quoted_as_two_statements_not_one_run_on(chain: Chain) -> None:
    # The seed is a scraped page whose lines have no full stops: two of its lines quoted together
    # (its title and first sentence, say) would read as one run-on sentence; each is cited apart,
    # and each citation's quote is verbatim text of its passage, so the sources panel finds it.
    found = chain.candidates("Why is it a good idea to go after B cells in lupus?")
    pair = next(c for c in found.quotes if c.document_id == SEED_ID and len(c.spans) == 2)
    lines = [found.read[p].text[s:e].strip() for p, s, e in pair.spans]
    assert not lines[0].endswith(END_MARKS)
    answer = quoted([pair], found.read, 10_000)
    assert answer.text == f"{' '.join(lines[0].split())} [1] {' '.join(lines[1].split())} [2]"
    assert all(c.quote in c.passage for c in answer.citations)
    # Sentences that end with a full stop read on as one run, under one citation.
    found = chain.candidates("How many children with hemophagocytic lymphohistiocytosis had a ferritin above 10,000?")
    ended = next(
        c
        for c in found.quotes
        if c.document_id == "ferritin.txt"
        and len(c.spans) == 2
        and found.read[c.spans[0][0]].text[c.spans[0][1] : c.spans[0][2]].rstrip().endswith(".")
    )
    answer = quoted([ended], found.read, 10_000)
    assert len(answer.citations) == 1 and answer.text.endswith(" [1]") and "[1] " not in answer.text
