"""Asking in other words than the documents use: acronyms, lay and clinical terms, counts, names
no document mentions. Real store and model; a trial report in clinical English and a patient
leaflet in lay English, beside the seed article."""

from __future__ import annotations

import re

import pytest
from seeded import SEED_ID, not_stated, right_or_not_stated, seeded_chain

from chat.chain import Chain
from chat.extractive import naming_documents
from chat.kinds import asked_kind
from chat.wording import definitions, one_edit_apart, other_forms, with_other_forms
from studychat.text import terms

REPORT = """\
Anifrolumab trial in lupus nephritis meets its kidney endpoint

The TULIP-KIDNEY trial enrolled 147 adults with active lupus nephritis at 82 sites in 18 countries.
Patients received anifrolumab, an antibody against the type I interferon receptor (IFNAR), or placebo
every four weeks for one year.

At week 52, 45 percent of patients given anifrolumab had a complete renal response, against 31
percent of those given placebo.

The most common adverse events were herpes zoster, bronchitis and infusion reactions. Serious
adverse events occurred in 12 percent of patients in each group.

The trial was funded by AstraZeneca. The results appeared in the journal Arthritis & Rheumatology in 2022.
Based on these results, the European Medicines Agency reviewed the drug for kidney disease.

Reference: Jayne D, Rovin B, Mysler E, et al. Anifrolumab in lupus nephritis: results from the
second phase 2 trial. Arthritis Rheumatol.
2022;74:1791-1802. doi:10.1002/art.42231

This summary was written by the editors.
"""
LEAFLET = """# Hydroxychloroquine: information for patients

Hydroxychloroquine reduces flares of lupus and protects the organs. Unlike CAR T cells, which can
cause cytokine release syndrome (CRS), it does not overstimulate the immune system. It can take up
to three months to start working. Side effects are usually mild: an upset stomach or a headache.

## Monitoring

Rarely, hydroxychloroquine harms the retina after many years, so an eye check is done every year
after five years of treatment. CRS is not seen with this medicine.
"""


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory, embedder) -> Chain:
    with seeded_chain(
        tmp_path_factory.mktemp("wording"), embedder, {"tulip-kidney.txt": REPORT, "hydroxychloroquine.md": LEAFLET}
    ) as chain:
        yield chain


def test_definitions_pair_each_acronym_with_the_words_it_stands_for() -> None:
    text = (
        "Cytokine release syndrome (CRS) was mild. Belimumab blocks B-lymphocyte stimulator (BLyS). "
        "Patients had diffuse large B-cell lymphoma (DLBCL). The drug (IFNAR) was new."
    )
    assert definitions(text) == {
        "CRS": "Cytokine release syndrome",
        "BLyS": "B-lymphocyte stimulator",
        "DLBCL": "diffuse large B-cell lymphoma",
    }
    assert "Cytokine release syndrome" in with_other_forms("Grade 1 CRS is treated", definitions(text))


def test_lay_and_clinical_words_read_as_each_other() -> None:
    assert "side effect" in with_other_forms("The most common adverse events were rashes.", {})
    assert "adverse event" in with_other_forms("What side effects did they have?", {})
    assert "stay in hospital" in with_other_forms("Patients are admitted for 10 days.", {})
    assert {"patient", "patients", "adults"} <= other_forms("people")
    assert {"country", "countries"} <= other_forms("countries")


def test_one_edit_apart_is_a_misspelling() -> None:
    assert one_edit_apart("efect", "effect") and one_edit_apart("effect", "efect")
    assert one_edit_apart("fever", "fevor") and one_edit_apart("fever", "fever")
    assert not one_edit_apart("myeloma", "melanoma") and not one_edit_apart("abc", "acb")


def test_question_terms_are_the_index_terms(chain: Chain) -> None:
    # A Python Porter stemmer makes "rheumatologi" of "Rheumatology"; the index says "rheumatolog".
    frequencies, _ = chain.store.document_frequencies(terms("Rheumatology"))
    assert frequencies, "the index holds the term the question's word stems to"


