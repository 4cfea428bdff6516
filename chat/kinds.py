"""What a question asks for, and what a sentence that answers it holds: a number for "how many",
a date for "when", a dose, a DOI ... (`asked_kind`). The patterns carry meaning; they decide
nothing on their own: the answer model weighs whether a candidate holds what is asked
(`chat.candidates`).
"""

from __future__ import annotations

import re

from chat.wording import other_forms
from studychat.text import STOP_WORDS

# What a question asks for, and what a sentence that answers it holds. The first question pattern
# that matches decides, so the more specific kinds (a duration, a dose) come before a plain number.
# A kind marked required is one no other sentence can stand in for: documents that state no price
# do not answer "how much did it cost?", however much they say about the treatment.
MONTH = r"(January|February|March|April|May|June|July|August|September|October|November|December)"
# A number that is not part of a name ("NORCAR-2"), a year, or the day of a date ("August 5, 2021",
# "5 August"): an amount.
AMOUNT = rf"(?<![\w-])(?!(1[89]|20)\d\d\b)\d+(?:[.,]\d+)*(?!\d|,? (1[89]|20)\d\d\b| {MONTH})"
NUMBER = rf"{AMOUNT}\s*(?:%|percent|per cent)?"
PERCENT = rf"{AMOUNT}\s*(?:%|percent\b|per cent\b)"
NUMBER_WORDS = r"\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozen|hundred|thousand)\b"
TIME_UNIT = r"(seconds?|minutes?|hours?|days?|weeks?|months?|years?)"
DURATION = rf"(\b\d+(?:[.,]\d+)?|{NUMBER_WORDS})[ -]{TIME_UNIT}\b(?!-old)"  # "20-year-old" is an age
REQUIRED = {
    "doi": "a DOI",
    "url": "a web address",
    "money": "a price or sum of money",
    "company": "a company",
    "funding": "who funded it",
    "journal": "a journal",
    "dose": "a dose",
}
ASKS = [
    ("doi", r"\b(doi|digital object identifier)\b", r"\b10\.\d{4,9}/\S+"),
    ("url", r"\b(url|link|website|web address)\b", r"https?://\S+|www\.\S+"),
    (
        "funding",
        r"\b(who (funded|paid for|sponsored|financed)|funding|funder|funders|sponsors?|grants?)\b",
        r"(?i)\b(fund(ed|ing|s)?|funders?|grants?|sponsor\w*|financ\w*|supported by)\b",
    ),
    (
        "money",
        r"\b(cost|costs|price|priced|pay|paid|expensive|cheap|afford|reimburs\w*)\b",
        r"[$€£¥]\s?\d|\b\d[\d,.]*\s*(USD|EUR|GBP|CHF|dollars?|euros?|pounds?|million|billion)\b|\b(USD|EUR|GBP)\s?\d",
    ),
    (
        "company",
        r"\b(which|what) (company|companies|firm|manufacturer|pharmaceutical company|drug ?maker)\b",
        r"\b(Inc|Ltd|LLC|GmbH|AG|SA|plc|Corp|Corporation|Company|Pharma\w*|Biotech\w*|Therapeutics|Biosciences)\b",
    ),
    (
        "journal",
        r"\b(which|what) (journal|publication)\b|\bjournal\b|\bwhere (was|were|is|are)\b.*\bpublished\b",
        r"\b(Journal|Nature|Nat [A-Z][a-z]+|Lancet|Science|Cell|NEJM|N Engl J Med|JAMA|BMJ|PLOS|Blood)\b"
        r"|\b[A-Z][a-z]+\.? [A-Z][a-z]+\.? \(?(19|20)\d\d\b"  # a citation: "Nat Med (2022)", "Ann Rheum Dis 2021"
        # where a paper came out: "The results appeared in the journal Arthritis & Rheumatology"
        r"|\b(published|appeared|reported) (online )?in (the )?(journal )?[A-Z]",
    ),
    (
        "author",
        r"\b(who (wrote|authored|is the author|are the authors)|authors?\b|written by)",
        r"\b(Authors?|authors?|written by|et al)\b|\b[Bb]y (Dr\.? |Prof\.? )?[A-Z][a-z]+",
    ),
    (
        "deadline",  # a date something must happen by: "paid before 1 May"
        r"\b(deadline|due date|closing date|by when|until when|last day)\b",
        rf"\b(before|by|until|till|no later than|due( on| by)?)\s+(the\s+)?(\d{{1,2}}(st|nd|rd|th)?\s+{MONTH}"
        rf"|{MONTH}\s+\d{{1,2}}|{MONTH}|\d{{4}}-\d\d-\d\d|(1[89]|20)\d\d\b|end of|\w+day\b)",
    ),
    ("duration", r"\b(how long|for how many (days|weeks|months|years)|what duration|how soon)\b", DURATION),
    (
        "dose",
        r"\b(dose|dosage|how much .* (given|receive|take))\b",
        # an amount and its unit, a few words apart at most: "8 mg/kg", "2 million CAR T cells per kilogram",
        # "one million (1 x 10^6) CAR T cells per kilogram"
        rf"(?:{AMOUNT}|{NUMBER_WORDS}\s+(?:hundred|thousand|million|billion)\b)(\s*[x×]\s*10\^?\d+)?"
        r"(\s*\([^()]{1,30}\))?"  # the amount said again in brackets
        r"(\s+\S+){0,4}?\s*(?<![A-Za-z])"
        r"(mg|g|µg|mcg|ml|mL|units?|IU|cells|/kg|mg/m2|per kilogram)\b",
    ),
    (
        "date",
        r"\b(when|what year|which year|what date|which date|what month|how long ago)\b",
        # "when?" -- "after 8 weeks" answers too
        rf"\b(1[89]\d\d|20\d\d)\b|\b{MONTH}\b|\b\d{{4}}-\d{{2}}-\d{{2}}\b|{DURATION}",
    ),
    (
        "number",
        r"\b(how many|how much|how old|what age|average age|mean age|median age|what percentage|what proportion|"
        r"what fraction|how often|number of|rates?|incidence|prevalence|how large|how big)\b",
        NUMBER + "|" + NUMBER_WORDS,
    ),
    (
        "person",
        r"\b(who|whom|whose|which (professor|researcher|scientist|author|doctor|team|group))\b",
        r"\b(Professor|Prof\.|Dr\.|Mr\.|Ms\.|Mrs\.)\s|\b[A-Z][a-z]+ [A-Z][a-z]+\b|\bet al\b|\bteam\b",
    ),
    (
        "outcome",
        r"\bhow (did|do|does|was|were|is|are)\b.*\b(do|doing|fare|fared|respond|go|turn out|work)\b|\boutcomes?\b",
        r"(?i)\b(improv\w*|relie\w*|remission|respon\w*|recover\w*|recurrence|relapse\w*|cured?|better|worse|"
        r"succe\w*|fail\w*|side effects|surviv\w*|died)\b",
    ),
    (
        "reason",
        r"\b(why|what reason|for what reason|what caused|what causes|how come|rationale)\b",
        r"(?i)\b(because|due to|since|as a result|therefore|thus|so that|caused by|leads? to|owing to|reasons?|"
        r"in order to|explanations?|explains?)\b"
        # a cause or a purpose: "Sunlight can make the rash worse, so wear a sunscreen", "it can harm the child"
        r"|,\s*so\b|\b(can|may|might|could|will) (make|cause|trigger|harm|damage|prevent|protect|reduce)\b",
    ),
    (
        "place",
        r"\b(where|which (country|countries|city|university|hospital|institution|center|centre))\b",
        r"\b(University|Hospital|Institute|Center|Centre|Clinic|College)\b|\b(in|at|from) [A-Z][a-z]+",
    ),
]
ASKS = [(name, re.compile(asks, re.I), re.compile(answer)) for name, asks, answer in ASKS]
COUNTED = re.compile(r"\bhow many (?:of (?:the |their |these |those )?)?([a-z]+)", re.I)  # "How many countries ...?"