def test_side_effects_are_found_as_adverse_events(chain: Chain) -> None:
    answer = chain.answer("Which side effects were seen with anifrolumab?")
    assert right_or_not_stated(answer, "herpes zoster"), answer.text
    if "herpes zoster" in answer.text:
        assert answer.citations[0].document_id == "tulip-kidney.txt"


def test_a_count_is_of_the_thing_asked_about(chain: Chain) -> None:
    countries = asked_kind("In how many countries was the trial run?")[1]
    assert countries.search("at 82 sites in 18 countries") and not countries.search("45 percent of patients")
    patients = asked_kind("How many patients had a complete response?")[1]
    assert patients.search("45 percent of patients") and patients.search("five other patients")
    assert not patients.search("a 20-year-old woman") and not patients.search("over two years")
    assert not patients.search("up to 17 months, while all patients")  # the number counts months
    people = chain.answer("How many people took part in TULIP-KIDNEY?")
    assert "147 adults" in people.text
    countries = chain.answer("In how many countries was the anifrolumab trial run?")
    assert "18 countries" in countries.text and len({c.document_id for c in countries.citations}) == 1


def test_an_acronym_counts_as_the_words_it_stands_for(chain: Chain) -> None:
    answer = chain.answer("Does cytokine release syndrome happen with hydroxychloroquine?")
    assert not answer.refused
    assert "CRS is not seen with this medicine." in answer.text or answer.tentative, answer.text
    assert any("CRS" in c.passage or "cytokine release syndrome" in c.passage for c in answer.citations)


def test_an_acronym_the_passages_spell_out_is_not_unknown(chain: Chain) -> None:
    answer = chain.answer("Did the EMA review anifrolumab for kidney disease?")
    assert "They never mention" not in answer.text
    assert "European Medicines Agency" in answer.text


def test_a_rare_name_no_document_mentions_is_not_stated_and_a_misspelling_is_not_named(chain: Chain) -> None:
    answer = chain.answer("What are the side effects of methotrexate?")
    assert not_stated(answer), answer.text
    assert not answer.refused or "They never mention methotrexate." in answer.text
    typo = chain.answer("What are the side efects of anifrolumab?")
    assert "They never mention" not in typo.text  # a misspelling is never named as missing


def test_the_document_a_question_names_is_the_one_it_is_about(chain: Chain) -> None:
    question = "Who funded the TULIP-KIDNEY trial?"
    seed, report = (chain.store.document_chunks(d)[0] for d in (SEED_ID, "tulip-kidney.txt"))
    assert naming_documents(question, asked_kind(question), [seed, report], chain.store) == ["tulip-kidney.txt"]
    everything = naming_documents("Who funded it?", asked_kind("Who funded it?"), [seed, report], chain.store)
    assert everything == [SEED_ID, "tulip-kidney.txt"]


def test_where_a_study_was_published_asks_for_the_journal(chain: Chain) -> None:
    answer = chain.answer("Where were the TULIP-KIDNEY results published?")
    assert not answer.refused
    assert re.search(r"Arthritis (&|Rheumatol)", answer.text)


def test_who_paid_for_a_trial_asks_for_its_funder(chain: Chain) -> None:
    answer = chain.answer("Who paid for the TULIP-KIDNEY trial?")
    assert not answer.refused
    assert "AstraZeneca" in answer.text or answer.tentative, answer.text
    assert all(c.document_id == "tulip-kidney.txt" for c in answer.citations)


def test_a_doi_on_a_line_of_its_own_in_a_reference_is_found(chain: Chain) -> None:
    answer = chain.answer("What is the DOI of the anifrolumab paper?")
    assert right_or_not_stated(answer, "10.1002/art.42231"), answer.text


def test_a_follow_up_stays_with_the_document_the_last_answer_quoted(chain: Chain) -> None:
    history = [
        {"role": "user", "content": "How many patients were in the lupus trial?"},
        {
            "role": "assistant",
            "content": "In this clinical trial, five patients (4 women and 1 male) with an average age of 22 "
            "years were enrolled [1]",
        },
    ]
    answer = chain.answer("What side effects did they have?", history)
    assert right_or_not_stated(answer, "fever"), answer.text
    assert not answer.citations or answer.citations[0].document_id == SEED_ID