def asked_kind(question: str) -> tuple[str, re.Pattern] | None:
    """(name, pattern) of what the question asks for, or None when it asks for nothing specific.

    "How many countries ...?" asks for a number of countries: a number followed, within a few
    words, by "countries" ("107 sites in 21 countries"), or by another word for the counted thing
    ("How many people ...?" is answered by "448 adults"), or for people a percentage. A bare
    number does not answer it: "a 20-year-old woman" is no count of patients."""
    kind = next(((name, answer) for name, asks, answer in ASKS if asks.search(question)), None)
    counted = COUNTED.search(question)
    if kind and kind[0] == "number" and counted and counted.group(1).lower() not in STOP_WORDS:
        nouns = other_forms(counted.group(1))
        things = "|".join(re.escape(n) for n in sorted(nouns, key=len, reverse=True))
        # a few words may stand between, within one phrase: "26 of the 64 patients", not "17 months, all patients"
        count = rf"(?:{NUMBER}|{NUMBER_WORDS})(?:\s+[^\s,;:.()]+){{0,3}}?\s+(?:{things})(?!\w)"
        of_people = "patient" in nouns  # a share of patients is given as a percentage too
        kind = ("number", re.compile(rf"{count}|{PERCENT}" if of_people else count, re.I))
    return kind


def without_asking(question: str, kind: tuple[str, re.Pattern] | None) -> str:
    """The question without the words that ask for its kind: "the DOI of the NORCAR-2 paper" is
    about "the NORCAR-2 paper"."""
    if kind is None:
        return question
    return next(asks for name, asks, _ in ASKS if name == kind[0]).sub(" ", question)
